"""examples/github-actions/rerank-regression.yml: the `run:` steps after `make setup` run
exactly as written (bash, in the repo root) against a fake Cohere on a socket, and pass
against the committed examples/github-actions/baseline.json; a degraded provider makes the
check step fail, whether the response cache is cold (quality regresses) or warm (the
cached answers pass, the recheck names the drift).

The workflow's env, the bash invocation and reading the YAML come from
examples/github-actions/make_baseline.py, which also regenerates the baseline.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from support.providers import provider_env

from rerank_eval.testing.fakes import FakeServer
from rerank_eval.testing.fakes.cohere import CohereDialect

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "github-actions"


def load_helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_baseline", EXAMPLE / "make_baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = load_helpers()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = FakeServer([CohereDialect()]).start()
    yield fake
    fake.stop()


def run_workflow(server: FakeServer, root: Path, cache: Path) -> dict[str, Any]:
    """Every `run:` step after `make setup`, in order; stops at the first failing one."""
    job = helpers.workflow_job()
    overrides = {**helpers.fake_cohere_env(server), "RERANK_EVAL_CACHE": str(cache),
                 "REPORT_DIR": str(root / "report"),
                 "GITHUB_STEP_SUMMARY": str(root / "step-summary.md")}
    env = helpers.step_env(job, overrides)
    for name in provider_env():
        if name not in overrides:
            env.pop(name, None)
    results: dict[str, Any] = {}
    for step in helpers.steps_after_setup(job):
        results[step["name"]] = done = helpers.run_step(step, env)
        if done.returncode != 0:
            break
    return results


def test_the_workflow_has_the_steps_it_promises() -> None:
    job = helpers.workflow_job()
    steps = job["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[0] == "actions/checkout"
    assert {"actions/cache", "actions/upload-artifact"} <= set(uses)
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert "RERANK_EVAL_CACHE" in cache["with"]["path"]
    assert "examples/github-actions/suite.toml" in cache["with"]["key"]
    names = [s["name"] for s in helpers.steps_after_setup(job)]
    assert names == ["Run the suite on the pinned subset", "Check against the committed baseline"]
    check = helpers.steps_after_setup(job)[-1]
    assert "$GITHUB_STEP_SUMMARY" in check["run"] and "--recheck" in check["run"]
    assert check["env"]["COHERE_API_KEY"] == "${{ secrets.COHERE_API_KEY }}"
    baseline = json.loads((EXAMPLE / "baseline.json").read_text())
    assert baseline["kind"] == "rerank-eval-baseline"
    assert {c["reranker"] for c in baseline["cells"]} == {"first-stage", "bm25",
                                                          "cohere:rerank-v3.5"}
    assert (EXAMPLE / "baseline.json").stat().st_size < 20_000


def test_the_workflow_passes_against_the_committed_baseline(server: FakeServer,
                                                            tmp_path: Path) -> None:
    server.state("cohere").degrade = 0.0
    results = run_workflow(server, tmp_path, tmp_path / "cache")
    assert len(results) == 2
    for name, done in results.items():
        assert done.returncode == 0, f"{name}:\n{done.stdout}\n{done.stderr}"
    summary = (tmp_path / "step-summary.md").read_text()
    assert "### Provider drift" in summary and "| quick | cohere:rerank-v3.5 | 10 |" in summary
    assert "regression" not in summary
    assert (tmp_path / "report" / "report.html").is_file()


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_a_degraded_provider_fails_the_check_step(server: FakeServer, tmp_path: Path,
                                                  cache: str) -> None:
    cache_dir = tmp_path / "cache"
    if cache == "warm":  # last week's answers, restored from the Actions cache
        server.state("cohere").degrade = 0.0
        first = run_workflow(server, tmp_path / "before", cache_dir)
        assert all(done.returncode == 0 for done in first.values())
    server.state("cohere").degrade = 0.7
    try:
        results = run_workflow(server, tmp_path / "after", cache_dir)
    finally:
        server.state("cohere").degrade = 0.0
    run_step = results["Run the suite on the pinned subset"]
    assert run_step.returncode == 0, run_step.stderr
    check = results["Check against the committed baseline"]
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Traceback" not in check.stdout + check.stderr
    summary = (tmp_path / "after" / "step-summary.md").read_text()
    drift = summary.split("### Provider drift", 1)[1]
    row = next(line for line in drift.splitlines() if "| cohere:rerank-v3.5 |" in line)
    if cache == "cold":
        assert "regression" in summary
        assert "stable" in row  # the run's own answers are the degraded ones
    else:
        assert "regression" not in summary  # the cache hid the change from the run ...
        assert "| drift |" in row  # ... and the recheck named it
