"""End to end (issue 10, "What I will check"): a run against a slow provider is SIGKILLed
mid-run, its journal damaged (a middle line of invalid UTF-8, a torn last line) and one
cache entry poisoned; resumed twice, it exits 0 with no traceback, writes the files a
clean run writes, pays again only for what was in flight at the kill and for the
poisoned entry, and the poisoned entry is fetched again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import corrupt
from support.providers import FAKE_KEY, provider_env

from rerank_eval.rerankers.remote.cache import request_key
from rerank_eval.testing.fakes import shared_server

REPO = Path(__file__).resolve().parents[3]
QUERIES = 30
CONCURRENCY = 2
SPEC = f"cohere:rerank-v3.5?concurrency={CONCURRENCY}"
CELL = "cohere_rerank-v3.5_concurrency_2"
KILL_AFTER = 10  # journaled queries before the kill


def _env(server, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in provider_env()}
    env.update(COHERE_BASE_URL=server.url("cohere"), COHERE_API_KEY=FAKE_KEY,
               RERANK_EVAL_CACHE=str(cache), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", NO_COLOR="1", COLUMNS="200")
    return env


def _argv(out: Path) -> list[str]:
    return [sys.executable, "-m", "rerank_eval.cli", "run", "--dataset", "suites/quick",
            "--top-k", "10", "--max-queries", str(QUERIES), "-r", SPEC, "--out", str(out)]


def _run(out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_argv(out), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=90, check=False)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    return done


def _query_lines(journal: Path) -> int:
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return 0
    return sum(1 for line in data.split(b"\n")[1:] if line.endswith(b"}"))


def _metrics(out: Path) -> dict[str, tuple]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {r["reranker"]: (r["n_queries"], r["errors"], r["metrics"])
            for r in summary["results"]}


@pytest.mark.slow
def test_killed_damaged_and_poisoned_run_resumes_to_a_clean_runs_files(
        tmp_path: Path) -> None:
    server = shared_server()
    server.reset()
    state = server.state("cohere")
    state.delay_s = 0.15

    clean = tmp_path / "clean"
    _run(clean, _env(server, tmp_path / "clean-cache"))
    assert len(state.requests) == QUERIES
    before = len(state.requests)

    # 1. a run killed once some queries are journaled
    out = tmp_path / "out"
    cache = tmp_path / "cache"
    env = _env(server, cache)
    journal = out / "cells" / "quick" / f"{CELL}.jsonl"
    proc = subprocess.Popen(_argv(out), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _query_lines(journal) < KILL_AFTER and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)
        assert _query_lines(journal) >= KILL_AFTER, "no queries journaled within 60 s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    journaled = _query_lines(journal)
    assert journaled < QUERIES, "killed too late: every query was already journaled"
    paid_before_kill = len(state.requests) - before

    # 2. damage: a middle line of invalid UTF-8, a torn last line, one poisoned entry
    data = journal.read_bytes()
    journal.write_bytes(data[: data.rfind(b"\n") + 1])  # drop a partial line, re-tear below
    lines = journal.read_bytes().split(b"\n")[:-1]
    assert len(lines) >= 5  # header + at least 4 queries
    damaged_id = json.loads(lines[2])["query_id"]
    corrupt.invalid_utf8(journal, 3)
    corrupt.tear(journal, len(lines))
    assert not journal.read_bytes().endswith(b"\n")

    texts = {}
    for raw in (REPO / "suites" / "quick" / "queries.jsonl").read_text().splitlines():
        record = json.loads(raw)
        texts[record["_id"]] = record["text"]
    body = next(r.body for r in state.requests[before:]
                if r.body["query"] == texts[damaged_id])
    key = request_key("cohere", server.url("cohere") + "/v2/rerank", [body])
    entry = next(p for p in corrupt.cache_entries(cache) if p.stem == key)
    corrupt.poison_entry(entry, "swapped")  # well-formed, keeps its (now wrong) check
    poisoned = entry.read_bytes()

    # 3. resumed twice
    mark = len(state.requests)
    first = _run(out, env)
    said = " ".join((first.stdout + first.stderr).split())
    assert f"{CELL}.jsonl line 3: not valid UTF-8" in said, said[-3000:]
    assert f"{CELL}.jsonl line {len(lines)}: not JSON" in said, said[-3000:]
    assert f"damaged response-cache entry {key[:12]}" in said, said[-3000:]
    refetched = [r.body["query"] for r in state.requests[mark:]]
    assert texts[damaged_id] in refetched, "the poisoned entry was not fetched again"
    assert entry.is_file() and entry.read_bytes() != poisoned
    second = len(state.requests)
    again = _run(out, env)
    said = " ".join((again.stdout + again.stderr).split())
    assert "WARNING" not in said, said[-3000:]  # damage is reported once, then gone
    assert len(state.requests) == second, "the second resume paid again"

    # same files and numbers as the clean run
    for name in (f"{CELL}.trec", "first-stage.trec"):
        assert (out / "runs" / "quick" / name).read_text() == \
            (clean / "runs" / "quick" / name).read_text(), name
    assert _metrics(out) == _metrics(clean)

    # nothing paid twice beyond the requests in flight at the kill and the poisoned entry
    paid = len(state.requests) - before
    assert paid <= QUERIES + CONCURRENCY + 1, (paid, paid_before_kill, journaled)
    sent = [r.body["query"] for r in state.requests[before:]]
    repeated = len(sent) - len(set(sent))
    assert repeated <= CONCURRENCY + 1, (repeated, paid_before_kill, journaled)
    server.reset()
