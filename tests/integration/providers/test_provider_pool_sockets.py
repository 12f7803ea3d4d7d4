"""Over real sockets, the client's connection pools let ``concurrency`` requests reach the
server at once, for the concurrency a load test asks of it (256 and beyond)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from rerank_eval.rerankers import create_reranker
from rerank_eval.testing.fakes import Capacity, FakeServer
from rerank_eval.testing.fakes.providers import TeiDialect
from rerank_eval.types import RerankRequest


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer([TeiDialect()]).start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("concurrency", [5, 256])
async def test_concurrency_requests_in_flight_over_sockets(server: FakeServer,
                                                           concurrency: int) -> None:
    state = server.state("tei")
    # long enough that every request arrives before the first is answered
    state.capacity = Capacity(workers=concurrency, service_s=1.0)
    r = create_reranker(f"tei:{server.url('tei')}", {"concurrency": str(concurrency),
                                                     "cache": "false", "timeout": "30"})
    try:
        responses = await asyncio.gather(*(
            r.rerank(RerankRequest(query=f"query {i}", documents=["a b", "c d"]))
            for i in range(concurrency + 3)))
    finally:
        await r.aclose()
    assert len(responses) == concurrency + 3
    assert state.max_in_flight == concurrency  # all of them at once, never more
    assert all(x.server_ms is not None for x in responses)
