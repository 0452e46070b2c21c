"""Fitting the "nothing relevant" model, and the cross-validation that chooses its features.

calibrate(): one fit on labelled queries (the scope examples), each query's own example line left out
of the example comparison, as if it were new. cross_validate(): 5 folds x `splits` random splits; a
held-out query is compared only with the training folds' examples, and its threshold comes from the
training folds. Figures are totals over every held-out fold, with the spread over splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.labelled import EvalQuery
from rag.relevance.features import NAMES, feature_vector
from rag.relevance.model import DEFAULT, IN_SCOPE_REFUSED, RelevanceModel, fit, relevance_of_features, tradeoff
from rag.retrieval.query import query_vector, unit
from rag.retrieval.retriever import Retriever

GAP = NAMES.index("example_gap")


@dataclass
class CalibrationSet:
    x: np.ndarray  # (n, n_features), FEATURES order; example_gap with the query's own line left out
    y: np.ndarray  # (n,) bool: in scope
    example_sims: np.ndarray  # (n, n_examples) cosine of each query to each scope example
    phrase_max: np.ndarray  # (n,) its best cosine to any bank phrasing
    own: list[list[int]]  # per query: its own example rows


def collect(retriever: Retriever, queries: Sequence[EvalQuery]) -> CalibrationSet:
    search = retriever.searcher
    examples = search.examples
    xs, sims, pmax, own = [], [], [], []
    for q in queries:
        result = search.search(q.query, k=10, bank_only=True)
        u = unit(query_vector(search.embeddings, result.searched))
        phrase_sims = search.phrases.similarities(u)
        rows = examples.rows_of(result.searched)
        x = feature_vector(result)
        if result.hits:
            x[GAP] = examples.gap(u, phrase_sims, exclude=rows)
        xs.append(x)
        sims.append(examples.vecs @ u if len(examples) else np.zeros(0, np.float32))
        pmax.append(float(phrase_sims.max()) if phrase_sims.size else -1.0)
        own.append(rows)
    y = np.array([bool(q.gold) for q in queries])
    return CalibrationSet(np.array(xs), y, np.array(sims), np.array(pmax), own)


def calibrate(
    retriever: Retriever, queries: Sequence[EvalQuery], features: tuple[str, ...] = DEFAULT.features
) -> tuple[RelevanceModel, str]:
    """Fit the shipped features on labelled queries; returns the model and a report of its trade-off."""
    data = collect(retriever, queries)
    x, y = data.x[:, [NAMES.index(n) for n in features]], data.y
    model = fit(x, y, retriever.embedder, features=features)
    lines = [
        f"fitted on {len(queries)} queries ({int(y.sum())} in scope, {int((~y).sum())} out of scope)",
        "weights (" + ", ".join(features) + "): " + ", ".join(f"{w:+.4f}" for w in model.weights),
        f"bias {model.bias:+.4f}  threshold {model.threshold:.4f} (refuses {IN_SCOPE_REFUSED:.0%} of in-scope ones)",
        "threshold  out-of-scope accepted  in-scope refused",
    ]
    lines += [f"{t:9.4f}  {a:20d}  {r:16d}" for t, a, r in tradeoff(model, x, y)]
    return model, "\n".join(lines)


# ----- cross-validation -----
@dataclass(frozen=True)
class Variant:
    label: str
    features: tuple[str, ...] = NAMES
    phrases_in_gap: bool = True  # the bank's phrasings count on the gap's in-scope side
    strict: bool = False  # threshold above every training out-of-scope query but one, not at 2 % of in-scope


def variants() -> list[Variant]:
    """The comparisons docs/relevance.md reports, then each feature left out in turn."""
    out = [
        Variant("without the example gap", tuple(n for n in NAMES if n != "example_gap")),
        Variant("example gap, in-scope side from the examples only", phrases_in_gap=False),
        Variant("example gap with the bank's phrasings (shipped)"),
        Variant("shipped, threshold above every out-of-scope query but one", strict=True),
    ]
    out += [Variant(f"shipped without {n}", tuple(m for m in NAMES if m != n)) for n in NAMES if n != "example_gap"]
    out.append(Variant("shipped without dense and phrase", tuple(m for m in NAMES if m not in ("dense", "phrase"))))
    return out


def _gaps(data: CalibrationSet, rows: np.ndarray, excluded: list[int], inside: np.ndarray, phrases: bool) -> np.ndarray:
    """Example gaps of the queries `rows`, with the examples `excluded` left out."""
    sims = data.example_sims[rows].copy()
    if excluded:
        sims[:, excluded] = -1.0
    nearest_in = sims[:, inside].max(axis=1)
    if phrases:
        nearest_in = np.maximum(nearest_in, data.phrase_max[rows])
    return sims[:, ~inside].max(axis=1) - nearest_in


def cross_validate(
    data: CalibrationSet, inside: np.ndarray, variant: Variant, embedder: str, splits: int = 30, folds: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Per split (the same splits for every variant): the share of out-of-scope queries accepted and of
    in-scope queries refused, over all held-out folds; each (splits,). inside: the examples' labels."""
    cols = [NAMES.index(n) for n in variant.features]
    n = len(data.y)
    # every query compared with every example but its own line (training queries)
    in_sample = np.array([_gaps(data, np.array([i]), data.own[i], inside, variant.phrases_in_gap)[0] for i in range(n)])
    accepted, refused = [], []
    for seed in range(splits):
        order = np.random.default_rng(seed).permutation(n)
        acc = ref = 0
        for f in range(folds):
            test = order[f::folds]
            train = np.setdiff1d(order, test)
            held_out = sorted({r for i in test for r in data.own[i]})
            x_train = data.x[train].copy()
            x_test = data.x[test].copy()
            x_train[:, GAP] = in_sample[train]
            x_test[:, GAP] = _gaps(data, test, held_out, inside, variant.phrases_in_gap)  # the training folds' only
            model = fit(x_train[:, cols], data.y[train], embedder, features=variant.features)
            if variant.strict:
                scores = relevance_of_features(model, x_train[:, cols])[~data.y[train]]
                bar = float(np.sort(scores)[-2]) + 1e-9 if len(scores) > 1 else model.threshold
                model = RelevanceModel(model.weights, model.bias, bar, embedder, variant.features)
            s = relevance_of_features(model, x_test[:, cols])
            y = data.y[test]
            acc += int((s[~y] >= model.threshold).sum())
            ref += int((s[y] < model.threshold).sum())
        accepted.append(acc / max(int((~data.y).sum()), 1))
        refused.append(ref / max(int(data.y.sum()), 1))
    return np.array(accepted), np.array(refused)


def cv_report(retriever: Retriever, queries: Sequence[EvalQuery], splits: int = 30) -> str:
    """The variants' figures (mean ± sd over splits) and, against the shipped features on the same
    splits, the paired difference in out-of-scope accepted: a feature pays when leaving it out raises
    that by more than about two paired standard deviations."""
    data = collect(retriever, queries)
    inside = retriever.searcher.examples.inside
    runs = [(v, *cross_validate(data, inside, v, retriever.embedder, splits)) for v in variants()]
    base_acc = next(acc for v, acc, _ in runs if v.features == NAMES and v.phrases_in_gap and not v.strict)
    lines = [
        f"cross-validation on {len(queries)} queries, 5 folds x {splits} splits "
        f"(threshold at {IN_SCOPE_REFUSED:.0%} of in-scope training queries unless said)",
        "| features | out of scope accepted | in scope refused | accepted vs shipped (paired) |",
        "| --- | --- | --- | --- |",
    ]
    for v, acc, ref in runs:
        diff = 100 * (acc - base_acc)
        paired = f"{diff.mean():+.2f} pp ± {diff.std():.2f}" if diff.any() else "-"
        lines.append(
            f"| {v.label} | {100 * acc.mean():.1f} % ± {100 * acc.std():.1f} | "
            f"{100 * ref.mean():.1f} % ± {100 * ref.std():.1f} | {paired} |"
        )
    lines += ["", "backward elimination from all features (the example gap always kept):"]
    lines += [f"  {line}" for line in backward_elimination(data, inside, retriever.embedder, splits)]
    return "\n".join(lines)


NOISE_SD = 2.0  # a feature pays when leaving it out raises out-of-scope accepted by more than this many paired sd


def backward_elimination(data: CalibrationSet, inside: np.ndarray, embedder: str, splits: int) -> list[str]:
    """Repeatedly leave out the feature whose absence costs least, while that cost is within split
    noise (paired mean <= NOISE_SD paired standard deviations); what remains is what pays."""
    kept = list(NAMES)
    base, _ = cross_validate(data, inside, Variant("all", tuple(kept)), embedder, splits)
    lines = [f"all features: out of scope accepted {100 * base.mean():.2f} %"]
    while True:
        trials = []
        for name in kept:
            if name == "example_gap":
                continue
            rest = tuple(n for n in kept if n != name)
            acc, ref = cross_validate(data, inside, Variant(name, rest), embedder, splits)
            diff = 100 * (acc - base)
            trials.append((diff.mean(), diff.std(), name, acc, ref))
        free = [t for t in trials if t[0] <= NOISE_SD * t[1]]
        if not free:
            break
        cost, sd, name, acc, ref = min(free)
        kept.remove(name)
        base = acc
        lines.append(
            f"leave out {name} ({cost:+.2f} pp ± {sd:.2f}): out of scope accepted {100 * acc.mean():.2f} %, "
            f"in scope refused {100 * ref.mean():.2f} %"
        )
    pays = ", ".join(f"{name} {cost:+.2f} pp ± {sd:.2f}" for cost, sd, name, _, _ in sorted(trials, reverse=True))
    lines.append(f"kept: {', '.join(kept)} (cost of leaving each out: {pays or 'none'})")
    return lines
