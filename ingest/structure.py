"""A Markdown document as sections under a heading path, each a list of blocks, cleaned of what is
not text: image-only lines, badges, empty links, HTML tags and navigation lines.

Written here rather than with langchain's Markdown splitters because chunking needs blocks it can pack
but never cut (a code block, a table), and prose without the residue of images and HTML.

sections("# 分布式训练\n## DeepSpeed\nZeRO 把优化器状态切分…\n```py\nds.initialize()\n```")
 -> [Section(path=("分布式训练", "DeepSpeed"), blocks=[Block("text", "ZeRO 把…"), Block("code", "```py…```")])]
A block is a paragraph, a fenced code block or a table: what chunking may pack together but never cut,
except a block longer than a chunk (then prose splits at sentence ends and code or tables at lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.retrieval.hits import HEADING_SEPARATOR

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
# ![alt](src), and a badge: [![alt](img)](link)
_IMAGE = re.compile(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)|!\[[^\]]*\]\([^)]*\)")
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)\s]*)\)")  # [text](url) -> text
# HTML elements that notes exported from web pages carry. Only these are tags: "<PAD>", "<width>" or
# "<class_id>" in a note are placeholders the text is about, and "<s>" / "</s>" are a tokenizer's
# sentence marks (HTML's <s> strikethrough is left to <del> and <strike>).
_HTML_ELEMENTS = (
    "a|abbr|article|aside|audio|b|big|blockquote|body|br|caption|center|cite|code|col|colgroup|dd|del|"
    "details|div|dl|dt|em|figcaption|figure|font|footer|h[1-6]|head|header|hr|html|i|iframe|img|ins|kbd|"
    "li|link|main|mark|meta|nav|noscript|ol|p|picture|pre|script|section|small|source|span|strike|strong|"
    "style|sub|summary|sup|svg|table|tbody|td|tfoot|th|thead|title|tr|tt|u|ul|video"
)
_HTML_TAG = re.compile(rf"</?(?:{_HTML_ELEMENTS})(?:\s[^<>]*)?/?>", re.I)
_INLINE_CODE = re.compile(r"(`+)(?:.+?)\1")  # `code` spans: left as written
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
# Lines that only move the reader around: "返回目录", "上一篇 | 下一篇", "[TOC]", "Back to top"
_NAVIGATION = re.compile(
    r"^\s*(\[TOC\]|目录|返回(目录|顶部|首页)|回到顶部|上一篇.*|下一篇.*|back to top|table of contents|toc)\s*$", re.I
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Block:
    kind: str  # text | code | table
    text: str


@dataclass
class Section:
    path: tuple[str, ...]  # headings from the top level down; () before the first heading
    blocks: list[Block] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.path)


def clean_line(line: str) -> str:
    """A prose line without images, empty links, HTML tags; links keep their text; inline code as written."""
    out, at = [], 0
    for m in _INLINE_CODE.finditer(line):
        out += [_clean_prose(line[at : m.start()]), m.group(0)]
        at = m.end()
    out.append(_clean_prose(line[at:]))
    return "".join(out).rstrip()


def _clean_prose(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _EMPTY_LINK.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    return text.replace("&nbsp;", " ")


def _is_prose(lang: str, inner: str) -> bool:
    """A fence used as a text box (```text, or no language around mostly Chinese prose) is prose."""
    if lang in ("text", "txt", "markdown", "md", "plain", "plaintext"):
        return True
    return not lang and len(_CJK.findall(inner)) > 0.3 * len(inner)


def sections(markdown: str) -> list[Section]:
    text = _HTML_COMMENT.sub("", markdown.replace("\r\n", "\n"))
    out = [Section(())]
    stack: list[tuple[int, str]] = []  # (level, title) of the open headings
    para: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if para:
            body = "\n".join(para).strip()
            if body:
                out[-1].blocks.append(Block("text", body))
            para.clear()
        if table:
            out[-1].blocks.append(Block("table", "\n".join(table)))
            table.clear()

    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            mark = fence.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(mark[0] * len(mark)):
                j += 1
            body = "\n".join(lines[i : j + 1]).strip()
            inner = "\n".join(lines[i + 1 : j]).strip()
            if inner and _is_prose(line[fence.end() :].strip().lower(), inner):
                out[-1].blocks.append(Block("text", "\n".join(clean_line(x) for x in inner.split("\n")).strip()))
            elif inner:
                out[-1].blocks.append(Block("code", body))
            i = j + 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level, title = len(heading.group(1)), clean_line(heading.group(2)).strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            if title:
                stack.append((level, title))
            out.append(Section(tuple(t for _, t in stack)))
            i += 1
            continue
        if _TABLE_ROW.match(line):
            if para:
                flush()
            table.append(clean_line(line))
            i += 1
            continue
        if table:
            flush()
        cleaned = clean_line(line)
        if not cleaned.strip() or _NAVIGATION.match(cleaned):
            if not cleaned.strip():
                flush()
            i += 1
            continue
        para.append(cleaned)
        i += 1
    flush()
    return [s for s in out if s.blocks]
