"""The "nothing relevant" decision on the real index: the features a search carries, the scope-example
gap, the cached vectors it needs, and calibration (`python -m rag calibrate`) reproducing the shipped
model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.evaluation.calibrate import Variant, calibrate, collect, cross_validate
from rag.labelled import load_queries
from rag.relevance.features import NAMES, feature_values
from rag.relevance.model import DEFAULT
from rag.retrieval.query import query_vector, unit
from rag.retrieval.retriever import Retriever
from rag.settings import Settings, get_settings


def test_hits_carry_coverage_and_the_query_its_unknown_terms(retriever: Retriever) -> None:
    inside = retriever.search("LoRA 权重 合并", k=3, bank_only=True)
    assert inside[0].coverage > 0.5 and inside.features.unknown == 0.0
    outside = retriever.search("红烧肉 软糯 秘诀", k=3, bank_only=True)
    assert outside.features.unknown > 0.5 and outside[0].coverage < 0.2
    assert retriever.relevance(inside) > retriever.min_score > retriever.relevance(outside)


def test_terms_the_bank_mentions_only_in_notes_are_peripheral(retriever: Retriever) -> None:
    passing = retriever.search("Dropout 训练和测试时为什么不一样", k=3, bank_only=True)
    assert passing.features.peripheral > 0.2  # "dropout" appears in notes, in no question or 问法
    central = retriever.search("LoRA 权重 合并", k=3, bank_only=True)
    assert central.features.peripheral == 0.0
    assert retriever.relevance(central) > retriever.min_score > retriever.relevance(passing)


def test_hits_carry_single_phrasing_similarity_and_the_query_its_mass(retriever: Retriever) -> None:
    # a query worded like one 问法 line is closer to that line than to its chunk of three
    for bid in ("Q077", "Q142"):
        phrasing = retriever.catalogue.aliases(bid)[0]
        hit = next(h for h in retriever.search(phrasing, k=5, bank_only=True) if h.id == bid)
        assert hit.phrase > 0.85 and hit.phrase > hit.dense + 0.1
    short = retriever.search("LoRA", k=3, bank_only=True).features
    long = retriever.search("LoRA 和 QLoRA 的显存占用有什么区别", k=3, bank_only=True).features
    assert 0 < short.query_mass < 1 < long.query_mass  # in units of the rarest possible term
    assert retriever.search("Q081", k=1)[0].phrase == 1.0  # asked by id


def test_features_are_named_once_per_search(retriever: Retriever) -> None:
    result = retriever.search("LoRA 的思路", k=10, bank_only=True)
    values = feature_values(result)
    assert tuple(values) == NAMES
    assert values["score"] == result[0].score and values["dense"] == max(h.dense for h in result)
    assert values["example_gap"] == result.features.example_gap  # a bank top hit: the gap as measured
    assert 0.0 <= retriever.relevance(result) <= 1.0 and retriever.is_relevant(result)


class CountingEmbeddings(Embeddings):
    """The real embedder, counting how many texts it is asked to embed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner, self.texts = inner, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_the_retriever_reuses_its_phrase_and_example_vectors(bank_settings: Settings, embeddings) -> None:
    # written when the shared index was built: ingest warms what the first search needs
    assert (bank_settings.data_dir / "phrase_vectors.npz").is_file()
    assert (bank_settings.data_dir / "example_vectors.npz").is_file()
    counting = CountingEmbeddings(embeddings)
    Retriever(bank_settings, embeddings=counting)
    assert counting.texts == 0  # not the ~2.2k phrasings again, nor the scope examples


def test_example_gap_reads_near_misses_apart_from_the_banks_own_questions(retriever: Retriever) -> None:
    # nearer questions the scope examples mark out of scope than any in-scope example or bank phrasing
    for query in ("XGBoost 和 LightGBM 有什么区别", "红烧肉怎么做才软糯"):
        assert retriever.search(query, k=5, bank_only=True).features.example_gap > 0.3, query
    for query in ("lora是啥", "RoPE 的优点"):
        assert retriever.search(query, k=5, bank_only=True).features.example_gap < -0.3, query


def _examples_retriever(bank_settings: Settings, embeddings, tmp_path: Path, lines: str | None) -> Retriever:
    """A retriever on a copy of the shared index, with these scope examples (None: no file)."""
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(bank_settings.data_dir, data)
    path = tmp_path / f"examples-{abs(hash(lines))}.tsv"
    if lines is not None:
        path.write_text(lines, encoding="utf-8")
    return Retriever(bank_settings.model_copy(update={"data_dir": data, "scope_examples": path}), embeddings=embeddings)


def test_calibration_leaves_out_a_querys_own_example_line(bank_settings: Settings, embeddings, tmp_path: Path) -> None:
    own = "红烧肉怎么做才软糯"
    others = "宫保鸡丁的做法\t-\nLoRA 是什么\tQ077\n"
    both = _examples_retriever(bank_settings, embeddings, tmp_path, f"{own}\t-\n{others}{own}\t-\n")
    without = _examples_retriever(bank_settings, embeddings, tmp_path, others)

    def gap(r: Retriever, query: str, leave_out_own: bool) -> float:
        search = r.searcher
        searched = r.search(query, k=3, bank_only=True).searched
        u = unit(query_vector(r.embeddings, searched))
        exclude = search.examples.rows_of(searched) if leave_out_own else None
        return search.examples.gap(u, search.phrases.similarities(u), exclude=exclude)

    assert both.searcher.examples.rows_of(own) == [0, 3]  # every line with that text, in file order
    assert both.searcher.examples.rows_of("红烧肉怎么炖才软糯") == []
    # calibration scores each example as a new question: its own lines are left out ...
    assert gap(both, own, leave_out_own=True) == pytest.approx(gap(without, own, leave_out_own=False), abs=1e-6)
    # ... while a normal search compares the query with every example, its own line included
    as_searched = both.search(own, k=3, bank_only=True).features.example_gap
    assert as_searched == pytest.approx(gap(both, own, leave_out_own=False), abs=1e-6)
    assert as_searched > gap(without, own, leave_out_own=False) + 0.1
    # a new question meets the example
    assert gap(both, "红烧肉怎么炖才软糯", leave_out_own=True) > gap(without, "红烧肉怎么炖才软糯", False) + 0.1


def test_scope_examples_missing_or_one_sided(
    bank_settings: Settings, embeddings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        r = _examples_retriever(bank_settings, embeddings, tmp_path, None)
    assert "no scope examples at" in caplog.text
    assert r.search("红烧肉怎么做才软糯", k=3, bank_only=True).features.example_gap == 0.0
    with pytest.raises(RagError, match=r"examples-.*\.tsv: scope examples need both in-scope and out-of-scope"):
        _examples_retriever(bank_settings, embeddings, tmp_path, "LoRA 是什么\tQ077\n")
    with pytest.raises(RagError, match=r"examples-.*\.tsv:2: expected `query<TAB>Q001,Q002`"):
        _examples_retriever(bank_settings, embeddings, tmp_path, "LoRA 是什么\tQ077\nno tab here\n")


# ----- calibration -----
def test_the_shipped_model_is_what_calibrate_fits_on_the_scope_examples(
    retriever: Retriever, bank_settings: Settings
) -> None:
    model, report = calibrate(retriever, load_queries(bank_settings.scope_examples_path))
    assert model.embedder == DEFAULT.embedder and model.features == DEFAULT.features
    assert model.weights == pytest.approx(DEFAULT.weights, abs=0.05)
    assert model.threshold == pytest.approx(DEFAULT.threshold, abs=0.01)
    assert "threshold" in report and "in-scope refused" in report


# Every sixth scope example: all blocks of the file, in and out of scope, at a sixth of the cost.
SUBSET_STEP, SUBSET_SIZE = 6, 200


def test_cross_validation_shows_the_example_gap_pays(retriever: Retriever, bank_settings: Settings) -> None:
    queries = load_queries(bank_settings.scope_examples_path)[::SUBSET_STEP][:SUBSET_SIZE]
    data = collect(retriever, queries)
    assert data.x.shape == (SUBSET_SIZE, len(NAMES)) and data.y.any() and not data.y.all()
    inside = retriever.searcher.examples.inside
    assert data.example_sims.shape == (SUBSET_SIZE, len(inside))
    # each query found its own line in the examples file (the gap leaves it out)
    assert all(len(rows) >= 1 for rows in data.own)

    def shares(variant: Variant) -> tuple[np.ndarray, np.ndarray]:
        accepted, refused = cross_validate(data, inside, variant, retriever.embedder, splits=2)
        assert accepted.shape == refused.shape == (2,)
        assert np.all((accepted >= 0) & (accepted <= 1)) and np.all((refused >= 0) & (refused <= 1))
        return accepted, refused

    shipped, _ = shares(Variant("shipped"))
    without_gap, _ = shares(Variant("without the example gap", tuple(n for n in NAMES if n != "example_gap")))
    # the measured full-set figures: 13.5 % -> 4.1 % of out-of-scope questions accepted
    assert without_gap.mean() > shipped.mean()


def test_the_shipped_document_model_is_what_calibrate_docs_fits(tmp_path: Path, embeddings) -> None:
    """The same steps as `python -m rag calibrate --docs`: the bank's notes as documents, no bank entries."""
    from ingest.pipeline import ingest
    from rag.evaluation.calibrate_documents import calibrate_documents, write_notes_as_documents
    from rag.relevance.model import DOC_DEFAULT

    settings = get_settings()
    assert write_notes_as_documents(settings.corpus_dir, tmp_path / "notes") == 173
    report = ingest([tmp_path / "notes"], settings, show_bar=False, embeddings=embeddings)
    assert not report.failed and report.chunks_total > 173
    docs_only = Retriever(settings, embeddings=embeddings)
    assert not any(docs_only.snapshot.columns["id"])  # no bank entries: every hit is a document
    model, text = calibrate_documents(docs_only, load_queries(settings.scope_examples_path))
    assert model.features == DOC_DEFAULT.features and model.threshold == DOC_DEFAULT.threshold
    assert model.weights == pytest.approx(DOC_DEFAULT.weights, abs=0.1)
    assert model.bias == pytest.approx(DOC_DEFAULT.bias, abs=0.1)
    assert "set on the documents dev set" in text
