"""A local reranker whose model runs on a pool of replicas, behind the one protocol.

:class:`PooledReranker` sends each request whole to the least busy replica (the
cross-encoder: a request's scores depend on that request alone, so they are the
in-process scores).

:class:`PooledBiEncoder` cannot do that and stay identical to an in-process run: a
bi-encoder embeds each document once, in the call that first brings it, and an
embedding's last bits depend on the batch it was computed in. If each replica kept its
own embeddings, a document would be embedded in another group of texts than in process
(two replicas each keeping their own, on the quick collection's 59 queries x 50
candidates: 116 of 2,950 scores moved by up to 1.8e-7 in fp32, by up to 9e-4 in bf16),
and the TREC file would differ. So the driver plans the reuse exactly as
the in-process bi-encoder does, in call order (which documents each call brings first,
the same de-duplication and byte-budget eviction), and a replica only runs a call's
model work (:meth:`~rerank_eval.rerankers.local.models.BiEncoderReranker.embed_call`:
the query alone, the new documents together). Scores are then computed here from the
replicas' embeddings with the in-process code (``cosine_scores``): bit for bit what one
process computes, for any number of replicas. A call that needs documents a call still
in flight brings waits for them; the model work itself runs in parallel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rerank_eval.executors.base import ReplicaInfo, WorkerTally
from rerank_eval.executors.pool import WorkerPool
from rerank_eval.types import RerankRequest, RerankResponse


class PooledReranker:
    """A local reranker on a pool of replicas; each request runs whole on one of them.

    Also :class:`~rerank_eval.rerankers.base.PricedByHardware` (``device``: the summed
    busy seconds of all replicas are priced by that hardware's hour) and
    :class:`~rerank_eval.executors.base.Distributed`.
    """

    def __init__(self, pool: WorkerPool, *, executor_kind: str, address: str) -> None:
        info = pool.workers[0].info
        self.name = info.name
        self.device = info.device or "cpu"
        self.score_kind = info.score_kind
        self.dtype = info.dtype
        self.pool = pool
        self.max_concurrency = pool.max_concurrency
        self.executor_kind = executor_kind
        self.address = address
        self.in_flight_per_replica = pool.in_flight_per_replica

    @property
    def replicas(self) -> list[ReplicaInfo]:
        return self.pool.replicas

    def tallies(self) -> list[WorkerTally]:
        return self.pool.tallies()

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        documents = list(request.documents)
        response = await self.pool.run(
            lambda w: w.rerank(request.query, documents, request.top_n, None), len(documents))
        # the latency a caller sees: the replica's work and the way there and back
        return RerankResponse(results=response.results, usage=response.usage,
                              latency_s=time.perf_counter() - started,
                              score_kind=response.score_kind, server_ms=response.server_ms)

    async def aclose(self) -> None:
        """Stop the replicas (their models go with them)."""
        self.pool.close()


@dataclass
class _Slot:
    """Where a planned embedding will come from: a call's model work, and its row."""

    work: asyncio.Future[Any]
    row: int  # -1: the call's query


class PooledBiEncoder(PooledReranker):
    """The bi-encoder on a pool of replicas, bit-identical to the in-process one.

    The reuse is planned here in call order, mirroring
    :class:`~rerank_eval.rerankers.local.models.BiEncoderReranker` (see the module's
    docstring); the replicas only embed. :class:`~rerank_eval.rerankers.base.ReusesWork`:
    with ``cross_query_reuse`` off each call embeds its own query and documents on one
    replica and keeps nothing, as in process.
    """

    def __init__(self, pool: WorkerPool, cache_bytes: int, **kwargs: Any) -> None:
        super().__init__(pool, **kwargs)
        info = pool.workers[0].info
        self.cross_query_reuse = True
        self.score_tolerance = info.score_tolerance
        self._vector_bytes = info.vector_bytes
        self._cache_limit = cache_bytes
        self._documents: dict[bytes, _Slot] = {}
        self._queries: dict[bytes, _Slot] = {}
        self._cache_bytes = 0

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        from rerank_eval.rerankers.local.models import (
            Work,
            cosine_scores,
            ranked_response,
            text_digest,
        )

        started = time.perf_counter()
        texts = [document.text for document in request.documents]
        if not texts:
            work = Work(np.empty(0), np.empty(0), 0.0, 0, 0)
            return ranked_response(work, request.top_n, name=self.name, dtype=self.dtype,
                                   score_kind=self.score_kind or "cosine", started=started)
        # The plan, with no await in between: calls are planned in the order they arrive,
        # which is the order an in-process run makes them.
        keys = [text_digest(text) for text in texts]
        unique = dict(zip(keys, texts, strict=True))
        query_key = text_digest(request.query)
        reuse = self.cross_query_reuse
        known = {k: self._documents[k] for k in unique if k in self._documents} if reuse \
            else {}
        query_slot = self._queries.get(query_key) if reuse else None
        missing = [k for k in unique if k not in known]
        query = request.query if query_slot is None else None
        new_texts = [unique[k] for k in missing]
        own: asyncio.Future[Any] = asyncio.ensure_future(self.pool.run(
            lambda w: w.embed(query, new_texts), len(missing)))
        fresh = {k: _Slot(own, row) for row, k in enumerate(missing)}
        if query_slot is None:
            query_slot = _Slot(own, -1)
            if reuse:
                self._queries[query_key] = query_slot
        if reuse:
            self._documents.update(fresh)
            self._cache_bytes += self._vector_bytes * len(fresh)
            self._evict()
        try:
            call = await own
        except BaseException:
            self._forget_failed(own)
            raise
        embeddings = {k: await _embedding(slot) for k, slot in {**known, **fresh}.items()}
        query_item = await _embedding(query_slot)
        scores = cosine_scores(keys, embeddings, query_item)
        tokens = (call.query.tokens if call.query is not None else 0) + \
            sum(item.tokens for item in call.documents)
        work = Work(scores=scores, rank_keys=scores, compute_s=call.compute_s,
                    truncated=sum(embeddings[k].truncated for k in keys), tokens=tokens,
                    reused=len(known))
        return ranked_response(work, request.top_n, name=self.name, dtype=self.dtype,
                               score_kind=self.score_kind or "cosine", started=started)

    def _evict(self) -> None:
        """Forget the oldest embeddings past the byte budget, as the in-process one does."""
        while self._cache_bytes > self._cache_limit and self._documents:
            del self._documents[next(iter(self._documents))]
            self._cache_bytes -= self._vector_bytes

    def _forget_failed(self, work: asyncio.Future[Any]) -> None:
        """A call whose model work failed leaves nothing to reuse (as in process, where a
        failed call caches nothing); a later call embeds those documents again."""
        for cache in (self._documents, self._queries):
            for key in [k for k, slot in cache.items() if slot.work is work]:
                del cache[key]
                if cache is self._documents:
                    self._cache_bytes -= self._vector_bytes

    async def aclose(self) -> None:
        self._documents.clear()
        self._queries.clear()
        self._cache_bytes = 0
        await super().aclose()


async def _embedding(slot: _Slot) -> Any:
    call = await slot.work
    return call.query if slot.row < 0 else call.documents[slot.row]


def pooled_reranker(pool: WorkerPool, *, cache_bytes: int, executor_kind: str,
                    address: str) -> PooledReranker:
    """The wrapper that fits the replicas' reranker (all replicas are built alike).

    A reranker that reuses work across calls can run on replicas only when its model work
    can be split from its reuse (``embed_call``): replicas keeping their own would make
    scores depend on routing."""
    info = pool.workers[0].info
    if info.embeds:
        return PooledBiEncoder(pool, cache_bytes, executor_kind=executor_kind,
                               address=address)
    if info.reuses_work:
        raise ValueError(f"{info.name} reuses work across calls and cannot hand its model "
                         "work to replicas (no embed_call); run it in process")
    return PooledReranker(pool, executor_kind=executor_kind, address=address)


def check_alike(infos: Sequence[Any]) -> None:
    """Replicas built from one spec must agree on what they are (name, precision, device
    kind): a mix (one actor fell back to fp32) would make results depend on routing."""
    first = infos[0]
    for index, info in enumerate(infos[1:], start=1):
        mine = (info.name, info.dtype, info.score_kind, _device_kind(info.device))
        theirs = (first.name, first.dtype, first.score_kind, _device_kind(first.device))
        if mine != theirs:
            raise RuntimeError(f"replicas of {first.name} differ: actor 0 is {theirs}, actor "
                               f"{index} is {mine}; results would depend on routing")


def _device_kind(device: str | None) -> str:
    return (device or "cpu").split(":")[0]
