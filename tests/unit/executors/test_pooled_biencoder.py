"""The pooled bi-encoder plans reuse in call order, as the in-process one does: each
document is embedded once, in the group of the call that first brings it, whichever
replica runs that call and whenever it finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from rerank_eval.executors.host import HostInfo, Timed
from rerank_eval.executors.pool import WorkerPool
from rerank_eval.executors.pooled import PooledBiEncoder, pooled_reranker
from rerank_eval.rerankers.base import PricedByHardware, ReusesWork
from rerank_eval.rerankers.local.models import EmbeddedCall, Embedding
from rerank_eval.types import RerankRequest

DIM = 4


def vector(text: str, group_size: int = 0) -> np.ndarray:
    """A unit vector for ``text``, nudged by the size of the group it was embedded in
    (the way finite precision makes an embedding depend on its batch)."""
    seed = sum(text.encode())
    raw = np.random.default_rng(seed).normal(size=DIM) + 1e-3 * group_size
    return (raw / np.linalg.norm(raw)).astype(np.float32)


class FakeEmbedder:
    """A replica that embeds; each call waits for its own gate when ``gated``."""

    def __init__(self, name: str, gated: bool = False) -> None:
        self.info = HostInfo(name="biencoder", device="cpu", dtype="fp32", score_kind="cosine",
                             reuses_work=True, score_tolerance=1e-5, embeds=True,
                             vector_bytes=DIM * 4, node=name, threads=1)
        self.groups: list[tuple[str | None, list[str]]] = []
        self.gates: list[asyncio.Event] = []
        self.gated = gated
        self.fail_next = False

    async def rerank(self, *args: Any) -> Any:
        raise AssertionError("a bi-encoder's calls are embedded, not reranked whole")

    async def embed(self, query: str | None, texts: Sequence[str]) -> Timed[EmbeddedCall]:
        self.groups.append((query, list(texts)))
        gate = asyncio.Event()
        self.gates.append(gate)
        if self.gated:
            await gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("actor died")
        size = len(texts)
        return Timed(EmbeddedCall(
            query=None if query is None else Embedding(vector(query), False, 3),
            documents=[Embedding(vector(t, size), False, 5) for t in texts],
            compute_s=0.25), busy_s=0.3)

    def close(self) -> None:
        pass


def expected_scores(query: str, docs: list[str], group_of: dict[str, int]) -> list[float]:
    q = vector(query).astype(np.float64)
    return [float(np.dot(vector(d, group_of[d]).astype(np.float64), q)) for d in docs]


def scores_in_input_order(response: Any, n: int) -> list[float]:
    by_index = {r.index: r.relevance_score for r in response.results}
    return [by_index[i] for i in range(n)]


def make(workers: list[FakeEmbedder], cache_bytes: int = 1 << 30) -> PooledBiEncoder:
    reranker = pooled_reranker(WorkerPool(workers), cache_bytes=cache_bytes,
                               executor_kind="ray", address="local")
    assert isinstance(reranker, PooledBiEncoder)
    return reranker


async def test_documents_are_embedded_once_in_the_group_of_the_call_that_first_brings_them(
) -> None:
    a, b = FakeEmbedder("a"), FakeEmbedder("b")
    reranker = make([a, b])
    assert isinstance(reranker, ReusesWork) and isinstance(reranker, PricedByHardware)
    assert reranker.max_concurrency == 4 and reranker.score_tolerance == 1e-5
    calls = [("q1", ["d1", "d2", "d1"]), ("q2", ["d2", "d3"]), ("q1", ["d3", "d4"])]
    responses = await asyncio.gather(*(
        reranker.rerank(RerankRequest(query=q, documents=docs)) for q, docs in calls))
    # planned in call order: call 1 brings d1, d2 (de-duplicated); call 2 only d3; the
    # third call's query is known from call 1, and only d4 is new
    assert a.groups + b.groups == [("q1", ["d1", "d2"]), (None, ["d4"]), ("q2", ["d3"])]
    group_of = {"d1": 2, "d2": 2, "d3": 1, "d4": 1}
    for (query, docs), response in zip(calls, responses, strict=True):
        assert scores_in_input_order(response, len(docs)) == expected_scores(query, docs,
                                                                             group_of)
    assert [r.usage.reused_documents for r in responses] == [0, 1, 1]
    assert [r.usage.tokens for r in responses] == [3 + 10, 3 + 5, 5]
    assert [r.usage.compute_s for r in responses] == [0.25, 0.25, 0.25]
    assert sum(t.requests for t in reranker.tallies()) == 3
    assert sum(t.documents for t in reranker.tallies()) == 4  # embedded, not reused


async def test_a_call_waits_for_the_documents_a_call_in_flight_brings() -> None:
    a, b = FakeEmbedder("a", gated=True), FakeEmbedder("b", gated=True)
    reranker = make([a, b])
    first = asyncio.create_task(reranker.rerank(RerankRequest("q1", ["d1", "d2"])))
    second = asyncio.create_task(reranker.rerank(RerankRequest("q2", ["d2", "d3"])))
    await asyncio.sleep(0.01)
    assert a.groups == [("q1", ["d1", "d2"])] and b.groups == [("q2", ["d3"])]
    b.gates[0].set()  # the second call's own work finishes first ...
    await asyncio.sleep(0.01)
    assert not second.done()  # ... but it needs d2, which the first call embeds
    a.gates[0].set()
    await first
    response = await second
    group_of = {"d2": 2, "d3": 1}
    assert scores_in_input_order(response, 2) == expected_scores("q2", ["d2", "d3"], group_of)


async def test_with_reuse_off_every_call_embeds_its_own_on_one_replica() -> None:
    a, b = FakeEmbedder("a"), FakeEmbedder("b")
    reranker = make([a, b])
    await reranker.rerank(RerankRequest("q1", ["d1", "d2"]))
    reranker.cross_query_reuse = False
    response = await reranker.rerank(RerankRequest("q1", ["d2", "d1", "d2"]))
    assert b.groups == [("q1", ["d2", "d1"])]
    assert response.usage.reused_documents == 0
    reranker.cross_query_reuse = True  # nothing was kept by the call with reuse off
    await reranker.rerank(RerankRequest("q1", ["d1", "d3"]))
    assert a.groups[-1] == (None, ["d3"])


async def test_a_failed_call_leaves_nothing_to_reuse() -> None:
    a = FakeEmbedder("a")
    reranker = make([a])
    a.fail_next = True
    with pytest.raises(ConnectionError):
        await reranker.rerank(RerankRequest("q1", ["d1"]))
    await reranker.rerank(RerankRequest("q1", ["d1"]))
    assert a.groups == [("q1", ["d1"]), ("q1", ["d1"])]  # embedded again, query too


async def test_the_oldest_embeddings_are_forgotten_past_the_byte_budget() -> None:
    a = FakeEmbedder("a")
    reranker = make([a], cache_bytes=2 * DIM * 4)  # room for two documents
    await reranker.rerank(RerankRequest("q", ["d1", "d2"]))
    await reranker.rerank(RerankRequest("q", ["d3"]))  # d1 is evicted after this call
    await reranker.rerank(RerankRequest("q", ["d1", "d3"]))
    assert [g for _, g in a.groups] == [["d1", "d2"], ["d3"], ["d1"]]


async def test_no_documents_no_model_work() -> None:
    a = FakeEmbedder("a")
    response = await make([a]).rerank(RerankRequest("q", []))
    assert response.results == [] and a.groups == []
