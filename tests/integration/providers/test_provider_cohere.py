"""Cohere adapter against the fake Cohere API: wire format, ranking, usage, cost, options."""

from __future__ import annotations

import math

import pytest
import yaml
from support.providers import make, prepare, runtime_for

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.remote.http.errors import BadRequestError, MissingAPIKeyError
from rerank_eval.testing.fakes import FAKE_KEY, expected_ranking
from rerank_eval.types import Document, RerankRequest

QUERY = "what is the capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada.",
    "The Commonwealth of the Northern Mariana Islands capital is Saipan.",
    "Charlotte Amalie is the capital of the United States Virgin Islands.",
    "Washington, D.C. is the capital of the United States.",
    "Capital punishment has existed in the United States since before it was a country.",
]


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def pairs(response):
    return [(r.index, r.relevance_score) for r in response.results]


async def test_v2_wire_format_ranking_usage_and_cost(server) -> None:
    r = make(server, "cohere:rerank-v3.5")
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS))
    await r.aclose()
    assert r.name == "cohere:rerank-v3.5"
    assert pairs(response) == expected_ranking(QUERY, DOCS)
    assert response.results[0].index == 3
    assert response.score_kind == "provider"
    (recorded,) = server.state("cohere").requests
    assert recorded.path == "/v2/rerank"
    assert recorded.body == {"model": "rerank-v3.5", "query": QUERY, "documents": DOCS}
    assert recorded.headers["authorization"] == f"Bearer {FAKE_KEY}"
    usage = response.usage
    assert (usage.requests, usage.search_units, usage.tokens) == (1, 1.0, None)
    assert usage.cost_usd == pytest.approx(2.00 / 1000)  # pricing.toml: $2 / 1K searches


async def test_top_n_and_max_tokens(server) -> None:
    r = make(server, "cohere:rerank-v3.5", max_tokens_per_doc="3")
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS, top_n=2))
    await r.aclose()
    body = server.state("cohere").bodies[0]
    assert body["top_n"] == 2 and body["max_tokens_per_doc"] == 3
    truncated = [" ".join(d.lower().replace(",", "").replace(".", "").split()[:3])
                 for d in DOCS]
    assert pairs(response) == expected_ranking(QUERY, truncated, top_n=2)


async def test_search_units_are_reported_not_estimated(server) -> None:
    docs = [f"passage {i} about the capital" for i in range(250)]
    r = make(server, "cohere:rerank-v3.5")
    response = await r.rerank(RerankRequest(query="capital", documents=docs))
    await r.aclose()
    assert response.usage.search_units == 3.0  # fake: ceil(250 / 100)
    assert response.usage.cost_usd == pytest.approx(3 * 0.002)


async def test_structured_documents_become_yaml_strings(server) -> None:
    docs = [Document(text=t, id=f"d{i}", fields={"title": f"Title {i}"})
            for i, t in enumerate(DOCS)]
    r = make(server, "cohere:rerank-v3.5")
    response = await r.rerank(RerankRequest(query=QUERY, documents=docs))
    await r.aclose()
    sent = server.state("cohere").bodies[0]["documents"]
    assert all(isinstance(d, str) for d in sent)
    assert yaml.safe_load(sent[3]) == {"title": "Title 3", "text": DOCS[3]}
    assert pairs(response) == expected_ranking(QUERY, sent)


async def test_v1_with_rank_fields_sends_objects(server) -> None:
    docs = [Document(text=t, fields={"title": f"capital {i}" if i == 1 else "other"})
            for i, t in enumerate(DOCS)]
    r = make(server, "cohere:rerank-english-v3.0", api_version="1", rank_fields="title",
             return_documents="true")
    response = await r.rerank(RerankRequest(query="capital", documents=docs))
    await r.aclose()
    (recorded,) = server.state("cohere").requests
    assert recorded.path == "/v1/rerank"
    assert recorded.body["rank_fields"] == ["title"]
    assert recorded.body["return_documents"] is True
    assert recorded.body["documents"][1] == {"text": DOCS[1], "title": "capital 1"}
    assert response.results[0].index == 1  # ranked on the title field


async def test_split_requests_merge_to_the_global_ranking(server) -> None:
    docs = [f"doc {i} " + ("capital " * (i % 7)) + "united states" * (i % 3)
            for i in range(120)]
    r = make(server, "cohere:rerank-v3.5", max_documents_per_request="50")
    response = await r.rerank(RerankRequest(query=QUERY, documents=docs))
    top = await r.rerank(RerankRequest(query=QUERY, documents=docs, top_n=5))
    await r.aclose()
    bodies = server.state("cohere").bodies
    assert [len(b["documents"]) for b in bodies[:3]] == [40, 40, 40]
    assert [b.get("top_n") for b in bodies[3:]] == [5, 5, 5]
    expected = expected_ranking(QUERY, docs)
    assert sorted(pairs(response), key=lambda p: (-p[1], p[0])) == expected
    assert [s for _, s in pairs(response)] == [s for _, s in expected]
    assert [s for _, s in pairs(top)] == [s for _, s in expected[:5]]
    assert response.usage.split_requests == 2 and response.usage.requests == 3
    assert response.usage.search_units == 3.0


async def test_default_split_keeps_the_provider_maximum(server) -> None:
    server.state("cohere").max_documents = 1000
    docs = [f"capital number {i}" for i in range(1500)]
    r = make(server, "cohere:rerank-v3.5")
    response = await r.rerank(RerankRequest(query="capital 7", documents=docs))
    await r.aclose()
    assert [len(b["documents"]) for b in server.state("cohere").bodies] == [750, 750]
    assert len(response.results) == 1500
    assert len({x.index for x in response.results}) == 1500


async def test_v1_chunk_limit_is_a_bad_request_and_splitting_avoids_it(server) -> None:
    docs = [f"d{i}" for i in range(1000)]
    r = make(server, "cohere:rerank-english-v3.0", api_version="1",
             max_documents_per_request="1000")
    with pytest.raises(BadRequestError, match="must be less than 10000"):
        await r.rerank(RerankRequest(query="q", documents=docs))
    await r.aclose()
    r = make(server, "cohere:rerank-english-v3.0", api_version="1")  # 999 per request
    response = await r.rerank(RerankRequest(query="q", documents=docs))
    await r.aclose()
    assert response.usage.split_requests == 1 and len(response.results) == 1000
    r = make(server, "cohere:rerank-english-v3.0", api_version="1", max_chunks_per_doc="20",
             cache="false")
    await r.rerank(RerankRequest(query="q", documents=docs))
    await r.aclose()
    assert [len(b["documents"]) for b in server.state("cohere").bodies[-3:]] == [334, 333, 333]


async def test_env_vars_give_key_and_base_url(server, monkeypatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("COHERE_BASE_URL", server.url("cohere"))
    r = create_reranker("cohere:rerank-v3.5", runtime=runtime_for(server))
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS))
    await r.aclose()
    assert response.results[0].index == 3
    monkeypatch.delenv("COHERE_API_KEY")
    monkeypatch.setenv("CO_API_KEY", FAKE_KEY)  # the SDK's name works too
    create_reranker("cohere:rerank-v3.5")


def test_missing_key_is_clear(server) -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        create_reranker("cohere:rerank-v3.5")
    assert "COHERE_API_KEY" in str(info.value)


def test_options(server) -> None:
    r = make(server, "cohere:rerank-v3.5", concurrency="3")
    assert r.max_concurrency == 3
    assert make(server, "cohere:rerank-v3.5").max_concurrency == 8
    with pytest.raises(RerankerSpecError, match="unknown option"):
        make(server, "cohere:rerank-v3.5", colour="blue")
    with pytest.raises(RerankerSpecError, match="api_version"):
        make(server, "cohere:rerank-v3.5", api_version="3")
    with pytest.raises(RerankerSpecError, match="give a model"):
        make(server, "cohere")
    with pytest.raises(RerankerSpecError, match="http"):
        make(server, "cohere:rerank-v3.5", base_url="ftp://x")


def test_inline_options_in_the_spec(server) -> None:
    r = create_reranker(f"cohere:rerank-v3.5?api_key={FAKE_KEY}&concurrency=2&cache=false"
                        f"&base_url={server.url('cohere')}")
    assert r.max_concurrency == 2 and not r.cache.enabled


def test_truncate_false_is_refused(server) -> None:
    with pytest.raises(RerankerSpecError, match="truncate=false cannot be honoured"):
        make(server, "cohere:rerank-v3.5", truncate="false")
    make(server, "cohere:rerank-v3.5", truncate="true")  # what Cohere does anyway: accepted


def test_provider_knobs_are_checked_when_built(server) -> None:
    with pytest.raises(RerankerSpecError, match=r"max_tokens_per_document.*max_tokens_per_doc"):
        make(server, "cohere:rerank-v3.5", max_tokens_per_document="5")
    with pytest.raises(RerankerSpecError, match="does not support metadata"):
        make(server, "cohere:rerank-v3.5", metadata='{"a": 1}')
    with pytest.raises(RerankerSpecError, match="return_documents is v1 only"):
        make(server, "cohere:rerank-v3.5", return_documents="true")
    with pytest.raises(RerankerSpecError, match="rank_fields"):
        make(server, "cohere:rerank-v3.5", rank_fields=",")
    r = make(server, "cohere:rerank-v3.5", api_version="1", rank_fields=["title", "text"])
    assert r.dialect.rank_fields == ("title", "text")  # a list in a suite


async def test_rank_fields_none_present_names_the_reranker(server) -> None:
    r = make(server, "cohere:rerank-v3.5", rank_fields="colour")
    docs = [Document(text=t, fields={"title": "x"}) for t in DOCS]
    with pytest.raises(ValueError, match=r"^cohere:rerank-v3.5: none of rank_fields"):
        await r.rerank(RerankRequest(query=QUERY, documents=docs))
    await r.aclose()
    assert server.state("cohere").requests == []


async def test_price_override_and_unknown_price(server) -> None:
    r = make(server, "cohere:rerank-v4.0-pro")  # conflicting prices: not in the table
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS))
    assert response.usage.cost_usd is None and response.usage.search_units == 1.0
    await r.aclose()
    r = make(server, "cohere:rerank-v4.0-pro", price_usd_per_1k_search_units="2.5",
             cache="false")
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS))
    await r.aclose()
    assert math.isclose(response.usage.cost_usd, 0.0025)


async def test_empty_candidate_list_sends_nothing(server) -> None:
    r = make(server, "cohere:rerank-v3.5")
    response = await r.rerank(RerankRequest(query=QUERY, documents=[]))
    await r.aclose()
    assert response.results == [] and response.usage.requests == 0
    assert server.state("cohere").requests == []
