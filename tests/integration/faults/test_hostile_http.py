"""Fault injection against the HTTP layer (issue 10 rows 8-10): a rate limit that holds at
the server, a timeout that bounds the whole request, a cap on the size of an answer, and
decoding failures that name provider, URL and request number."""

from __future__ import annotations

import asyncio
import bisect
import time

import pytest
from support.hostile_server import HostileServer
from support.providers import clean_env, make, prepare

from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.remote.http.errors import MalformedResponseError, RequestTimeoutError
from rerank_eval.testing.fakes import Fault
from rerank_eval.types import RerankRequest

DOCS = ["the cat sat on the mat", "dogs chase cats"]
REQ = RerankRequest(query="cat", documents=DOCS)


def max_per_window(arrivals: list[float], window: float = 60.0) -> int:
    """The most arrivals in any half-open window [t, t + window) starting at an arrival."""
    times = sorted(arrivals)
    return max(bisect.bisect_left(times, t + window - 1e-9) - i for i, t in enumerate(times))


@pytest.mark.parametrize("slow_first", [0, 16])
@pytest.mark.parametrize("delay", [1.5, 5.0])
async def test_rpm_holds_at_the_server(monkeypatch, tmp_path, delay, slow_first) -> None:
    """Row 8: rpm=100, concurrency 16: never more than 100 arrivals in any 60 s window,
    also when the first requests hold every slot for 50 s (the queue behind the
    concurrency cap must not take rate slots it cannot use yet)."""
    server = prepare(monkeypatch, tmp_path)
    server.state("cohere").delay_s = delay
    server.state("cohere").fail(*[Fault(delay_s=50.0)] * slow_first)
    r = make(server, "cohere:rerank-v3.5", cache="false", rpm="100", concurrency="16")
    await asyncio.gather(*(r.rerank(RerankRequest(query=f"cat {i}", documents=DOCS))
                           for i in range(350)))
    await r.aclose()
    arrivals = [rec.at for rec in server.state("cohere").requests]
    assert len(arrivals) == 350
    assert max_per_window(arrivals) <= 100
    assert server.state("cohere").max_in_flight <= 16


def hostile_reranker(monkeypatch, tmp_path, server: HostileServer, **options: str):
    clean_env(monkeypatch, tmp_path)
    opts = {"base_url": server.url, "api_key": "k-test", "cache": "false",
            "retry_base_delay": "0.01", "retry_max_delay": "0.02", **options}
    return create_reranker("cohere:rerank-v3.5", opts)


async def test_trickling_server_times_out_on_the_whole_request(monkeypatch, tmp_path) -> None:
    """Row 9: one byte every 0.2 s (~23 s for the body); timeout 0.5 s bounds the request."""
    with HostileServer("trickle", interval_s=0.2) as server:
        r = hostile_reranker(monkeypatch, tmp_path, server, timeout="0.5", max_retries="0")
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as info:
            await r.rerank(REQ)
        took = time.monotonic() - started
        await r.aclose()
    assert took < 4 * 0.5
    assert info.value.request_number == 1
    assert "0.5s for the whole request" in str(info.value)


async def test_retries_stop_at_the_call_deadline(monkeypatch, tmp_path) -> None:
    """Row 9: retries of a trickling server stop at ``deadline`` (not 10 tries x timeout)."""
    with HostileServer("trickle", interval_s=0.2) as server:
        r = hostile_reranker(monkeypatch, tmp_path, server, timeout="0.4", max_retries="10",
                             deadline="1")
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as info:
            await r.rerank(REQ)
        took = time.monotonic() - started
        await r.aclose()
    assert took < 3.0
    assert 2 <= server.requests <= 4
    assert "deadline" in str(info.value)


@pytest.mark.parametrize("declare_length", [True, False])
async def test_answer_above_the_cap_is_refused(monkeypatch, tmp_path, declare_length) -> None:
    """Row 10: a 50 MB answer is refused at the (here 1 MB) cap, read in chunks."""
    with HostileServer("huge", size=50 * 1024 * 1024, declare_length=declare_length) as server:
        r = hostile_reranker(monkeypatch, tmp_path, server, max_response_bytes="1000000",
                             timeout="20")
        with pytest.raises(MalformedResponseError) as info:
            await r.rerank(REQ)
        await r.aclose()
    text = str(info.value)
    assert "cohere" in text and server.url in text and "request #1" in text
    assert "1000000 bytes" in text and "max_response_bytes" in text
    assert server.requests == 1  # not retried


async def test_default_cap_is_32_mb(monkeypatch, tmp_path) -> None:
    with HostileServer("huge", size=50 * 1024 * 1024) as server:
        r = hostile_reranker(monkeypatch, tmp_path, server, timeout="20")
        with pytest.raises(MalformedResponseError, match=str(32 * 1024 * 1024)):
            await r.rerank(REQ)
        await r.aclose()


async def test_deep_nesting_names_provider_url_and_request(monkeypatch, tmp_path) -> None:
    """Row 10: a body of brackets is a MalformedResponseError, not a bare RecursionError."""
    with HostileServer("nested", depth=2_000_000) as server:
        r = hostile_reranker(monkeypatch, tmp_path, server)
        with pytest.raises(MalformedResponseError) as info:
            await r.rerank(REQ)
        await r.aclose()
    text = str(info.value)
    assert "cohere" in text and server.url in text and "request #1" in text
    assert "nested too deeply" in text


def test_size_cap_and_deadline_are_validated(monkeypatch, tmp_path) -> None:
    from rerank_eval.rerankers.spec import RerankerSpecError

    clean_env(monkeypatch, tmp_path)
    for bad in ({"max_response_bytes": "0"}, {"deadline": "-1"}):
        with pytest.raises(RerankerSpecError):
            create_reranker("cohere:rerank-v3.5",
                            {"base_url": "http://127.0.0.1:9", "api_key": "k", **bad})
