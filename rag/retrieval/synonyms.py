"""Synonym groups for the lexical side: a concept's other names count as the same keyword.

The bank writes "RLHF"; users write "人类反馈强化学习" or "reinforcement learning from human
feedback". Groups come from a TSV file (RAG_SYNONYMS_FILE, default corpus/synonyms.tsv), one concept
per line, its names separated by tabs:

    RLHF<TAB>基于人类反馈的强化学习<TAB>人类反馈强化学习<TAB>reinforcement learning from human feedback

Expansion happens at index time: a chunk naming any member of a group also gets the tokens of the
other members (tokens it already has are not repeated, so term frequencies stay as written). The
query is searched as typed, so its idf mass and coverage are computed on what the user wrote, and
"人类反馈强化学习" finds an entry that only says "RLHF".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from rag.errors import RagError
from rag.retrieval.text import singular, tokenize, tokenize_parts

_SEPARATORS = re.compile(r"[\s_-]+")


def _normalize(name: str) -> str:
    """Match key: lowercase, without spaces, hyphens and underscores ('KV-Cache', 'kv cache' -> 'kvcache')."""
    return _SEPARATORS.sub("", name.lower())


def _name_tokens(name: str) -> list[str]:
    """What a name adds to a chunk. A name of several English words adds only its joined forms
    ("mixed precision" -> mixedprecision; "precision" alone is another topic); a Chinese name adds
    its words of two or more characters ("基于人类反馈的强化学习" -> 基于 人类 反馈 强化学习)."""
    words, compounds = tokenize_parts(name)
    if name.isascii() and len(_SEPARATORS.split(name.strip())) > 1:
        return [w for w in words if "-" in w or "_" in w] + compounds
    return [t for t in words + compounds if t.isascii() or len(t) > 1]


def _ascii_keys(name: str) -> list[list[str]]:
    """Ways to see an English name among a chunk's tokens, each a list of tokens that must all be
    there: its joined form ('KV cache' -> kvcache, which tokenize() yields for 'KV cache',
    'kv-cache' and 'KVCache'), and for longer names also each adjacent pair of words, which is
    what tokenize() joins when they are written with spaces."""
    parts = [p for p in _SEPARATORS.split(name.lower()) if p]
    ways = [[singular("".join(parts))]]
    if len(parts) > 2:
        ways.append([singular(a + b) for a, b in pairwise(parts)])
    return ways


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _inside_word(flat: str, start: int, end: int) -> bool:
    """Does a match with an English end continue an English word ('kv缓存' in 'mykv缓存')?"""
    return (_is_word_char(flat[start]) and start > 0 and _is_word_char(flat[start - 1])) or (
        _is_word_char(flat[end - 1]) and end < len(flat) and _is_word_char(flat[end])
    )


@dataclass
class Synonyms:
    groups: list[tuple[str, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # English names are found among a chunk's tokens (so 'RM' is not found in 'RMSNorm');
        # names with Chinese in them by a scan of the chunk's lowercased text without separators,
        # indexed by their first two characters: ~1000 names cost a dict lookup per character.
        self._ascii: dict[str, list[tuple[list[str], int]]] = {}  # first key -> [(all keys, group)]
        self._cjk: dict[str, list[tuple[str, int]]] = {}  # first two chars -> [(name key, group)], longest first
        for g, group in enumerate(self.groups):
            for name in group:
                if name.isascii():
                    for keys in _ascii_keys(name):
                        self._ascii.setdefault(keys[0], []).append((keys, g))
                else:
                    key = _normalize(name)
                    self._cjk.setdefault(key[:2], []).append((key, g))
        for names in self._cjk.values():
            names.sort(key=lambda kg: -len(kg[0]))
        self._tokens = [list(dict.fromkeys(t for name in group for t in _name_tokens(name))) for group in self.groups]

    def __len__(self) -> int:
        return len(self.groups)

    def find(self, text: str, have: set[str]) -> set[int]:
        """The groups one of whose names text (whose tokens are have) contains."""
        found: set[int] = set()
        for t in have:
            for keys, g in self._ascii.get(t, ()):
                if all(k in have for k in keys):
                    found.add(g)
        if self._cjk:
            flat = _normalize(text)
            i = 0
            while i < len(flat) - 1:
                for key, g in self._cjk.get(flat[i : i + 2], ()):
                    # longest name first, and a matched name is skipped over: "强化学习" inside
                    # "基于人类反馈的强化学习" is part of that name, not a mention of plain RL
                    if flat.startswith(key, i) and not _inside_word(flat, i, i + len(key)):
                        found.add(g)
                        i += len(key) - 1
                        break
                i += 1
        return found

    def expand(self, text: str, tokens: list[str]) -> list[str]:
        """A chunk's tokens plus those of the other names of every concept it names (tokens it
        already has are not repeated, so term frequencies stay as written)."""
        if not self.groups:
            return tokens
        have = set(tokens)
        found = self.find(text, have)
        if not found:
            return tokens
        return tokens + list(dict.fromkeys(t for g in sorted(found) for t in self._tokens[g] if t not in have))


def load_synonyms(path: Path) -> Synonyms:
    """The groups in a synonyms TSV; no file means no synonyms. Errors name the file and line."""
    if not path.is_file():
        return Synonyms()
    groups: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # spelling variants that match alike ("decoder-only", "decoder only") count once
        first: dict[str, str] = {}
        for part in line.split("\t"):
            if part.strip():
                first.setdefault(_normalize(part), part.strip())
        names = tuple(first.values())
        if len(names) < 2:
            raise RagError(
                f"{path}:{n}: a synonym group needs two or more different names separated by tabs "
                f"(case, spaces and hyphens do not count), got {line!r}"
            )
        for name in names:
            if not tokenize(name):
                raise RagError(f"{path}:{n}: {name!r} has no searchable word (only stopwords or punctuation)")
            key = _normalize(name)
            if seen.get(key, n) != n:
                raise RagError(
                    f"{path}:{n}: {name!r} is already in the group on line {seen[key]}; a name belongs to one group"
                )
            seen[key] = n
        groups.append(names)
    return Synonyms(groups)
