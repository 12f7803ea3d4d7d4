"""`report`, `compare` and `check` on a run folder written before the contract was versioned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.regression import check

OLD_RUN = Path(__file__).resolve().parents[1] / "data" / "run-v0-unversioned"
runner = CliRunner()


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    """A copy: `report` writes into the folder, the committed one stays as it is."""
    target = tmp_path / "run-v0"
    shutil.copytree(OLD_RUN, target)
    return target


def stored() -> dict:
    return json.loads((OLD_RUN / "summary.json").read_text())


def test_report_renders_the_stored_numbers(old_run: Path) -> None:
    result = runner.invoke(app, ["report", str(old_run)])
    assert result.exit_code == 0, result.output
    md = (old_run / "report.md").read_text(encoding="utf-8")
    for cell in stored()["results"]:
        row = next(line for line in md.splitlines() if line.startswith(f"| {cell['reranker']} |"))
        for value in cell["metrics"].values():
            assert f"{value:.4f}" in row, (cell["reranker"], value, row)
    # the cost and the price are the recorded ones: 6 search units at $2 per 1K
    assert "| cohere:rerank-v3.5 | $0.012 | $2 |" in md
    assert "$2 per 1K search units (2026-04)" in md
    assert "$0.0816 per cpu hour, estimate (2026-06-17)" in md
    assert (old_run / "report.html").is_file()


def test_compare_with_itself_changes_nothing(old_run: Path) -> None:
    result = runner.invoke(app, ["compare", str(old_run), str(OLD_RUN)])
    assert result.exit_code == 0, result.output
    paired = [line for line in result.stdout.splitlines() if line.startswith("paired:")]
    assert len(paired) == 4 and all("6 queries in common (of 6 in" in x for x in paired)
    lines = [line for line in result.stdout.splitlines()
             if "quick" in line and not line.startswith("paired:")]
    assert len(lines) == 4 * 3  # the first stage and three rerankers, three measures each
    for cell in stored()["results"]:
        for measure, value in cell["metrics"].items():
            line = next(x for x in lines if cell["reranker"] in x and f" {measure} " in x)
            assert f"{value:.4f}" in line and "+0.0000" in line and "none" in line


@pytest.mark.parametrize("baseline", ["folder", "summary"])
def test_check_against_itself_passes_on_the_stored_numbers(old_run: Path, baseline: str) -> None:
    base = OLD_RUN if baseline == "folder" else OLD_RUN / "summary.json"
    result = runner.invoke(app, ["check", str(old_run), "--baseline", str(base),
                                 "-m", "nDCG@10", "-m", "RR@10"])
    assert result.exit_code == 0, result.output
    found = check(old_run, base, ["nDCG@10", "RR@10"])
    by_key = {(f.reranker, f.measure): f for f in found.findings}
    for cell in stored()["results"]:
        for measure in ("nDCG@10", "RR@10"):
            finding = by_key[(cell["reranker"], measure)]
            assert finding.verdict == "ok"
            assert finding.baseline == pytest.approx(cell["metrics"][measure], abs=1e-12)
            assert finding.current == pytest.approx(cell["metrics"][measure], abs=1e-12)
