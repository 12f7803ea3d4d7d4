"""Journal lines and cache entries carry checksums; damage is a miss, never fatal."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from support import corrupt

from rerank_eval.journal import CellJournal, read_journal
from rerank_eval.records import QueryRecord
from rerank_eval.rerankers.remote.cache import ORPHAN_AGE_S, ResponseCache


def _journal(path: Path, n: int = 3) -> CellJournal:
    journal = CellJournal(path, {"f": 1})
    journal.open()
    for i in range(n):
        journal.append(QueryRecord(f"q{i}", i, 0.1, 2, {"d1": 1.0, "d2": 0.5}))
    journal.close_segment(1.0)
    return journal


def test_every_journal_line_carries_a_checksum(tmp_path: Path) -> None:
    path = tmp_path / "cell.jsonl"
    _journal(path)
    assert all("check" in json.loads(line) for line in path.read_text().splitlines())
    assert set(CellJournal(path, {"f": 1}).load().records) == {"q0", "q1", "q2"}


def test_damaged_lines_are_reported_once_and_set_aside(tmp_path: Path, caplog) -> None:
    path = tmp_path / "cell.jsonl"
    _journal(path)
    corrupt.set_field(path, 2, "scores", "NaN", keep_check=False)
    corrupt.drop_field(path, 3, "query_id")
    caplog.set_level(logging.WARNING)
    contents = CellJournal(path, {"f": 1}).load()
    assert set(contents.records) == {"q2"} and contents.wall_s == 1.0
    assert len([r for r in caplog.records if str(path) in r.getMessage()]) == 2
    caplog.clear()
    assert set(CellJournal(path, {"f": 1}).load().records) == {"q2"}
    assert not caplog.records
    assert read_journal(path).records.keys() == {"q2"}


def test_a_torn_line_is_terminated_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "cell.jsonl"
    _journal(path)
    corrupt.tear(path, 4)
    journal = CellJournal(path, {"f": 1})
    journal.open()  # no load: the harness always loads first, but open alone must hold
    journal.append(QueryRecord("q9", 9, 0.1, 2, {"d1": 1.0, "d2": 0.5}))
    journal.close_segment(1.0)
    assert set(read_journal(path).records) == {"q0", "q1", "q9"}


def test_orphan_temp_files_are_removed_when_the_folder_is_written(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    folder = cache.path_for("p", "ab" + "0" * 62).parent
    folder.mkdir(parents=True)
    old = corrupt.orphan_tmp(folder, ORPHAN_AGE_S + 60, ".tmp-old.json")
    fresh = corrupt.orphan_tmp(folder, 1, ".tmp-fresh.json")  # maybe being written now
    cache.put("p", "ab" + "1" * 62, {"results": []})
    assert not old.exists() and fresh.exists()
    entry = json.loads(cache.path_for("p", "ab" + "1" * 62).read_text())
    assert len(entry["check"]) == 64
