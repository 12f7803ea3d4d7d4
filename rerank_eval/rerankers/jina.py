"""Jina AI Reranker: ``POST https://api.jina.ai/v1/rerank``.

- Body ``{model, query, documents, top_n, return_documents}``. ``return_documents`` is
  **always sent**: its default is disputed (documented true, reported changed to
  false), and we never rely on echoed text anyway.
- Structured documents go as YAML strings.
- Usage: ``usage.total_tokens``. No price in ``pricing.toml`` (unconfirmed), so
  ``cost_usd`` is ``None`` unless a price is given in the suite.
- Per-request maximum unconfirmed: no splitting by default (listwise models such as
  jina-reranker-v3 score a list jointly, so split scores would not be comparable);
  set ``max_documents_per_request`` if your account needs it.
- Env: ``JINA_API_KEY``, ``JINA_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker, with_extra_body
from rerank_eval.types import Document, RerankRequest


class JinaReranker(RemoteReranker):
    kind = "jina"
    price_provider = "jina"
    api_key_env = ("JINA_API_KEY",)
    base_url_env = ("JINA_BASE_URL",)
    default_base_url = "https://api.jina.ai"
    max_documents = None

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        self.unsupported(request, "truncate", "max_tokens_per_document")
        body: dict[str, Any] = {"model": self.model, "query": request.query,
                                "documents": self.encode_documents(request, documents)}
        if top_n is not None:
            body["top_n"] = top_n
        body["return_documents"] = bool(request.return_documents)
        return with_extra_body(body, request)

    def parse(self, result: HttpResult) -> Parsed:
        pairs = self.pairs(result, self.items(result, result.data, "results"), "relevance_score")
        return Parsed(pairs=pairs, tokens=self.usage_tokens(result, "total_tokens"))


def create_jina(spec: RerankerSpec) -> JinaReranker:
    return JinaReranker(spec)
