"""A pool of model replicas: each call goes to the least busy one, and is counted.

A :class:`Worker` is one replica as the driver sees it (a Ray actor handle, or a
:class:`~rerank_eval.executors.host.ModelHost` on a thread in the tests); its calls return
:class:`~rerank_eval.executors.host.Timed` answers, so the busy time is measured where the
work ran. The pool keeps up to ``in_flight`` calls per replica: one running, the rest
queued at the replica, so it never waits for the driver between calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from rerank_eval.executors.base import ReplicaInfo, WorkerTally
from rerank_eval.executors.host import HostInfo, Timed
from rerank_eval.types import Document, RerankResponse

T = TypeVar("T")

IN_FLIGHT_PER_REPLICA = 2
"""Calls kept in flight per replica: the next one is queued there while one runs."""


class Worker(Protocol):
    """One replica, as the driver calls it."""

    info: HostInfo

    async def rerank(self, query: str, documents: Sequence[Document], top_n: int | None,
                     cross_query_reuse: bool | None) -> Timed[RerankResponse]: ...

    async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]: ...

    def close(self) -> None: ...


class WorkerPool:
    """Replicas of one model; :meth:`run` sends a call to the least busy one."""

    def __init__(self, workers: Sequence[Worker],
                 in_flight_per_replica: int = IN_FLIGHT_PER_REPLICA) -> None:
        if not workers:
            raise ValueError("a worker pool needs at least one worker")
        self.workers = list(workers)
        self.in_flight_per_replica = in_flight_per_replica
        self._in_flight = [0] * len(self.workers)
        self._tallies = [WorkerTally() for _ in self.workers]

    @property
    def max_concurrency(self) -> int:
        return len(self.workers) * self.in_flight_per_replica

    @property
    def replicas(self) -> list[ReplicaInfo]:
        return [ReplicaInfo(node=w.info.node, device=w.info.device, threads=w.info.threads)
                for w in self.workers]

    def tallies(self) -> list[WorkerTally]:
        """A copy of what each replica has done so far."""
        return [WorkerTally(t.requests, t.documents, t.busy_s) for t in self._tallies]

    def pick(self) -> int:
        """The replica with the fewest calls in flight; among those, the one that has had
        the fewest calls (so a one-at-a-time sequence still spreads over them)."""
        return min(range(len(self.workers)),
                   key=lambda i: (self._in_flight[i], self._tallies[i].requests, i))

    async def run(self, call: Callable[[Worker], Awaitable[Timed[T]]], documents: int) -> T:
        """Run ``call`` on the least busy replica; count it there with ``documents``."""
        index = self.pick()
        self._in_flight[index] += 1
        try:
            timed = await call(self.workers[index])
        finally:
            self._in_flight[index] -= 1
        tally = self._tallies[index]
        tally.requests += 1
        tally.documents += documents
        tally.busy_s += timed.busy_s
        return timed.value

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
