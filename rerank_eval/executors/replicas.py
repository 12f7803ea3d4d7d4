"""An executor that runs the local model kinds on replicas, every other kind in process.

Subclasses say how replicas start (:meth:`ReplicatedExecutor.start_workers`: Ray actors,
or threads in the tests); the rest is shared: which kinds go to replicas (those
registered with ``model_inference``), build errors reported by name, replicas that must
agree, and the pooled wrapper that fits the reranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.executors.pool import Worker, WorkerPool
from rerank_eval.executors.pooled import check_alike, pooled_reranker
from rerank_eval.rerankers.base import Reranker, Runtime
from rerank_eval.rerankers.spec import RerankerSpec


class ReplicaError(RuntimeError):
    """A replica could not build its reranker (bad option value, missing model, device)."""


class ReplicatedExecutor:
    """Model kinds on a pool of replicas started by :meth:`start_workers`."""

    kind: str
    address: str = "local"

    def is_model(self, spec: RerankerSpec) -> bool:
        from rerank_eval.rerankers import known_kinds

        entry = {k.kind: k for k in known_kinds()}.get(spec.kind)
        return entry is not None and entry.model_inference

    def create(self, spec: str, options: dict[str, Any], runtime: Runtime) -> Reranker:
        from rerank_eval.rerankers import create_reranker, parse_spec
        from rerank_eval.rerankers.local.models import EMBEDDING_CACHE_BYTES

        parsed = parse_spec(spec, options)
        if not self.is_model(parsed):
            return create_reranker(spec, options, runtime=runtime)
        workers = self.start_workers(spec, dict(options), parsed)
        try:
            for index, worker in enumerate(workers):
                if worker.info.error:
                    raise ReplicaError(f"{worker.info.error} (replica {index} on "
                                       f"{worker.info.node or '?'})")
            check_alike([w.info for w in workers])
            return pooled_reranker(WorkerPool(workers), cache_bytes=EMBEDDING_CACHE_BYTES,
                                   executor_kind=self.kind, address=self.address)
        except Exception:
            for worker in workers:
                worker.close()
            raise

    def start_workers(self, spec: str, options: dict[str, Any],
                      parsed: RerankerSpec) -> Sequence[Worker]:
        raise NotImplementedError

    def close(self) -> None:
        pass
