"""The official SDKs, pointed at the fakes, must parse them — that is how we know the fakes
are faithful. And our adapters must agree with the SDKs on the same fake.

Each SDK is used with retries off; all traffic goes to the shared fake server on a real
socket on 127.0.0.1 (the SDKs bring their own HTTP clients).
"""

from __future__ import annotations

import pytest
from support.providers import make, prepare_socket

from rerank_eval.testing.fakes import FAKE_KEY, Fault, expected_ranking
from rerank_eval.types import RerankRequest

QUERY = "capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada.",
    "Saipan is the capital of the Northern Mariana Islands.",
    "Washington, D.C. is the capital of the United States.",
    "Capital punishment has existed in the United States.",
    "Bananas are yellow.",
]
EXPECTED = expected_ranking(QUERY, DOCS)


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare_socket(monkeypatch, tmp_path)


async def adapter_pairs(server, spec: str, dialect: str | None = None, **options):
    r = make(server, spec, dialect, cache="false", **options)
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS))
    await r.aclose()
    return [(x.index, x.relevance_score) for x in response.results], response.usage


# -- Cohere -----------------------------------------------------------------------------

cohere = pytest.importorskip("cohere")


def cohere_v2(server):
    return cohere.ClientV2(api_key=FAKE_KEY, base_url=server.url("cohere"), max_retries=0,
                           timeout=5)


async def test_cohere_v2_sdk_parses_the_fake_and_agrees(server) -> None:
    sdk = cohere_v2(server).rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    sdk_pairs = [(x.index, x.relevance_score) for x in sdk.results]
    assert sdk_pairs == EXPECTED
    assert sdk.meta.billed_units.search_units == 1.0
    assert sdk.meta.api_version.version == "2"
    ours, usage = await adapter_pairs(server, "cohere:rerank-v3.5")
    assert ours == sdk_pairs
    assert usage.search_units == sdk.meta.billed_units.search_units
    sdk_body, our_body = server.state("cohere").bodies
    assert sdk_body == our_body  # we send exactly what the SDK sends


async def test_cohere_v2_sdk_top_n_and_max_tokens(server) -> None:
    sdk = cohere_v2(server).rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2,
                                   max_tokens_per_doc=512)
    assert [(x.index, x.relevance_score) for x in sdk.results] == EXPECTED[:2]
    r = make(server, "cohere:rerank-v3.5", cache="false", max_tokens_per_doc="512")
    await r.rerank(RerankRequest(query=QUERY, documents=DOCS, top_n=2))
    await r.aclose()
    sdk_body, our_body = server.state("cohere").bodies
    assert sdk_body == our_body


async def test_cohere_v1_sdk_parses_the_fake_and_agrees(server) -> None:
    client = cohere.Client(api_key=FAKE_KEY, base_url=server.url("cohere"), max_retries=0,
                           timeout=5)
    sdk = client.rerank(model="rerank-english-v3.0", query=QUERY, documents=DOCS,
                        return_documents=True)
    assert [(x.index, x.relevance_score) for x in sdk.results] == EXPECTED
    assert sdk.results[0].document.text == DOCS[EXPECTED[0][0]]
    assert sdk.meta.api_version.version == "1"
    ours, _ = await adapter_pairs(server, "cohere:rerank-english-v3.0", api_version="1")
    assert ours == EXPECTED
    objects = [{"text": d, "title": f"t{i}"} for i, d in enumerate(DOCS)]
    sdk = client.rerank(model="rerank-english-v3.0", query=QUERY, documents=objects,
                        rank_fields=["text"])
    assert [(x.index, x.relevance_score) for x in sdk.results] == EXPECTED


@pytest.mark.parametrize("status,error_name", [
    (400, "BadRequestError"), (401, "UnauthorizedError"), (429, "TooManyRequestsError"),
    (500, "InternalServerError"), (503, "ServiceUnavailableError"),
])
def test_cohere_sdk_maps_fake_errors(server, status: int, error_name: str) -> None:
    if status == 401:
        server.state("cohere").api_key = "another-key"
    else:
        server.state("cohere").fail(Fault(status=status, message="fake says no"))
    with pytest.raises(cohere.core.ApiError) as info:
        cohere_v2(server).rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert type(info.value).__name__ == error_name
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict) and set(info.value.body) == {"id", "message"}


def test_cohere_sdk_sees_fake_validation(server) -> None:
    with pytest.raises(cohere.errors.BadRequestError) as info:
        cohere_v2(server).rerank(model="rerank-v3.5", query=" ", documents=DOCS)
    assert "query must not be empty" in info.value.body["message"]


# -- Voyage -----------------------------------------------------------------------------

voyageai = pytest.importorskip("voyageai")


def voyage_client(server):
    return voyageai.Client(api_key=FAKE_KEY, base_url=server.url("voyage") + "/v1",
                           max_retries=0, timeout=5)


async def test_voyage_sdk_parses_the_fake_and_agrees(server) -> None:
    sdk = voyage_client(server).rerank(QUERY, DOCS, model="rerank-2.5", top_k=3)
    sdk_pairs = [(x.index, x.relevance_score) for x in sdk.results]
    assert sdk_pairs == EXPECTED[:3]
    assert sdk.results[0].document == DOCS[EXPECTED[0][0]]
    r = make(server, "voyage:rerank-2.5", cache="false", truncation="true")
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS, top_n=3))
    await r.aclose()
    assert [(x.index, x.relevance_score) for x in response.results] == sdk_pairs
    assert response.usage.tokens == sdk.total_tokens
    sdk_body, our_body = server.state("voyage").bodies
    assert sdk_body == our_body  # the SDK always sends truncation; so do we when asked


@pytest.mark.parametrize("status,error_name", [
    (400, "InvalidRequestError"), (401, "AuthenticationError"), (429, "RateLimitError"),
    (500, "ServerError"), (503, "ServiceUnavailableError"),
])
def test_voyage_sdk_maps_fake_errors(server, status: int, error_name: str) -> None:
    """The SDK insists on a ``detail`` key: a wrong error shape would raise APIError."""
    if status == 401:
        server.state("voyage").api_key = "another-key"
    else:
        server.state("voyage").fail(Fault(status=status, message="fake says no"))
    with pytest.raises(voyageai.error.VoyageError) as info:
        voyage_client(server).rerank(QUERY, DOCS, model="rerank-2.5")
    assert type(info.value).__name__ == error_name
    assert "Invalid response object" not in str(info.value)


# -- Mixedbread -------------------------------------------------------------------------

mixedbread = pytest.importorskip("mixedbread")
MXBAI_MODEL = "mixedbread-ai/mxbai-rerank-large-v2"


def mxbai_client(server):
    return mixedbread.Mixedbread(api_key=FAKE_KEY, base_url=server.url("mixedbread"),
                                 max_retries=0, timeout=5, _strict_response_validation=True)


async def test_mixedbread_sdk_parses_the_fake_strictly_and_agrees(server) -> None:
    sdk = mxbai_client(server).rerank(model=MXBAI_MODEL, query=QUERY, input=DOCS, top_k=4)
    sdk_pairs = [(x.index, x.score) for x in sdk.data]
    assert sdk_pairs == EXPECTED[:4]
    assert (sdk.top_k, sdk.return_input, sdk.object) == (4, False, "list")
    r = make(server, f"mixedbread:{MXBAI_MODEL}", cache="false")
    response = await r.rerank(RerankRequest(query=QUERY, documents=DOCS, top_n=4))
    await r.aclose()
    assert [(x.index, x.relevance_score) for x in response.results] == sdk_pairs
    assert response.usage.tokens == sdk.usage.prompt_tokens
    sdk_body, our_body = server.state("mixedbread").bodies
    assert sdk_body == our_body


def test_mixedbread_sdk_objects_with_rank_fields(server) -> None:
    items = [{"text": d, "title": f"title {i}"} for i, d in enumerate(DOCS)]
    sdk = mxbai_client(server).rerank(model=MXBAI_MODEL, query=QUERY, input=items,
                                      rank_fields=["text"], return_input=True)
    assert [(x.index, x.score) for x in sdk.data] == EXPECTED
    assert sdk.data[0].input == items[EXPECTED[0][0]]


@pytest.mark.parametrize("status,error_name", [
    (400, "BadRequestError"), (401, "AuthenticationError"), (422, "UnprocessableEntityError"),
    (429, "RateLimitError"), (500, "InternalServerError"),
])
def test_mixedbread_sdk_maps_fake_errors(server, status: int, error_name: str) -> None:
    if status == 401:
        server.state("mixedbread").api_key = "another-key"
    else:
        server.state("mixedbread").fail(Fault(status=status))
    with pytest.raises(mixedbread.APIStatusError) as info:
        mxbai_client(server).rerank(model=MXBAI_MODEL, query=QUERY, input=DOCS)
    assert type(info.value).__name__ == error_name
    assert info.value.status_code == status
    assert {"type", "url", "message", "details"} <= set(info.value.body)
