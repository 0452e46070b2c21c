"""Progress and spaced review on a real SQLite file and the real fsrs scheduler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating

from rag.errors import RagError
from rag.practice.grading import Grade, PointGrade
from rag.practice.progress import ProgressStore, rating_for

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def grade(bid: str, score: int) -> Grade:
    point = PointGrade("要点", "text", "", "covered" if score > 50 else "missed", "证据", score / 100, 1.0)
    return Grade(bid, f"问题 {bid}", score, [point], "offline", answer=f"回答 {bid}")


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "practice.sqlite")


def test_score_maps_to_an_fsrs_rating() -> None:
    assert [rating_for(s) for s in (0, 39, 40, 64, 65, 89, 90, 100)] == [
        Rating.Again,
        Rating.Again,
        Rating.Hard,
        Rating.Hard,
        Rating.Good,
        Rating.Good,
        Rating.Easy,
        Rating.Easy,
    ]
    assert rating_for(95, "skipped") == Rating.Again


def test_a_good_answer_is_due_later_than_a_poor_one(store: ProgressStore) -> None:
    good = store.record("ana", grade("Q077", 95), "PEFT", when=T0)
    poor = store.record("ana", grade("Q080", 10), "PEFT", when=T0)
    assert good - T0 >= timedelta(days=3), "Easy: the real scheduler puts it days away"
    assert timedelta(hours=12) <= poor - T0 <= timedelta(days=2), "Again: back the next day"
    assert store.due("ana", T0 + timedelta(days=2)) == ["Q080"]
    assert set(store.due("ana", T0 + timedelta(days=60))) == {"Q077", "Q080"}
    # reviewing a well-known card again pushes it further out than its first interval
    again = store.record("ana", grade("Q077", 95), "PEFT", when=good)
    assert again - good > good - T0


def test_weakest_streak_and_mastery(store: ProgressStore) -> None:
    store.record("ana", grade("Q001", 30), "一", when=T0 - timedelta(days=2))
    store.record("ana", grade("Q002", 90), "一", when=T0 - timedelta(days=1))
    store.record("ana", grade("Q001", 85), "一", when=T0)  # the latest score counts
    store.record("ana", grade("Q003", 20), "一", when=T0)
    assert store.weakest("ana") == [("Q003", 20), ("Q001", 85), ("Q002", 90)]
    assert store.streak("ana", today=T0.astimezone().date()) == 3
    assert store.streak("ana", today=(T0 + timedelta(days=5)).astimezone().date()) == 0
    (m,) = store.mastery("ana", {"一": ["Q001", "Q002", "Q003", "Q004"]})
    assert (m.total, m.attempted, m.mastered) == (4, 3, 2)
    assert m.mean_score == pytest.approx((85 + 90 + 20) / 3)


def test_profiles_are_separate_and_deleting_one_removes_its_data(store: ProgressStore) -> None:
    store.record("ana", grade("Q001", 50), "一", when=T0)
    store.record("bo", grade("Q002", 60), "一", when=T0)
    assert store.profiles() == ["ana", "bo"]
    assert [a.entry_id for a in store.attempts("bo")] == ["Q002"]
    assert store.delete_profile("ana") == 1
    assert store.profiles() == ["bo"] and store.attempts("ana") == [] and store.due_dates("ana") == {}
    with pytest.raises(RagError, match="no profile 'ana'"):
        store.delete_profile("ana")


def test_export_import_round_trip(store: ProgressStore, tmp_path: Path) -> None:
    store.record("ana", grade("Q001", 50), "一", when=T0)
    store.record("ana", grade("Q002", 95), "一", when=T0 + timedelta(hours=1))
    data = json.loads(json.dumps(store.export("ana")))  # through JSON, as the file is
    other = ProgressStore(tmp_path / "other.sqlite")
    assert other.import_(data) == ("ana", 2)
    assert other.import_(data) == ("ana", 0), "importing twice adds nothing"
    assert other.latest_scores("ana") == store.latest_scores("ana")
    assert other.due_dates("ana") == store.due_dates("ana")
    assert other.attempts("ana")[0].points[0]["evidence"] == "证据"
    assert other.import_(data, profile="copy") == ("copy", 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"attempts": []}, "not a progress export"),
        ({"version": 1, "profile": "x", "attempts": [{"entry_id": "Q001"}]}, "malformed"),
        ({"version": 1, "profile": "a/b", "attempts": []}, "profile name"),
    ],
)
def test_bad_imports_say_what_is_wrong_and_change_nothing(store: ProgressStore, data: dict, message: str) -> None:
    store.record("x", grade("Q001", 50), "一", when=T0)
    with pytest.raises(RagError, match=message):
        store.import_(data)
    assert len(store.attempts("x")) == 1


def test_the_store_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    ProgressStore(path).record("ana", grade("Q001", 70), "一", when=T0)
    assert ProgressStore(path).latest_scores("ana") == {"Q001": 70}
