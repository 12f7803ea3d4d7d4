"""``check`` against a provider whose answers got worse on part of the queries, through
the CLI, on the built-in collection (40 queries, BM25 top-20) and a fake Cohere on a socket.

The fake's ``degrade`` reverses the ranking of a fixed share of queries (chosen by hashing
the query text). A run made after it degraded regresses (exit 1, against a folder and a
``baseline.json``); an unchanged provider passes; an unknown measure is exit 2; and
``--recheck`` names the drift on the *baseline* run, whose cached answers are the old ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.providers import provider_env
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.testing.fakes import FAKE_KEY, FakeServer
from rerank_eval.testing.fakes.cohere import CohereDialect

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPEC = "cohere:rerank-v3.5"
DEGRADE = 0.7
runner = CliRunner()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = FakeServer([CohereDialect()]).start()
    yield fake
    fake.stop()


def env(server: FakeServer, cache: Path) -> dict[str, Any]:
    cleared: dict[str, Any] = {name: None for name in provider_env()}
    return {**cleared, "COHERE_BASE_URL": server.url("cohere"), "COHERE_API_KEY": FAKE_KEY,
            "RERANK_EVAL_CACHE": str(cache)}


def cli(server: FakeServer, cache: Path, *args: str) -> Any:
    result = runner.invoke(app, list(args), env=env(server, cache))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run(server: FakeServer, cache: Path, out: Path, *extra: str) -> Path:
    result = cli(server, cache, "run", "--dataset", str(REPO / "suites" / "quick"),
                 "-r", "bm25", "-r", SPEC, "--top-k", "20", "--max-queries", "40",
                 "-m", "nDCG@10", "-m", "RR@10", "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(server: FakeServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drift")
    cache = root / "cache"
    server.state("cohere").degrade = 0.0
    built = {"cache": cache, "base": run(server, cache, root / "base"),
             "same": run(server, cache, root / "same", "--no-cache")}
    result = cli(server, cache, "baseline", str(built["base"]), "--out",
                 str(root / "baseline.json"))
    assert result.exit_code == 0, result.output
    built["baseline.json"] = root / "baseline.json"
    server.state("cohere").degrade = DEGRADE
    try:
        # --no-cache: the cache holds the old answers and would hide the change
        built["worse"] = run(server, cache, root / "worse", "--no-cache")
    finally:
        server.state("cohere").degrade = 0.0
    return built


@pytest.fixture
def degraded(server: FakeServer) -> Iterator[None]:
    server.state("cohere").degrade = DEGRADE
    try:
        yield
    finally:
        server.state("cohere").degrade = 0.0


def cohere_row(output: str, table: int = 0) -> str:
    """The reranker's row of the first table (quality) or the last one (-1: drift)."""
    return [line for line in output.splitlines() if f"│ {SPEC}" in line][table]


@pytest.mark.parametrize("baseline", ["base", "baseline.json"])
def test_a_degraded_provider_fails_the_check(server: FakeServer, runs: dict[str, Path],
                                             baseline: str) -> None:
    result = cli(server, runs["cache"], "check", str(runs["worse"]), "--baseline",
                 str(runs[baseline]))
    assert result.exit_code == 1, result.output
    assert "regression" in cohere_row(result.stdout)


@pytest.mark.parametrize("baseline", ["base", "baseline.json"])
def test_an_unchanged_provider_passes(server: FakeServer, runs: dict[str, Path],
                                      baseline: str) -> None:
    result = cli(server, runs["cache"], "check", str(runs["same"]), "--baseline",
                 str(runs[baseline]), "--recheck", "10")
    assert result.exit_code == 0, result.output
    assert "stable" in cohere_row(result.stdout, -1)
    assert "check passed" in result.output and "warning" not in result.output


def test_a_measure_the_run_lacks_is_a_usage_error(server: FakeServer,
                                                  runs: dict[str, Path]) -> None:
    result = cli(server, runs["cache"], "check", str(runs["worse"]), "--baseline",
                 str(runs["baseline.json"]), "-m", "P@5")
    assert result.exit_code == 2, result.output
    assert "P@5" in result.output and "nDCG@10" in result.output


def test_recheck_names_the_drift_hidden_by_the_cache(server: FakeServer, runs: dict[str, Path],
                                                     degraded: None, tmp_path: Path) -> None:
    # The baseline run's answers are in the cache: a plain re-run would not see the change.
    summary = tmp_path / "summary.md"
    result = cli(server, runs["cache"], "check", str(runs["base"]), "--baseline",
                 str(runs["base"]), "--recheck", "10", "--summary-md", str(summary))
    assert result.exit_code == 0, result.output  # a warning unless --max-drift / --strict
    assert "ok" in cohere_row(result.stdout)  # quality: the same cached answers
    row = cohere_row(result.stdout, -1)
    assert "drift" in row
    assert f"{SPEC} on quick: top-10 changed on" in " ".join(result.output.split())
    assert "bm25 on quick: skipped (local reranker" in result.output
    text = summary.read_text()
    assert "### Provider drift" in text and f"| quick | {SPEC} | 10 |" in text
    changed = row.split("│")[-2].split(", ")
    assert changed and all(q.strip().startswith("q") for q in changed)

    for flags in (["--max-drift", "0.2"], ["--strict"]):
        failed = cli(server, runs["cache"], "check", str(runs["base"]), "--baseline",
                     str(runs["base"]), "--recheck", "10", *flags)
        assert failed.exit_code == 1, failed.output
    lenient = cli(server, runs["cache"], "check", str(runs["base"]), "--baseline",
                  str(runs["base"]), "--recheck", "10", "--max-drift", "0.95")
    assert lenient.exit_code == 0, lenient.output


def test_recheck_input_errors_are_exit_2(server: FakeServer, runs: dict[str, Path]) -> None:
    on_a_file = cli(server, runs["cache"], "check", str(runs["baseline.json"]), "--baseline",
                    str(runs["baseline.json"]), "--recheck", "5")
    assert on_a_file.exit_code == 2 and "run folder" in " ".join(on_a_file.output.split())
    alone = cli(server, runs["cache"], "check", str(runs["base"]), "--baseline",
                str(runs["base"]), "--max-drift", "0.1")
    assert alone.exit_code == 2 and "--recheck" in alone.output
    no_key = runner.invoke(app, ["check", str(runs["base"]), "--baseline", str(runs["base"]),
                                 "--recheck", "5"],
                           env={**env(server, runs["cache"]), "COHERE_API_KEY": None})
    assert no_key.exit_code == 2, no_key.output
    assert "Traceback" not in no_key.output and FAKE_KEY not in no_key.output
