"""Local model inference on Ray actors: ``--executor ray`` (``executor = "ray"`` in a suite).

Each local model reranker of the run (the kinds registered with ``model_inference``:
biencoder, cross-encoder) becomes a pool of Ray actors, each holding one replica built
from the same spec (:class:`~rerank_eval.executors.host.ModelHost`), with one GPU per
actor when the cluster has GPUs. Every other kind (bm25, the remote APIs) runs in this
process as before.

``RAY_ADDRESS`` set (e.g. ``10.0.0.5:6379``, or ``auto`` on a node of the cluster): join
that cluster; its nodes need the same rerank-eval (``pip install 'rerank-eval[ray]'``)
and the model reachable (a Hugging Face id, or a folder at the same path). Unset: a local
Ray starts for the run (a few seconds) and stops at the end. A Ray this process already
joined (``ray.init`` before the run, as the tests do) is used and left running.

Ray is imported only here, and only when an executor starts.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from rerank_eval.executors.base import RAY
from rerank_eval.executors.host import HostInfo, ModelHost, Timed
from rerank_eval.executors.pool import Worker
from rerank_eval.executors.replicas import ReplicaError, ReplicatedExecutor
from rerank_eval.rerankers.spec import RerankerSpec
from rerank_eval.types import Document, RerankResponse

log = logging.getLogger(__name__)

LOCAL_OBJECT_STORE_BYTES = 512 << 20
"""Object store of a local Ray: requests and embeddings are small; Ray's default (30% of
memory) would reserve gigabytes of shared memory for nothing."""
WORKER_NICENESS_ENV = "RAY_worker_niceness"
"""Ray's setting for its workers' niceness (default 15), read by a raylet this process starts."""
START_TIMEOUT_S = 900.0
"""How long actors may take to start and load their model (a first download included)."""


class RayWorker:
    """A Ray actor holding a :class:`ModelHost`, as the pool calls it."""

    def __init__(self, handle: Any, info: HostInfo, index: int) -> None:
        self.handle = handle
        self.info = info
        self.index = index

    async def rerank(self, query: str, documents: Sequence[Document], top_n: int | None,
                     cross_query_reuse: bool | None) -> Timed[RerankResponse]:
        return await self._call(self.handle.rerank.remote(query, list(documents), top_n,
                                                          cross_query_reuse))

    async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]:
        return await self._call(self.handle.embed.remote(query, list(texts)))

    async def _call(self, ref: Awaitable[Any]) -> Any:
        """The actor's answer; its exception as raised there (not Ray's wrapper with the
        remote traceback), or a short error when the actor died."""
        from ray.exceptions import RayActorError, RayTaskError

        try:
            return await ref
        except RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise RuntimeError(_last_line(str(exc))) from None
        except RayActorError as exc:
            raise ReplicaError(f"Ray actor {self.index} ({self.info.node}) died: "
                               f"{_last_line(str(exc))}") from None

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.kill(self.handle, no_restart=True)


@dataclass(frozen=True)
class ActorPlan:
    """How many actors a model reranker gets, what each reserves and how many threads it runs."""

    count: int
    cpus: float
    """CPUs each actor reserves: its share, divided by the model rerankers that share the
    cluster (their pools all live through the run, but cells run one at a time)."""
    gpus: float
    threads: int
    """torch threads each actor runs: its whole CPU share (1 on a GPU)."""


class RayExecutor(ReplicatedExecutor):
    """Model kinds on Ray actors; ``actors`` per reranker (None: one per GPU, else 1 CPU
    actor, 2 when the cluster has 4 CPUs or more). ``sharing``: how many model rerankers
    the run builds (each gets its actors; only one works at a time)."""

    kind = RAY

    def __init__(self, actors: int | None = None, *, sharing: int = 1,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        if actors is not None and actors < 1:
            raise ValueError(f"--ray-actors must be at least 1, got {actors}")
        self.actors = actors
        self.sharing = max(1, sharing)
        self.start_timeout_s = start_timeout_s
        self.address = "local"
        self._started = False
        self._owns_ray = False

    def start(self) -> None:
        """Join RAY_ADDRESS's cluster, or start a local Ray (once)."""
        if self._started:
            return
        import ray

        address = os.environ.get("RAY_ADDRESS", "").strip()
        self.address = "cluster" if address and address != "local" else "local"
        if not ray.is_initialized():
            if self.address == "cluster":
                ray.init(address=address, logging_level=logging.WARNING)
            else:
                # Ray starts its workers at niceness 15 so that they yield to the driver;
                # here the actors ARE the measured work, and niced they lose the CPU to
                # anything else on the machine (50x slower beside a busy test run).
                os.environ.setdefault(WORKER_NICENESS_ENV, "0")
                ray.init(address="local", include_dashboard=False,
                         object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                         logging_level=logging.WARNING)
            self._owns_ray = True
        self._started = True
        log.info("Ray %s: %s", self.address, ray.cluster_resources())

    def start_workers(self, spec: str, options: dict[str, Any],
                      parsed: RerankerSpec) -> Sequence[Worker]:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        self.start()
        plan = self.plan(parsed)
        actor_class = ray.remote(ModelHost)
        handles = [actor_class.options(num_cpus=plan.cpus, num_gpus=plan.gpus, max_restarts=0)
                   .remote(spec, options, os.getcwd(), plan.threads)
                   for _ in range(plan.count)]
        try:
            infos = ray.get([h.info.remote() for h in handles], timeout=self.start_timeout_s)
        except GetTimeoutError:
            _kill(handles)
            raise ReplicaError(
                f"{plan.count} Ray actors for {parsed.text} ({plan.cpus:g} CPU, {plan.gpus:g} "
                f"GPU each) did not start within {self.start_timeout_s:g} s; cluster "
                f"resources: {_resources(ray.cluster_resources())}") from None
        except RayActorError as exc:
            _kill(handles)
            raise ReplicaError(f"a Ray actor for {parsed.text} died while starting: "
                               f"{_last_line(str(exc))}") from None
        log.info("%s on %d Ray actors (%s)", parsed.text, plan.count, plan)
        return [RayWorker(h, info, i) for i, (h, info) in enumerate(zip(handles, infos,
                                                                        strict=True))]

    def plan(self, parsed: RerankerSpec) -> ActorPlan:
        """The actors for this spec on this cluster."""
        import ray

        resources = ray.cluster_resources()
        device = str(parsed.options.get("device", "auto")).strip().lower()
        asked = device == "cuda" or device.startswith("cuda:")
        total_gpus = float(resources.get("GPU", 0.0))
        return plan_actors(self.actors, float(resources.get("CPU", 0.0)), total_gpus,
                           _largest_node_cpus(), sharing=self.sharing,
                           on_gpu=asked or (device == "auto" and total_gpus > 0),
                           what=parsed.text)

    def close(self) -> None:
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False
        self._started = False


def plan_actors(requested: int | None, total_cpus: float, total_gpus: float,
                largest_node_cpus: float, *, on_gpu: bool, sharing: int = 1,
                what: str = "the model") -> ActorPlan:
    """The actors of one model reranker.

    On GPUs: one actor per GPU by default, each with a GPU (more actors than GPUs share
    them) and one CPU thread. On CPUs: 1 actor, 2 from 4 CPUs up; each runs an equal share
    of the CPUs as threads (at most one node's worth; one when there are more actors than
    CPUs). What an actor reserves is that share divided by ``sharing``, so the pools of
    every model reranker of the run fit at once (cells run one at a time: one pool works).
    """
    sharing = max(1, sharing)
    if on_gpu:
        if total_gpus <= 0:
            raise ReplicaError(f"{what} asks for a GPU but the Ray cluster has none")
        count = requested or max(1, int(total_gpus))
        gpus = min(1.0, total_gpus / count)
        cpus = min(1.0, total_cpus / (count * sharing)) if total_cpus > 0 else 0.0
        return ActorPlan(count, _hundredths(cpus), _hundredths(gpus / sharing), 1)
    if total_cpus <= 0:
        raise ReplicaError("the Ray cluster has no CPUs to place actors on")
    count = requested or (2 if total_cpus >= 4 else 1)
    share = total_cpus / count
    if largest_node_cpus > 0:
        share = min(share, largest_node_cpus)
    threads = max(1, math.floor(share))
    return ActorPlan(count, _hundredths(share / sharing), 0.0, threads)


def _hundredths(value: float) -> float:
    """Rounded down to 0.01 (never to 0 when positive): Ray's resource granularity."""
    return max(math.floor(value * 100) / 100, 0.01) if value > 0 else 0.0


def _largest_node_cpus() -> float:
    import ray

    sizes = [float(node.get("Resources", {}).get("CPU", 0.0)) for node in ray.nodes()
             if node.get("Alive")]
    return max(sizes, default=0.0)


def _kill(handles: Sequence[Any]) -> None:
    import ray

    for handle in handles:
        ray.kill(handle, no_restart=True)


def _resources(resources: dict[str, Any]) -> str:
    shown = {k: v for k, v in resources.items() if k in ("CPU", "GPU", "memory")}
    return ", ".join(f"{k} {v:g}" for k, v in sorted(shown.items())) or "none"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text
