"""Fakes of the Cohere-shaped platforms: the generic platform, MixRoute, SearchRouter,
OneRouter/Infron (``seed-apis/``), vLLM and Infinity (``provider-apis.md`` §6, §7).

Each validates what its page documents and answers in its own shape: usage fields,
echoed documents, error envelopes and auth rules differ.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from rerank_eval.testing.fakes.scoring import cohere_results, count_tokens, tokens
from rerank_eval.testing.fakes.server import Dialect, Reject, bearer_auth_failure
from rerank_eval.testing.fakes.validation import (
    doc_text,
    optional_bool,
    optional_int,
    require_list,
    require_str,
)


class _CohereShaped(Dialect):
    """Shared request reading; subclasses decide the extras and the answer's shape."""

    paths = ("/v1/rerank",)
    strings_only = False
    model_required = True
    return_documents_default = False

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "invalid_request_error"
                          if status < 500 else "server_error", "code": status}}

    def read(self, body: dict[str, Any]) -> tuple[str, list[Any], list[str], int | None, bool]:
        if self.model_required:
            require_str(body, "model", message="model is required")
        query = require_str(body, "query", message="query is required")
        documents = require_list(body, "documents", message="documents must be a non-empty "
                                                            "array", max_items=self.max_items())
        if self.strings_only:
            for i, doc in enumerate(documents):
                if not isinstance(doc, str):
                    raise Reject(400, f"documents[{i}] must be a string")
        texts = [doc_text(d, i) for i, d in enumerate(documents)]
        top_n = optional_int(body, "top_n", minimum=self.top_n_minimum())
        return_documents = optional_bool(body, "return_documents",
                                         self.return_documents_default)
        return query, documents, texts, top_n or None, return_documents

    def max_items(self) -> int | None:
        return self.state.max_documents

    def top_n_minimum(self) -> int:
        return 1

    def ranked(self, query: str, texts: list[str], top_n: int | None) -> list[tuple[int, float]]:
        out = self.rank(query, texts)
        return out if top_n is None else out[:top_n]

    @staticmethod
    def token_count(query: str, texts: list[str]) -> int:
        q = count_tokens(query)
        return sum(q + count_tokens(t) for t in texts)


class GenericDialect(_CohereShaped):
    """The generic platform page: objects allowed, truncate/max_tokens/metadata/user/extra_body."""

    name = "compatible"
    max_document_tokens = 64

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        query, documents, texts, top_n, return_documents = self.read(body)
        truncate = body.get("truncate")
        if truncate is not None and truncate not in ("none", "start", "end"):
            raise Reject(400, "truncate must be one of none, start, end")
        max_tokens = optional_int(body, "max_tokens_per_document")
        for key, kind in (("metadata", dict), ("extra_body", dict), ("user", str)):
            if key in body and not isinstance(body[key], kind):
                raise Reject(400, f"{key} must be a{'n object' if kind is dict else ' string'}")
        budget = max_tokens or self.max_document_tokens
        cut = []
        for i, text in enumerate(texts):
            words = tokens(text)
            if len(words) > budget:
                if truncate == "none":
                    raise Reject(400, f"document {i} has {len(words)} tokens, more than "
                                      f"{budget}, and truncate is none")
                words = words[-budget:] if truncate == "start" else words[:budget]
            cut.append(" ".join(words))
        ranked = self.ranked(query, cut, top_n)
        results = cohere_results(ranked, documents, return_documents)
        n = self.token_count(query, cut)
        return {"id": f"rerank_{uuid.uuid4().hex}", "object": "list", "model": body["model"],
                "results": results, "usage": {"prompt_tokens": n, "total_tokens": n}}, {}


class MixRouteDialect(_CohereShaped):
    name = "mixroute"

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        query, _, texts, top_n, return_documents = self.read(body)
        results = []
        for index, score in self.ranked(query, texts, top_n):
            item: dict[str, Any] = {"index": index, "relevance_score": score}
            if return_documents:
                item["document"] = {"text": texts[index]}
            results.append(item)
        return {"id": f"rerank_{uuid.uuid4().hex[:6]}", "model": body["model"],
                "results": results,
                "usage": {"total_tokens": self.token_count(query, texts)}}, {}


class SearchRouterDialect(_CohereShaped):
    name = "searchrouter"
    paths = ("/api/v1/rerank",)
    strings_only = True
    return_documents_default = True
    cost_per_search_unit = 0.002

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        model = body.get("model")
        if not isinstance(model, str) or "/" not in model:
            raise Reject(400, "model must be a slug like cohere/rerank-v3.5")
        query, _, texts, top_n, return_documents = self.read(body)
        results = []
        for index, score in self.ranked(query, texts, top_n):
            results.append({"index": index, "relevance_score": score,
                            "document": {"text": texts[index]} if return_documents else None})
        units = math.ceil(len(texts) / 100)
        return {"id": f"sr-rerank-{uuid.uuid4().hex[:6]}", "model": model,
                "provider": model.split("/", 1)[0], "results": results,
                "usage": {"total_tokens": 0, "search_units": units,
                          "cost": round(units * self.cost_per_search_unit, 6)}}, {}


class OneRouterDialect(_CohereShaped):
    """OneRouter / Infron: strings (YAML for structured data), no usage in the answer."""

    name = "onerouter"
    strings_only = True

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        query, _, texts, top_n, _ = self.read(body)
        return {"id": uuid.uuid4().hex,
                "results": [{"index": i, "relevance_score": s}
                            for i, s in self.ranked(query, texts, top_n)]}, {}


class VllmDialect(_CohereShaped):
    """vLLM: auth only on /v1 paths, top_n 0 = all, documents always echoed, nested errors."""

    name = "vllm"
    paths = ("/v1/rerank", "/rerank", "/v2/rerank")
    strings_only = True
    model_required = False
    requires_key = False

    def auth_failure(self, given: str | None, path: str) -> tuple[int, str] | None:
        if not path.startswith("/v1"):
            return None
        return bearer_auth_failure(given, self.state.api_key)

    def error_body(self, status: int, message: str) -> Any:
        if status == 401:
            return {"error": "Unauthorized"}
        return {"error": {"message": message, "type": "BadRequestError" if status < 500
                          else "InternalServerError", "param": None, "code": status}}

    def top_n_minimum(self) -> int:
        return 0

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        query, _, texts, top_n, _ = self.read(body)
        tpt = body.get("truncate_prompt_tokens")
        if tpt is not None and (not isinstance(tpt, int) or tpt < -1):
            raise Reject(400, "truncate_prompt_tokens must be an integer >= -1")
        results = [{"index": i, "document": {"text": texts[i], "multi_modal": None},
                    "relevance_score": s} for i, s in self.ranked(query, texts, top_n)]
        n = self.token_count(query, texts)
        return {"id": f"rerank-{uuid.uuid4().hex}", "model": body.get("model", "served-model"),
                "usage": {"prompt_tokens": n, "total_tokens": n}, "results": results}, {}


class InfinityDialect(_CohereShaped):
    """Infinity: usage in characters, FastAPI 422 / 401 ``{"detail"}``, OpenAI-style others."""

    name = "infinity"
    paths = ("/rerank",)
    strings_only = True
    model_required = False
    requires_key = False

    def error_body(self, status: int, message: str) -> Any:
        if status in (401, 422):
            return {"detail": message if status == 401 else
                    [{"type": "value_error", "loc": ["body"], "msg": message}]}
        return {"error": {"message": message, "type": None, "param": None, "code": status}}

    def default_message(self, status: int) -> str:
        if status == 429:
            return "model default/not-specified is currently overloaded"
        return super().default_message(status)

    def auth_failure(self, given: str | None, path: str) -> tuple[int, str] | None:
        failure = bearer_auth_failure(given, self.state.api_key)
        return None if failure is None else (401, "Unauthorized")

    def max_items(self) -> int | None:
        return self.state.max_documents or 2048

    def handle(self, path: str, body: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        try:
            query, _, texts, top_n, return_documents = self.read(body)
        except Reject as reject:
            raise Reject(422, reject.message) from None
        results = [{"relevance_score": s, "index": i,
                    "document": texts[i] if return_documents else None}
                   for i, s in self.ranked(query, texts, top_n)]
        chars = sum(len(query) + len(t) for t in texts)
        return {"object": "rerank", "id": f"infinity-{uuid.uuid4()}",
                "created": int(time.time()), "model": body.get("model", "default/not-specified"),
                "results": results, "usage": {"prompt_tokens": chars, "total_tokens": chars}}, {}
