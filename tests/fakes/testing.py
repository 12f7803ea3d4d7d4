"""Helpers the provider tests share: an isolated environment and rerankers aimed at the fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakes.server import FAKE_KEY, FakeServer, shared_server
from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.base import Reranker

PROVIDER_ENV = (
    "COHERE_API_KEY", "CO_API_KEY", "COHERE_BASE_URL", "JINA_API_KEY", "JINA_BASE_URL",
    "VOYAGE_API_KEY", "VOYAGE_BASE_URL", "MXBAI_API_KEY", "MXBAI_BASE_URL",
    "MIXEDBREAD_API_KEY", "TEI_API_KEY", "TEI_BASE_URL", "RERANK_API_KEY", "RERANK_BASE_URL",
    "MIXROUTE_API_KEY", "MIXROUTE_BASE_URL", "SEARCHROUTER_API_KEY", "SR_API_KEY",
    "SEARCHROUTER_BASE_URL", "ONEROUTER_API_KEY", "ONEROUTER_BASE_URL", "INFRON_API_KEY",
    "INFRON_BASE_URL", "VLLM_API_KEY", "VLLM_BASE_URL", "INFINITY_API_KEY",
    "INFINITY_BASE_URL", "RERANK_EVAL_NO_CACHE", "RERANK_EVAL_PRICES",
)

FAST = {"retry_base_delay": "0.01", "retry_max_delay": "0.05", "max_retry_wait": "5",
        "timeout": "5", "connect_timeout": "2"}
"""Tiny backoff so retry tests take milliseconds."""


def prepare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeServer:
    """Reset the shared fake server, point the cache at tmp_path, clear provider env vars."""
    server = shared_server()
    server.reset()
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANK_EVAL_CACHE", str(tmp_path / "cache"))
    return server


def make(server: FakeServer, spec: str, dialect: str | None = None, *,
         key: str | None = FAKE_KEY, **options: Any) -> Reranker:
    """A reranker for ``spec`` aimed at the fake ``dialect`` (default: the spec's kind)."""
    name = dialect or spec.split(":", 1)[0].split("?", 1)[0]
    opts: dict[str, Any] = {**FAST, "base_url": server.url(name)}
    if key is not None:
        opts["api_key"] = key
    opts.update({k: v for k, v in options.items() if v is not None})
    return create_reranker(spec, opts)
