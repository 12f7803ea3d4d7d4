"""Fake Cohere Rerank: ``/v1/rerank`` and ``/v2/rerank`` (provider-apis.md §1).

Validation as documented: v2 requires ``model`` and takes strings only; v1 takes strings
or objects with ``rank_fields``; empty query/documents/document → 400 with Cohere's
messages; v1 ``len(documents) * max_chunks_per_doc`` must be < 10,000. Errors are
``{"id", "message"}``. Usage ``meta.billed_units.search_units`` = ceil(billable / 100),
where a document longer than 500 tokens (query included) counts once per 500.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from rerank_eval.testing.fakes.scoring import cohere_results, count_tokens, tokens
from rerank_eval.testing.fakes.server import Dialect, Reject
from rerank_eval.testing.fakes.validation import (
    doc_text,
    optional_bool,
    optional_int,
    require_list,
    require_str,
)


class CohereDialect(Dialect):
    name = "cohere"
    paths = ("/v1/rerank", "/v2/rerank")

    def error_body(self, status: int, message: str) -> Any:
        return {"id": str(uuid.uuid4()), "message": message}

    def default_message(self, status: int) -> str:
        if status == 429:
            return "You are past the per minute request limit, please wait and try again later."
        return super().default_message(status)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        version = "2" if path.startswith("/v2") else "1"
        if version == "2" and not isinstance(body.get("model"), str):
            raise Reject(400, "a model parameter is required for this endpoint.")
        query = require_str(body, "query", message="invalid request: query must not be "
                                                   "empty or be only whitespace")
        documents = require_list(body, "documents", message="invalid request: list of "
                                                            "documents must not be empty")
        if self.state.max_documents is not None and len(documents) > self.state.max_documents:
            raise Reject(400, f"invalid request: too many documents ({len(documents)} > "
                              f"{self.state.max_documents})")
        top_n = optional_int(body, "top_n")
        rank_fields = None
        return_documents = False
        if version == "2":
            for i, doc in enumerate(documents):
                if not isinstance(doc, str):
                    raise Reject(400, f"invalid request: document at index {i} must be a "
                                      "string")
            max_tokens = optional_int(body, "max_tokens_per_doc") or 4096
            optional_int(body, "priority", minimum=0)
        else:
            max_tokens = 4096
            chunks = optional_int(body, "max_chunks_per_doc") or 10
            if len(documents) * chunks >= 10_000:
                raise Reject(400, "invalid request: number of total max chunks (number of "
                                  "documents * max chunks per doc) must be less than 10000")
            if "rank_fields" in body:
                rank_fields = body["rank_fields"]
                if not isinstance(rank_fields, list) or not rank_fields or not all(
                        isinstance(f, str) for f in rank_fields):
                    raise Reject(400, "invalid request: rank_fields cannot be empty, it must "
                                      "be a list of strings")
            return_documents = optional_bool(body, "return_documents", False)
        texts = [doc_text(d, i, rank_fields) for i, d in enumerate(documents)]
        texts = [" ".join(tokens(t)[:max_tokens]) for t in texts]
        ranked = self.rank(query, texts)
        if top_n is not None:
            ranked = ranked[:top_n]
        q = count_tokens(query)
        billable = sum(max(1, math.ceil((q + count_tokens(t)) / 500)) for t in texts)
        results = cohere_results(ranked, documents, return_documents)
        payload = {"id": str(uuid.uuid4()), "results": results,
                   "meta": {"api_version": {"version": version, "is_experimental": False},
                            "billed_units": {"search_units": float(math.ceil(billable / 100))}}}
        return payload, {}
