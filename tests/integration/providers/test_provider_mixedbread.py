"""Mixedbread adapter against the fake Mixedbread API."""

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
from rerank_eval.types import Document, RerankRequest

MODEL = "mixedbread-ai/mxbai-rerank-large-v2"
QUERY = "smartphone with oled display and 5g"
ITEMS = [
    {"name": "Smartphone A", "description": "6.5-inch OLED display, 128GB storage, 5G."},
    {"name": "Smartphone B", "description": "6.2-inch LCD display, 64GB storage, 4G."},
    {"name": "Smartphone C", "description": "5.8-inch LCD display, 32GB storage, 4G."},
    {"name": "Smartphone D", "description": "6.8-inch OLED display, 256GB storage, 5G."},
]
DOCS = [Document(text=i["description"], fields={"name": i["name"]}) for i in ITEMS]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


async def run(r, request):
    try:
        return await r.rerank(request)
    finally:
        await r.aclose()


async def test_wire_format_ranking_usage_and_cost(server) -> None:
    texts = [d.text for d in DOCS]
    response = await run(make(server, f"mixedbread:{MODEL}"),
                         RerankRequest(query=QUERY, documents=texts, top_n=3))
    (rec,) = server.state("mixedbread").requests
    assert rec.path == "/v1/reranking"
    assert rec.body == {"model": MODEL, "query": QUERY, "input": texts, "top_k": 3}
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, texts, 3)
    assert response.usage.tokens > 0
    assert response.usage.cost_usd == pytest.approx(response.usage.tokens * 0.15 / 1e6)


async def test_rank_fields_send_objects(server) -> None:
    response = await run(make(server, f"mixedbread:{MODEL}", rank_fields="name,text",
                              return_documents="true"),
                         RerankRequest(query=QUERY, documents=DOCS))
    body = server.state("mixedbread").bodies[0]
    assert body["rank_fields"] == ["name", "text"] and body["return_input"] is True
    assert body["input"][0] == {"text": ITEMS[0]["description"], "name": "Smartphone A"}
    joined = [f"{i['name']} {i['description']}" for i in ITEMS]
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, joined)


async def test_fields_without_rank_fields_go_as_yaml(server) -> None:
    await run(make(server, f"mixedbread:{MODEL}"), RerankRequest(query=QUERY, documents=DOCS))
    sent = server.state("mixedbread").bodies[0]["input"]
    assert yaml.safe_load(sent[0]) == {"name": "Smartphone A", "text": ITEMS[0]["description"]}


async def test_typed_errors(server) -> None:
    server.state("mixedbread").fail(
        *[Fault(status=429, headers={"Retry-After": "0.05"})] * 2)
    with pytest.raises(RateLimitError, match="Rate limit exceeded") as info:
        await run(make(server, f"mixedbread:{MODEL}", max_retries="1"),
                  RerankRequest(query=QUERY, documents=DOCS))
    assert info.value.retry_wait_s == pytest.approx(0.05)
    with pytest.raises(BadRequestError, match="at most 32000") as info:
        await run(make(server, f"mixedbread:{MODEL}"),
                  RerankRequest(query="q" * 32_001, documents=DOCS))
    assert info.value.status == 422


async def test_rewrite_query_option(server) -> None:
    await run(make(server, f"mixedbread:{MODEL}", rewrite_query="true"),
              RerankRequest(query=QUERY, documents=DOCS))
    assert server.state("mixedbread").bodies[0]["rewrite_query"] is True


def test_truncate_false_and_max_tokens_are_refused(server) -> None:
    with pytest.raises(RerankerSpecError, match="truncate=false cannot be honoured"):
        make(server, f"mixedbread:{MODEL}", truncate="false")
    with pytest.raises(RerankerSpecError, match="does not support max_tokens_per_document"):
        make(server, f"mixedbread:{MODEL}", max_tokens_per_document="5")


def test_env(server, monkeypatch) -> None:
    with pytest.raises(MissingAPIKeyError, match="MXBAI_API_KEY"):
        create_reranker(f"mixedbread:{MODEL}")
    monkeypatch.setenv("MXBAI_API_KEY", "mxb_123456")
    monkeypatch.setenv("MXBAI_BASE_URL", "https://api.mixedbread.ai")
    assert create_reranker(f"mixedbread:{MODEL}").url == "https://api.mixedbread.ai/v1/reranking"
