"""Where local model inference runs: the executor the harness builds rerankers through.

An :class:`Executor` turns a suite's reranker entry into a
:class:`~rerank_eval.rerankers.base.Reranker`. :class:`InProcessExecutor` is what every
run did before executors existed (``create_reranker``); the Ray executor
(:mod:`rerank_eval.executors.ray_executor`) wraps the local model kinds in a reranker
that sends their work to a pool of Ray actors. Whatever the executor, the harness,
journal and metrics see the same protocol; a pooled reranker additionally reports how
its replicas were used (:class:`Distributed`), which the harness records per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rerank_eval.records import ActorRecord, ExecutionRecord
from rerank_eval.rerankers.base import Reranker, Runtime

IN_PROCESS = "in-process"
RAY = "ray"
EXECUTORS = (IN_PROCESS, RAY)


class Executor(Protocol):
    """Builds the rerankers of a run and releases what it started at the end."""

    kind: str

    def create(self, spec: str, options: dict[str, Any], runtime: Runtime) -> Reranker: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Every reranker in this process: the default."""

    kind = IN_PROCESS

    def create(self, spec: str, options: dict[str, Any], runtime: Runtime) -> Reranker:
        from rerank_eval.rerankers import create_reranker

        return create_reranker(spec, options, runtime=runtime)

    def close(self) -> None:
        pass


@runtime_checkable
class EmbedsCalls(Protocol):
    """A reranker whose model work per call can run apart from its reuse bookkeeping
    (the bi-encoder: :meth:`~rerank_eval.rerankers.local.models.BiEncoderReranker.embed_call`)."""

    def embed_call(self, query: str | None, texts: Sequence[str]) -> Any: ...


@dataclass
class WorkerTally:
    """What one replica has done so far (counted by the driver, timed by the replica)."""

    requests: int = 0
    documents: int = 0
    """Documents the replica ran through its model: scored pairs for a cross-encoder,
    embedded documents for a bi-encoder (reused ones are not work)."""
    busy_s: float = 0.0


@dataclass(frozen=True)
class ReplicaInfo:
    """Where a replica runs: its node (host/pid), device and torch threads."""

    node: str
    device: str | None
    threads: int | None = None


@runtime_checkable
class Distributed(Protocol):
    """Optional part of a reranker that runs on an executor's replicas (Ray actors)."""

    executor_kind: str
    address: str
    """``local`` (a Ray started for this run) or ``cluster`` (joined through RAY_ADDRESS)."""
    in_flight_per_replica: int
    replicas: list[ReplicaInfo]

    def tallies(self) -> list[WorkerTally]: ...


def execution_record(reranker: Distributed, before: Sequence[WorkerTally],
                     wall_s: float, queries: int) -> ExecutionRecord:
    """How the replicas were used since ``before`` (a :meth:`Distributed.tallies` taken
    when the main pass started), over ``wall_s`` seconds and ``queries`` finished calls."""
    after = reranker.tallies()
    actors = []
    for index, (info, start, end) in enumerate(zip(reranker.replicas, before, after,
                                                   strict=True)):
        busy = end.busy_s - start.busy_s
        actors.append(ActorRecord(
            actor=index, node=info.node, device=info.device or "", threads=info.threads,
            requests=end.requests - start.requests, documents=end.documents - start.documents,
            busy_s=busy, utilisation=busy / wall_s if wall_s > 0 else None))
    return ExecutionRecord(
        kind=reranker.executor_kind, address=reranker.address, actors=len(actors),
        in_flight_per_actor=reranker.in_flight_per_replica, wall_s=wall_s, queries=queries,
        queries_per_s=queries / wall_s if wall_s > 0 else None, per_actor=actors)
