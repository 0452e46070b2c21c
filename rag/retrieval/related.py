"""Related questions: the nearest other bank entries, skipping near-duplicates."""

from __future__ import annotations

import numpy as np

from rag.errors import RagError
from rag.index.catalogue import ID_QUERY
from rag.retrieval.hits import Hit
from rag.retrieval.hybrid import MAX_K, HybridSearch

NEAR_DUPLICATE = 0.92  # question-vector cosine above which two related questions say the same thing


def related(search: HybridSearch, target: str, k: int = 5) -> list[Hit]:
    """The k nearest other bank entries to a bank id or free text."""
    if not 1 <= k <= MAX_K:
        raise RagError(f"k must be between 1 and {MAX_K}, got {k}")
    catalogue = search.snapshot.catalogue
    if not len(catalogue):
        return []
    qv, ev = catalogue.question_vecs, catalogue.entry_vecs
    if m := ID_QUERY.match(target):
        bid = catalogue.check_id(m.group(1))
        exclude = {bid}
        j = catalogue.position[bid]
        anchor = qv[j]
        # question wording and note content both count: notes alone let formula-heavy notes
        # cluster together (LoRA next to Swish), questions alone over-weight "…的思路是什么"
        sims = 0.5 * (qv @ qv[j]) + 0.5 * (ev @ ev[j])
    else:
        top = search.search(target, k=1, bank_only=True).hits
        exclude = {top[0].id} if top and top[0].id else set()
        v = np.asarray(search.embeddings.embed_query(target.strip()), dtype=np.float32)
        anchor = qv[catalogue.position[top[0].id]] if exclude else v
        sims = 0.5 * (qv @ v) + 0.5 * (ev @ v)
    chosen: list[int] = []
    for j in np.argsort(-sims):
        bid = catalogue.ids[j]
        if bid in exclude or float(qv[j] @ anchor) > NEAR_DUPLICATE:
            continue
        if any(float(qv[j] @ qv[c]) > NEAR_DUPLICATE for c in chosen):
            continue
        chosen.append(int(j))
        if len(chosen) == k:
            break
    rows = [catalogue[catalogue.ids[j]].display_row for j in chosen]
    return [search.hit(row, float(sims[j]), float(sims[j]), 0.0) for row, j in zip(rows, chosen, strict=True)]
