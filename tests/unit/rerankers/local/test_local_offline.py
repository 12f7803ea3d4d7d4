"""Issue 10 row 16: a hub id that is not cached fails at once when the hub is off or
unreachable, instead of spending the hub client's retries."""

from __future__ import annotations

import pytest

from rerank_eval.rerankers.local import loading
from rerank_eval.rerankers.spec import RerankerSpecError


def test_uncached_hub_id_offline_fails_fast(monkeypatch, tmp_path) -> None:
    # HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are read by huggingface_hub when imported
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))

    def no_hub(*args, **kwargs):
        raise AssertionError("sentence-transformers must not be called")

    monkeypatch.setattr("sentence_transformers.CrossEncoder", no_hub)
    with pytest.raises(RerankerSpecError) as info:
        loading._source_kwargs("nonexistent-org/nonexistent-model")
    text = str(info.value)
    assert "nonexistent-org/nonexistent-model" in text
    assert "not in the local Hugging Face cache" in text
    assert "path of a local copy" in text
    assert "\n" not in text


def test_cached_hub_id_offline_is_let_through(monkeypatch, tmp_path) -> None:
    hub = tmp_path / "hub"
    snap = hub / "models--some-org--some-model" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (hub / "models--some-org--some-model" / "refs").mkdir()
    (hub / "models--some-org--some-model" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    assert loading._source_kwargs("some-org/some-model") == ("some-org/some-model", {})


def test_uncached_hub_id_with_the_hub_unreachable_fails_in_one_line(monkeypatch,
                                                                    tmp_path) -> None:
    import socket

    with socket.socket() as closed:  # a port on loopback that nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(RerankerSpecError) as info:
        loading._source_kwargs("nonexistent-org/nonexistent-model")
    text = str(info.value)
    assert "cannot be reached" in text and f"127.0.0.1:{port}" in text
    assert "path of a local copy" in text and "\n" not in text


def test_a_reachable_hub_lets_an_uncached_id_through(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(loading, "hub_unreachable", lambda: None)
    assert loading._source_kwargs("some-org/some-model") == ("some-org/some-model", {})
