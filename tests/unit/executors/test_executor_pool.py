"""The worker pool: least-busy dispatch, per-replica tallies, the in-flight cap."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from rerank_eval.executors.host import HostInfo, Timed
from rerank_eval.executors.pool import WorkerPool


class GatedWorker:
    """Answers when its test releases it; reports a fixed busy time per call."""

    def __init__(self, name: str, busy_s: float = 0.5) -> None:
        self.info = HostInfo(name="m", device="cpu", node=name, threads=1)
        self.busy_s = busy_s
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.closed = False

    async def rerank(self, query: str, documents: Sequence[Any], top_n: int | None,
                     cross_query_reuse: bool | None) -> Timed[Any]:
        raise NotImplementedError

    async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]:
        self.calls.append(query or "")
        await self.gate.wait()
        return Timed(query, self.busy_s)

    def close(self) -> None:
        self.closed = True


async def test_each_call_goes_to_the_replica_with_the_fewest_in_flight() -> None:
    a, b = GatedWorker("a"), GatedWorker("b")
    pool = WorkerPool([a, b], in_flight_per_replica=2)
    assert pool.max_concurrency == 4
    tasks = [asyncio.create_task(pool.run(lambda w, q=q: w.embed(q, []), documents=3))
             for q in ("q1", "q2", "q3")]
    await asyncio.sleep(0)
    assert (a.calls, b.calls) == (["q1", "q3"], ["q2"])  # a, then b (idle), then a again
    b.gate.set()
    await tasks[1]
    fourth = asyncio.create_task(pool.run(lambda w: w.embed("q4", []), documents=5))
    await asyncio.sleep(0)
    assert b.calls == ["q2", "q4"]  # b has nothing in flight, a has two
    a.gate.set()
    assert await asyncio.gather(*tasks, fourth) == ["q1", "q2", "q3", "q4"]
    tallies = pool.tallies()
    assert [(t.requests, t.documents) for t in tallies] == [(2, 6), (2, 8)]
    assert [t.busy_s for t in tallies] == pytest.approx([1.0, 1.0])


async def test_one_call_at_a_time_still_spreads_over_the_replicas() -> None:
    workers = [GatedWorker(name) for name in "abc"]
    for worker in workers:
        worker.gate.set()
    pool = WorkerPool(workers)
    for i in range(6):
        await pool.run(lambda w, i=i: w.embed(f"q{i}", []), documents=1)
    assert [len(w.calls) for w in workers] == [2, 2, 2]


async def test_a_failed_call_frees_its_slot_and_is_not_counted() -> None:
    class Failing(GatedWorker):
        async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]:
            raise ConnectionError("actor died")

    failing = Failing("a")
    pool = WorkerPool([failing])
    with pytest.raises(ConnectionError):
        await pool.run(lambda w: w.embed("q", []), documents=1)
    assert pool.pick() == 0 and pool.tallies()[0].requests == 0
    pool.close()
    assert failing.closed


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one"):
        WorkerPool([])
