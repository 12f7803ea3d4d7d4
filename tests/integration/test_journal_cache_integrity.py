"""Damaged journals and response caches are survived: reported once, set aside, recomputed
from the cache (never paid twice); two runs sharing a cache pay once per request."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from support import corrupt
from support.beir import toy_dataset
from support.providers import FAKE_KEY, prepare, runtime_for

from rerank_eval.harness import Harness
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def _suite(data: Path, server, rerankers=("cohere",)):
    specs = {"bm25": {"spec": "bm25"},
             "cohere": {"spec": "cohere:rerank-v3.5", "label": "cohere",
                        "options": {"base_url": server.url("cohere"), "api_key": FAKE_KEY,
                                    "concurrency": 2}}}
    return suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(data)}],
        "first_stage": {"top_k": 20}, "rerankers": [specs[r] for r in rerankers],
    })


def _harness(suite, out: Path, server) -> Harness:
    harness = Harness(suite, out)
    harness.runtime = runtime_for(server)
    return harness


def _run(suite, out: Path, server):
    result = asyncio.run(_harness(suite, out, server).run())
    write_run_dir(result, out)
    return result


def _sent(server) -> int:
    return len(server.state("cohere").requests)


def _warnings(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and text in r.getMessage()]


def test_a_damaged_journal_is_set_aside_and_recomputed_from_the_cache(
        tmp_path: Path, server, caplog) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    suite = _suite(data, server, ("bm25", "cohere"))
    first = _run(suite, out, server)
    assert _sent(server) == 10
    journal = out / "cells" / "toy" / "cohere.jsonl"
    corrupt.invalid_utf8(journal, 2)
    corrupt.drop_field(journal, 3, "scores")                 # an older line: no checksum
    corrupt.set_field(journal, 4, "scores", "NaN", keep_check=False)
    corrupt.set_field(journal, 5, "scores", '"high"')         # fails its checksum
    corrupt.set_field(journal, 6, "latency_s", "Infinity", keep_check=False)
    corrupt.invalid_utf8(out / "cells" / "toy" / "bm25.jsonl", 3)

    caplog.set_level(logging.WARNING)
    again = _run(suite, out, server)
    assert not again.failed  # no cell aborted, bm25's damaged journal included
    cell = next(c for c in again.cells if c.reranker == "cohere")
    assert _sent(server) == 10  # recomputed from the response cache, not paid again
    assert cell.resumed_queries == 5 and cell.usage.cache_hits == 5
    assert cell.metrics == first.cells[1].metrics
    reported = _warnings(caplog, "cohere.jsonl line")
    assert sorted(int(m.split(" line ")[1].split(":")[0]) for m in reported) == [2, 3, 4, 5, 6]
    assert all(str(journal) in m for m in reported)
    assert len(_warnings(caplog, "bm25.jsonl line 3")) == 1
    assert len(journal.with_suffix(".damaged.jsonl").read_bytes().splitlines()) == 5

    caplog.clear()
    third = _run(suite, out, server)  # reported once: the damage was set aside
    assert not _warnings(caplog, ".jsonl line")
    assert third.cells[1].resumed_queries == 10 and _sent(server) == 10
    assert third.cells[1].metrics == first.cells[1].metrics


def test_a_torn_last_line_never_swallows_the_next_record(tmp_path: Path, server,
                                                         caplog) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    suite = _suite(data, server)
    first = _run(suite, out, server)
    journal = out / "cells" / "toy" / "cohere.jsonl"
    corrupt.tear(journal, 7)  # killed while writing the 6th query: 5 kept, 1 torn
    caplog.set_level(logging.WARNING)
    again = _run(suite, out, server)
    assert again.cells[0].resumed_queries == 5 and _sent(server) == 10
    assert len(_warnings(caplog, "cohere.jsonl line 7")) == 1
    for line in journal.read_bytes().splitlines():
        json.loads(line)  # every line whole: nothing appended onto the torn one
    third = _run(suite, out, server)
    assert third.cells[0].resumed_queries == 10 and _sent(server) == 10
    assert third.cells[0].metrics == first.cells[0].metrics


@pytest.mark.parametrize("keep_check", [True, False], ids=["checked", "older-entry"])
@pytest.mark.parametrize("how", corrupt.CACHE_DAMAGE)
def test_a_poisoned_cache_entry_is_a_miss_and_fetched_again(tmp_path: Path, server, caplog,
                                                            how: str, keep_check: bool) -> None:
    if how == "swapped" and not keep_check:
        # A well-formed older entry (no checksum) with swapped scores cannot be told from a
        # good one: it is served, as documented; only checksummed entries catch it.
        _swapped_without_checksum_is_served(tmp_path, server)
        return
    data = toy_dataset(tmp_path / "toy")
    suite = _suite(data, server)
    first = _run(suite, tmp_path / "out1", server)
    entries = corrupt.cache_entries(tmp_path / "cache")
    assert len(entries) == 10
    corrupt.poison_entry(entries[0], how, keep_check=keep_check)

    caplog.set_level(logging.WARNING)
    again = _run(suite, tmp_path / "out2", server)
    assert not again.failed
    assert _sent(server) == 11 and again.cells[0].usage.cache_hits == 9
    assert again.cells[0].metrics == first.cells[0].metrics
    if how != "not_json":
        assert len(_warnings(caplog, "damaged response-cache entry")) == 1
    assert not any("malformed" in m.lower() or "provider" in m.lower()
                   for m in again.cells[0].error_messages)

    caplog.clear()
    third = _run(suite, tmp_path / "out3", server)  # the entry was rewritten, not poisoned
    assert _sent(server) == 11 and third.cells[0].usage.cache_hits == 10
    assert not _warnings(caplog, "damaged response-cache entry")


def _swapped_without_checksum_is_served(tmp_path: Path, server) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = _suite(data, server)
    _run(suite, tmp_path / "out1", server)
    entries = corrupt.cache_entries(tmp_path / "cache")
    corrupt.poison_entry(entries[0], "swapped", keep_check=False)
    again = _run(suite, tmp_path / "out2", server)
    assert not again.failed
    assert _sent(server) == 10 and again.cells[0].usage.cache_hits == 10

def test_two_runs_sharing_a_cache_pay_once_per_request(tmp_path: Path, server) -> None:
    data = toy_dataset(tmp_path / "toy")
    suite = _suite(data, server)

    async def both():
        return await asyncio.gather(_harness(suite, tmp_path / "a", server).run(),
                                    _harness(suite, tmp_path / "b", server).run())

    a, b = asyncio.run(both())
    assert not a.failed and not b.failed
    assert _sent(server) == 10
    assert a.cells[0].usage.requests + b.cells[0].usage.requests == 10
    assert a.cells[0].usage.cache_hits + b.cells[0].usage.cache_hits == 10
    assert a.cells[0].metrics == b.cells[0].metrics
    assert not list((tmp_path / "cache" / "responses").rglob("*.lock"))  # claims released
