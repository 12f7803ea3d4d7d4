"""``runs/<dataset>/qrels.txt``: the judgments a run folder keeps, in TREC qrels format."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_eval.run_qrels import QrelsFileError, qrels_path, read_run_qrels, write_run_qrels


def test_round_trip_sorted_trec_qrels(tmp_path: Path) -> None:
    qrels = {"q2": {"d9": 1, "d10": 0}, "q1": {"d1": 2}}
    write_run_qrels(tmp_path, "my data", qrels)
    path = qrels_path(tmp_path, "my data")
    assert path == tmp_path / "runs" / "my_data" / "qrels.txt"
    assert path.read_text() == "q1 0 d1 2\nq2 0 d10 0\nq2 0 d9 1\n"
    assert read_run_qrels(tmp_path, "my data") == qrels


def test_no_file_is_none_and_an_empty_file_no_judgments(tmp_path: Path) -> None:
    assert read_run_qrels(tmp_path, "d") is None
    write_run_qrels(tmp_path, "d", {})
    assert read_run_qrels(tmp_path, "d") == {}


@pytest.mark.parametrize(("line", "message"), [
    ("q1 0 d1\n", "expected 'query_id 0 doc_id grade', got 3 fields"),
    ("q1 0 d1 high\n", "grade 'high' is not an integer")])
def test_a_damaged_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = qrels_path(tmp_path, "d")
    path.parent.mkdir(parents=True)
    path.write_text("q0 0 d0 1\n" + line)
    with pytest.raises(QrelsFileError, match=f"qrels.txt:2: {message}"):
        read_run_qrels(tmp_path, "d")
