"""Judged@10 in the report: a column when the run recorded it, a note when it is low."""

from __future__ import annotations

from dataclasses import dataclass, field

from rerank_eval.report import judged


@dataclass
class FakeSystem:
    name: str
    judged: float | None
    is_first_stage: bool = False


@dataclass
class FakeDataset:
    systems: list[FakeSystem] = field(default_factory=list)


def test_no_note_when_every_top_10_is_judged_enough() -> None:
    dataset = FakeDataset([FakeSystem("first-stage", 1.0, True), FakeSystem("bm25", 0.9)])
    assert judged.has_judged(dataset)
    assert judged.shallow_note(dataset) is None
    assert judged.cell(dataset.systems[1]) == "0.90"


def test_a_low_share_is_named_with_the_way_to_pool() -> None:
    dataset = FakeDataset([FakeSystem("first-stage", 0.95, True), FakeSystem("bm25", 0.93),
                           FakeSystem("cohere:rerank-v3.5", 0.62)])
    note = judged.shallow_note(dataset)
    assert note is not None
    assert "cohere:rerank-v3.5 0.62" in note and "bm25" not in note
    assert "rerank-eval pool" in note and "--qrels" in note


def test_an_older_run_without_judged_has_no_column_and_no_note() -> None:
    dataset = FakeDataset([FakeSystem("first-stage", None, True), FakeSystem("bm25", None)])
    assert not judged.has_judged(dataset)
    assert judged.shallow_note(dataset) is None
    assert judged.cell(dataset.systems[1]) == "–"
