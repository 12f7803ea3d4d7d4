"""The disk cache of responses: hits, misses, bypass, atomic files, resume, in-flight dedup."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from support.providers import make, prepare, runtime_for

from rerank_eval.rerankers.remote.cache import ResponseCache, cache_root, request_key
from rerank_eval.rerankers.remote.http.errors import ServerError
from rerank_eval.testing.fakes import Fault
from rerank_eval.types import Document, RerankRequest

DOCS = [f"document {i} about cats and mats" if i % 3 else f"doc {i} on dogs"
        for i in range(150)]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def req(**kw) -> RerankRequest:
    return RerankRequest(query=kw.pop("query", "cats on mats"), documents=kw.pop("docs", DOCS),
                         **kw)


def cache_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())


async def test_repeat_is_served_from_cache_with_original_usage(server, tmp_path) -> None:
    r = make(server, "cohere:rerank-v3.5")
    first = await r.rerank(req())
    second = await r.rerank(req())
    await r.aclose()
    assert len(server.state("cohere").requests) == 1
    assert first.usage.requests == 1 and first.usage.cache_hits == 0
    assert second.usage.requests == 0 and second.usage.cache_hits == 1
    assert second.results == first.results
    # what the result cost, and how long the provider took, are kept
    assert second.usage.search_units == first.usage.search_units == 2.0
    assert second.usage.cost_usd == first.usage.cost_usd == pytest.approx(0.004)
    assert second.latency_s == first.latency_s
    assert second.usage.retries == 0


async def test_rerun_with_a_new_reranker_sends_nothing(server, tmp_path) -> None:
    """An interrupted run repeated: the second process makes no duplicate request."""
    requests = [req(query=f"cats {i}") for i in range(5)]
    r1 = make(server, "cohere:rerank-v3.5")
    for request in requests[:3]:  # "interrupted" after 3 queries
        await r1.rerank(request)
    await r1.aclose()
    r2 = make(server, "cohere:rerank-v3.5")
    responses = [await r2.rerank(request) for request in requests]
    await r2.aclose()
    assert len(server.state("cohere").requests) == 5
    assert [resp.usage.cache_hits for resp in responses] == [1, 1, 1, 0, 0]


@pytest.mark.parametrize("change,options", [
    ({"query": "dogs"}, {}), ({"top_n": 3}, {}), ({"docs": DOCS[:-1]}, {}),
    ({}, {"max_tokens_per_doc": "100"}), ({}, {"extra_body": {"priority": 5}}),
    ({"docs": [Document(d, fields={"title": "t"}) for d in DOCS]}, {}),
])
async def test_anything_that_changes_the_request_misses(server, change, options) -> None:
    r = make(server, "cohere:rerank-v3.5")
    await r.rerank(req())
    await r.aclose()
    other = make(server, "cohere:rerank-v3.5", **options)
    response = await other.rerank(req(**change))
    await other.aclose()
    assert response.usage.cache_hits == 0
    assert len(server.state("cohere").requests) == 2


async def test_model_and_url_are_in_the_key(server) -> None:
    a = make(server, "cohere:rerank-v3.5")
    b = make(server, "cohere:rerank-english-v3.0")
    c = make(server, "cohere:rerank-v3.5", api_version="1")
    for r in (a, b, c):
        assert (await r.rerank(req())).usage.cache_hits == 0
        await r.aclose()


async def test_api_key_is_not_in_the_key(server) -> None:
    """Same request with another key is a hit: the key cannot be part of the hash."""
    await (r := make(server, "cohere:rerank-v3.5")).rerank(req())
    await r.aclose()
    other = make(server, "cohere:rerank-v3.5", key="sk-another-key-999")
    response = await other.rerank(req())
    await other.aclose()
    assert response.usage.cache_hits == 1


@pytest.mark.parametrize("how", ["option", "runtime", "env"])
async def test_cache_can_be_bypassed(server, monkeypatch, tmp_path, how) -> None:
    if how == "env":
        monkeypatch.setenv("RERANK_EVAL_NO_CACHE", "1")
        r = make(server, "cohere:rerank-v3.5")
    elif how == "runtime":  # --no-cache
        r = make(server, "cohere:rerank-v3.5",
                 runtime=runtime_for(server, response_cache=False))
    else:
        r = make(server, "cohere:rerank-v3.5", cache="false")
    await r.rerank(req())
    second = await r.rerank(req())
    await r.aclose()
    assert second.usage.cache_hits == 0
    assert len(server.state("cohere").requests) == 2
    assert cache_files(tmp_path) == []


async def test_cache_files_are_complete_json_and_no_temp_left(server, tmp_path) -> None:
    r = make(server, "cohere:rerank-v3.5")
    await r.rerank(req())
    await r.aclose()
    files = cache_files(tmp_path)
    assert len(files) == 1
    path = files[0]
    assert path.is_relative_to(tmp_path / "cache" / "responses" / "cohere")
    assert not path.name.startswith(".tmp-")
    record = json.loads(path.read_text())
    assert record["usage"]["search_units"] == 2.0
    assert len(record["results"]) == len(DOCS)


async def test_failed_call_is_not_cached(server, tmp_path) -> None:
    server.state("cohere").fail(*[Fault(status=500)] * 2)
    r = make(server, "cohere:rerank-v3.5", max_retries="1")
    with pytest.raises(ServerError):
        await r.rerank(req())
    response = await r.rerank(req())
    await r.aclose()
    assert response.usage.cache_hits == 0 and response.usage.requests == 1


async def test_corrupt_entry_is_a_miss_and_is_rewritten(server, tmp_path) -> None:
    r = make(server, "cohere:rerank-v3.5")
    await r.rerank(req())
    path = cache_files(tmp_path)[0]
    path.write_text('{"v": 1, "key": "trunc')
    response = await r.rerank(req())
    await r.aclose()
    assert response.usage.cache_hits == 0
    assert json.loads(path.read_text())["results"]


async def test_identical_concurrent_calls_send_one_request(server) -> None:
    server.state("cohere").delay_s = 0.1
    r = make(server, "cohere:rerank-v3.5")
    responses = await asyncio.gather(*(r.rerank(req()) for _ in range(4)))
    await r.aclose()
    assert len(server.state("cohere").requests) == 1
    assert sorted(resp.usage.cache_hits for resp in responses) == [0, 1, 1, 1]
    assert sum(resp.usage.requests for resp in responses) == 1


def test_default_location(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("RERANK_EVAL_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "rerank-eval" / "responses"
    monkeypatch.setenv("RERANK_EVAL_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" / "responses"


def test_key_is_stable_and_order_sensitive() -> None:
    a = request_key("p", "http://x/v1/rerank", [{"query": "q", "documents": ["a", "b"]}])
    b = request_key("p", "http://x/v1/rerank", [{"documents": ["a", "b"], "query": "q"}])
    c = request_key("p", "http://x/v1/rerank", [{"query": "q", "documents": ["b", "a"]}])
    assert a == b != c
    assert len(a) == 64


def test_put_is_atomic_under_failure(tmp_path) -> None:
    cache = ResponseCache(tmp_path)
    with pytest.raises(ValueError):
        cache.put("p", "ab" * 32, {"results": [[0, float("nan")]]})
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert cache.get("p", "ab" * 32) is None
