"""`python -m rag mcp`: the bank as MCP tools and resources (official `mcp` SDK), stdio by default.

Tools: search_bank, get_entry, related_questions, ask. Resources: bank://sections (the sections with
their questions) and bank://section/{n} (one section, 1-based, as Markdown). Tool descriptions are in
Chinese and English: agents are prompted in either.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from rag.answering.chain import Answerer
from rag.errors import RagError
from rag.service import Assistant
from rag.serving.api import entry_json

# What agents read to choose a tool, in Chinese and English (agents are prompted in either).
DESCRIPTIONS = {
    "search_bank": (
        "在大模型面试题库中检索与问题最相关的题目（中英文、口语、错别字均可），返回题号、问题、章节、"
        "相关度和片段。 Search the LLM interview bank (Chinese, English or mixed queries); returns "
        "matching entries with id, question, section, score and text, and whether anything is relevant."
    ),
    "get_entry": (
        "按题号读取一道题：问题、章节、完整参考笔记（Markdown，含公式）、其他问法和相关题。"
        " Read one bank entry by id (e.g. Q077): question, section, full reference note, phrasings, related."
    ),
    "related_questions": (
        "与某道题（题号）或一段文字最相关的其他题目，不含近似重复。"
        " Entries related to a bank id or to free text, without near-duplicates."
    ),
    "ask": (
        "回答一个面试问题，答案引用题库题号（如 [Q077]）；题库没有相关内容时明确拒答并给出最接近的题。"
        " Answer an interview question with citations to bank entries; says so when the bank has nothing."
    ),
}


def create_server(assistant: Assistant) -> MCPServer:
    server = MCPServer(
        name="llm-interview-bank",
        instructions=(
            "大模型面试题库（173 题，15 个章节）检索与问答，答案引用题库编号如 [Q077]。"
            " An LLM interview question bank: search it, read entries, and get cited answers."
        ),
    )
    answerer = Answerer(assistant.ready_retriever, assistant.settings)
    max_k = assistant.settings.max_k

    def retriever():
        assistant.refresh_if_stale()
        return assistant.ready_retriever

    def clamp(k: int) -> int:
        return min(max(int(k), 1), max_k)

    @server.tool(description=DESCRIPTIONS["search_bank"])
    def search_bank(query: str, k: int = 5, section: str | None = None) -> dict[str, Any]:
        r = retriever()
        return anticipated(lambda: r.result_json(r.search(query, clamp(k), section=section)))

    @server.tool(description=DESCRIPTIONS["get_entry"])
    def get_entry(id: str) -> dict[str, Any]:
        retriever()
        return anticipated(lambda: entry_json(assistant, id))

    @server.tool(description=DESCRIPTIONS["related_questions"])
    def related_questions(target: str, k: int = 5) -> dict[str, Any]:
        hits = anticipated(lambda: retriever().related(target, clamp(k)))
        return {"query": target, "hits": [{"id": h.id, "question": h.question, "section": h.section} for h in hits]}

    @server.tool(description=DESCRIPTIONS["ask"])
    def ask(question: str) -> dict[str, Any]:
        retriever()
        data = anticipated(lambda: answerer.answer(question).to_json())
        return {key: data[key] for key in ("answer", "citations", "refused", "related", "nearest", "mode")}

    catalogue = assistant.ready_retriever.catalogue
    sections = catalogue.sections

    @server.resource(
        "bank://sections",
        name="sections",
        description="题库的 15 个章节及其题目 / The bank's sections and their questions",
        mime_type="text/markdown",
    )
    def all_sections() -> str:
        cat = retriever().catalogue
        lines = []
        for n, section in enumerate(cat.sections, start=1):
            ids = [i for i in cat.ids if cat[i].section == section]
            lines.append(f"{n}. {section} ({len(ids)} 题, bank://section/{n})")
        return "\n".join(lines)

    for number, title in enumerate(sections, start=1):
        _section_resource(server, retriever, number, title)
    return server


def anticipated(call):
    """A bad id or an empty query is the agent's to fix: an error result with our message, not a crash."""
    try:
        return call()
    except RagError as exc:
        raise ToolError(str(exc)) from None


def _section_resource(server: MCPServer, retriever, number: int, title: str) -> None:
    @server.resource(f"bank://section/{number}", name=f"section-{number}", description=title, mime_type="text/markdown")
    def section() -> str:
        cat = retriever().catalogue
        ids = [i for i in cat.ids if cat[i].section == title]
        return f"# {title}\n\n" + "\n".join(f"- [{i}] {cat[i].question}" for i in ids)
