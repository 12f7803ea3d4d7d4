"""Voyage adapter against the fake Voyage API."""

from __future__ import annotations

import pytest
from support.providers import make, prepare

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.remote.http.errors import BadRequestError, MalformedResponseError
from rerank_eval.testing.fakes import Fault, expected_ranking
from rerank_eval.types import RerankRequest

QUERY = "when is apple's conference call scheduled"
DOCS = ["The Mediterranean diet emphasizes fish, olive oil, and vegetables.",
        "Apple's conference call to discuss fourth fiscal quarter results is scheduled "
        "for Thursday.",
        "Shakespeare's works are celebrated.",
        "The conference call is scheduled for 2pm PT."]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def voyage(server, model="rerank-2.5", **options):
    return make(server, f"voyage:{model}", base_url=server.url("voyage"), **options)


async def run(r, request):
    try:
        return await r.rerank(request)
    finally:
        await r.aclose()


async def test_wire_format_ranking_usage_and_cost(server) -> None:
    response = await run(voyage(server), RerankRequest(query=QUERY, documents=DOCS, top_n=2))
    body = server.state("voyage").bodies[0]
    assert body == {"query": QUERY, "documents": DOCS, "model": "rerank-2.5", "top_k": 2}
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, DOCS, 2)
    from rerank_eval.testing.fakes.scoring import count_tokens

    expected_tokens = count_tokens(QUERY) * 4 + sum(count_tokens(d) for d in DOCS)
    assert response.usage.tokens == expected_tokens
    assert response.usage.cost_usd == pytest.approx(expected_tokens * 0.05 / 1e6)


async def test_truncation_false_reaches_the_server(server) -> None:
    long_doc = "conference call " * 30
    with pytest.raises(BadRequestError, match="set truncation=true"):
        await run(voyage(server, "tiny-test", truncation="false"),
                  RerankRequest(query=QUERY, documents=[long_doc]))
    assert server.state("voyage").bodies[0]["truncation"] is False
    response = await run(voyage(server, "tiny-test", truncation="true"),
                         RerankRequest(query=QUERY, documents=[long_doc]))
    assert server.state("voyage").bodies[1]["truncation"] is True
    assert len(response.results) == 1


async def test_split_above_1000(server) -> None:
    docs = [f"apple conference {i}" for i in range(1001)]
    response = await run(voyage(server), RerankRequest(query=QUERY, documents=docs))
    # the parts are sent concurrently: compare sizes, not arrival order
    assert sorted((len(b["documents"]) for b in server.state("voyage").bodies),
                  reverse=True) == [501, 500]
    assert response.usage.split_requests == 1 and len(response.results) == 1001


async def test_wrong_indices_in_data(server) -> None:
    server.state("voyage").fail(Fault(mutate="duplicate_index"))
    with pytest.raises(MalformedResponseError, match=r"voyage.*more than once"):
        await run(voyage(server), RerankRequest(query=QUERY, documents=DOCS))


def test_truncate_is_called_truncation(server) -> None:
    with pytest.raises(RerankerSpecError, match=r"use truncation=true\|false"):
        voyage(server, truncate="false")
    with pytest.raises(RerankerSpecError, match="truncation='maybe' is not a valid bool"):
        voyage(server, truncation="maybe")


def test_mongodb_keys_pick_the_mongodb_host(server, monkeypatch) -> None:
    monkeypatch.setenv("VOYAGE_API_KEY", "al-123456")
    assert create_reranker("voyage:rerank-2.5").url == "https://ai.mongodb.com/v1/rerank"
    monkeypatch.setenv("VOYAGE_API_KEY", "pa-123456")
    assert create_reranker("voyage:rerank-2.5").url == "https://api.voyageai.com/v1/rerank"
