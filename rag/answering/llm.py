"""Chat model providers: one setting (`RAG_LLM`) picks a tiny factory; imports are lazy.

extractive   no LLM (default, offline): answers are composed from the retrieved notes
openai       any OpenAI-compatible endpoint (OpenAI, DeepSeek, DashScope/Qwen, Zhipu, Moonshot,
             vLLM, LM Studio, Ollama's /v1) via langchain-openai
ollama       the same client preset to Ollama's local URL
huggingface  a local model directory through transformers + langchain-huggingface
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:  # importing it pulls LangChain's tracing stack (~0.3 s): not needed offline
    from langchain_core.language_models import BaseChatModel

PROVIDERS = ("extractive", "openai", "ollama", "huggingface")
OLLAMA_URL = "http://localhost:11434/v1"


def api_key(settings: Settings) -> str | None:
    if settings.llm_api_key is not None:
        return settings.llm_api_key.get_secret_value()
    return os.environ.get("OPENAI_API_KEY")


def make_chat_model(settings: Settings, provider: str | None = None) -> BaseChatModel | None:
    """None for extractive mode; otherwise a LangChain chat model. Unknown name: error listing choices."""
    name = (provider or settings.llm).strip().lower()
    if name == "extractive":
        return None
    if name in ("openai", "ollama"):
        from langchain_openai import ChatOpenAI

        base_url = settings.llm_base_url or (OLLAMA_URL if name == "ollama" else None)
        key = api_key(settings) or ("ollama" if name == "ollama" else None)
        if not key:
            raise RagError(
                "RAG_LLM=openai needs an API key: set RAG_LLM_API_KEY (or OPENAI_API_KEY) in the environment or .env"
            )
        kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
        return ChatOpenAI(
            model=settings.llm_model,
            api_key=key,
            timeout=settings.llm_timeout,
            max_retries=1,  # bounded: one retry, then the extractive fallback
            temperature=0.2,
            **kwargs,
        )
    if name == "huggingface":
        return _huggingface(settings)
    raise RagError(f"unknown LLM provider {name!r}; valid choices: {', '.join(PROVIDERS)}")


def _huggingface(settings: Settings) -> BaseChatModel:
    from pathlib import Path

    path = Path(settings.llm_model).expanduser()
    if not path.is_dir():
        raise RagError(f"RAG_LLM=huggingface needs RAG_LLM_MODEL to be a local model directory; {path} is not one")
    # torch/transformers cost seconds and hundreds of MB: only on this branch.
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    pipe = pipeline(
        "text-generation", model=model, tokenizer=tokenizer, max_new_tokens=512, return_full_text=False, device="cpu"
    )
    return ChatHuggingFace(llm=HuggingFacePipeline(pipeline=pipe), tokenizer=tokenizer, model_id=str(path))


def describe_error(exc: BaseException, settings: Settings) -> str:
    """One line naming the problem, with any API key redacted."""
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on openai
        openai = None  # type: ignore[assignment]
    url = settings.llm_base_url or "the endpoint"
    if openai is not None:
        if isinstance(exc, openai.AuthenticationError):
            text = "401 unauthorized: check RAG_LLM_API_KEY"
        elif isinstance(exc, openai.RateLimitError):
            text = "429 rate limited or out of quota: retry later"
        elif isinstance(exc, openai.APITimeoutError):
            text = f"timed out after {settings.llm_timeout:g} s at {url}"
        elif isinstance(exc, openai.APIConnectionError):
            text = f"cannot reach {url}"
        elif isinstance(exc, openai.APIStatusError):
            text = f"HTTP {exc.status_code} from {url}"
        else:
            text = f"{type(exc).__name__}: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(text.splitlines()[0][:300] if text else type(exc).__name__, settings)


def redact(text: str, settings: Settings) -> str:
    key = api_key(settings)
    return text.replace(key, "***") if key and len(key) >= 4 else text
