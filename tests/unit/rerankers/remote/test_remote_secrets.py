"""The API key never appears in an exception, a log line, a repr, a cache key or file.

Every error type is triggered with a recognisable fake key; the messages, reprs, logs
and the whole cache folder are then searched for it. (Timeouts and transport errors need
a real socket: tests/integration/providers/test_provider_sockets.py checks them.)
"""

from __future__ import annotations

import logging
import pickle

import pytest
from support.providers import make, prepare

from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.remote.http.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    MissingAPIKeyError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from rerank_eval.secrets import Secret, redact
from rerank_eval.testing.fakes import FAKE_KEY, Fault
from rerank_eval.types import RerankRequest

REQ = RerankRequest(query="cats", documents=["a cat", "a dog", "cat food"])


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert FAKE_KEY not in text
        assert FAKE_KEY[8:] not in text  # nor a recognisable part of it


async def trigger(server, setup) -> ProviderError:
    r = make(server, "cohere:rerank-v3.5", max_retries="1", timeout="0.2")
    setup(server.state("cohere"))
    with pytest.raises(ProviderError) as info:
        await r.rerank(REQ)
    await r.aclose()
    assert_clean(repr(r), str(r))
    return info.value


CASES = {
    AuthenticationError: lambda s: setattr(s, "api_key", "the-server-wants-another"),
    BadRequestError: lambda s: s.fail(Fault(mutate="echo_key")),
    RateLimitError: lambda s: s.fail(*[Fault(status=429, headers={"Retry-After": "0"})] * 2),
    ServerError: lambda s: s.fail(*[Fault(status=500,
                                          message=f"upstream said Bearer {FAKE_KEY}")] * 2),
    MalformedResponseError: lambda s: s.fail(Fault(mutate="out_of_range")),
}


@pytest.mark.parametrize("error_type", list(CASES), ids=lambda c: c.__name__)
async def test_no_key_in_errors_or_logs(server, caplog, tmp_path, error_type) -> None:
    caplog.set_level(logging.DEBUG)
    error = await trigger(server, CASES[error_type])
    assert type(error) is error_type
    assert_clean(str(error), repr(error), error.message, repr(error.args), caplog.text)
    # the key was really sent (so the test would catch a leak)
    assert server.state("cohere").requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_echoed_key_is_redacted(server) -> None:
    error = await trigger(server, CASES[BadRequestError])
    assert "you sent Authorization: Bearer ***" in str(error)


async def test_no_key_in_cache_files_or_names(server, tmp_path) -> None:
    r = make(server, "cohere:rerank-v3.5")
    await r.rerank(REQ)
    await r.aclose()
    files = [p for p in (tmp_path / "cache").rglob("*")]
    assert any(p.is_file() for p in files)
    for path in files:
        assert_clean(str(path))
        if path.is_file():
            assert_clean(path.read_text())


def test_missing_key_names_the_env_var(monkeypatch, tmp_path) -> None:
    prepare(monkeypatch, tmp_path)
    with pytest.raises(MissingAPIKeyError, match="COHERE_API_KEY"):
        create_reranker("cohere:rerank-v3.5")


def test_key_in_base_url_is_not_shown(monkeypatch, tmp_path) -> None:
    prepare(monkeypatch, tmp_path)
    r = create_reranker("cohere:rerank-v3.5", {
        "api_key": FAKE_KEY, "base_url": f"http://user:{FAKE_KEY}@127.0.0.1:9/?k={FAKE_KEY}"})
    assert_clean(repr(r), repr(r.http), r.http.display_url)


def test_secret_never_prints() -> None:
    secret = Secret(FAKE_KEY)
    assert_clean(repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]))
    assert secret.reveal() == FAKE_KEY
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_redact() -> None:
    assert redact(f"key={FAKE_KEY}", [Secret(FAKE_KEY)]) == "key=***"
    assert redact("Authorization: Bearer abc.def-123 ok") == "Authorization: Bearer *** ok"
