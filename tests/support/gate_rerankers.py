"""A reranker whose quality, latency and cost a CI-gate test sets: ``test-gate``.

It keeps the first stage's order (so its measures equal the first stage's), except on a
chosen share of the queries, where it reverses the candidates (a provider whose answers
got worse on part of the queries). ``sleep_s`` adds latency, ``cost_per_query`` a cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rerank_eval.rerankers import RerankerKind, RerankerSpec, Runtime, register
from rerank_eval.rerankers.registry import unregister
from rerank_eval.types import RankedResult, RerankRequest, RerankResponse, Usage

GATE_KIND = "test-gate"


@dataclass
class GateBehaviour:
    reversed_share: float = 0.0
    """Share of queries (by a stable hash of the query text) answered in reverse order."""
    sleep_s: float = 0.0
    cost_per_query: float | None = None


BEHAVIOUR = GateBehaviour()


def reversed_query(query: str, share: float) -> bool:
    bucket = int(hashlib.sha256(query.encode()).hexdigest(), 16) % 1000
    return bucket < share * 1000


class GateReranker:
    max_concurrency = 4

    def __init__(self, name: str) -> None:
        self.name = name

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        await asyncio.sleep(BEHAVIOUR.sleep_s)
        n = len(request.documents)
        order = list(range(n))
        if reversed_query(request.query, BEHAVIOUR.reversed_share):
            order.reverse()
        results = [RankedResult(i, float(n - rank)) for rank, i in enumerate(order)]
        return RerankResponse(results=results,
                              usage=Usage(requests=1, cost_usd=BEHAVIOUR.cost_per_query),
                              latency_s=time.perf_counter() - started, score_kind="test")

    async def aclose(self) -> None:
        pass


def create_gate(spec: RerankerSpec, runtime: Runtime) -> GateReranker:
    return GateReranker(spec.text)


@contextmanager
def gate_reranker(reversed_share: float = 0.0, sleep_s: float = 0.0,
                  cost_per_query: float | None = None) -> Iterator[GateBehaviour]:
    """``test-gate`` is a known kind inside the block, behaving as asked."""
    BEHAVIOUR.reversed_share, BEHAVIOUR.sleep_s = reversed_share, sleep_s
    BEHAVIOUR.cost_per_query = cost_per_query
    register(RerankerKind(kind=GATE_KIND, factory_path=f"{__name__}:create_gate",
                          summary="test reranker: first-stage order, partly reversed"))
    try:
        yield BEHAVIOUR
    finally:
        unregister(GATE_KIND)
        BEHAVIOUR.reversed_share, BEHAVIOUR.sleep_s, BEHAVIOUR.cost_per_query = 0.0, 0.0, None
