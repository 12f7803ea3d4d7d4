"""Cohere Rerank: ``POST /v2/rerank`` (default) or ``/v1/rerank`` (``api_version=1``).

- v2: ``model``, ``query``, ``documents`` (strings only: structured documents go as
  YAML), ``top_n``, ``max_tokens_per_doc`` (from ``max_tokens_per_document``),
  ``priority``.
- v1: with ``rank_fields``, documents go as objects (``{"text", **fields}``) and Cohere
  ranks on those fields; without, as strings like v2. Also ``return_documents``,
  ``max_chunks_per_doc``.
- Usage: ``meta.billed_units.search_units`` (a number; about one per 100 documents).
  Cohere reports no tokens for rerank.
- Env: ``COHERE_API_KEY`` (or the SDK's ``CO_API_KEY``), ``COHERE_BASE_URL``.
- Cohere truncates long documents itself (``max_tokens_per_doc``, default 4096), so
  ``truncate=false`` cannot be honoured and is refused.

Options: ``api_version`` (1 or 2), ``max_tokens_per_doc``, ``max_chunks_per_doc`` (v1),
``priority`` (v2), plus the common remote options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerank_eval.rerankers.base import RerankerSpec, RerankerSpecError, option
from rerank_eval.rerankers.http import HttpResult
from rerank_eval.rerankers.remote import Parsed, RemoteReranker, with_extra_body
from rerank_eval.types import Document, RerankRequest


class CohereReranker(RemoteReranker):
    kind = "cohere"
    price_provider = "cohere"
    api_key_env = ("COHERE_API_KEY", "CO_API_KEY")
    base_url_env = ("COHERE_BASE_URL",)
    default_base_url = "https://api.cohere.com"
    max_documents = 1000
    provider_options = frozenset({"api_version", "max_tokens_per_doc", "max_chunks_per_doc",
                                  "priority"})

    def __init__(self, spec: RerankerSpec) -> None:
        self.api_version = option(spec, "api_version", int, 2)
        if self.api_version not in (1, 2):
            raise RerankerSpecError(f"reranker {spec.text!r}: api_version must be 1 or 2")
        self.max_tokens_per_doc = option(spec, "max_tokens_per_doc", int, None)
        self.max_chunks_per_doc = option(spec, "max_chunks_per_doc", int, None)
        self.priority = option(spec, "priority", int, None)
        if self.api_version == 2 and self.max_chunks_per_doc is not None:
            raise RerankerSpecError(f"reranker {spec.text!r}: max_chunks_per_doc is v1 only; "
                                    "use max_tokens_per_doc")
        if self.api_version == 1 and (self.max_tokens_per_doc or self.priority is not None):
            raise RerankerSpecError(f"reranker {spec.text!r}: max_tokens_per_doc and priority "
                                    "are v2 only")
        if self.api_version == 1:
            # v1: len(documents) * max_chunks_per_doc (default 10) must stay below 10,000
            self.max_documents = min(1000, 9999 // (self.max_chunks_per_doc or 10))
        super().__init__(spec)

    def endpoint_path_for(self, spec: RerankerSpec) -> str:
        return f"/v{self.api_version}/rerank"

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        if request.truncate is not None and request.truncate is not True:
            raise ValueError(f"{self.name}: Cohere always truncates long documents; "
                             f"truncate={request.truncate!r} cannot be honoured")
        body: dict[str, Any] = {"model": self.model, "query": request.query,
                                "documents": self.encode_documents(request, documents)}
        if top_n is not None:
            body["top_n"] = top_n
        if self.api_version == 2:
            max_tokens = request.max_tokens_per_document or self.max_tokens_per_doc
            if max_tokens is not None:
                body["max_tokens_per_doc"] = max_tokens
            if self.priority is not None:
                body["priority"] = self.priority
        else:
            self.unsupported(request, "max_tokens_per_document")
            if request.rank_fields is not None:
                body["rank_fields"] = list(request.rank_fields)
            if request.return_documents:
                body["return_documents"] = True
            if self.max_chunks_per_doc is not None:
                body["max_chunks_per_doc"] = self.max_chunks_per_doc
        return with_extra_body(body, request)

    def encode_documents(self, request: RerankRequest,
                         documents: Sequence[Document]) -> list[Any]:
        if self.api_version == 1 and request.rank_fields is not None:
            from rerank_eval.rerankers.doc_encoding import as_object

            return [as_object(d) for d in documents]
        return super().encode_documents(request, documents)

    def parse(self, result: HttpResult) -> Parsed:
        data = result.data
        pairs = self.pairs(result, self.items(result, data, "results"), "relevance_score")
        meta = data.get("meta")
        billed = meta.get("billed_units") if isinstance(meta, dict) else None
        units = billed.get("search_units") if isinstance(billed, dict) else None
        return Parsed(pairs=pairs, search_units=self.number(result, units, "search_units"))


def create_cohere(spec: RerankerSpec) -> CohereReranker:
    return CohereReranker(spec)
