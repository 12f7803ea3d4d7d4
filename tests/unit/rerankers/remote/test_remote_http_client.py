"""The shared HTTP layer against the in-process fake, on a virtual clock: retries, exact
waits, the 429 pause, pacing, typed errors, response validation and the concurrency cap.
Uses the Cohere dialect as the vehicle. (Timeouts and connection failures need a real
socket: tests/integration/providers/test_provider_sockets.py.)"""

from __future__ import annotations

import asyncio

import pytest
from support.providers import make, prepare

from rerank_eval.rerankers.remote.http.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from rerank_eval.testing.fakes import Fault, expected_ranking
from rerank_eval.types import RerankRequest

DOCS = ["the cat sat on the mat", "dogs chase cats", "a mat for the cat", "stock prices"]
QUERY = "cat on a mat"


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def req(query: str = QUERY, docs=DOCS, **kw) -> RerankRequest:
    return RerankRequest(query=query, documents=docs, **kw)


def cohere(server, **options):
    return make(server, "cohere:rerank-v3.5", cache="false", **options)


def ranking_of(response):
    return [(r.index, r.relevance_score) for r in response.results]


async def test_429_with_retry_after_is_honoured_and_counted(server) -> None:
    server.state("cohere").fail(Fault(status=429, headers={"Retry-After": "0.3"}))
    r = cohere(server)
    response = await r.rerank(req())
    await r.aclose()
    assert ranking_of(response) == expected_ranking(QUERY, DOCS)
    assert response.usage.requests == 2
    assert response.usage.retries == 1
    assert response.usage.retry_wait_s == pytest.approx(0.3)
    assert server.clock.sleeps == [0.3]  # exactly what the server asked for
    assert response.latency_s == pytest.approx(0.3)
    arrivals = [rec.at for rec in server.state("cohere").requests]
    assert arrivals == pytest.approx([0.0, 0.3])


async def test_retry_after_ms_is_preferred(server) -> None:
    server.state("cohere").fail(Fault(status=429, headers={"retry-after-ms": "120",
                                                           "Retry-After": "30"}))
    r = cohere(server)
    response = await r.rerank(req())
    await r.aclose()
    assert response.usage.retry_wait_s == pytest.approx(0.12)
    assert server.clock.sleeps == [pytest.approx(0.12)]


async def test_429_without_retry_after_backs_off_exponentially(server) -> None:
    server.state("cohere").fail(Fault(status=429), Fault(status=429))
    r = cohere(server, retry_base_delay="0.05", retry_max_delay="1")
    response = await r.rerank(req())
    await r.aclose()
    assert response.usage.retries == 2
    first, second = server.clock.sleeps  # 0.05 then 0.10, each ±20% jitter
    assert 0.04 <= first <= 0.06 and 0.08 <= second <= 0.12
    assert response.usage.retry_wait_s == pytest.approx(first + second)


async def test_backoff_is_capped(server) -> None:
    server.state("cohere").fail(*[Fault(status=503)] * 4)
    r = cohere(server, retry_base_delay="1", retry_max_delay="2.5", max_retry_wait="100")
    response = await r.rerank(req())
    await r.aclose()
    assert response.usage.retries == 4
    waits = server.clock.sleeps
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4
    assert all(2.0 <= w <= 3.0 for w in waits[2:])  # min(base * 2**n, 2.5) ±20%


async def test_500_then_success(server) -> None:
    server.state("cohere").fail(Fault(status=500), Fault(status=503))
    r = cohere(server)
    response = await r.rerank(req())
    await r.aclose()
    assert ranking_of(response) == expected_ranking(QUERY, DOCS)
    assert (response.usage.requests, response.usage.retries) == (3, 2)


async def test_server_errors_exhaust_retries(server) -> None:
    server.state("cohere").fail(*[Fault(status=500, message="boom from cohere")] * 3)
    r = cohere(server, max_retries="2")
    with pytest.raises(ServerError) as info:
        await r.rerank(req())
    await r.aclose()
    err = info.value
    assert (err.provider, err.status, err.request_number, err.retries) == ("cohere", 500, 3, 2)
    assert "boom from cohere" in str(err) and "HTTP 500" in str(err)
    assert "request #3" in str(err)
    assert len(server.state("cohere").requests) == 3


async def test_rate_limit_exhausted_keeps_provider_message(server) -> None:
    server.state("cohere").fail(*[Fault(status=429)] * 2)
    r = cohere(server, max_retries="1")
    with pytest.raises(RateLimitError) as info:
        await r.rerank(req())
    await r.aclose()
    assert "past the per minute request limit" in str(info.value)
    assert info.value.status == 429


async def test_server_wait_beyond_budget_fails_fast(server) -> None:
    server.state("cohere").fail(Fault(status=429, headers={"Retry-After": "100"}))
    r = cohere(server, max_retry_wait="1")
    with pytest.raises(RateLimitError, match="retry budget") as info:
        await r.rerank(req())
    await r.aclose()
    assert server.clock.sleeps == []  # it did not wait at all
    assert server.clock.now == 0.0
    assert "100.00s" in str(info.value)


async def test_bad_request_is_not_retried_and_carries_cohere_message(server) -> None:
    r = cohere(server)
    with pytest.raises(BadRequestError) as info:
        await r.rerank(req(query="   "))
    await r.aclose()
    assert "query must not be empty or be only whitespace" in str(info.value)
    assert info.value.status == 400
    assert len(server.state("cohere").requests) == 1


async def test_wrong_key_is_an_authentication_error(server) -> None:
    r = make(server, "cohere:rerank-v3.5", key="sk-wrong-key-123", cache="false")
    with pytest.raises(AuthenticationError, match="invalid api token") as info:
        await r.rerank(req())
    await r.aclose()
    assert info.value.status == 401
    assert len(server.state("cohere").requests) == 1


async def test_malformed_json_is_a_malformed_response(server) -> None:
    server.state("cohere").fail(Fault(malformed=True))
    r = cohere(server)
    with pytest.raises(MalformedResponseError) as info:
        await r.rerank(req())
    await r.aclose()
    assert (info.value.provider, info.value.status, info.value.request_number) == \
        ("cohere", 200, 1)
    assert "not JSON" in str(info.value)


@pytest.mark.parametrize("mutation,words", [
    ("duplicate_index", "more than once"),
    ("out_of_range", "out of range"),
    ("drop_result", "expected 4 results"),
    ("nan_score", "not finite"),
    ("string_score", "not a number"),
    ("no_results", "not a list"),
])
async def test_wrong_rankings_are_refused(server, mutation: str, words: str) -> None:
    server.state("cohere").fail(Fault(mutate=mutation))
    r = cohere(server)
    with pytest.raises(MalformedResponseError, match=words) as info:
        await r.rerank(req())
    await r.aclose()
    text = str(info.value)
    assert "cohere" in text and "HTTP 200" in text and "request #1" in text


async def test_top_n_short_answer_is_refused(server) -> None:
    server.state("cohere").fail(Fault(mutate="drop_result"))
    r = cohere(server)
    with pytest.raises(MalformedResponseError, match=r"top_n=3"):
        await r.rerank(req(top_n=3))
    await r.aclose()


async def test_429_pauses_other_requests(server) -> None:
    state = server.state("cohere")
    state.fail(Fault(status=429, headers={"Retry-After": "0.4"}))
    r = cohere(server, concurrency="4")

    async def later():
        await server.clock.sleep(0.1)
        return await r.rerank(req(query="cats"))

    first, second = await asyncio.gather(r.rerank(req()), later())
    await r.aclose()
    assert first.usage.retries == 1
    assert second.usage.retries == 0  # it waited instead of hitting the 429
    assert second.usage.retry_wait_s == 0.0  # a pause is not a retry
    # nothing reached the server during the pause: the 429 at 0, then both at 0.4
    assert [rec.at for rec in state.requests] == pytest.approx([0.0, 0.4, 0.4])
    assert second.latency_s == pytest.approx(0.3)  # asked at 0.1, answered at 0.4


async def test_rate_limit_paces_requests(server) -> None:
    r = cohere(server, rpm="2", concurrency="4")
    await asyncio.gather(*(r.rerank(req(query=f"cat {i}")) for i in range(5)))
    await r.aclose()
    arrivals = sorted(rec.at for rec in server.state("cohere").requests)
    # 2 requests a rolling minute: 2 now, 2 after one window, 1 after two
    assert arrivals == pytest.approx([0.0, 0.0, 60.0, 60.0, 120.0])


async def test_concurrency_cap_holds(server) -> None:
    state = server.state("cohere")
    state.delay_s = 0.1
    r = cohere(server, concurrency="3")
    assert r.max_concurrency == 3
    await asyncio.gather(*(r.rerank(req(query=f"cat {i}")) for i in range(9)))
    await r.aclose()
    assert state.max_in_flight == 3
    arrivals = sorted(rec.at for rec in state.requests)
    assert arrivals == pytest.approx([0.0] * 3 + [0.1] * 3 + [0.2] * 3)


async def test_reranker_survives_a_new_event_loop(server) -> None:
    r = cohere(server)
    await r.rerank(req())

    def other_loop():
        return asyncio.run(r.rerank(req(query="dogs")))

    response = await asyncio.to_thread(other_loop)
    assert response.usage.requests == 1
    await r.aclose()


def test_all_errors_are_provider_errors() -> None:
    for cls in (AuthenticationError, BadRequestError, MalformedResponseError, RateLimitError,
                RequestTimeoutError, ServerError, TransportError):
        assert issubclass(cls, ProviderError)
