"""Cohere-shaped platforms: the generic platform's fields, and each preset against its fake."""

from __future__ import annotations

import pytest
import yaml
from support.providers import make, prepare

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.remote.http.errors import (
    AuthenticationError,
    BadRequestError,
    MissingAPIKeyError,
    RateLimitError,
)
from rerank_eval.testing.fakes import FAKE_KEY, Fault, expected_ranking
from rerank_eval.types import Document, RerankRequest

QUERY = "how do i deploy a model"
DOCS = [
    "Deployments let you run models behind an API endpoint. Deploy a model in minutes.",
    "Billing lets you add balance and view usage.",
    "A GPU runtime is used to run training jobs for a model.",
    "How do I reset my password?",
]
EXPECTED = expected_ranking(QUERY, DOCS)


def sr_base(server) -> str:
    return server.url("searchrouter") + "/api"  # like https://searchrouter.ai/api


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def pairs(response):
    return [(r.index, r.relevance_score) for r in response.results]


async def run(r, request):
    try:
        return await r.rerank(request)
    finally:
        await r.aclose()


# -- the generic platform ----------------------------------------------------------------


async def test_generic_platform_ranking_and_usage(server) -> None:
    r = make(server, "compatible:my-deployment")
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS, top_n=2))
    assert r.name == "compatible:my-deployment"
    assert pairs(response) == EXPECTED[:2]
    (rec,) = server.state("compatible").requests
    assert rec.path == "/v1/rerank"
    assert rec.body == {"model": "my-deployment", "query": QUERY, "documents": DOCS, "top_n": 2}
    n = sum(len(QUERY.split()) + len(d.replace(".", " ").replace("?", " ").split())
            for d in DOCS)
    assert response.usage.tokens == n
    assert response.usage.cost_usd is None  # no price for an arbitrary deployment


async def test_generic_platform_fields(server) -> None:
    r = make(server, "compatible:my-deployment", user="user-7",
             extra_body='{"backend_flag": true, "priority": 2}', truncate="end",
             max_tokens_per_document="5", metadata={"run": "nightly"})
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS))
    body = server.state("compatible").bodies[0]
    assert body["truncate"] == "end"
    assert body["max_tokens_per_document"] == 5
    assert body["metadata"] == {"run": "nightly"}
    assert body["user"] == "user-7"
    # the platform merges extra_body into the backend request itself
    assert body["extra_body"] == {"backend_flag": True, "priority": 2}
    from rerank_eval.testing.fakes.scoring import tokens

    cut = [" ".join(tokens(d)[:5]) for d in DOCS]
    assert pairs(response) == expected_ranking(QUERY, cut)


async def test_generic_platform_truncate_none_reaches_the_server(server) -> None:
    long_doc = "deploy " * 100
    r = make(server, "compatible:m", truncate="false")
    with pytest.raises(BadRequestError, match="truncate is none"):
        await run(r, RerankRequest(query=QUERY, documents=[long_doc]))
    assert server.state("compatible").bodies[0]["truncate"] == "none"


async def test_generic_platform_objects_with_ids_and_fields(server) -> None:
    docs = [Document(text=t, id=f"doc_{i}", fields={"title": f"T{i}"})
            for i, t in enumerate(DOCS)]
    response = await run(make(server, "compatible:m"),
                         RerankRequest(query=QUERY, documents=docs))
    sent = server.state("compatible").bodies[0]["documents"]
    assert sent[0] == {"text": DOCS[0], "title": "T0"}
    assert pairs(response) == EXPECTED


async def test_generic_platform_errors_use_its_envelope(server) -> None:
    server.state("compatible").fail(*[Fault(status=429, message="slow down please")] * 2)
    r = make(server, "compatible:m", max_retries="1")
    with pytest.raises(RateLimitError, match="slow down please"):
        await run(r, RerankRequest(query=QUERY, documents=DOCS))


def test_generic_needs_base_url_and_key(server, monkeypatch) -> None:
    with pytest.raises(MissingAPIKeyError, match="RERANK_API_KEY"):
        create_reranker("compatible:m")
    monkeypatch.setenv("RERANK_API_KEY", FAKE_KEY)
    with pytest.raises(RerankerSpecError, match="RERANK_BASE_URL"):
        create_reranker("compatible:m")
    monkeypatch.setenv("RERANK_BASE_URL", "https://gateway.example/v1")
    r = create_reranker("compatible:m")
    assert r.url == "https://gateway.example/v1/rerank"


@pytest.mark.parametrize("value", ["[1,2]", "not json"])
def test_extra_body_must_be_an_object(server, value) -> None:
    with pytest.raises(RerankerSpecError, match="extra_body"):
        make(server, "compatible:m", extra_body=value)


def test_suite_tables_are_accepted(server) -> None:
    r = make(server, "compatible:m", extra_body={"a": 1}, metadata={"b": 2})
    assert r.dialect.extra_body == {"a": 1} and r.dialect.metadata == {"b": 2}
    r = make(server, "compatible:m", rank_fields=["title"], return_documents=True,
             truncate=True, max_tokens_per_document=7)
    assert r.dialect.rank_fields == ("title",) and r.dialect.return_documents is True
    assert r.dialect.truncate == "end" and r.dialect.max_tokens_per_document == 7


def test_unknown_preset(server) -> None:
    with pytest.raises(RerankerSpecError, match="unknown preset"):
        make(server, "compatible:m", preset="nope")


# -- presets ---------------------------------------------------------------------------


async def test_mixroute(server) -> None:
    r = make(server, "mixroute:rerank-v3", extra_body={"return_documents": True})
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS, top_n=3))
    assert r.name == "mixroute:rerank-v3"
    assert pairs(response) == EXPECTED[:3]
    assert response.usage.tokens > 0 and response.usage.cost_usd is None
    body = server.state("mixroute").bodies[0]
    assert body["return_documents"] is True  # extra_body merged at the top level


def test_presets_refuse_knobs_they_lack(server) -> None:
    with pytest.raises(RerankerSpecError, match="mixroute has no max_tokens_per_document"):
        make(server, "mixroute:rerank-v3", max_tokens_per_document="5")
    with pytest.raises(RerankerSpecError, match="onerouter has no truncate option"):
        make(server, "onerouter:m", truncate="end")
    with pytest.raises(RerankerSpecError, match="infinity has no truncate option"):
        make(server, "infinity", key=None, truncate="false")
    make(server, "infinity", key=None, truncate="true")  # it truncates anyway
    r = make(server, "mixroute:rerank-v3", metadata={"run": 1}, user="u")  # dropped
    assert r.dialect.build_body(QUERY, [Document(d) for d in DOCS], None) == {
        "model": "rerank-v3", "query": QUERY, "documents": DOCS}


async def test_searchrouter_reads_reported_cost(server) -> None:
    docs = DOCS * 30  # 120 documents: 2 search units
    r = make(server, "searchrouter:cohere/rerank-v3.5", base_url=sr_base(server))
    response = await run(r, RerankRequest(query=QUERY, documents=docs))
    rec = server.state("searchrouter").requests[0]
    assert rec.path == "/api/v1/rerank"
    assert rec.body["return_documents"] is False  # its default is true
    assert response.usage.search_units == 2
    assert response.usage.tokens == 0
    assert response.usage.cost_usd == pytest.approx(0.004)  # reported, not from the table
    assert pairs(response)[0][1] == expected_ranking(QUERY, docs)[0][1]


async def test_searchrouter_sends_yaml_for_structured_documents(server) -> None:
    docs = [Document(text=t, fields={"title": "x"}) for t in DOCS]
    response = await run(make(server, "searchrouter:jina/reranker-v2", base_url=sr_base(server)),
                         RerankRequest(query=QUERY, documents=docs))
    sent = server.state("searchrouter").bodies[0]["documents"]
    assert yaml.safe_load(sent[0]) == {"title": "x", "text": DOCS[0]}
    assert pairs(response) == expected_ranking(QUERY, sent)


def test_searchrouter_wants_slugs(server) -> None:
    with pytest.raises(RerankerSpecError, match="slug"):
        make(server, "searchrouter:rerank-v3.5")


def test_searchrouter_accepts_the_pages_env_var(server, monkeypatch) -> None:
    monkeypatch.setenv("SR_API_KEY", FAKE_KEY)
    r = create_reranker("searchrouter:cohere/rerank-v3.5")
    assert r.url == "https://searchrouter.ai/api/v1/rerank"


@pytest.mark.parametrize("kind", ["onerouter", "infron"])
async def test_onerouter_and_infron(server, kind) -> None:
    docs = [Document(text=t, fields={"Title": f"T{i}"}) for i, t in enumerate(DOCS)]
    r = make(server, f"{kind}:voyage-rerank-2.5", "onerouter")
    response = await run(r, RerankRequest(query=QUERY, documents=docs, top_n=4))
    sent = server.state("onerouter").bodies[0]["documents"]
    assert all(isinstance(d, str) for d in sent)
    assert yaml.safe_load(sent[1]) == {"Title": "T1", "text": DOCS[1]}
    assert pairs(response) == expected_ranking(QUERY, sent)
    assert response.usage.tokens is None  # nothing reported: not estimated either
    assert response.usage.requests == 1


async def test_vllm_without_key_and_with_top_n_zero_semantics(server) -> None:
    r = make(server, "vllm", key=None, truncate="true")
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS))
    assert r.name == "vllm"
    body = server.state("vllm").bodies[0]
    assert "model" not in body and body["truncate_prompt_tokens"] == -1
    assert pairs(response) == EXPECTED
    assert response.usage.tokens > 0


async def test_vllm_auth_and_nested_errors(server) -> None:
    server.state("vllm").api_key = FAKE_KEY
    with pytest.raises(AuthenticationError, match="Unauthorized"):
        await run(make(server, "vllm:bge", key="wrong-key-1"),
                  RerankRequest(query=QUERY, documents=DOCS))
    with pytest.raises(BadRequestError, match="documents must be a non-empty array"):
        await run(make(server, "vllm:bge", extra_body={"documents": []}),
                  RerankRequest(query=QUERY, documents=DOCS))


async def test_infinity_characters_are_not_tokens(server) -> None:
    r = make(server, "infinity:mxbai", key=None)
    response = await run(r, RerankRequest(query=QUERY, documents=DOCS))
    assert server.state("infinity").requests[0].path == "/rerank"
    assert pairs(response) == EXPECTED
    assert response.usage.tokens is None


async def test_infinity_splits_above_2048(server) -> None:
    docs = [f"model deploy {i}" for i in range(3000)]
    response = await run(make(server, "infinity", key=None),
                         RerankRequest(query=QUERY, documents=docs, top_n=10))
    assert [len(b["documents"]) for b in server.state("infinity").bodies] == [1500, 1500]
    assert response.usage.split_requests == 1
    assert [s for _, s in pairs(response)] == [s for _, s in
                                               expected_ranking(QUERY, docs, top_n=10)]


async def test_infinity_errors(server) -> None:
    server.state("infinity").fail(*[Fault(status=429)] * 2)
    with pytest.raises(RateLimitError, match="currently overloaded"):
        await run(make(server, "infinity", key=None, max_retries="1"),
                  RerankRequest(query=QUERY, documents=DOCS))
    with pytest.raises(BadRequestError, match="query is required") as info:
        await run(make(server, "infinity", key=None), RerankRequest(query=" ", documents=DOCS))
    assert info.value.status == 422


def test_preset_via_option_equals_preset_kind(server) -> None:
    a = make(server, "compatible:bge", "vllm", preset="vllm", key=None)
    b = make(server, "vllm:bge", key=None)
    assert (a.name, a.url) == (b.name, b.url) == ("vllm:bge", server.url("vllm") + "/v1/rerank")
    assert a.profile == b.profile and a.dialect == b.dialect
    with pytest.raises(RerankerSpecError, match="preset is fixed to vllm"):
        make(server, "vllm:bge", preset="infinity", key=None)
