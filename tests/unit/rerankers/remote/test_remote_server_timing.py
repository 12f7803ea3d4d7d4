"""Server timing: TEI's x-*-time and W3C Server-Timing headers into ``server_ms``, summed
over a split call, absent on cache hits; read by every dialect, never fatal when malformed."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from support.providers import make, prepare, runtime_for

from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.cache import from_record, to_record
from rerank_eval.rerankers.remote.dialect import Answer
from rerank_eval.rerankers.remote.providers.cohere import CohereDialect
from rerank_eval.rerankers.remote.providers.compatible import GENERIC, CompatibleDialect
from rerank_eval.rerankers.remote.providers.jina import JinaDialect
from rerank_eval.rerankers.remote.providers.mixedbread import MixedbreadDialect
from rerank_eval.rerankers.remote.providers.tei import TeiDialect
from rerank_eval.rerankers.remote.providers.voyage import VoyageDialect
from rerank_eval.rerankers.remote.reranker import sum_server_ms
from rerank_eval.rerankers.spec import parse_spec
from rerank_eval.testing.fakes import Capacity, Fault
from rerank_eval.types import RankedResult, RerankRequest, RerankResponse, Usage

TEI_HEADERS = {"x-total-time": "57", "x-tokenization-time": "2", "x-queue-time": "5",
               "x-inference-time": "50", "x-compute-time": "57"}


# -- the readers ------------------------------------------------------------------------


def test_tei_headers_become_phases_in_ms() -> None:
    assert read.server_timing(TEI_HEADERS, tei=True) == {
        "total": 57.0, "tokenization": 2.0, "queue": 5.0, "inference": 50.0}
    # looked up whatever the case, as httpx.Headers would
    assert read.server_timing({"X-Inference-Time": "7"}, tei=True) == {"inference": 7.0}


def test_tei_headers_are_read_only_for_tei() -> None:
    assert read.server_timing(TEI_HEADERS) is None
    assert read.server_timing({}, tei=True) is None


def test_server_timing_header() -> None:
    assert read.parse_server_timing("inference;dur=12.3, queue;dur=4") == {
        "inference": 12.3, "queue": 4.0}
    # description (quoted, with separators inside), no dur, params in any order
    value = 'cache;desc="hit, warm; yes", db;desc="a";dur=53, app;dur="47.2";desc=x, miss'
    assert read.parse_server_timing(value) == {"db": 53.0, "app": 47.2}
    # the first dur of a metric and the first metric of a name win
    assert read.parse_server_timing("a;dur=1;dur=2, a;dur=3") == {"a": 1.0}
    assert read.parse_server_timing("") == {}
    assert read.server_timing({"Server-Timing": "total;dur=9"}) == {"total": 9.0}
    assert read.server_timing({"server-timing": "cdn-cache; desc=HIT"}) is None


@pytest.mark.parametrize("value", ["inference;dur=abc", "inference;dur=-1",
                                   "inference;dur=nan", "inference;dur=inf", "inference;dur",
                                   "inference;dur=", "bad name;dur=3", ";dur=3",
                                   'inference;dur="12', "inférence;dur=3"])
def test_malformed_server_timing_is_ignored_and_logged(value: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="rerank_eval.remote"):
        got = read.server_timing({"server-timing": f"ok;dur=1, {value}"})
    assert got == {"ok": 1.0}
    assert any("Server-Timing" in r.getMessage() for r in caplog.records)


def test_malformed_tei_time_is_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    headers = {**TEI_HEADERS, "x-queue-time": "soon", "x-inference-time": "-3"}
    with caplog.at_level(logging.DEBUG, logger="rerank_eval.remote"):
        assert read.server_timing(headers, tei=True) == {"total": 57.0, "tokenization": 2.0}
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "x-queue-time" in messages and "x-inference-time" in messages


def test_tei_headers_win_over_server_timing_of_the_same_name() -> None:
    headers = {"x-inference-time": "50", "server-timing": "inference;dur=99, proxy;dur=1"}
    assert read.server_timing(headers, tei=True) == {"inference": 50.0, "proxy": 1.0}
    assert read.server_timing(headers) == {"inference": 99.0, "proxy": 1.0}


# -- every dialect ----------------------------------------------------------------------

COHERE_SHAPED = {"results": [{"index": 0, "relevance_score": 0.5}]}
DIALECTS = [
    (CohereDialect(model="m"), COHERE_SHAPED),
    (JinaDialect(model="m"), COHERE_SHAPED),
    (VoyageDialect(model="m"), {"data": [{"index": 0, "relevance_score": 0.5}]}),
    (MixedbreadDialect(model="m"), {"data": [{"index": 0, "score": 0.5}]}),
    (CompatibleDialect.from_spec(parse_spec("compatible:m"), GENERIC), COHERE_SHAPED),
    (TeiDialect(), [{"index": 0, "score": 0.5}]),
]


@pytest.mark.parametrize(("dialect", "data"), DIALECTS,
                         ids=[type(d).__name__ for d, _ in DIALECTS])
def test_every_dialect_reads_server_timing(dialect, data) -> None:
    timed = dialect.parse(Answer(data, {"server-timing": "inference;dur=8.5"}))
    assert timed.server_ms == {"inference": 8.5}
    assert dialect.parse(Answer(data, {})).server_ms is None
    # a malformed timing never fails the answer
    assert dialect.parse(Answer(data, {"server-timing": "inference;dur=x",
                                       "x-inference-time": "x"})).server_ms is None


def test_only_tei_reads_the_x_time_headers() -> None:
    assert TeiDialect().parse(Answer([], TEI_HEADERS)).server_ms == {
        "total": 57.0, "tokenization": 2.0, "queue": 5.0, "inference": 50.0}
    assert CohereDialect(model="m").parse(Answer(COHERE_SHAPED, TEI_HEADERS)).server_ms is None


# -- the reranker -----------------------------------------------------------------------


def test_sum_server_ms_adds_each_phase_over_the_parts() -> None:
    assert sum_server_ms([{"inference": 10.0, "queue": 1.0}, None,
                          {"inference": 5.0, "total": 20.0}]) == {
        "inference": 15.0, "queue": 1.0, "total": 20.0}
    assert sum_server_ms([None, None]) is None
    assert sum_server_ms([{}]) is None


def test_the_cache_record_keeps_no_timing() -> None:
    response = RerankResponse(results=[RankedResult(0, 0.9), RankedResult(1, 0.1)],
                              usage=Usage(requests=1), latency_s=0.2, score_kind="provider",
                              server_ms={"inference": 50.0})
    record = to_record("tei", response)
    assert "server_ms" not in record
    hit = from_record(record, 2, None)
    assert hit.server_ms is None
    assert [r.index for r in hit.results] == [0, 1] and hit.latency_s == 0.2


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


DOCS = [f"deep learning note {i}" for i in range(30)]


async def test_tei_fake_end_to_end_in_process(server) -> None:
    """Two calls at once on one worker: the second waits for the first, and TEI's headers
    say so on the server's (virtual) clock."""
    server.state("tei").capacity = Capacity(workers=1, service_s=0.04, per_document_s=0.001)
    r = make(server, f"tei:{server.url('tei')}", key=None, cache="false")
    try:
        first, second = await asyncio.gather(
            r.rerank(RerankRequest(query="deep learning", documents=DOCS[:10])),
            r.rerank(RerankRequest(query="deep learning", documents=DOCS[10:20])))
    finally:
        await r.aclose()
    timings = sorted([first.server_ms, second.server_ms], key=lambda t: t["total"])
    assert timings == [
        {"total": 50.0, "tokenization": 0.0, "queue": 0.0, "inference": 50.0},
        {"total": 100.0, "tokenization": 0.0, "queue": 50.0, "inference": 50.0}]
    assert sorted([first.latency_s, second.latency_s]) == pytest.approx([0.05, 0.1])


async def test_split_call_sums_the_parts_timing(server) -> None:
    """30 documents in 3 requests of 10 on one worker (20 ms each): queues of 0, 20 and
    40 ms, whatever order they arrive in."""
    server.state("tei").capacity = Capacity(workers=1, service_s=0.01, per_document_s=0.001)
    r = make(server, f"tei:{server.url('tei')}", key=None, max_documents_per_request="10")
    try:
        response = await r.rerank(RerankRequest(query="deep learning", documents=DOCS))
        again = await r.rerank(RerankRequest(query="deep learning", documents=DOCS))
    finally:
        await r.aclose()
    assert response.usage.split_requests == 2
    assert response.server_ms == {"total": 120.0, "tokenization": 0.0, "queue": 60.0,
                                  "inference": 60.0}
    assert again.usage.cache_hits == 1 and again.server_ms is None  # not measured now


async def test_identical_calls_in_flight_share_one_answer_without_timing(server) -> None:
    server.state("tei").capacity = Capacity(workers=1, service_s=0.05)
    r = make(server, f"tei:{server.url('tei')}", key=None, cache="false")
    request = RerankRequest(query="deep learning", documents=DOCS[:5])
    try:
        a, b = await asyncio.gather(r.rerank(request), r.rerank(request))
    finally:
        await r.aclose()
    assert len(server.state("tei").requests) == 1
    assert sorted([a.server_ms is None, b.server_ms is None]) == [False, True]


async def test_without_sharing_identical_calls_in_flight_each_send(server) -> None:
    server.state("tei").capacity = Capacity(workers=1, service_s=0.05)
    r = make(server, f"tei:{server.url('tei')}", key=None, cache="false",
             runtime=runtime_for(server, share_in_flight=False))
    request = RerankRequest(query="deep learning", documents=DOCS[:5])
    try:
        a, b = await asyncio.gather(r.rerank(request), r.rerank(request))
    finally:
        await r.aclose()
    assert len(server.state("tei").requests) == 2
    assert a.server_ms is not None and b.server_ms is not None
    assert b.server_ms["queue"] == pytest.approx(50.0, abs=1.0)  # it waited for the worker


SPECS = [("cohere:rerank-v3.5", "cohere", {}), ("jina:m", "jina", {}),
         ("voyage:rerank-2.5", "voyage", {}), ("mixedbread:m", "mixedbread", {}),
         ("compatible:m", "compatible", {}), ("mixroute:rerank-v3", "mixroute", {}),
         ("onerouter:m", "onerouter", {}), ("vllm", "vllm", {"key": None}),
         ("infinity", "infinity", {"key": None}), ("tei", "tei", {"key": None})]


@pytest.mark.parametrize(("spec", "fake", "extra"), SPECS, ids=[s[1] for s in SPECS])
async def test_every_provider_passes_server_timing_on(server, spec, fake, extra) -> None:
    server.state(fake).fail(Fault(headers={"Server-Timing": 'app;desc="x, y";dur=12.5'}))
    r = make(server, spec, fake, cache="false", **extra)
    try:
        response = await r.rerank(RerankRequest(query="deep learning", documents=DOCS[:3]))
    finally:
        await r.aclose()
    assert response.server_ms is not None and response.server_ms["app"] == 12.5


async def test_a_malformed_timing_header_does_not_fail_the_call(server) -> None:
    server.state("cohere").fail(Fault(headers={"Server-Timing": "app;dur=soon"}))
    r = make(server, "cohere:rerank-v3.5", cache="false")
    try:
        response = await r.rerank(RerankRequest(query="deep learning", documents=DOCS[:3]))
    finally:
        await r.aclose()
    assert len(response.results) == 3 and response.server_ms is None


def test_headers_from_httpx_are_read_case_insensitively() -> None:
    headers = httpx.Headers([("Server-Timing", "a;dur=1"), ("server-timing", "b;dur=2"),
                             ("X-Queue-Time", "3")])
    assert read.server_timing(headers, tei=True) == {"a": 1.0, "b": 2.0, "queue": 3.0}
