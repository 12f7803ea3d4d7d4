"""The client lets ``concurrency`` requests reach the server at once, and no more."""

from __future__ import annotations

import asyncio

import pytest
from support.providers import make, prepare

from rerank_eval.testing.fakes import Capacity
from rerank_eval.types import RerankRequest


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


async def calls(server, n: int, concurrency: int) -> list[float]:
    r = make(server, f"tei:{server.url('tei')}", key=None, cache="false",
             concurrency=str(concurrency))
    try:
        responses = await asyncio.gather(*(
            r.rerank(RerankRequest(query=f"query {i}", documents=["a b", "c d"]))
            for i in range(n)))
    finally:
        await r.aclose()
    return [x.latency_s for x in responses]


async def test_64_calls_with_concurrency_64_all_reach_the_server_at_once(server) -> None:
    state = server.state("tei")
    state.capacity = Capacity(workers=64, service_s=0.05)
    latencies = await calls(server, 64, 64)
    assert state.max_in_flight == 64 and state.max_busy == 64
    assert [r.queue_s for r in state.requests] == [0.0] * 64
    assert latencies == pytest.approx([0.05] * 64)


async def test_the_client_holds_back_beyond_its_concurrency(server) -> None:
    state = server.state("tei")
    state.capacity = Capacity(workers=64, service_s=0.05)
    latencies = await calls(server, 64, 16)
    assert state.max_in_flight == 16
    # four waves of 16, queued in the client rather than the server
    assert sorted(latencies) == pytest.approx([0.05] * 16 + [0.1] * 16 + [0.15] * 16
                                              + [0.2] * 16)
