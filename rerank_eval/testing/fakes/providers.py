"""Fakes of Jina, Voyage, Mixedbread and TEI (provider-apis.md §2-§5)."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

from rerank_eval.testing.fakes.scoring import count_tokens, tokens
from rerank_eval.testing.fakes.server import Dialect, Reject, Timing, mutate_results
from rerank_eval.testing.fakes.validation import (
    doc_text,
    optional_bool,
    optional_int,
    require_list,
    require_str,
)


class JinaDialect(Dialect):
    """Jina: strings or ``{"text"}`` objects, ``{"detail"}`` errors, ``usage.total_tokens``.

    ``return_documents`` defaults to false here (the newer reported behaviour).
    """

    name = "jina"
    paths = ("/v1/rerank",)

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        require_str(body, "model", message="INPUT_MODEL_NOT_FOUND: model is required")
        query = require_str(body, "query", message="query must be a non-empty string")
        documents = require_list(body, "documents", max_items=self.state.max_documents)
        texts = [doc_text(d, i) for i, d in enumerate(documents)]
        top_n = optional_int(body, "top_n")
        echo = optional_bool(body, "return_documents", False)
        ranked = self.rank(query, texts)[:top_n] if top_n else self.rank(query, texts)
        results = []
        for index, score in ranked:
            item: dict[str, Any] = {"index": index, "relevance_score": score}
            if echo:
                item["document"] = {"text": texts[index]}
            results.append(item)
        q = count_tokens(query)
        return {"model": body["model"],
                "usage": {"total_tokens": sum(q + count_tokens(t) for t in texts)},
                "results": results}, {}


VOYAGE_LIMITS = {  # model: (query max tokens, query + one document max tokens)
    "rerank-2.5": (8000, 32000), "rerank-2.5-lite": (8000, 32000), "rerank-2": (4000, 16000),
    "rerank-2-lite": (2000, 8000), "rerank-1": (2000, 8000), "rerank-lite-1": (1000, 4000),
}


class VoyageDialect(Dialect):
    """Voyage: strings only, ``top_k``, ``truncation``, ``data[]``, ``{"detail"}`` errors.

    ``truncation=false`` with a pair over the model's limit is a 400; usage is
    query_tokens × n + Σ document tokens.
    """

    name = "voyage"
    paths = ("/v1/rerank",)
    small_limit_for_tests = 40  # tokens for query + one document on model "tiny-test"

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        model = require_str(body, "model", message="model is required")
        query = require_str(body, "query", message="query must be a non-empty string")
        documents = require_list(body, "documents", max_items=self.state.max_documents or 1000,
                                 message="documents must be a list of 1 to 1000 strings")
        for i, doc in enumerate(documents):
            if not isinstance(doc, str) or not doc:
                raise Reject(400, f"documents[{i}] must be a non-empty string")
        top_k = optional_int(body, "top_k")
        truncation = optional_bool(body, "truncation", True)
        echo = optional_bool(body, "return_documents", False)
        q_limit, pair_limit = VOYAGE_LIMITS.get(model, (10, self.small_limit_for_tests))
        q = count_tokens(query)
        texts = list(documents)
        if not truncation:
            if q > q_limit:
                raise Reject(400, f"query is {q} tokens, over the limit of {q_limit}")
            for i, t in enumerate(texts):
                if q + count_tokens(t) > pair_limit:
                    raise Reject(400, f"query + document {i} is {q + count_tokens(t)} tokens, "
                                      f"over the limit of {pair_limit}; set truncation=true")
        else:
            texts = [" ".join(tokens(t)[:max(0, pair_limit - q)]) for t in texts]
        ranked = self.rank(query, texts)[:top_k] if top_k else self.rank(query, texts)
        data = []
        for index, score in ranked:
            item: dict[str, Any] = {"index": index, "relevance_score": score}
            if echo:
                item["document"] = documents[index]
            data.append(item)
        total = q * len(texts) + sum(count_tokens(t) for t in texts)
        return {"object": "list", "data": data, "model": model,
                "usage": {"total_tokens": total}}, {}

    def mutate(self, payload: Any, how: str) -> Any:
        return mutate_results(payload, "data", "relevance_score", how)


class MixedbreadDialect(Dialect):
    """Mixedbread: ``input``, ``top_k``, ``rank_fields``, ``data[].score``, typed errors."""

    name = "mixedbread"
    paths = ("/v1/reranking",)
    error_types: ClassVar[dict[int, str]] = {400: "bad_request_error", 401: "unauthorized_error",
                   403: "forbidden_error", 404: "not_found_error",
                   422: "validation_error", 429: "too_many_requests_error"}

    def error_body(self, status: int, message: str) -> Any:
        body: dict[str, Any] = {
            "type": self.error_types.get(status, "internal_server_error"),
            "url": "https://www.mixedbread.com/api-reference", "message": message,
            "details": {}}
        if status == 429:
            body["details"] = {"retry_after": 60, "limit": "1200", "remaining": "0",
                               "reset": str(int(time.time()) + 60)}
        return body

    def default_message(self, status: int) -> str:
        if status == 429:
            return "Rate limit exceeded. Please try again later."
        return super().default_message(status)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        model = body.get("model", "mixedbread-ai/mxbai-rerank-large-v2")
        if not isinstance(model, str) or not 1 <= len(model) <= 500:
            raise Reject(422, "model must be a string of 1 to 500 characters")
        query = require_str(body, "query", status=422)
        if len(query) > 32_000:
            raise Reject(422, "query must be at most 32000 characters")
        documents = require_list(body, "input", status=422,
                                 max_items=self.state.max_documents or 1000,
                                 message="input must be a list of 1 to 1000 items")
        rank_fields = body.get("rank_fields")
        if rank_fields is not None and (not isinstance(rank_fields, list) or not all(
                isinstance(f, str) for f in rank_fields)):
            raise Reject(422, "rank_fields must be a list of strings")
        texts = [doc_text(d, i, rank_fields, status=422) for i, d in enumerate(documents)]
        top_k = body.get("top_k", -1)
        if top_k is None:
            top_k = -1
        if isinstance(top_k, bool) or not isinstance(top_k, int) or (top_k < 1 and top_k != -1):
            raise Reject(422, "top_k must be an integer >= 1")
        return_input = optional_bool(body, "return_input", False, status=422)
        optional_bool(body, "rewrite_query", False, status=422)
        ranked = self.rank(query, texts)
        if top_k != -1:
            ranked = ranked[:top_k]
        data = []
        for index, score in ranked:
            item: dict[str, Any] = {"index": index, "score": score, "object": "rank_result"}
            if return_input:
                item["input"] = documents[index]
            data.append(item)
        q = count_tokens(query)
        n = sum(q + count_tokens(t) for t in texts)
        return {"object": "list", "model": model,
                "top_k": len(texts) if top_k == -1 else top_k, "return_input": return_input,
                "data": data, "usage": {"prompt_tokens": n, "total_tokens": n}}, {}

    def mutate(self, payload: Any, how: str) -> Any:
        return mutate_results(payload, "data", "score", how)


class TeiDialect(Dialect):
    """TEI: bare-array answer, 32 texts max (422 Validation), usage in headers only,
    ``{"error","error_type"}`` errors, a bare 401 when ``--api-key`` is set, and the
    ``x-total-time`` / ``x-tokenization-time`` / ``x-queue-time`` / ``x-inference-time``
    headers (ms) on every answer."""

    name = "tei"
    paths = ("/rerank",)
    requires_key = False
    max_input_length = 64
    max_client_batch_size = 32

    def auth_failure(self, given: str | None, path: str) -> tuple[int, str] | None:
        expected = self.state.api_key
        if expected is None or given == f"Bearer {expected}":
            return None
        return 401, ""

    def error_body(self, status: int, message: str) -> Any:
        if status == 401:
            return None
        kind = {400: "Empty", 422: "Validation", 429: "Overloaded", 424: "Backend",
                503: "Unhealthy"}.get(status, "Backend")
        return {"error": message, "error_type": kind}

    def default_message(self, status: int) -> str:
        return "Model is overloaded" if status == 429 else super().default_message(status)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        query = body.get("query")
        if not isinstance(query, str):
            raise Reject(422, "Failed to deserialize the JSON body: missing field `query`")
        texts = body.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise Reject(422, "Failed to deserialize the JSON body: `texts` must be strings")
        if not texts:
            raise Reject(400, "`texts` cannot be empty")
        limit = self.state.max_documents or self.max_client_batch_size
        if len(texts) > limit:
            raise Reject(422, f"batch size {len(texts)} > maximum allowed batch size {limit}")
        truncate = body.get("truncate")
        if truncate is None:
            truncate = True  # --auto-truncate, the default since v1.9
        direction = str(body.get("truncation_direction", "right")).lower()
        if direction not in ("left", "right"):
            raise Reject(422, "truncation_direction must be left or right")
        raw_scores = optional_bool(body, "raw_scores", False, status=422)
        return_text = optional_bool(body, "return_text", False, status=422)
        q = count_tokens(query)
        cut = []
        for text in texts:
            words = tokens(text)
            room = max(0, self.max_input_length - q)
            if len(words) > room:
                if not truncate:
                    raise Reject(422, "Input validation error: `inputs` must have less than "
                                      f"{self.max_input_length} tokens. Given: {q + len(words)}")
                words = words[-room:] if direction == "left" else words[:room]
            cut.append(" ".join(words))
        items = []
        for index, score in self.rank(query, cut):
            logit = 8.0 * score - 4.0
            value = logit if raw_scores else 1.0 / (1.0 + math.exp(-logit))
            item: dict[str, Any] = {"index": index, "score": value}
            if return_text:
                item["text"] = texts[index]
            items.append(item)
        compute_tokens = sum(q + count_tokens(t) for t in cut)
        headers = {"x-compute-type": "cpu", "x-compute-tokens": str(compute_tokens),
                   "x-compute-characters": str(sum(len(query) + len(t) for t in texts))}
        return items, headers

    def timing_headers(self, timing: Timing) -> dict[str, str]:
        """TEI's timing headers, in whole ms as TEI writes them (``as_millis()``), from
        the server's own clock: the queue wait and service time of the capacity model;
        tokenization here takes no time."""
        total = _whole_ms(timing.total_s)
        return {"x-compute-time": total, "x-total-time": total,
                "x-tokenization-time": "0", "x-queue-time": _whole_ms(timing.queue_s),
                "x-inference-time": _whole_ms(timing.service_s)}

    def mutate(self, payload: Any, how: str) -> Any:
        return mutate_results(payload, None, "score", how)


def _whole_ms(seconds: float) -> str:
    """Whole milliseconds, cut down as Rust's ``Duration::as_millis`` does (rounded to
    the microsecond first, so 0.05 s is 50 ms, not 49)."""
    return str(round(seconds * 1_000_000) // 1000)
