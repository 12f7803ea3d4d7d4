"""Jina adapter against the fake Jina API."""

from __future__ import annotations

import pytest
import yaml
from support.providers import make, prepare

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.remote.http.errors import (
    BadRequestError,
    MissingAPIKeyError,
    RateLimitError,
)
from rerank_eval.testing.fakes import Fault, expected_ranking
from rerank_eval.testing.fakes.scoring import count_tokens
from rerank_eval.types import Document, RerankRequest

QUERY = "organic skincare for sensitive skin"
DOCS = ["Organic skincare for sensitive skin with aloe vera and chamomile.",
        "New makeup trends focus on bold colors.",
        "Bio-Hautpflege für empfindliche Haut.",
        "Sensitive skin needs gentle organic care."]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


async def run(r, request):
    try:
        return await r.rerank(request)
    finally:
        await r.aclose()


async def test_wire_format_ranking_and_usage(server) -> None:
    r = make(server, "jina:jina-reranker-v2-base-multilingual")
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS, top_n=3))
    body = server.state("jina").bodies[0]
    assert body == {"model": "jina-reranker-v2-base-multilingual", "query": QUERY,
                    "documents": DOCS, "top_n": 3, "return_documents": False}
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, DOCS, 3)
    q = count_tokens(QUERY)
    assert response.usage.tokens == sum(q + count_tokens(d) for d in DOCS)
    assert response.usage.cost_usd is None  # Jina's price is unconfirmed: no entry


async def test_return_documents_always_explicit(server) -> None:
    await run(make(server, "jina:m", return_documents="true"),
              RerankRequest(query=QUERY, documents=DOCS))
    assert server.state("jina").bodies[0]["return_documents"] is True


def test_knobs_jina_lacks_are_refused(server) -> None:
    for knob, value in (("truncate", "true"), ("max_tokens_per_document", "5"),
                        ("metadata", "{}"), ("user", "u")):
        with pytest.raises(RerankerSpecError, match=f"jina does not support {knob}"):
            make(server, "jina:m", **{knob: value})


async def test_structured_documents_as_yaml(server) -> None:
    docs = [Document(t, fields={"lang": "en"}) for t in DOCS]
    response = await run(make(server, "jina:m"), RerankRequest(query=QUERY, documents=docs))
    sent = server.state("jina").bodies[0]["documents"]
    assert yaml.safe_load(sent[0]) == {"lang": "en", "text": DOCS[0]}
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, sent)


async def test_errors_use_detail(server) -> None:
    server.state("jina").fail(*[Fault(status=429, message="too many")] * 2)
    with pytest.raises(RateLimitError, match="too many"):
        await run(make(server, "jina:m", max_retries="1"),
                  RerankRequest(query=QUERY, documents=DOCS))
    with pytest.raises(BadRequestError, match="query must be a non-empty string"):
        await run(make(server, "jina:m"), RerankRequest(query="", documents=DOCS))


async def test_no_split_by_default_but_configurable(server) -> None:
    docs = [f"skin care {i}" for i in range(300)]
    await run(make(server, "jina:m"), RerankRequest(query=QUERY, documents=docs))
    await run(make(server, "jina:m", max_documents_per_request="100", cache="false"),
              RerankRequest(query=QUERY, documents=docs))
    # the parts are sent concurrently: compare sizes, not arrival order
    assert sorted((len(b["documents"]) for b in server.state("jina").bodies),
                  reverse=True) == [300, 100, 100, 100]


def test_env(server, monkeypatch) -> None:
    with pytest.raises(MissingAPIKeyError, match="JINA_API_KEY"):
        create_reranker("jina:m")
    monkeypatch.setenv("JINA_API_KEY", "jina_123456")
    assert create_reranker("jina:m").url == "https://api.jina.ai/v1/rerank"
