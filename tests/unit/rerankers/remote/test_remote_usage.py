"""Usage is what was sent and billed: retries, failed requests and rejected answers count
(in-process fake, virtual clock)."""

from __future__ import annotations

import pytest
from support.providers import make, prepare

from rerank_eval.rerankers.remote.http.errors import (
    BadRequestError,
    MalformedResponseError,
    ServerError,
)
from rerank_eval.testing.fakes import Fault
from rerank_eval.types import RerankRequest, Usage, attach_usage, take_usage

DOCS = ["the cat sat on the mat", "dogs chase cats", "a mat for the cat", "stock prices"]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def req() -> RerankRequest:
    return RerankRequest(query="cat on a mat", documents=DOCS)


def cohere(server, **options):
    return make(server, "cohere:rerank-v3.5", cache="false", **options)


async def test_a_success_after_a_500_counts_both_requests_and_one_failure(server) -> None:
    server.state("cohere").fail(Fault(status=500))
    r = cohere(server)
    response = await r.rerank(req())
    await r.aclose()
    u = response.usage
    assert (u.requests, u.requests_failed, u.requests_rejected, u.retries) == (2, 1, 0, 1)


async def test_a_query_that_fails_after_retries_carries_every_request_sent(server) -> None:
    server.state("cohere").fail(*[Fault(status=500)] * 3)
    r = cohere(server, max_retries="2")
    with pytest.raises(ServerError) as info:
        await r.rerank(req())
    await r.aclose()
    assert len(server.state("cohere").requests) == 3
    usage = take_usage(info.value)
    assert usage is not None
    assert (usage.requests, usage.requests_failed, usage.requests_rejected,
            usage.retries) == (3, 3, 0, 2)
    assert usage.tokens is None and usage.search_units is None
    assert take_usage(info.value) is None  # counted once, whoever reads it first


async def test_a_rejected_answer_is_billed_with_its_reported_units(server) -> None:
    r = cohere(server)
    good = await r.rerank(req())  # what the same request reports when answered right
    server.state("cohere").fail(Fault(mutate="out_of_range"))
    with pytest.raises(MalformedResponseError) as info:
        await r.rerank(req())
    await r.aclose()
    usage = take_usage(info.value)
    assert usage is not None
    assert (usage.requests, usage.requests_failed, usage.requests_rejected) == (1, 1, 1)
    assert usage.search_units == good.usage.search_units and usage.search_units
    assert usage.cost_usd == pytest.approx(good.usage.cost_usd)


async def test_a_split_call_that_fails_keeps_the_usage_of_its_answered_part(server) -> None:
    state = server.state("cohere")
    r = cohere(server, max_documents_per_request="2", concurrency="1", max_retries="0")
    state.fail(Fault(), Fault(status=400))  # first part answered, second refused
    with pytest.raises(BadRequestError) as info:
        await r.rerank(req())
    await r.aclose()
    usage = take_usage(info.value)
    assert usage is not None
    assert usage.requests == 2 and usage.requests_failed == 1
    assert usage.search_units  # the answered part's units are billed


def test_take_usage_reads_an_attached_usage_once() -> None:
    error = ValueError("x")
    assert take_usage(error) is None
    attach_usage(error, Usage(requests=2, requests_failed=2))
    assert take_usage(error) == Usage(requests=2, requests_failed=2)
    assert take_usage(error) is None


def test_usage_sums_the_new_counters() -> None:
    total = Usage(requests=2, requests_failed=1) + Usage(requests=1, requests_failed=1,
                                                         requests_rejected=1)
    assert (total.requests, total.requests_failed, total.requests_rejected) == (3, 2, 1)
