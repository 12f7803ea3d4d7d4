"""What every remote reranker does, whatever its wire format.

A provider module subclasses :class:`RemoteReranker` and says only what differs: its
env vars, default URL and path, per-request maximum, how to build one request body
and how to read one answer. This class does the rest, identically for all of them:

1. encode documents, split the candidates into requests of at most
   ``max_documents_per_request`` (:mod:`.splitting`);
2. look the whole request up in the disk cache (:mod:`.response_cache`) — and in the
   requests already in flight, so two identical calls send one request;
3. send the requests through the shared client (:mod:`.http`: retries, pacing,
   concurrency cap, timeouts, typed errors);
4. validate each answer (:mod:`.validation`), merge, compute usage and cost
   (:mod:`rerank_eval.pricing`), store in the cache.

Options common to every remote kind (inline ``?k=v`` or a suite table):

``api_key``, ``base_url`` (else the provider's env vars), ``cache`` (bool),
``concurrency`` (in-flight requests and harness concurrency, default 8),
``timeout`` / ``connect_timeout`` (s), ``max_retries``, ``retry_base_delay`` (s),
``retry_max_delay`` (s), ``max_retry_wait`` (total s), ``rpm`` / ``tpm`` (requests /
tokens per minute), ``max_documents_per_request``, and a price override
``price_usd_per_1m_tokens`` or ``price_usd_per_1k_search_units``.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rerank_eval import pricing
from rerank_eval.rerankers.base import RerankerSpec, RerankerSpecError, check_options, option
from rerank_eval.rerankers.errors import MissingAPIKeyError
from rerank_eval.rerankers.http import HttpClient, HttpResult, HttpSettings
from rerank_eval.rerankers.response_cache import ResponseCache, request_key
from rerank_eval.rerankers.retry import RetryPolicy
from rerank_eval.rerankers.splitting import merge, slice_top_n, split_ranges
from rerank_eval.rerankers.validation import validate_ranking
from rerank_eval.secrets import Secret, safe_url
from rerank_eval.text import clip
from rerank_eval.types import Document, RankedResult, RerankRequest, RerankResponse, Usage

log = logging.getLogger("rerank_eval.remote")

COMMON_OPTIONS = frozenset({
    "api_key", "base_url", "cache", "concurrency", "timeout", "connect_timeout",
    "max_retries", "retry_base_delay", "retry_max_delay", "max_retry_wait", "rpm", "tpm",
    "max_documents_per_request", "price_usd_per_1m_tokens", "price_usd_per_1k_search_units",
})

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class Parsed:
    """One answer, read but not yet validated: raw (index, score) pairs and reported usage."""

    pairs: list[tuple[Any, Any]]
    tokens: int | None = None
    search_units: float | None = None
    cost_usd: float | None = None
    """A cost the provider itself reported (SearchRouter's ``usage.cost``)."""


def join_endpoint(base_url: str, path: str) -> str:
    """``base_url`` + ``path``, tolerating a base that already holds the version or the path.

    ``https://api.x.com`` + ``/v1/rerank`` → ``https://api.x.com/v1/rerank``;
    ``https://ai.mongodb.com/v1`` + ``/v1/rerank`` → ``https://ai.mongodb.com/v1/rerank``;
    ``http://host/v1/rerank`` + ``/v1/rerank`` → unchanged.
    """
    base = base_url.rstrip("/")
    segments = [s for s in path.strip("/").split("/") if s]
    if not segments:
        return base
    if base.endswith("/" + "/".join(segments)) or base.endswith("/" + segments[-1]):
        return base
    last = base.rsplit("/", 1)[-1]
    if re.fullmatch(r"v\d+", last) and re.fullmatch(r"v\d+", segments[0]):
        return base + "/" + "/".join(segments[1:])
    return base + "/" + "/".join(segments)


def first_env(names: Sequence[str]) -> tuple[str | None, str | None]:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value, name
    return None, None


class RemoteReranker:
    """The shared body of every HTTP reranker. Subclasses fill in the class attributes."""

    kind: ClassVar[str] = "remote"
    """Registry kind, first half of ``name`` and of the cache folder."""
    price_provider: ClassVar[str | None] = None
    """Provider name in ``pricing.toml``; None: no price table entry can apply."""
    api_key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str | None] = None
    endpoint_path: ClassVar[str] = "/v1/rerank"
    api_key_required: ClassVar[bool] = True
    max_documents: ClassVar[int | None] = 1000
    document_style: ClassVar[str] = "string"
    provider_options: ClassVar[frozenset[str]] = frozenset()
    model_required: ClassVar[bool] = True
    supports_top_n: ClassVar[bool] = True
    """False: the server always scores every document (TEI); top_n is applied here."""

    def __init__(self, spec: RerankerSpec) -> None:
        check_options(spec, set(COMMON_OPTIONS | self.provider_options))
        self.spec = spec
        self.model = self._model_from(spec)
        self.name = f"{self.kind}:{spec.arg}" if spec.arg else self.kind
        self.max_concurrency = option(spec, "concurrency", int, DEFAULT_CONCURRENCY)
        self.max_documents_per_request = option(spec, "max_documents_per_request", int,
                                                self.max_documents)
        if self.max_documents_per_request is not None and self.max_documents_per_request < 1:
            raise RerankerSpecError(f"reranker {spec.text!r}: max_documents_per_request "
                                    "must be >= 1")
        self._api_key = self._resolve_api_key(spec)
        base_url = self._resolve_base_url(spec)
        self.url = join_endpoint(base_url, self.endpoint_path_for(spec))
        try:
            retry = RetryPolicy(
                max_retries=option(spec, "max_retries", int, 4),
                base_delay_s=option(spec, "retry_base_delay", float, 0.5),
                max_delay_s=option(spec, "retry_max_delay", float, 30.0),
                max_total_wait_s=option(spec, "max_retry_wait", float, 120.0),
            )
            settings = HttpSettings(
                timeout_s=option(spec, "timeout", float, 60.0),
                connect_timeout_s=option(spec, "connect_timeout", float, 10.0),
                concurrency=self.max_concurrency,
                requests_per_minute=option(spec, "rpm", float, None),
                tokens_per_minute=option(spec, "tpm", float, None),
                retry=retry,
            )
            override = pricing.override_price(
                self.price_provider or self.kind, self.model,
                per_1m_tokens=option(spec, "price_usd_per_1m_tokens", float, None),
                per_1k_search_units=option(spec, "price_usd_per_1k_search_units", float, None))
        except ValueError as exc:
            raise RerankerSpecError(f"reranker {spec.text!r}: {exc}") from None
        self.http = HttpClient(self.kind, self.url, self._api_key, settings,
                               **self.auth_header())
        self.cache = ResponseCache(enabled=option(spec, "cache", bool, True))
        self.price = override or (pricing.find_price(self.price_provider, self.model)
                                  if self.price_provider else None)
        self._inflight: dict[str, asyncio.Future[RerankResponse]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={safe_url(self.url)!r})"

    # -- configuration hooks ----------------------------------------------------------

    def _model_from(self, spec: RerankerSpec) -> str | None:
        if self.model_required and not spec.arg:
            raise RerankerSpecError(f"reranker {spec.text!r}: give a model, e.g. "
                                    f"{self.kind}:MODEL")
        return spec.arg

    def endpoint_path_for(self, spec: RerankerSpec) -> str:
        return self.endpoint_path

    def auth_header(self) -> dict[str, Any]:
        return {}

    def _resolve_api_key(self, spec: RerankerSpec) -> Secret | None:
        value = option(spec, "api_key", str, None)
        if not value:
            value, _ = first_env(self.api_key_env)
        if not value:
            if self.api_key_required:
                env = " or ".join(self.api_key_env) or "an env var"
                raise MissingAPIKeyError(
                    self.kind, f"no API key for {spec.text!r}: set {env}, "
                               "or give the api_key option in the suite")
            return None
        return Secret(value)

    def _resolve_base_url(self, spec: RerankerSpec) -> str:
        value = option(spec, "base_url", str, None)
        if not value:
            value, _ = first_env(self.base_url_env)
        value = value or self.default_base_url
        if not value:
            env = " or ".join(self.base_url_env)
            raise RerankerSpecError(f"reranker {spec.text!r}: no base URL; set {env} or "
                                    "give the base_url option")
        if not re.match(r"^https?://", value):
            raise RerankerSpecError(f"reranker {spec.text!r}: base URL {safe_url(value)!r} "
                                    "must start with http:// or https://")
        return value

    # -- dialect hooks ----------------------------------------------------------------

    def build_body(self, request: RerankRequest, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, result: HttpResult) -> Parsed:
        raise NotImplementedError

    def encode_documents(self, request: RerankRequest,
                         documents: Sequence[Document]) -> list[Any]:
        from rerank_eval.rerankers.doc_encoding import encode

        try:
            return encode(documents, self.document_style, request.rank_fields)
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None

    def estimate_tokens(self, request: RerankRequest, documents: Sequence[Document]) -> float:
        """Rough token count (4 characters a token) used only to pace ``tpm``."""
        chars = len(request.query) * len(documents) + sum(len(d.text) for d in documents)
        return chars / 4.0

    def unsupported(self, request: RerankRequest, *fields: str) -> None:
        """Refuse request knobs this provider cannot honour and that would change results."""
        for name in fields:
            value = getattr(request, name)
            if value is not None and value is not False:
                raise ValueError(f"{self.name} does not support {name}={value!r}")

    # -- reading answers --------------------------------------------------------------

    def items(self, result: HttpResult, data: Any, key: str | None) -> list[Any]:
        items = data if key is None else (data.get(key) if isinstance(data, dict) else None)
        if not isinstance(items, list):
            where = "the body" if key is None else f"'{key}'"
            raise self.http.malformed(result, f"{where} is not a list of results: "
                                              f"{clip(data)}")
        return items

    def pairs(self, result: HttpResult, items: list[Any], score_key: str) -> list[tuple[Any, Any]]:
        out = []
        for position, item in enumerate(items):
            if not isinstance(item, dict) or "index" not in item or score_key not in item:
                raise self.http.malformed(
                    result, f"result {position} lacks 'index' or '{score_key}': {clip(item)}")
            out.append((item["index"], item[score_key]))
        return out

    def usage_tokens(self, result: HttpResult, *keys: str) -> float | None:
        """Tokens from ``usage.<key>``, the first of ``keys`` the answer has; None if unreported."""
        usage = result.data.get("usage") if isinstance(result.data, dict) else None
        if not isinstance(usage, dict):
            return None
        value = next((usage[key] for key in keys if key in usage), None)
        return self.number(result, value, f"usage.{keys[0]}")

    def number(self, result: HttpResult, value: Any, what: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.http.malformed(result, f"{what} is not a non-negative number: {value!r}")
        return value

    # -- the call ---------------------------------------------------------------------

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = time.perf_counter()
        documents = request.documents
        if not documents:
            return RerankResponse(results=[], usage=Usage(), latency_s=0.0,
                                  score_kind="provider")
        parts = split_ranges(len(documents), self.max_documents_per_request)
        bodies = []
        for part in parts:
            body = self.build_body(request, [documents[i] for i in part],
                                   slice_top_n(request.top_n, part))
            bodies.append(body)
        key = request_key(self.kind, safe_url(self.url), bodies)

        cached = self.cache.get(self.kind, key)
        if cached is not None:
            try:
                return self._from_record(cached, len(documents), request.top_n)
            except (KeyError, TypeError, ValueError):
                log.warning("%s: ignoring unreadable cache entry %s", self.name, key[:12])
        pending = self._inflight.get(key)
        if pending is not None:
            original = await asyncio.shield(pending)
            return self._as_hit(original)

        future: asyncio.Future[RerankResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            response = await self._send_all(request, parts, bodies, started)
        except BaseException as exc:
            if not future.done():
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # mark retrieved: waiters re-raise it
            raise
        else:
            future.set_result(response)
            try:
                self.cache.put(self.kind, key, self._to_record(response))
            except (OSError, ValueError) as exc:  # a full disk must not lose a paid answer
                log.warning("%s: could not write the response cache: %s", self.name, exc)
            return response
        finally:
            self._inflight.pop(key, None)

    async def _send_all(self, request: RerankRequest, parts: list[range],
                        bodies: list[dict[str, Any]], started: float) -> RerankResponse:
        async def one(part: range, body: dict[str, Any]) -> tuple[HttpResult, Parsed, list]:
            docs = [request.documents[i] for i in part]
            result = await self.http.post_json(body,
                                               token_estimate=self.estimate_tokens(request, docs))
            parsed = self.parse(result)
            part_top_n = slice_top_n(request.top_n, part) if self.supports_top_n else None
            ranking = validate_ranking(parsed.pairs, len(part), part_top_n,
                                       lambda reason, r=result: self.http.malformed(r, reason))
            return result, parsed, ranking

        tasks = [asyncio.ensure_future(one(part, body)) for part, body in zip(parts, bodies,
                                                                            strict=True)]
        try:
            done = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        usage = Usage(split_requests=len(parts) - 1)
        reported_costs: list[float | None] = []
        for result, parsed, _ in done:
            usage = usage + Usage(requests=result.requests_sent, tokens=parsed.tokens,
                                  search_units=parsed.search_units, retries=result.retries,
                                  retry_wait_s=result.retry_wait_s)
            reported_costs.append(parsed.cost_usd)
        if reported_costs and all(c is not None for c in reported_costs):
            cost: float | None = sum(c for c in reported_costs if c is not None)
        elif self.price is not None:
            cost = self.price.cost(tokens=usage.tokens, search_units=usage.search_units)
        else:
            cost = None
        results = merge([(part, ranking) for part, (_, _, ranking) in zip(parts, done,
                                                                           strict=True)],
                        request.top_n)
        return RerankResponse(results=results, usage=usage.with_cost(cost),
                              latency_s=time.perf_counter() - started, score_kind="provider")

    # -- cache records ----------------------------------------------------------------

    def _to_record(self, response: RerankResponse) -> dict[str, Any]:
        u = response.usage
        return {
            "reranker": self.name,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "results": [[r.index, r.relevance_score] for r in response.results],
            "usage": {"requests": u.requests, "tokens": u.tokens,
                      "search_units": u.search_units, "cost_usd": u.cost_usd,
                      "split_requests": u.split_requests},
            "latency_s": response.latency_s,
        }

    def _from_record(self, record: dict[str, Any], n_docs: int,
                     top_n: int | None) -> RerankResponse:
        results = [RankedResult(int(i), float(s)) for i, s in record["results"]]
        expected = n_docs if top_n is None else min(top_n, n_docs)
        if len(results) != expected or len({r.index for r in results}) != expected:
            raise ValueError("cached ranking does not fit the request")
        u = record["usage"]
        usage = Usage(requests=0, tokens=u.get("tokens"), search_units=u.get("search_units"),
                      cost_usd=u.get("cost_usd"), cache_hits=1,
                      split_requests=int(u.get("split_requests", 0)))
        return RerankResponse(results=results, usage=usage,
                              latency_s=float(record["latency_s"]), score_kind="provider")

    @staticmethod
    def _as_hit(original: RerankResponse) -> RerankResponse:
        u = original.usage
        usage = Usage(requests=0, tokens=u.tokens, search_units=u.search_units,
                      cost_usd=u.cost_usd, cache_hits=1, split_requests=u.split_requests)
        return RerankResponse(results=original.results, usage=usage,
                              latency_s=original.latency_s, score_kind=original.score_kind)

    async def aclose(self) -> None:
        await self.http.aclose()


def with_extra_body(body: dict[str, Any], request: RerankRequest) -> dict[str, Any]:
    """Merge ``request.extra_body`` into the top level of ``body`` (pass-through fields)."""
    if request.extra_body:
        body.update(request.extra_body)
    return body
