"""Every remote kind is registered, builds from its env vars, and fits the one interface."""

from __future__ import annotations

import pytest
from fakes.testing import prepare

from rerank_eval.rerankers import Reranker, create_reranker, known_kinds
from rerank_eval.rerankers.errors import MissingAPIKeyError

REMOTE = {
    "cohere": "rerank-v3.5", "jina": "jina-reranker-v2-base-multilingual",
    "voyage": "rerank-2.5", "mixedbread": "mixedbread-ai/mxbai-rerank-large-v2",
    "tei": None, "compatible": "my-model", "mixroute": "rerank-v3",
    "searchrouter": "cohere/rerank-v3.5", "onerouter": "voyage-rerank-2.5",
    "infron": "voyage-rerank-2.5", "vllm": "bge", "infinity": "bge",
}
KEYLESS = {"tei", "vllm", "infinity"}


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    prepare(monkeypatch, tmp_path)


@pytest.mark.parametrize("kind", sorted(REMOTE))
async def test_kind_builds_from_its_declared_env_vars(kind, monkeypatch) -> None:
    entry = {k.kind: k for k in known_kinds()}[kind]
    key_vars = [v for v in entry.env_vars if v.endswith("_API_KEY")]
    url_vars = [v for v in entry.env_vars if v.endswith("_BASE_URL")]
    assert key_vars and url_vars, entry.env_vars
    spec = kind if REMOTE[kind] is None else f"{kind}:{REMOTE[kind]}"
    monkeypatch.setenv(url_vars[0], "https://provider.example/")
    if kind not in KEYLESS:
        with pytest.raises(MissingAPIKeyError, match=key_vars[0]):
            create_reranker(spec)
    monkeypatch.setenv(key_vars[0], "test-key-123456")
    reranker = create_reranker(spec)
    assert isinstance(reranker, Reranker)
    assert reranker.url.startswith("https://provider.example/")
    assert reranker.name.startswith(kind)
    assert reranker.max_concurrency == 8
    assert "test-key-123456" not in repr(reranker)
    await reranker.aclose()
    await reranker.aclose()  # idempotent
