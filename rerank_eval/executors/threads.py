"""The pooled path without Ray: replicas on threads of this process.

Not a user-facing executor (replicas in one process share one loaded model and gain
nothing): it runs exactly the code the Ray executor runs in the driver (planning,
dispatch, tallies, the records) against :class:`~rerank_eval.executors.host.ModelHost`
objects on threads, so tests check that path, and its parity with an in-process run,
without Ray installed. Each worker runs one call at a time, as a Ray actor does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from rerank_eval.executors.base import RAY
from rerank_eval.executors.host import HostInfo, ModelHost, Timed
from rerank_eval.executors.pool import Worker
from rerank_eval.executors.replicas import ReplicatedExecutor
from rerank_eval.rerankers.spec import RerankerSpec
from rerank_eval.types import Document, RerankResponse


class ThreadWorker:
    """A :class:`ModelHost` called on a worker thread, one call at a time."""

    def __init__(self, host: ModelHost) -> None:
        self.host = host
        self.info: HostInfo = host.info()
        self._lock = threading.Lock()

    def _locked(self, method: Any, *args: Any) -> Any:
        with self._lock:
            return method(*args)

    async def rerank(self, query: str, documents: Sequence[Document], top_n: int | None,
                     cross_query_reuse: bool | None) -> Timed[RerankResponse]:
        return await asyncio.to_thread(self._locked, self.host.rerank, query, documents,
                                       top_n, cross_query_reuse)

    async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[Any]:
        return await asyncio.to_thread(self._locked, self.host.embed, query, texts)

    def close(self) -> None:
        # the host runs its own event loop, which cannot run on a thread that has one
        closing = threading.Thread(target=self.host.close)
        closing.start()
        closing.join()


class ThreadExecutor(ReplicatedExecutor):
    """Model kinds on ``replicas`` thread workers; recorded as ``kind`` (default ``ray``,
    so a Ray run's records and report can be checked without Ray), address ``local``."""

    def __init__(self, replicas: int = 2, kind: str = RAY) -> None:
        self.replicas = replicas
        self.kind = kind

    def start_workers(self, spec: str, options: dict[str, Any],
                      parsed: RerankerSpec) -> Sequence[Worker]:
        return [ThreadWorker(ModelHost(spec, options)) for _ in range(self.replicas)]
