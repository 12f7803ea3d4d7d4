"""The drill-down's pure parts: rank changes, snippets, overlap, which queries are featured,
and how the all-queries list is cut to its byte budget."""

from __future__ import annotations

import pytest

from rerank_eval.report.drilldown import (
    FULL,
    SUMMARY,
    TITLES,
    Column,
    DocRow,
    DrillDown,
    QueryView,
    _fit,
    estimate_bytes,
    extremes,
    moved_from,
    same_rank,
    snippet,
    top_overlap,
)


@pytest.mark.parametrize(("rank", "first", "expected"), [
    (1, 14, "↑ from 14"), (5, 2, "↓ from 2"), (3, 3, "="), (1, None, "new")])
def test_moved_from_names_the_first_stage_rank(rank: int, first: int | None,
                                               expected: str) -> None:
    assert moved_from(rank, first) == expected


def test_snippet_folds_whitespace_and_marks_a_cut() -> None:
    assert snippet("a  b\n c") == "a b c"
    text = "word " * 100
    cut = snippet(text, 200)
    assert cut.endswith("…") and len(cut) <= 201 and not cut[:-1].endswith(" ")
    assert snippet("x" * 200, 200) == "x" * 200


def test_top_overlap_uses_the_longer_list_below_k() -> None:
    assert top_overlap(list("abc"), list("cba")) == 1.0
    assert top_overlap(list("abcd"), list("ab")) == 0.5
    assert top_overlap([], []) == 1.0
    assert top_overlap(list("abcdefghijk"), list("abcdefghijz")) == 1.0  # only the top 10


def test_same_rank_tells_two_orders_of_the_same_documents_apart() -> None:
    assert same_rank(list("abc"), list("abc")) == 1.0
    assert same_rank(list("abc"), list("bac")) == pytest.approx(1 / 3)
    assert same_rank(list("ab"), list("abcd")) == 0.5
    assert same_rank([], []) == 1.0


def test_extremes_take_the_largest_difference_of_any_system() -> None:
    deltas = {
        "q1": {"a": 0.5, "b": -0.6},   # one gains, one loses: in both lists
        "q2": {"a": 0.2, "b": 0.1},
        "q3": {"a": 0.0, "b": 0.0},    # no change: in neither
        "q4": {"a": -0.1, "b": 0.2},
        "q5": {"a": 0.2},              # ties with q2 and q4: by id
        "q6": {},
    }
    wins, losses = extremes(deltas, n=3)
    assert wins == ["q1", "q2", "q4"]
    assert losses == ["q1", "q4"]


def _view(query_id: str, n_docs: int = 10, title: str = "t" * 100,
          text: str = "s" * 200) -> QueryView:
    docs = [DocRow(rank=i, doc_id=f"d{i}", title=title, snippet=text, grade=None, moved="=")
            for i in range(1, n_docs + 1)]
    return QueryView(query_id=query_id, text="query", key=0.0,
                     columns=[Column("first-stage", 0.5, None, docs),
                              Column("x", 0.6, 0.1, docs)])


def _drill(n: int) -> DrillDown:
    return DrillDown(dataset="d", slug="d", measure="nDCG@10", baseline="first-stage",
                     systems=["first-stage", "x"], intro="",
                     queries=[_view(f"q{i:03d}") for i in range(n)])


def test_estimates_grow_with_detail() -> None:
    view = _view("q")
    assert estimate_bytes(view, SUMMARY) < estimate_bytes(view, TITLES) < \
        estimate_bytes(view, FULL)


def test_a_list_within_budget_is_complete_and_says_nothing() -> None:
    drill = _drill(5)
    assert _fit(drill, 10 ** 7) == []
    assert [v.detail for v in drill.queries] == [FULL] * 5


def test_the_list_is_cut_summaries_first_then_titles_then_snippets() -> None:
    view = _drill(1).queries[0]
    summary, titles, full = (estimate_bytes(view, d) for d in (SUMMARY, TITLES, FULL))

    drill = _drill(40)  # room for every entry's titles, and 5 entries' snippets
    budget = 40 * titles + 5 * (full - titles) + 1
    notes = _fit(drill, budget)
    assert [v.detail for v in drill.queries] == [FULL] * 5 + [TITLES] * 35
    assert notes == ["The list of all 40 queries is cut to keep this report small (about "
                     f"{budget / 1e6:.1f} MB for this dataset's drill-down): the first 5 with "
                     "snippets, the next 35 with titles only."]

    drill = _drill(40)  # room for every summary line, and 20 entries' titles
    budget = 40 * summary + 20 * (titles - summary) + 1
    notes = _fit(drill, budget)
    assert [v.detail for v in drill.queries] == [TITLES] * 20 + [SUMMARY] * 20
    assert notes[0].endswith(": no snippets, the first 20 with titles only, the next 20 "
                             "with their summary line only.")


def test_entries_beyond_the_budget_are_left_out_and_the_featured_come_first() -> None:
    drill = _drill(30)
    drill.wins = [_view("w")]
    summary = estimate_bytes(drill.queries[0], SUMMARY)
    budget = estimate_bytes(drill.wins[0], FULL) + 10 * summary + 1
    notes = _fit(drill, budget)
    assert len(drill.queries) == 10 and {v.detail for v in drill.queries} == {SUMMARY}
    assert drill.wins[0].detail == FULL
    assert ": no snippets, the first 10 with their summary line only, the last 20 left out" \
        in notes[0]


def test_doc_rows_are_classed_by_grade() -> None:
    def row(grade: int | None) -> DocRow:
        return DocRow(rank=1, doc_id="d", title="", snippet="", grade=grade, moved="")

    assert [row(g).css for g in (None, 0, 1, 2, 3, 4, -1)] == \
        ["unj", "g0", "g1", "g2", "g3", "g3", "g0"]
    assert row(2).relevant and not row(0).relevant and not row(None).relevant
