"""Query typo repair against the index vocabulary, before both the lexical and the dense search.

Conservative on purpose: a wrong "fix" changes the question. Only words that are neither index terms
nor real words are touched, and only into an index term that occurs in at least MIN_DF chunks.
- English: 'deepnrom' -> 'deepnorm', 'langchian' -> 'langchain', 'nrom' -> 'norm' (difflib, or a
  permutation of letters for 4-letter words); English dictionary words ('whether', 'mode') stay.
- Chinese pinyin-input slips, one wrong character of the same sound: '知识裤' -> '知识库',
  '选转' -> '旋转', '工式' -> '公式'. Candidates are jieba's pieces of the query (so a span never
  straddles two real words), and spans holding a function character (在, 是, 的 …) are skipped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from functools import cached_property, lru_cache

from rag.retrieval.text import STOPWORDS, cut, is_dictionary_word, singular

_ASCII_WORD = re.compile(r"[A-Za-z]{4,}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
MIN_DF = 2
MAX_SPAN = 4  # characters
# Characters whose homophones are everywhere: a "typo" involving them is almost always a misreading.
FUNCTION_CHARS = frozenset(
    "的地得了着过是在再有又也和与及或就都还而被把对从到为以之其这那哪个么吗呢吧啊呀会能要不没很太更最"
)


@lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1)


class SpellFixer:
    def __init__(self, vocab: dict[str, int], df: Iterable[int], texts: Sequence[str]) -> None:
        """vocab: term -> column; df: chunks per column (the commoner term wins a tie); texts: the
        chunks, to check that a suspect span really is absent ('低秩' is jieba-split in the index)."""
        self.vocab = vocab
        self.texts = texts
        self.df = list(df)
        common = {t for t, col in vocab.items() if self.df[col] >= MIN_DF}
        ascii_terms = sorted((t for t in common if t.isascii() and t.isalpha() and len(t) >= 4), key=self._rank)
        self._by_letters: dict[str, str] = {}  # 4-letter terms by their sorted letters
        # (first letter, length) -> terms: a slip rarely hits the first letter, and difflib over the
        # whole vocabulary of a 100k-chunk index would cost ~100 ms per unknown word
        self._by_start: dict[tuple[str, int], list[str]] = {}
        for t in ascii_terms:
            if len(t) == 4:
                self._by_letters.setdefault("".join(sorted(t)), t)
            self._by_start.setdefault((t[0], len(t)), []).append(t)
        # commonest first; ties by the term, so the choice does not depend on the process's hash seed
        self._cjk_terms = sorted(
            (t for t in common if 2 <= len(t) <= MAX_SPAN and _CJK_RUN.fullmatch(t)), key=lambda t: (self._rank(t), t)
        )

    @cached_property
    def _order(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self._cjk_terms)}

    def _rank(self, term: str) -> int:
        return -self.df[self.vocab[term]]

    def fix(self, query: str) -> str:
        query = _ASCII_WORD.sub(lambda m: self._fix_ascii(m.group()), query)
        return _CJK_RUN.sub(lambda m: self._fix_cjk(m.group()), query)

    # ----- English -----
    def _fix_ascii(self, word: str) -> str:
        low = word.lower()
        if any(c.isupper() for c in word[1:]):  # 'LLaVA', 'DeepFM': a name written with care, not a slip
            return word
        if low in self.vocab or singular(low) in self.vocab or low in STOPWORDS or _english().known([low]):
            return word
        if len(low) == 4:
            return self._by_letters.get("".join(sorted(low)), word)
        # never a different length by more than one ('deepfm' is not 'deep')
        pool = [t for n in (-1, 0, 1) for t in self._by_start.get((low[0], len(low) + n), [])]
        close = difflib.get_close_matches(low, pool, n=1, cutoff=0.8)
        return close[0] if close else word

    # ----- Chinese -----
    @cached_property
    def _by_mask(self) -> dict[str, list[str]]:
        """Index terms of 2-4 characters under each of their one-character masks, commonest first
        ('知识库' under '·识库', '知·库', '知识·'): a span and the terms one character apart from it
        share a mask. Built on
        the first suspect span; pinyin is then read only for those few terms (pypinyin's tables take
        ~0.3 s to load, and reading every term's pinyin up front ~0.8 s)."""
        out: dict[str, list[str]] = {}
        for t in self._cjk_terms:
            for i in range(len(t)):
                out.setdefault(_mask(t, i), []).append(t)
        return out

    def _fix_cjk(self, run: str) -> str:
        if run in self.vocab:
            return run
        pieces = cut(run)
        out: list[str] = []
        i = 0
        while i < len(pieces):
            for n in range(min(3, len(pieces) - i), 0, -1):  # longest span of jieba pieces first
                span = "".join(pieces[i : i + n])
                if (term := self._homophone(span)) is not None:
                    out.append(term)
                    i += n
                    break
            else:
                out.append(pieces[i])
                i += 1
        return "".join(out)

    def _homophone(self, span: str) -> str | None:
        """The index term a suspect span is a one-character slip of, if any. Cheap checks first:
        most queries never need pinyin at all."""
        if not 2 <= len(span) <= MAX_SPAN or span in self.vocab or is_dictionary_word(span):
            return None
        if FUNCTION_CHARS.intersection(span):
            return None
        near = [t for i in range(len(span)) for t in self._by_mask.get(_mask(span, i), [])]
        if not near:
            return None
        near.sort(key=self._order.__getitem__)
        sounds = {t: set(_readings(t)) for t in near}
        # the first of the span's readings any near term shares; among those terms, the commonest
        term = next((t for sound in _readings(span) for t in near if sound in sounds[t]), None)
        if term is None or any(span in t for t in self.texts):
            return None
        return term


def _readings(text: str, limit: int = 16) -> list[tuple[str, ...]]:
    """Toneless pinyin of text under every reading of its polyphonic characters (at most limit):
    '微调' -> [('wei', 'tiao'), ('wei', 'diao')]; pypinyin's single guess reads it as 'wei diao', so
    '微跳' (wei tiao) would not meet it."""
    from pypinyin import Style, pinyin

    sounds: list[tuple[str, ...]] = [()]
    for options in pinyin(text, style=Style.NORMAL, heteronym=True):
        sounds = [(*s, o) for s in sounds for o in dict.fromkeys(options)][:limit]
    return sounds


def _mask(term: str, i: int) -> str:
    return f"{term[:i]}\0{term[i + 1 :]}"
