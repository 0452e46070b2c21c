"""Shared UI pieces: the cached assistant, the sidebar, session state. Logic lives in rag/."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st
from pydantic import SecretStr

from rag.answering.chain import Answerer
from rag.answering.conversation import Turn
from rag.answering.llm import PROVIDERS, api_key
from rag.answering.stream import AnswerResult
from rag.errors import RagError
from rag.practice.coach import Coach
from rag.practice.progress import check_profile
from rag.service import Assistant
from rag.settings import Settings, get_settings

PROVIDER_LABELS = {
    "extractive": "检索模式（离线，无需大模型）",
    "openai": "OpenAI 兼容接口",
    "ollama": "Ollama（本地）",
    "huggingface": "本地 HuggingFace 模型",
}
ALL_SECTIONS = "全部章节"


@dataclass(frozen=True)
class ChatConfig:
    provider: str
    model: str
    base_url: str
    k: int
    section: str | None


@st.cache_resource(show_spinner=False)
def assistant_for(settings: Settings) -> Assistant:
    """One per process and settings: a rerun or a new browser session reuses the loaded models."""
    return Assistant(settings)


def get_assistant() -> Assistant:
    assistant = assistant_for(get_settings())
    if assistant.retriever is None:
        if assistant.has_index():
            with st.spinner("加载索引…"):
                assistant.ensure_index()
        else:
            with st.status("首次启动：正在从 corpus/ 建立索引…", expanded=True) as status:
                bar = st.progress(0.0, text="嵌入中")
                report = assistant.ensure_index(progress=lambda d, t: bar.progress(d / max(t, 1), text=f"嵌入 {d}/{t}"))
                status.update(
                    label=f"索引已建立：{report.summary() if report else ''}", state="complete", expanded=False
                )
    return assistant


def state() -> st.session_state.__class__:
    ss = st.session_state
    ss.setdefault("turns", [])  # list[AnswerResult], for display and export
    ss.setdefault("history", [])  # list[Turn], for follow-ups
    ss.setdefault("pending", None)  # a question queued by a button
    return ss


def ask(question: str) -> None:
    state()["pending"] = question


def new_chat() -> None:
    ss = state()
    ss["turns"], ss["history"], ss["pending"] = [], [], None


def record(result: AnswerResult) -> None:
    ss = state()
    ss["turns"].append(result)
    ss["history"].append(Turn(result.query, result.answer, result.standalone_query))


def sidebar(assistant: Assistant) -> ChatConfig:
    settings = assistant.settings
    with st.sidebar:
        st.subheader("设置")
        default = settings.llm if settings.llm in PROVIDERS else "extractive"
        provider = st.selectbox(
            "回答模式",
            PROVIDERS,
            index=PROVIDERS.index(default),
            format_func=PROVIDER_LABELS.__getitem__,
            key="provider",
        )
        model, base_url = settings.llm_model, settings.llm_base_url or ""
        if provider != "extractive":
            label = "模型目录" if provider == "huggingface" else "模型"
            model = st.text_input(label, value=settings.llm_model, key="llm_model")
            if provider in ("openai", "ollama"):
                base_url = st.text_input(
                    "Base URL", value=base_url, placeholder="https://api.openai.com/v1", key="llm_base_url"
                )
            if provider == "openai":
                env_key = api_key(settings)
                st.text_input(
                    "API Key",
                    type="password",
                    key="llm_api_key_input",
                    placeholder="已从环境变量读取" if env_key else "sk-…",
                    help="只保存在本次浏览器会话的内存中，不写入磁盘、日志或索引。",
                )
        k = st.slider("引用条数 top-k", 1, 10, 5, key="top_k")
        sections = [ALL_SECTIONS, *assistant.ready_retriever.catalogue.sections]
        section = st.selectbox("章节过滤", sections, key="section")
        st.divider()
        c1, c2 = st.columns(2)
        c1.button("新对话", on_click=new_chat, use_container_width=True)
        from rag.service import export_markdown

        c2.download_button(
            "导出",
            export_markdown(state()["turns"]),
            file_name="interview-chat.md",
            mime="text/markdown",
            use_container_width=True,
            disabled=not state()["turns"],
        )
        llm_label = provider if provider == "extractive" else f"{provider}:{model}"
        st.caption(assistant.status(llm_label))
    return ChatConfig(provider, model, base_url, k, None if section == ALL_SECTIONS else section)


def session_llm(settings: Settings) -> Settings:
    """The settings with the LLM this browser session chose on the chat page's sidebar (if any)."""
    ss = state()
    provider = ss.get("provider") or settings.llm
    if provider == "extractive":
        return settings.model_copy(update={"llm": "extractive"})
    update: dict = {"llm": provider, "llm_model": ss.get("llm_model") or settings.llm_model}
    if ss.get("llm_base_url"):
        update["llm_base_url"] = ss["llm_base_url"]
    if ss.get("llm_api_key_input"):
        update["llm_api_key"] = SecretStr(ss["llm_api_key_input"])
    return settings.model_copy(update=update)


def answerer_for(assistant: Assistant, cfg: ChatConfig) -> Answerer:
    """Answerers are per session (the key may be this session's); rebuilt only when the config changes."""
    ss = state()
    typed_key = ss.get("llm_api_key_input") or ""
    fingerprint = (cfg.provider, cfg.model, cfg.base_url, hashlib.sha256(typed_key.encode()).hexdigest())
    cached = ss.get("answerer")
    if cached is not None and ss.get("answerer_fp") == fingerprint:
        return cached
    update: dict = {"llm": cfg.provider, "llm_model": cfg.model, "llm_base_url": cfg.base_url or None}
    if typed_key:
        update["llm_api_key"] = SecretStr(typed_key)
    try:
        answerer = Answerer(assistant.ready_retriever, assistant.settings.model_copy(update=update))
    except RagError as exc:
        st.warning(f"{exc} — 已改用检索模式回答。")
        answerer = Answerer(assistant.ready_retriever, assistant.settings, "extractive")
    ss["answerer"], ss["answerer_fp"] = answerer, fingerprint
    return answerer


@st.cache_resource(show_spinner=False)
def coach_for(settings: Settings) -> Coach:
    """Practice shares the assistant's embedder (one model per process); it needs no index."""
    return Coach(settings, embeddings=assistant_for(settings).embeddings)


def get_coach() -> Coach:
    return coach_for(get_settings())


def profile_picker(coach: Coach) -> str:
    """The sidebar's profile choice (several people can share one installation)."""
    ss = st.session_state
    ss.setdefault("profile", coach.settings.profile)
    with st.sidebar:
        names = list(dict.fromkeys([ss["profile"], *coach.store.profiles()]))
        choice = st.selectbox(
            "练习档案", [*names, "＋ 新建档案"], index=names.index(ss["profile"]), key="profile_choice"
        )
        if choice == "＋ 新建档案":
            name = st.text_input("新档案名", key="new_profile")
            if name.strip():
                try:
                    ss["profile"] = check_profile(name)
                except RagError as exc:
                    st.error(str(exc))
        else:
            ss["profile"] = choice
    return ss["profile"]


def practise(entry_id: str) -> None:
    """练一练: start a one-question round on this entry (button callback)."""
    st.session_state["practice_target"] = entry_id
