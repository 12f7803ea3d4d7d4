"""What only a real socket shows: a refused connection and a read timeout, as typed errors
with no key in them. The socket is held for the whole test (bound and never listening,
or listening and never answering), so no other process can take the port meanwhile."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from support.providers import FAST, make, prepare_socket

from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.remote.http.errors import RequestTimeoutError, TransportError
from rerank_eval.testing.fakes import FAKE_KEY, Fault, expected_ranking
from rerank_eval.types import RerankRequest

DOCS = ["the cat sat on the mat", "dogs chase cats", "a mat for the cat", "stock prices"]
QUERY = "cat on a mat"
REQ = RerankRequest(query=QUERY, documents=DOCS)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused (RST)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def cohere_at(port: int, **options: str):
    return create_reranker("cohere:rerank-v3.5", {
        **FAST, "api_key": FAKE_KEY, "base_url": f"http://127.0.0.1:{port}", "cache": "false",
        "max_retries": "1", "retry_base_delay": "0.01", **options})


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert FAKE_KEY not in text and FAKE_KEY[8:] not in text


async def test_connection_refused_is_a_transport_error(refusing_port, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    r = cohere_at(refusing_port)
    with pytest.raises(TransportError) as info:
        await r.rerank(REQ)
    await r.aclose()
    assert info.value.retries == 1 and info.value.status is None
    assert info.value.request_number == 2
    assert_clean(str(info.value), repr(info.value), caplog.text)


async def test_timeouts_exhaust_retries(silent_port, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    r = cohere_at(silent_port, timeout="0.2")
    with pytest.raises(RequestTimeoutError) as info:
        await r.rerank(REQ)
    await r.aclose()
    assert info.value.status is None and info.value.request_number == 2
    assert "timeout" in str(info.value) and "0.2s for the whole request" in str(info.value)
    assert_clean(str(info.value), repr(info.value), caplog.text)


async def test_slow_response_times_out_then_retry_succeeds(monkeypatch, tmp_path) -> None:
    server = prepare_socket(monkeypatch, tmp_path)
    server.state("cohere").fail(Fault(delay_s=1.0))
    r = make(server, "cohere:rerank-v3.5", cache="false", timeout="0.2")
    response = await r.rerank(REQ)
    await r.aclose()
    assert response.usage.retries == 1
    assert [(x.index, x.relevance_score) for x in response.results] == \
        expected_ranking(QUERY, DOCS)
