"""``check`` and ``compare`` on run folders: regressions fail, noise and improvements pass."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pandas as pd
from support.beir import toy_dataset
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.harness import Harness
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict

runner = CliRunner()


def write_run(folder: Path, values: dict[str, float], reranker: str | list[str] = "prod",
              errors: int = 0) -> Path:
    """A run folder as `run` writes it: per_query.csv and summary.json."""
    folder.mkdir(parents=True)
    names = [reranker] if isinstance(reranker, str) else reranker
    rows = [{"dataset": "d", "reranker": name, "query_id": q, "n_candidates": 100,
             "latency_ms": 1.0, "nDCG@10": v} for name in names for q, v in values.items()]
    pd.DataFrame(rows).to_csv(folder / "per_query.csv", index=False)
    mean = sum(values.values()) / len(values)
    (folder / "summary.json").write_text(json.dumps({"results": [
        {"dataset": "d", "reranker": name, "metrics": {"nDCG@10": mean}, "errors": errors}
        for name in names]}))
    return folder


def scores(seed: int, n: int = 80, shift: float = 0.0, noise: float = 0.0) -> dict[str, float]:
    rng = random.Random(seed)
    base = random.Random(0)
    return {f"q{i}": min(1.0, max(0.0, base.random() + shift + rng.uniform(-noise, noise)))
            for i in range(n)}


def test_a_significant_drop_fails_the_check(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", scores(1))
    current = write_run(tmp_path / "now", scores(2, shift=-0.08, noise=0.02))
    result = runner.invoke(app, ["check", str(current), "--baseline", str(baseline)])
    assert result.exit_code == 1, result.output
    assert "regression" in result.stdout


def test_noise_passes_the_check(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", scores(1))
    current = write_run(tmp_path / "now", scores(3, noise=0.05))
    result = runner.invoke(app, ["check", str(current), "--baseline", str(baseline)])
    assert result.exit_code == 0, result.output
    assert "regression" not in result.stdout


def test_an_improvement_passes(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", scores(1))
    current = write_run(tmp_path / "now", scores(2, shift=0.1))
    result = runner.invoke(app, ["check", str(current), "--baseline", str(baseline)])
    assert result.exit_code == 0 and "improvement" in result.stdout


def test_a_summary_only_baseline_compares_means_with_a_tolerance(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", scores(1))
    current = write_run(tmp_path / "now", scores(2, shift=-0.03))
    summary = baseline / "summary.json"
    failing = runner.invoke(app, ["check", str(current), "--baseline", str(summary)])
    assert failing.exit_code == 1 and "means only" in failing.stdout
    passing = runner.invoke(app, ["check", str(current), "--baseline", str(summary),
                                  "--tolerance", "0.05"])
    assert passing.exit_code == 0


def test_a_missing_or_failed_cell_fails_the_check(tmp_path: Path) -> None:
    baseline = write_run(tmp_path / "base", scores(1), reranker=["prod", "gone"])
    fewer = write_run(tmp_path / "fewer", scores(1), reranker="prod")
    result = runner.invoke(app, ["check", str(fewer), "--baseline", str(baseline)])
    assert result.exit_code == 1 and "missing" in result.stdout
    assert "only in the baseline: d × gone" in result.stdout
    # Nothing in common is an input error, not a regression.
    other = write_run(tmp_path / "other", scores(1), reranker="renamed")
    result = runner.invoke(app, ["check", str(other), "--baseline", str(baseline)])
    assert result.exit_code == 2 and "nothing in common" in result.output
    broken = write_run(tmp_path / "broken", scores(1), errors=3)
    result = runner.invoke(app, ["check", str(broken), "--baseline", str(baseline)])
    assert result.exit_code == 1 and "errors" in result.stdout


def test_a_bad_baseline_path_is_a_usage_error(tmp_path: Path) -> None:
    current = write_run(tmp_path / "now", scores(1))
    result = runner.invoke(app, ["check", str(current), "--baseline", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "nope" in result.output


def test_compare_reports_exactly_the_query_that_differs(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = suite_from_dict({"name": "t", "datasets": [{"name": "toy", "path": str(data)}],
                             "rerankers": [{"spec": "bm25"}], "first_stage": {"top_k": 20}})
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        write_run_dir(asyncio.run(Harness(suite, out).run()), out)
        runs.append(out)
    # Change one query's ranking in run b: its nDCG@10 changes, nothing else does.
    frame = pd.read_csv(runs[1] / "per_query.csv", dtype={"query_id": str})
    row = (frame["reranker"] == "bm25") & (frame["query_id"] == "q21")
    frame.loc[row, "nDCG@10"] = frame.loc[row, "nDCG@10"] / 2
    frame.to_csv(runs[1] / "per_query.csv", index=False)
    result = runner.invoke(app, ["compare", str(runs[0]), str(runs[1]), "-m", "nDCG@10"])
    assert result.exit_code == 0, result.output
    assert "paired: toy × bm25: 10 queries in common" in result.stdout
    line = next(line for line in result.stdout.splitlines()
                if "bm25" in line and not line.startswith("paired:"))
    assert "q21" in line and "1/9/0" in line
