"""What every remote reranker does, whatever its wire format.

A :class:`RemoteReranker` is composed from a provider's :class:`~.profile.ProviderProfile`
(where it lives, auth, limits, price), a dialect (:mod:`.dialect`: request body and
answer reading, pure functions), an :class:`~.http.client.HttpClient` and a
:class:`~.cache.ResponseCache`. For each call it:

1. splits the candidates into requests of at most ``max_documents_per_request``
   (:mod:`.splitting`) and has the dialect build each body;
2. looks the whole request up in the disk cache — and in the requests already in
   flight, so two identical calls send one request;
3. sends the requests through the client (retries, pacing, concurrency cap, timeouts,
   typed errors);
4. has the dialect read each answer, validates it (:mod:`.validation`), merges, computes
   usage and cost (:mod:`rerank_eval.pricing`), sums the server's reported timing
   (``server_ms``) over the parts, and stores the response in the cache.

Options common to every remote kind (inline ``?k=v`` or a suite table):

``api_key``, ``base_url`` (else the provider's env vars), ``cache`` (bool),
``concurrency`` (in-flight requests and harness concurrency, default 8),
``timeout`` (s, one whole try: connect to the last byte of the answer) /
``connect_timeout`` (s), ``deadline`` (s, one call from its first send to its end, every
retry and wait included; default none), ``max_retries``, ``retry_base_delay`` (s),
``retry_max_delay`` (s), ``max_retry_wait`` (total s of waits between tries), ``rpm`` /
``tpm`` (requests / tokens per minute, counted when a request is sent),
``max_response_bytes`` (answers above it are refused; default 32 MB),
``max_documents_per_request``, and a price override
``price_usd_per_1m_tokens`` or ``price_usd_per_1k_search_units``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from rerank_eval import pricing
from rerank_eval.rerankers.base import Runtime
from rerank_eval.rerankers.remote.cache import (
    DamagedEntry,
    ResponseCache,
    as_hit,
    from_record,
    request_key,
    to_record,
)
from rerank_eval.rerankers.remote.dialect import Answer, Dialect, MalformedAnswer, Parsed
from rerank_eval.rerankers.remote.http.client import (
    DEFAULT_MAX_RESPONSE_BYTES,
    HttpClient,
    HttpResult,
    HttpSettings,
)
from rerank_eval.rerankers.remote.http.errors import (
    MalformedResponseError,
    MissingAPIKeyError,
    ProviderError,
)
from rerank_eval.rerankers.remote.http.retry import RetryPolicy
from rerank_eval.rerankers.remote.profile import ProviderProfile, first_env, join_endpoint
from rerank_eval.rerankers.remote.splitting import merge, slice_top_n, split_ranges
from rerank_eval.rerankers.remote.validation import check_ranking
from rerank_eval.rerankers.spec import RerankerSpec, RerankerSpecError, option
from rerank_eval.secrets import Secret, safe_url
from rerank_eval.types import (
    Document,
    RankedResult,
    RerankRequest,
    RerankResponse,
    Usage,
    attach_usage,
    take_usage,
)

log = logging.getLogger("rerank_eval.remote")

DEFAULT_CONCURRENCY = 8


def check_remote_options(spec: RerankerSpec, profile: ProviderProfile) -> None:
    """Unknown options are refused; a provider knob this provider lacks says so."""
    from rerank_eval.rerankers.remote.profile import REQUEST_KNOBS
    from rerank_eval.rerankers.spec import check_options

    hints = dict(profile.option_hints)
    for knob in REQUEST_KNOBS:
        if knob in spec.options and knob not in profile.allowed_options:
            instead = f"; use {hints[knob]}" if knob in hints else ""
            raise RerankerSpecError(
                f"reranker {spec.text!r}: {profile.kind} does not support "
                f"{knob}={spec.options[knob]!r}{instead}")
    check_options(spec, profile.allowed_options)


def sum_server_ms(parts: Sequence[Mapping[str, float] | None]) -> dict[str, float] | None:
    """The server timing of a split call: each phase summed over the parts that reported
    it (server time spent, not wall time: the parts run at once); None if none did."""
    total: dict[str, float] = {}
    for timing in parts:
        for phase, ms in (timing or {}).items():
            total[phase] = total.get(phase, 0.0) + ms
    return total or None


class RemoteReranker:
    """One HTTP reranker: a profile and a dialect over the shared client and cache."""

    def __init__(self, spec: RerankerSpec, profile: ProviderProfile, dialect: Dialect,
                 runtime: Runtime | None = None, *, base_url: str | None = None,
                 name: str | None = None) -> None:
        """``base_url``: the provider's URL from the spec argument (TEI), which the
        ``base_url`` option still overrides; ``name``: other than ``kind:arg``."""
        runtime = runtime or Runtime()
        check_remote_options(spec, profile)
        self.spec = spec
        self.profile = profile
        self.dialect = dialect
        self.kind = profile.kind
        if profile.arg_is_model and profile.model_required and not spec.arg:
            raise RerankerSpecError(f"reranker {spec.text!r}: give a model, e.g. "
                                    f"{profile.kind}:MODEL")
        self.model = profile.model_from(spec.arg)
        self.name = name or (f"{profile.kind}:{spec.arg}" if spec.arg else profile.kind)
        self.max_concurrency = option(spec, "concurrency", int, DEFAULT_CONCURRENCY)
        self.max_documents_per_request = option(spec, "max_documents_per_request", int,
                                                profile.max_documents)
        if self.max_documents_per_request is not None and self.max_documents_per_request < 1:
            raise RerankerSpecError(f"reranker {spec.text!r}: max_documents_per_request "
                                    "must be >= 1")
        api_key = self._resolve_api_key(spec)
        self.url = join_endpoint(self._resolve_base_url(spec, base_url), profile.endpoint_path)
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
                max_response_bytes=option(spec, "max_response_bytes", int,
                                          DEFAULT_MAX_RESPONSE_BYTES),
                deadline_s=option(spec, "deadline", float, None),
            )
            override = pricing.override_price(
                profile.price_provider or profile.kind, self.model,
                per_1m_tokens=option(spec, "price_usd_per_1m_tokens", float, None),
                per_1k_search_units=option(spec, "price_usd_per_1k_search_units", float, None))
        except ValueError as exc:
            raise RerankerSpecError(f"reranker {spec.text!r}: {exc}") from None
        self.http = HttpClient(profile.kind, self.url, api_key, settings,
                               auth_header=profile.auth_header, auth_scheme=profile.auth_scheme,
                               transport=runtime.transport, clock=runtime.clock)
        self.clock = self.http.clock
        self.cache = ResponseCache(enabled=option(spec, "cache", bool, True)
                                   and runtime.response_cache)
        self.price = override or (pricing.find_price(profile.price_provider, self.model)
                                  if profile.price_provider else None)
        self._inflight: dict[str, asyncio.Future[RerankResponse]] = {}
        self.share_in_flight = runtime.share_in_flight

    def __repr__(self) -> str:
        return f"RemoteReranker(name={self.name!r}, url={safe_url(self.url)!r})"

    # -- configuration ----------------------------------------------------------------

    def _resolve_api_key(self, spec: RerankerSpec) -> Secret | None:
        env_names = self.profile.api_key_env
        value = option(spec, "api_key", str, None)
        if not value:
            value, _ = first_env(env_names)
        if not value:
            if self.profile.api_key_required:
                env = " or ".join(env_names) or "an env var"
                raise MissingAPIKeyError(
                    self.kind, f"no API key for {spec.text!r}: set {env}, "
                               "or give the api_key option in the suite")
            return None
        return Secret(value)

    def _resolve_base_url(self, spec: RerankerSpec, from_arg: str | None) -> str:
        value = option(spec, "base_url", str, None) or from_arg
        if not value:
            value, _ = first_env(self.profile.base_url_env)
        value = value or self.profile.default_base_url
        if not value:
            env = " or ".join(self.profile.base_url_env)
            raise RerankerSpecError(f"reranker {spec.text!r}: no base URL; set {env} or "
                                    "give the base_url option")
        if not re.match(r"^https?://", value):
            raise RerankerSpecError(f"reranker {spec.text!r}: base URL {safe_url(value)!r} "
                                    "must start with http:// or https://")
        return value

    @staticmethod
    def estimate_tokens(query: str, documents: Sequence[Document]) -> float:
        """Rough token count (4 characters a token) used only to pace ``tpm``."""
        chars = len(query) * len(documents) + sum(len(d.text) for d in documents)
        return chars / 4.0

    # -- the call ---------------------------------------------------------------------

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        started = self.clock.monotonic()
        documents = request.documents
        if not documents:
            return RerankResponse(results=[], usage=Usage(), latency_s=0.0,
                                  score_kind="provider")
        parts = split_ranges(len(documents), self.max_documents_per_request)
        try:
            bodies = [self.dialect.build_body(request.query, [documents[i] for i in part],
                                              slice_top_n(request.top_n, part))
                      for part in parts]
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        key = request_key(self.kind, safe_url(self.url), bodies)

        hit = self._cached(key, request)
        if hit is not None:
            return hit
        share = self.share_in_flight
        pending = self._inflight.get(key) if share else None
        if pending is not None:
            return as_hit(await asyncio.shield(pending))

        future: asyncio.Future[RerankResponse] = asyncio.get_running_loop().create_future()
        if share:
            self._inflight[key] = future
        try:
            # another process sharing the cache may be fetching the same key: wait for
            # its claim, then take its answer from the cache instead of paying again
            async with self.cache.claim(self.kind, key):
                hit = self._cached(key, request)
                if hit is not None:
                    future.set_result(hit)
                    return hit
                response = await self._send_all(request, parts, bodies, started)
                try:  # inside the claim: a waiting process then finds it
                    self.cache.put(self.kind, key, to_record(self.name, response))
                except (OSError, ValueError) as exc:  # a full disk must not lose a paid answer
                    log.warning("%s: could not write the response cache: %s", self.name, exc)
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
            return response
        finally:
            if share:
                self._inflight.pop(key, None)

    def _cached(self, key: str, request: RerankRequest) -> RerankResponse | None:
        """The cache's answer; a damaged entry is reported, removed and is a miss."""
        cached = self.cache.get(self.kind, key)
        if cached is None:
            return None
        try:
            return from_record(cached, len(request.documents), request.top_n)
        except DamagedEntry as exc:
            log.warning("%s: damaged response-cache entry %s (%s); removed, fetching again",
                        self.name, key[:12], exc)
            self.cache.discard(self.kind, key)
            return None

    async def _send_one(self, request: RerankRequest, part: range,
                        body: dict[str, Any]) -> tuple[HttpResult, Parsed, list[RankedResult]]:
        docs = [request.documents[i] for i in part]
        try:
            result = await self.http.post_json(
                body, token_estimate=self.estimate_tokens(request.query, docs))
        except ProviderError as exc:
            sent = exc.retries + 1
            rejected = int(isinstance(exc, MalformedResponseError)
                           and exc.status is not None and 200 <= exc.status < 300)
            attach_usage(exc, Usage(requests=sent, requests_failed=sent,
                                    requests_rejected=rejected, retries=exc.retries,
                                    retry_wait_s=exc.retry_wait_s))
            raise
        part_top_n = slice_top_n(request.top_n, part) if self.dialect.sends_top_n else None
        parsed: Parsed | None = None
        try:
            parsed = self.dialect.parse(Answer(result.data, result.headers))
            ranking = check_ranking(parsed.pairs, len(part), part_top_n)
        except MalformedAnswer as exc:
            # the provider answered (and bills it), but the answer is unusable
            error = self.http.malformed(result, exc.reason)
            usage = self._part_usage(result, parsed)
            attach_usage(error, replace(usage, requests_failed=result.requests_sent,
                                        requests_rejected=1))
            raise error from None
        return result, parsed, ranking

    @staticmethod
    def _part_usage(result: HttpResult, parsed: Parsed | None) -> Usage:
        """What one request (with its retries) sent; failed tries are ``requests_failed``."""
        return Usage(requests=result.requests_sent, requests_failed=result.retries,
                     tokens=parsed.tokens if parsed else None,
                     search_units=parsed.search_units if parsed else None,
                     cost_usd=parsed.cost_usd if parsed else None,
                     retries=result.retries, retry_wait_s=result.retry_wait_s)

    def _priced(self, usage: Usage, reported_costs: list[float | None]) -> Usage:
        """``usage`` with its cost: the provider's own when every part reported one, else
        reported units x the dated price, else unknown."""
        if reported_costs and all(c is not None for c in reported_costs):
            cost: float | None = sum(c for c in reported_costs if c is not None)
        elif self.price is not None:
            cost = self.price.cost(tokens=usage.tokens, search_units=usage.search_units)
        else:
            cost = None
        return usage.with_cost(cost)

    async def _send_all(self, request: RerankRequest, parts: list[range],
                        bodies: list[dict[str, Any]], started: float) -> RerankResponse:
        tasks = [asyncio.ensure_future(self._send_one(request, part, body))
                 for part, body in zip(parts, bodies, strict=True)]
        try:
            done = await asyncio.gather(*tasks)
        except BaseException as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._attach_failed_usage(exc, tasks)
            raise
        usage = Usage(split_requests=len(parts) - 1)
        reported_costs: list[float | None] = []
        for result, parsed, _ in done:
            part = self._part_usage(result, parsed)
            usage = usage + part.with_cost(None)
            reported_costs.append(parsed.cost_usd)
        results = merge([(part, ranking) for part, (_, _, ranking) in zip(parts, done,
                                                                           strict=True)],
                        request.top_n)
        return RerankResponse(results=results, usage=self._priced(usage, reported_costs),
                              latency_s=self.clock.monotonic() - started,
                              score_kind="provider",
                              server_ms=sum_server_ms([parsed.server_ms
                                                       for _, parsed, _ in done]))

    def _attach_failed_usage(self, error: BaseException,
                             tasks: list[asyncio.Future[Any]]) -> None:
        """Put on the raised error what every part of the failed call sent and was billed:
        the parts that succeeded, the failed ones (with their retries), rejected answers.
        (A part cancelled while its request was in flight is not counted: unknowable.)"""
        if isinstance(error, asyncio.CancelledError):
            return
        total = Usage(split_requests=len(tasks) - 1)
        reported_costs: list[float | None] = []
        for task in tasks:
            if not task.done() or task.cancelled():
                continue
            failure = task.exception()
            if failure is None:
                result, parsed, _ = task.result()
                part = self._part_usage(result, parsed)
            else:
                part = take_usage(failure) or Usage()
            reported_costs.append(part.cost_usd)
            total = total + part.with_cost(None)
        attach_usage(error, self._priced(total, reported_costs))

    async def aclose(self) -> None:
        await self.http.aclose()
