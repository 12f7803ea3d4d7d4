"""The CI gate on real run folders: exit codes, non-inferiority, budgets, baseline.json,
the Markdown summary and the pairing report.

Every run folder here is written by the harness on the built-in collection
(``suites/quick``, 59 queries) with ``test-gate``, a reranker that keeps the first
stage's order except on a chosen share of queries, where it answers in reverse.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support.beir import toy_dataset
from support.gate_rerankers import GATE_KIND, gate_reranker
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.harness import Harness
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def build_run(out: Path, *, labels: tuple[str, ...] = ("prod",), top_k: int = 20,
              max_queries: int | None = None, dataset: Path | None = None,
              **behaviour: Any) -> Path:
    data: dict[str, Any] = {
        "name": "gate",
        "datasets": [{"name": "toy" if dataset else "quick",
                      "path": str(dataset or REPO / "suites" / "quick")}],
        "rerankers": [{"spec": GATE_KIND, "label": label} for label in labels],
        "first_stage": {"top_k": top_k}, "measures": ["nDCG@10", "RR@10"]}
    if max_queries is not None:
        data["max_queries"] = max_queries
    with gate_reranker(**behaviour):
        write_run_dir(asyncio.run(Harness(suite_from_dict(data), out).run()), out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    built = {
        "base": build_run(root / "base"),
        "same": build_run(root / "same"),
        # Worse on about 60% of the queries: a real, significant drop.
        "drop": build_run(root / "drop", reversed_share=0.6),
        # Worse on 4 of 59 queries: below -0.01 in the CI, not significant.
        "slight": build_run(root / "slight", reversed_share=0.05),
        "slow": build_run(root / "slow", sleep_s=0.05, cost_per_query=0.002),
    }
    result = runner.invoke(app, ["baseline", str(built["base"]),
                                 "--out", str(root / "baseline.json")])
    assert result.exit_code == 0, result.output
    built["baseline.json"] = root / "baseline.json"
    return built


def check(*args: str) -> Any:
    result = runner.invoke(app, ["check", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("baseline", ["base", "baseline.json"])
def test_a_real_drop_fails_against_a_folder_and_a_baseline_file(runs: dict[str, Path],
                                                                baseline: str) -> None:
    result = check(str(runs["drop"]), "--baseline", str(runs[baseline]))
    assert result.exit_code == 1, result.output
    line = next(line for line in result.stdout.splitlines() if "│ prod" in line)
    assert "regression" in line and "nDCG@10" in line


@pytest.mark.parametrize("baseline", ["base", "baseline.json"])
def test_an_unchanged_reranker_passes(runs: dict[str, Path], baseline: str) -> None:
    result = check(str(runs["same"]), "--baseline", str(runs[baseline]))
    assert result.exit_code == 0, result.output
    assert "regression" not in result.stdout and "check passed" in result.output


def test_an_unknown_measure_is_exit_2_naming_it_and_the_measures_there(
        runs: dict[str, Path]) -> None:
    for baseline in ("base", "baseline.json"):
        result = check(str(runs["same"]), "--baseline", str(runs[baseline]), "-m", "P@5")
        assert result.exit_code == 2, result.output
        assert "P@5" in result.output and "nDCG@10, RR@10" in result.output


def test_input_errors_are_exit_2(runs: dict[str, Path], tmp_path: Path) -> None:
    result = check(str(tmp_path / "nowhere"), "--baseline", str(runs["base"]))
    assert result.exit_code == 2 and "nowhere" in result.output
    other = shutil.copytree(runs["base"], tmp_path / "other-data")
    summary = json.loads((other / "summary.json").read_text())
    summary["datasets"][0]["fingerprint"] = "0" * 64
    (other / "summary.json").write_text(json.dumps(summary))
    result = check(str(runs["same"]), "--baseline", str(other))
    assert result.exit_code == 2 and "fingerprint differs" in result.output
    toy = build_run(tmp_path / "toy-run", labels=("elsewhere",),
                    dataset=toy_dataset(tmp_path / "toy"))
    result = check(str(toy), "--baseline", str(runs["base"]))
    assert result.exit_code == 2 and "nothing in common" in result.output


def test_a_drop_the_data_cannot_decide_is_inconclusive(runs: dict[str, Path]) -> None:
    result = check(str(runs["slight"]), "--baseline", str(runs["baseline.json"]))
    assert result.exit_code == 0, result.output
    assert "inconclusive" in result.stdout and "warning" in result.output
    assert "queries would decide a drop of 0.01" in " ".join(result.output.split())
    strict = check(str(runs["slight"]), "--baseline", str(runs["baseline.json"]), "--strict")
    assert strict.exit_code == 1, strict.output
    # A wide margin makes the same drop non-inferior.
    wide = check(str(runs["slight"]), "--baseline", str(runs["base"]), "--max-drop", "0.2",
                 "--strict")
    assert wide.exit_code == 0 and "inconclusive" not in wide.stdout


def test_latency_and_cost_budgets_are_their_own_verdicts(runs: dict[str, Path]) -> None:
    slow = check(str(runs["slow"]), "--baseline", str(runs["base"]), "--max-p95-ms", "30")
    assert slow.exit_code == 1, slow.output
    assert "budgets: latency and cost" in slow.stdout and "over budget" in slow.stdout
    assert "regression" not in slow.stdout  # quality unchanged: reported apart
    costly = check(str(runs["slow"]), "--baseline", str(runs["baseline.json"]),
                   "--max-cost-per-1k", "1")
    assert costly.exit_code == 1 and "over budget" in costly.stdout
    within = check(str(runs["slow"]), "--baseline", str(runs["base"]),
                   "--max-cost-per-1k", "5", "--max-p95-ms", "100000")
    assert within.exit_code == 0, within.output
    assert "within budget" in within.stdout and "over budget" not in within.stdout


def test_the_summary_markdown_is_appended(runs: dict[str, Path], tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    check(str(runs["drop"]), "--baseline", str(runs["base"]), "--summary-md", str(summary),
          "--max-cost-per-1k", "5")
    check(str(runs["same"]), "--baseline", str(runs["baseline.json"]), "--summary-md",
          str(summary))
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    assert "### rerank-eval check: ❌ failed" in text
    assert "### rerank-eval check: ✅ passed" in text
    row = next(line for line in text.splitlines()
               if line.startswith("| quick | prod | nDCG@10 |"))
    assert "❌ regression" in row
    assert "| quick | prod | $ / 1k queries |" in text
    assert "- quick × prod: 59 queries in common (of 59 in this run, 59 in the baseline)" in text


def test_check_and_compare_say_what_they_paired(runs: dict[str, Path], tmp_path: Path) -> None:
    partial = build_run(tmp_path / "partial", labels=("prod", "newcomer"), top_k=10,
                        max_queries=40)
    for result in (check(str(partial), "--baseline", str(runs["base"])),
                   runner.invoke(app, ["compare", str(partial), str(runs["base"])])):
        text = " ".join(result.output.split())
        assert result.exit_code in (0, 1), result.output
        assert "quick × prod: 40 queries in common (of 40 in " in text
        assert "59 in " in text
        assert "only in " in text and "quick × newcomer" in text
        assert "quick: top-k 10 vs 20" in text


def test_compare_with_nothing_in_common_is_exit_2(runs: dict[str, Path], tmp_path: Path) -> None:
    toy = build_run(tmp_path / "toy-run", labels=("elsewhere",),
                    dataset=toy_dataset(tmp_path / "toy"))
    result = runner.invoke(app, ["compare", str(toy), str(runs["base"])])
    assert result.exit_code == 2 and "nothing in common" in result.output
    assert "Traceback" not in result.output


def test_the_baseline_file_is_small_and_reviewable(runs: dict[str, Path]) -> None:
    data = json.loads(runs["baseline.json"].read_text())
    assert data["schema_version"] == 1 and data["environment"]
    cell = next(c for c in data["cells"] if c["reranker"] == "prod")
    assert cell["spec"] == GATE_KIND and len(cell["dataset_fingerprint"]) == 64
    assert set(cell["measures"]) == {"nDCG@10", "RR@10", "Judged@10"}
    assert len(cell["per_query"]["nDCG@10"]) == 59
    assert set(cell["latency_ms"]) == {"p50", "p95", "p99"}
    assert "cost_usd" in cell and "cost_per_1k_queries" in cell
