"""embed_cached(): normalized vectors kept on disk per embedder and texts."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from rag.index.vector_cache import embed_cached


class CountingEmbeddings(Embeddings):
    """A deterministic stand-in for an embedding model: vectors from character codes, unnormalized."""

    def __init__(self) -> None:
        self.texts = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return [[len(t), sum(map(ord, t)) % 97 + 1.0, 3.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


TEXTS = ["LoRA 是什么", "RoPE 的优点"]


def test_vectors_are_normalized_and_read_back(tmp_path: Path) -> None:
    counting, path = CountingEmbeddings(), tmp_path / "cache" / "phrases.npz"
    first = embed_cached(counting, "usem3", TEXTS, path)
    assert first.shape == (2, 3) and first.dtype == np.float32 and counting.texts == 2
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    raw = np.array(CountingEmbeddings().embed_query(TEXTS[0]))
    assert np.allclose(first[0], raw / np.linalg.norm(raw), atol=1e-6)
    assert np.array_equal(embed_cached(counting, "usem3", TEXTS, path), first) and counting.texts == 2


def test_other_texts_or_another_embedder_are_recomputed(tmp_path: Path) -> None:
    counting, path = CountingEmbeddings(), tmp_path / "v.npz"
    embed_cached(counting, "usem3", TEXTS, path)
    embed_cached(counting, "usem3", TEXTS[:1], path)
    embed_cached(counting, "sentence-transformers:x", TEXTS[:1], path)
    assert counting.texts == 4


def test_a_torn_file_is_rebuilt_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    counting, path = CountingEmbeddings(), tmp_path / "v.npz"
    first = embed_cached(counting, "usem3", TEXTS, path)
    path.write_bytes(path.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        again = embed_cached(counting, "usem3", TEXTS, path)
    assert counting.texts == 4 and np.allclose(again, first)
    assert f"{path}: unreadable vector cache" in caplog.text
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, no leftovers
