"""The reranker under load: loopback only unless allowed (refused before anything is
sent), no retries by default, a client cap that does not hide the load."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.providers import FAKE_KEY, clean_env

from rerank_eval.load.target import (
    RemoteRefusedError,
    build_target,
    check_loopback,
    is_loopback_host,
)
from rerank_eval.rerankers.remote.reranker import RemoteReranker


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST", True), ("api.localhost", True),
    ("::ffff:127.0.0.1", True), ("localhost.", True),
    ("10.0.0.5", False), ("192.168.1.2", False), ("0.0.0.0", False), ("::", False),
    ("api.cohere.com", False), ("localhost.evil.com", False), ("128.0.0.1", False),
    ("", False), (None, False),
])
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_a_remote_url_is_refused_unless_allowed() -> None:
    with pytest.raises(RemoteRefusedError, match="--allow-remote") as caught:
        check_loopback("https://user:pw@api.example.com/v1/rerank?key=abc", False)
    assert "pw" not in str(caught.value) and "abc" not in str(caught.value)
    assert "Nothing was sent" in str(caught.value)
    check_loopback("https://api.example.com/v1/rerank", True)
    check_loopback("http://127.0.0.1:8080/rerank", False)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    clean_env(monkeypatch, tmp_path)
    return monkeypatch


def test_building_a_target_for_a_remote_host_refuses_it(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(RemoteRefusedError, match=r"10\.0\.0\.5"):
        build_target("tei:http://10.0.0.5:8080", client_concurrency=8)
    env.setenv("COHERE_API_KEY", FAKE_KEY)
    with pytest.raises(RemoteRefusedError, match=r"api\.cohere\.com") as caught:
        build_target("cohere:rerank-v3.5", client_concurrency=8)
    assert FAKE_KEY not in str(caught.value)
    target = build_target("cohere:rerank-v3.5", client_concurrency=8, allow_remote=True)
    assert target.remote and target.url == "https://api.cohere.com/v2/rerank"


def test_a_remote_target_does_not_retry_and_its_cap_is_the_sweeps(
        env: pytest.MonkeyPatch) -> None:
    target = build_target("tei:http://127.0.0.1:8080?concurrency=4&max_retries=3",
                          client_concurrency=32)
    reranker = target.reranker
    assert isinstance(reranker, RemoteReranker)
    assert reranker.http.settings.retry.max_retries == 0 and target.retries == 0
    assert reranker.http.settings.concurrency == 32 and reranker.max_concurrency == 32
    assert not reranker.cache.enabled  # every request is sent
    assert any("max_retries=3 replaced by 0" in n for n in target.notes)
    assert any("concurrency=4 replaced by 32" in n for n in target.notes)
    retrying = build_target("tei:http://localhost:8080", client_concurrency=8, retries=2)
    assert retrying.retries == 2
    assert retrying.reranker.http.settings.retry.max_retries == 2  # type: ignore[attr-defined]


def test_a_local_target_is_in_process(env: pytest.MonkeyPatch) -> None:
    target = build_target("bm25", client_concurrency=8, retries=3)
    assert not target.remote and target.url is None and target.device == "cpu"
    assert target.price() is None
    assert any("--retries 3 ignored" in n for n in target.notes)


def test_the_recorded_spec_hides_an_inline_key(env: pytest.MonkeyPatch) -> None:
    target = build_target(f"cohere:rerank-v3.5?api_key={FAKE_KEY}&base_url=http://127.0.0.1:9",
                          client_concurrency=4)
    assert FAKE_KEY not in target.spec and "api_key=***" in target.spec
    assert FAKE_KEY not in repr(target.reranker) and target.url == "http://127.0.0.1:9/v2/rerank"


def test_pacing_in_the_spec_is_pointed_out(env: pytest.MonkeyPatch) -> None:
    target = build_target("tei:http://127.0.0.1:8080?rpm=60", client_concurrency=4)
    assert any("rpm pacing" in note for note in target.notes)
