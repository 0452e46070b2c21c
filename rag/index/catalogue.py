"""The bank as the index holds it: one record per entry, built from its chunks' rows.

Vectors (unit rows, in id order): question_vecs (n_entries, dim) the question chunk's; entry_vecs
(n_entries, dim) 0.3 * question + 0.7 * mean of the note chunks, used by related questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.errors import RagError

ID_QUERY = re.compile(r"^\s*(Q\d{3})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    question: str
    section: str
    source: str
    display_row: int  # the row shown for the entry: its first note chunk, else its question chunk
    note_rows: tuple[int, ...]
    alias_rows: tuple[int, ...]
    # rows of its question and 问法 chunks: what the entry is about, where its note also mentions
    # neighbouring topics ("LSTM" in the P-tuning note) that it does not answer
    central_rows: tuple[int, ...]


class BankCatalogue:
    def __init__(self, kinds: list[str], ids: list[str], chunks: list[int], texts: list[str], meta_of, vec_of) -> None:
        """kinds/ids/chunks/texts: per store row; meta_of(row) -> that row's metadata; vec_of: row -> vector."""
        self._texts = texts
        by_id: dict[str, list[int]] = {}
        for i, bid in enumerate(ids):
            if bid:
                by_id.setdefault(bid, []).append(i)
        self.ids: list[str] = sorted(by_id)
        self.entries: dict[str, CatalogueEntry] = {}
        q_vecs, e_vecs = [], []
        for bid in self.ids:
            rows = by_id[bid]
            questions = [i for i in rows if kinds[i] == "question"]
            q_rows = questions or rows
            notes = sorted((i for i in rows if kinds[i] == "note"), key=lambda i: chunks[i])
            aliases = sorted((i for i in rows if kinds[i] == "alias"), key=lambda i: chunks[i])
            meta = meta_of(q_rows[0])
            self.entries[bid] = CatalogueEntry(
                bid,
                meta["question"],
                meta["section"],
                meta["source"],
                notes[0] if notes else q_rows[0],
                tuple(notes),
                tuple(aliases),
                tuple(questions + aliases or rows),
            )
            q = vec_of[q_rows[0]]
            # the note says more about the topic than the question's wording ("…的思路是什么?")
            e = 0.3 * q + 0.7 * (np.mean([vec_of[i] for i in notes], axis=0) if notes else q)
            q_vecs.append(q / np.linalg.norm(q))
            e_vecs.append(e / np.linalg.norm(e))
        dim = len(next(iter(vec_of.values()))) if vec_of else 0
        self.question_vecs = np.array(q_vecs, dtype=np.float32).reshape(len(self.ids), dim)
        self.entry_vecs = np.array(e_vecs, dtype=np.float32).reshape(len(self.ids), dim)
        self.position = {bid: j for j, bid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, bid: str) -> CatalogueEntry:
        return self.entries[self.check_id(bid)]

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(self.entries[b].section for b in self.ids))

    def check_id(self, bid: str) -> str:
        bid = bid.strip().upper()
        if bid not in self.entries:
            first, last = (self.ids[0], self.ids[-1]) if self.ids else ("-", "-")
            raise RagError(f"unknown id {bid}: the bank has {first}..{last}")
        return bid

    def resolve_section(self, section: str) -> str:
        from rag.bank import resolve_section

        return resolve_section(section, self.sections)

    def aliases(self, bid: str) -> list[str]:
        """Other ways users ask an entry (its `问法：` line), in file order."""
        return [a for i in self[bid].alias_rows for a in self._texts[i].split("\n")]

    def note(self, bid: str) -> str:
        """An entry's note as stored in the index ("" when it has none)."""
        entry = self[bid]
        if not entry.note_rows:
            return ""
        q = entry.question
        pieces = [p[len(q) :].strip() if p.startswith(q) else p for p in (self._texts[i] for i in entry.note_rows)]
        note = pieces[0]
        for piece in pieces[1:]:  # sub-chunks of a long note overlap: join without repeating
            k = next((n for n in range(min(len(note), len(piece)), 0, -1) if note.endswith(piece[:n])), 0)
            note += piece[k:] if k >= 8 else "\n" + piece
        return note
