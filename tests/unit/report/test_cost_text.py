"""Cost reads right: busy seconds x an hourly rate (estimate) for local rerankers, reported
units x a dated price for remote ones, money without e-notation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rerank_eval.report import write_reports

OLD_RUN = Path(__file__).resolve().parents[2] / "data" / "run-v0-unversioned"


def test_local_and_remote_costs_are_worded_by_their_basis(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    write_reports(run, qps=5)
    md = (run / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"\$[0-9.]+e[-+]", md)  # no e-notation anywhere
    assert "cost reported by the provider reported" not in md
    for local in ("biencoder", "bm25"):
        note = next(line for line in md.splitlines() if line.startswith(f"- {local}: "))
        assert "busy seconds over 6 queries × $0.0816 per cpu hour (estimate" in note
        assert "tokens" not in note and "reported" not in note
        row = next(line for line in md.splitlines() if line.startswith(f"| {local} | 432,000"))
        assert "tokens" not in row and "units" not in row  # projection: no billed units
    remote = next(line for line in md.splitlines() if line.startswith("- cohere:rerank-v3.5: "))
    assert "6 search units reported over 6 queries (6 requests) × $2 per 1K search units " \
           "(price dated 2026-04" in remote
    assert "= $0.012, so $2 per 1,000 queries." in remote
    assert "| cohere:rerank-v3.5 | 432,000 | 432,000 search units | $864 | $26k |" in md
