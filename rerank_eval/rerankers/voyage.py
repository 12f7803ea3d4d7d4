"""Voyage AI rerank: ``POST https://api.voyageai.com/v1/rerank``.

- Body ``{query, documents, model, top_k, truncation}``; documents are strings only
  (structured documents go as YAML). ``return_documents`` is sent only when asked for.
- ``truncation`` (default true at Voyage): the option ``truncation``, or the request's
  ``truncate`` (true/false).
- Answer ``data[].{index, relevance_score}``; usage ``usage.total_tokens`` (Voyage counts
  query tokens × documents + document tokens).
- At most 1,000 documents per request (split above that).
- Env: ``VOYAGE_API_KEY``, ``VOYAGE_BASE_URL``. Keys issued by MongoDB (``al-...``) go
  to ``https://ai.mongodb.com/v1`` unless a base URL is given, as the SDK does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec, option
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker, first_env, with_extra_body
from rerank_eval.types import Document, RerankRequest

MONGODB_BASE_URL = "https://ai.mongodb.com/v1"


class VoyageReranker(RemoteReranker):
    kind = "voyage"
    price_provider = "voyage"
    api_key_env = ("VOYAGE_API_KEY",)
    base_url_env = ("VOYAGE_BASE_URL",)
    default_base_url = "https://api.voyageai.com"
    max_documents = 1000
    provider_options = frozenset({"truncation"})

    def __init__(self, spec: RerankerSpec) -> None:
        self.truncation = option(spec, "truncation", bool, None)
        key = option(spec, "api_key", str, None) or first_env(self.api_key_env)[0] or ""
        if key.startswith("al-"):
            self.default_base_url = MONGODB_BASE_URL
        super().__init__(spec)

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        self.unsupported(request, "max_tokens_per_document")
        body: dict[str, Any] = {"query": request.query,
                                "documents": self.encode_documents(request, documents),
                                "model": self.model}
        if top_n is not None:
            body["top_k"] = top_n
        truncation = self.truncation
        if request.truncate is not None:
            if not isinstance(request.truncate, bool):
                raise ValueError(f"{self.name}: truncate must be true or false for Voyage, "
                                 f"got {request.truncate!r}")
            truncation = request.truncate
        if truncation is not None:
            body["truncation"] = truncation
        if request.return_documents:
            body["return_documents"] = True
        return with_extra_body(body, request)

    def parse(self, result: HttpResult) -> Parsed:
        pairs = self.pairs(result, self.items(result, result.data, "data"), "relevance_score")
        return Parsed(pairs=pairs, tokens=self.usage_tokens(result, "total_tokens"))


def create_voyage(spec: RerankerSpec) -> VoyageReranker:
    return VoyageReranker(spec)
