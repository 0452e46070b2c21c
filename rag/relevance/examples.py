"""The scope-example comparison: is a query nearer to user questions the bank answers or to ones it does not?

Scope examples (corpus/scope_examples.tsv) are user questions labelled with the entries that answer them
or with none. gap = cosine to the nearest out-of-scope example - cosine to the nearest in-scope one or
bank phrasing; > 0 reads like questions the bank does not answer. It separates near misses the bank's
own wording cannot: "GAN 训练 mode collapse" is as close to the bank as many real questions, but closer
still to questions it does not answer. Cross-validation (docs/relevance.md): out of scope accepted
13.5 % -> 4.1 % at 2.2 % of in-scope refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.index.snapshot import IndexSnapshot
from rag.index.vector_cache import embed_cached
from rag.labelled import EvalQuery, load_queries
from rag.retrieval.query import content_words

log = logging.getLogger(__name__)


class ScopeExamples:
    def __init__(self, texts: list[str], inside: np.ndarray, vecs: np.ndarray) -> None:
        self.texts = texts  # (n_examples,) spell-fixed, as a query is searched
        self.inside = inside  # (n_examples,) bool: does some bank entry answer it?
        self.vecs = vecs  # (n_examples, dim), unit rows, embedded as search embeds a query
        self._rows: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            self._rows.setdefault(t, []).append(i)

    def __len__(self) -> int:
        return len(self.texts)

    def rows_of(self, text: str) -> list[int]:
        """The examples whose spell-fixed text is exactly this (calibration leaves them out)."""
        return self._rows.get(text, [])

    def gap(self, unit: np.ndarray, phrase_sims: np.ndarray, exclude: Sequence[int] | None = None) -> float:
        """For a query's unit vector and its cosine to each bank phrasing; exclude: example rows to leave
        out, as if they were not written (calibration: a query's own line, a held-out fold). The bank's
        own phrasings count as in-scope examples too: "LoRA 的原理是什么" is nearer "sora 是什么原理"
        (out of scope) than any in-scope example, but nearer still to Q078's "LoRA 的思路是什么"."""
        if not len(self.texts):
            return 0.0
        sims = self.vecs @ unit
        if exclude is not None and len(exclude):
            sims[np.asarray(exclude, dtype=np.int64)] = -1.0
        nearest_in = float(sims[self.inside].max())
        if phrase_sims.size:  # an index of your documents alone has no bank phrasings
            nearest_in = max(nearest_in, float(phrase_sims.max()))
        return float(sims[~self.inside].max()) - nearest_in


def load_examples(
    path: Path, snapshot: IndexSnapshot, embeddings: Embeddings, embedder: str, vector_cache: Path
) -> ScopeExamples:
    """The examples, spell-fixed against this snapshot's vocabulary and embedded as search embeds a
    query. Spell-fixing and tokenizing 1256 examples costs ~1.6 s, so the result is kept in the
    snapshot's folder per examples file and embedder; the vectors also in vector_cache, which outlives
    snapshots. A missing file: no examples, with a warning."""
    if not path.is_file():
        log.warning("no scope examples at %s: the 'nothing relevant' decision will be less accurate", path)
        return ScopeExamples([], np.zeros(0, dtype=bool), np.zeros((0, 0), dtype=np.float32))
    key = hashlib.sha256(path.read_bytes() + b"\x1f" + embedder.encode()).hexdigest()[:16]
    cache = snapshot.folder / f"examples-{key}.npz"
    if cache.is_file():
        try:
            with np.load(cache) as data:
                return ScopeExamples(data["texts"].tolist(), data["inside"], data["vecs"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("%s: unreadable cache (%s); recomputing it", cache, exc)
    examples: list[EvalQuery] = load_queries(path)
    if {bool(e.gold) for e in examples} != {True, False}:
        raise RagError(f"{path}: scope examples need both in-scope and out-of-scope (`-`) queries")
    texts = [snapshot.spelling.fix(e.query) for e in examples]
    # Embedded as rag/retrieval/query.query_vector embeds a query: the text plus its content words alone.
    contents = [content_words(t) for t in texts]
    unique = list(dict.fromkeys(texts + [c for c in contents if c]))
    where = {t: i for i, t in enumerate(unique)}
    vecs = embed_cached(embeddings, embedder, unique, vector_cache)
    both = [vecs[where[t]] + (vecs[where[c]] if c and c != t else 0.0) for t, c in zip(texts, contents, strict=True)]
    out = np.array(both, dtype=np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    inside = np.array([bool(e.gold) for e in examples])
    tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, texts=np.array(texts), inside=inside, vecs=out)
    os.replace(tmp, cache)
    return ScopeExamples(texts, inside, out)
