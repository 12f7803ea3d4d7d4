"""--executor ray on real Ray actors: the in-process results, the records, and a run
killed mid-way that resumes from its journal.

Skipped without Ray (`make test-ray` installs it and runs these). The in-process
reference runs with one torch thread, as each actor here does (one CPU each): a CPU's
float results depend on the thread count, whatever the executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.executors import (
    BIENCODER_FP32,
    QUICK,
    cell_summary,
    quick_suite,
    run_into,
    torch_threads,
    trec_bytes,
)
from support.trec import read_trec

ray = pytest.importorskip("ray", reason="Ray is not installed; `make test-ray` runs the "
                                        "--executor ray tests")

from rerank_eval.executors.ray_executor import RayExecutor  # noqa: E402
from rerank_eval.journal import journal_path  # noqa: E402
from rerank_eval.report import write_reports  # noqa: E402
from rerank_eval.store import run_path  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def _wait_for_cpus(cpus: float, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ray.available_resources().get("CPU", 0.0) >= cpus:
            return True
        time.sleep(0.2)
    return False


def test_two_actors_give_the_in_process_trec_file(tmp_path: Path, ray_address: str) -> None:
    suite = quick_suite(queries=8, top_k=10, latency_sample=2)
    reference, on_ray = tmp_path / "in-process", tmp_path / "ray"
    with torch_threads(1):
        run_into(suite, reference)
    executor = RayExecutor(actors=2)
    try:
        result = run_into(suite, on_ray, executor=executor)
    finally:
        executor.close()

    assert trec_bytes(on_ray) == trec_bytes(reference)
    cell = result.cells[0]
    assert not cell.failed
    assert cell.latency_method.startswith("separate pass") and cell.latency_score_max_diff == 0
    summary = cell_summary(on_ray)
    assert summary["executor"] == "ray" and summary["concurrency"] == 4
    execution = summary["execution"]
    assert (execution["address"], execution["actors"], execution["queries"]) == ("local", 2, 8)
    actors = execution["per_actor"]
    assert len({a["node"] for a in actors}) == 2  # two processes
    assert all(a["device"] == "cpu" and a["threads"] == 1 and a["requests"] > 0 for a in actors)
    assert sum(a["requests"] for a in actors) == 8
    assert all(0 < a["utilisation"] <= 1.05 for a in actors)
    assert execution["queries_per_s"] == pytest.approx(8 / execution["wall_s"])
    # the actors are gone with the run; the test Ray stays up
    assert _wait_for_cpus(2) and ray.is_initialized()

    write_reports(on_ray)
    assert "model inference on ray (a local Ray instance), 2 actors" in \
        (on_ray / "report.md").read_text()


def _journal_queries(out: Path) -> dict[str, dict[str, float]]:
    path = journal_path(out, "quick", BIENCODER_FP32)
    found = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if entry.get("type") == "query":
                found[entry["query_id"]] = entry["scores"]
    return found


def test_a_run_killed_mid_way_resumes_on_a_cluster(tmp_path: Path, ray_address: str) -> None:
    assert _wait_for_cpus(2)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "rerank_eval.cli", "run", "-d", str(QUICK),
               "-r", BIENCODER_FP32, "--top-k", "10", "--max-queries", "24",
               "--latency-sample", "0", "--ray-actors", "2", "--out", str(out)]
    env = {**os.environ, "RAY_ADDRESS": ray_address}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while len(_journal_queries(out)) < 3 and first.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    output = first.communicate()[0].decode(errors="replace")
    kept = _journal_queries(out)
    assert 3 <= len(kept) < 24, output[-2000:]

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    summary = cell_summary(out)
    assert summary["errors"] == 0 and summary["n_queries"] == 24
    assert summary["resumed_queries"] >= len(kept)
    execution = summary["execution"]
    assert execution["address"] == "cluster"
    assert execution["queries"] == 24 - summary["resumed_queries"]
    # nothing finished before the kill was done again or lost
    run = read_trec(run_path(out, "quick", BIENCODER_FP32))
    assert len(run) == 24
    for query_id, scores in kept.items():
        assert run[query_id] == scores
