"""The essential part of a note for an extractive answer."""

from __future__ import annotations

EXCERPT_CHARS = 700


def excerpt(note: str, limit: int = EXCERPT_CHARS) -> str:
    """Cut at a unit boundary: a paragraph, a bullet line, or a whole code fence / $$ block (never
    half a formula). The first unit always; the '相关：' line never."""
    units: list[tuple[str, bool]] = []  # (text, starts a new paragraph)
    block: list[str] = []
    fence = ""  # the open block's marker: "```" or "$$"; a "$$" inside a code fence is code
    new_paragraph = True
    for line in note.splitlines():
        marker = "```" if line.lstrip().startswith("```") else "$$" if line.strip() == "$$" else ""
        if fence or marker:
            block.append(line)
            if not fence:
                fence = marker
            elif marker == fence:
                fence = ""
            if not fence:
                units.append(("\n".join(block), new_paragraph))
                block, new_paragraph = [], False
            continue
        if not line.strip():
            new_paragraph = True
            continue
        if line.startswith(("相关：", "相关:")):
            continue
        units.append((line, new_paragraph))
        new_paragraph = False
    if block:
        units.append(("\n".join(block), new_paragraph))
    out = ""
    for text, para in units:
        if out and len(out) + len(text) > limit:
            break
        out += ("\n\n" if para else "\n") + text if out else text
    return out
