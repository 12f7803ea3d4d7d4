"""Rerankers aimed at the fake providers, in an environment cleared of provider settings.

``prepare`` gives a fresh in-process fake server (every dialect) on a virtual clock;
``make`` builds a reranker aimed at it through ``httpx.ASGITransport`` on the same clock.
``prepare_socket`` gives the shared real-socket server instead (SDK parity, the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rerank_eval.rerankers import Reranker, Runtime, create_reranker, known_kinds
from rerank_eval.rerankers.registry import SHARED_ENV_VARS
from rerank_eval.testing.fakes import FAKE_KEY, FakeServer, all_dialects_server, shared_server
from support.clock import VirtualClock

FAST = {"retry_base_delay": "0.01", "retry_max_delay": "0.05", "max_retry_wait": "5",
        "timeout": "5", "connect_timeout": "2"}
"""Small backoff for the real-socket tests (virtual-clock tests spend no real time)."""


def provider_env() -> list[str]:
    """Every env var a reranker kind reads: all are cleared before a provider test."""
    names = {name for kind in known_kinds() for name in kind.env_vars}
    return sorted(names | set(SHARED_ENV_VARS))


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in provider_env():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANK_EVAL_CACHE", str(tmp_path / "cache"))


def prepare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeServer:
    """A new in-process fake server on a virtual clock (``server.clock``); a clean env and
    the cache in tmp_path."""
    clean_env(monkeypatch, tmp_path)
    return all_dialects_server(clock=VirtualClock())


def prepare_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeServer:
    """The shared real-socket fake server, reset; a clean env and the cache in tmp_path."""
    clean_env(monkeypatch, tmp_path)
    server = shared_server()
    server.reset()
    return server


def runtime_for(server: FakeServer, **fields: Any) -> Runtime:
    """In-process transport and the server's clock; nothing for a real-socket server."""
    if server.port is not None:
        return Runtime(**fields)
    return Runtime(transport=server.transport(), clock=server.clock, **fields)


def make(server: FakeServer, spec: str, dialect: str | None = None, *,
         key: str | None = FAKE_KEY, runtime: Runtime | None = None,
         **options: Any) -> Reranker:
    """A reranker for ``spec`` aimed at the fake ``dialect`` (default: the spec's kind)."""
    name = dialect or spec.split(":", 1)[0].split("?", 1)[0]
    opts: dict[str, Any] = {"base_url": server.url(name)}
    if server.port is not None:
        opts.update(FAST)
    if key is not None:
        opts["api_key"] = key
    opts.update({k: v for k, v in options.items() if v is not None})
    return create_reranker(spec, opts, runtime=runtime or runtime_for(server))


__all__ = ["FAKE_KEY", "FAST", "clean_env", "make", "prepare", "prepare_socket",
           "provider_env", "runtime_for"]
