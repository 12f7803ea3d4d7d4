"""TEI adapter against the fake text-embeddings-inference server."""

from __future__ import annotations

import math

import pytest
from support.providers import make, prepare

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.remote.http.errors import (
    AuthenticationError,
    BadRequestError,
    RateLimitError,
)
from rerank_eval.testing.fakes import FAKE_KEY, Fault, expected_ranking
from rerank_eval.types import RerankRequest

QUERY = "what is deep learning"
DOCS = ["Deep Learning is not a cheese.", "Deep learning is a kind of machine learning.",
        "Cheese is made of milk.", "What is learning?"]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def tei(server, key=None, **options):
    return make(server, f"tei:{server.url('tei')}", key=key, **options)


async def run(r, request):
    try:
        return await r.rerank(request)
    finally:
        await r.aclose()


def sigmoid_ranking(query, docs, top_n=None):
    return [(i, 1 / (1 + math.exp(-(8 * s - 4)))) for i, s in
            expected_ranking(query, docs, top_n)]


async def test_wire_format_ranking_and_header_usage(server) -> None:
    r = tei(server)
    assert r.name == f"tei:{server.url('tei')}"
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS))
    (rec,) = server.state("tei").requests
    assert rec.body == {"query": QUERY, "texts": DOCS}
    assert "authorization" not in rec.headers
    expected = sigmoid_ranking(QUERY, DOCS)
    assert [x.index for x in response.results] == [i for i, _ in expected]
    assert [x.relevance_score for x in response.results] == pytest.approx(
        [s for _, s in expected])
    assert response.usage.tokens > 0  # from x-compute-tokens
    assert response.usage.cost_usd is None


async def test_top_n_is_applied_locally(server) -> None:
    response = await run(tei(server), RerankRequest(query=QUERY, documents=DOCS, top_n=2))
    assert "top_n" not in server.state("tei").bodies[0]
    assert [x.index for x in response.results] == [i for i, _ in
                                                   expected_ranking(QUERY, DOCS, 2)]


async def test_splits_at_32_texts(server) -> None:
    docs = [f"deep learning note {i} " + "learning " * (i % 5) for i in range(70)]
    response = await run(tei(server), RerankRequest(query=QUERY, documents=docs, top_n=5))
    # the parts are sent concurrently: compare sizes, not arrival order
    assert sorted((len(b["texts"]) for b in server.state("tei").bodies),
                  reverse=True) == [24, 23, 23]
    assert response.usage.split_requests == 2
    assert [x.relevance_score for x in response.results] == \
        pytest.approx([s for _, s in sigmoid_ranking(QUERY, docs, 5)])


async def test_batch_too_big_is_a_validation_error(server) -> None:
    docs = [f"d {i}" for i in range(40)]
    with pytest.raises(BadRequestError, match="maximum allowed batch size 32") as info:
        await run(tei(server, max_documents_per_request="40"),
                  RerankRequest(query=QUERY, documents=docs))
    assert info.value.status == 422


async def test_truncate_and_raw_scores(server) -> None:
    long_doc = "deep learning " * 100
    with pytest.raises(BadRequestError, match="must have less than"):
        await run(tei(server, truncate="false"), RerankRequest(query=QUERY, documents=[long_doc]))
    response = await run(tei(server, raw_scores="true", truncation_direction="left",
                             truncate="true"),
                         RerankRequest(query=QUERY, documents=DOCS))
    body = server.state("tei").bodies[1]
    assert body["truncate"] is True and body["raw_scores"] is True
    assert body["truncation_direction"] == "left"
    assert response.results[0].relevance_score == pytest.approx(
        8 * expected_ranking(QUERY, DOCS)[0][1] - 4)


async def test_overloaded_and_auth(server) -> None:
    server.state("tei").fail(*[Fault(status=429)] * 2)
    with pytest.raises(RateLimitError, match="Model is overloaded"):
        await run(tei(server, max_retries="1"), RerankRequest(query=QUERY, documents=DOCS))
    server.state("tei").api_key = FAKE_KEY
    with pytest.raises(AuthenticationError, match="empty body"):
        await run(tei(server), RerankRequest(query=QUERY, documents=DOCS))
    response = await run(tei(server, key=FAKE_KEY), RerankRequest(query=QUERY, documents=DOCS))
    assert len(response.results) == 4


def test_bad_options_are_refused(server) -> None:
    with pytest.raises(RerankerSpecError, match="truncate='start' is not a valid bool"):
        tei(server, truncate="start")
    with pytest.raises(RerankerSpecError, match="truncation_direction"):
        tei(server, truncation_direction="middle")


def test_url_from_env(server, monkeypatch) -> None:
    monkeypatch.setenv("TEI_BASE_URL", "http://gpu-box:8080")
    r = create_reranker("tei")
    assert r.url == "http://gpu-box:8080/rerank" and r.name == "tei"
