"""The one HTTP client every remote reranker uses.

- one ``httpx.AsyncClient`` per reranker (connection reuse), rebuilt if the reranker is
  used from a new event loop;
- at most ``concurrency`` requests in flight (a semaphore, released while backing off),
  and at least that many connections in its pools, so all of them reach the server at
  once (a load test runs 256 and more); an injected transport brings its own pool (an
  ``httpx.AsyncHTTPTransport`` holds 100 connections unless told otherwise);
- requests/tokens per minute pacing (:mod:`.ratelimit`);
- timeouts: ``timeout_s`` bounds one whole try (connect to the last byte of the body, not
  each read), ``connect_timeout_s`` the connect; ``deadline_s`` (optional) bounds one call
  from its first send to its end, every retry and wait included;
- a cap on the size of an answer (``max_response_bytes``, default 32 MB): the body is
  read in chunks and refused beyond the cap; any decoding failure (bad JSON, nesting too
  deep) is a :class:`MalformedResponseError` naming provider, URL and request number;
- the retry loop (:mod:`.retry`); a server-requested wait after a 429 pauses *every*
  request of this reranker, not just the one that got it;
- typed errors (:mod:`.errors`) carrying the provider's message, the status and the
  request number, with the API key redacted.

The transport (``httpx.AsyncBaseTransport``: tests pass ``httpx.ASGITransport`` over an
in-process fake) and the clock (:mod:`.clock`: waits, the pause, pacing, elapsed time)
are injectable.

The key travels only in the request header; it is never in the client's repr, in a
message, or in a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from rerank_eval.rerankers.remote.http.clock import SYSTEM_CLOCK, Clock
from rerank_eval.rerankers.remote.http.errors import (
    MalformedResponseError,
    ProviderError,
    RequestTimeoutError,
    TransportError,
    error_for_status,
    provider_message,
)
from rerank_eval.rerankers.remote.http.ratelimit import RateLimiter
from rerank_eval.rerankers.remote.http.retry import RetryPolicy
from rerank_eval.secrets import Secret, redact, safe_url

log = logging.getLogger("rerank_eval.http")

USER_AGENT = "rerank-eval/0.1 (+httpx)"

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""Answers larger than this are refused (option ``max_response_bytes``)."""

ERROR_BODY_BYTES = 64 * 1024
"""How much of a non-2xx body is read for its message."""

POOL_SHARD_SIZE = 4
"""Connections per httpx pool. httpcore rescans its whole pool on every request state
change, which costs O(connections x requests) CPU per request; several small pools
(each request goes to the least busy) keep a 16-way client well under 1 ms a request."""


@dataclass(frozen=True)
class HttpSettings:
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    deadline_s: float | None = None
    """Bound on one call from its first send to its end, retries and waits included
    (``None``: only ``max_retries``, ``timeout_s`` per try and ``max_total_wait_s``)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("timeouts must be > 0")
        if self.max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be >= 1, got {self.max_response_bytes}")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise ValueError(f"deadline must be > 0, got {self.deadline_s}")


@dataclass(frozen=True)
class HttpResult:
    """A 2xx answer, parsed, with what it took to get it."""

    status: int
    data: Any
    headers: httpx.Headers
    request_number: int
    retries: int
    retry_wait_s: float
    elapsed_s: float

    @property
    def requests_sent(self) -> int:
        return self.retries + 1


class _TooLarge(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verified TLS context for every pool (loading the CA bundle costs ~25 ms)."""
    return httpx.create_ssl_context()


class HttpClient:
    """POSTs JSON to one endpoint with retries, pacing and a concurrency cap."""

    def __init__(self, provider: str, url: str, api_key: Secret | None,
                 settings: HttpSettings | None = None, *,
                 auth_header: str = "Authorization", auth_scheme: str | None = "Bearer",
                 extra_headers: dict[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self.provider = provider
        self.url = url
        self.display_url = safe_url(url)
        self.settings = settings or HttpSettings()
        self._api_key = api_key
        self._auth_header = auth_header
        self._auth_scheme = auth_scheme
        self._extra_headers = dict(extra_headers or {})
        self._transport = transport
        self.clock = clock or SYSTEM_CLOCK
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(self.settings.requests_per_minute,
                                    self.settings.tokens_per_minute, clock=self.clock)
        self._clients: list[httpx.AsyncClient] = []
        self._shard_load: list[int] = []
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paused_until = 0.0
        self._counter = 0
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"HttpClient(provider={self.provider!r}, url={self.display_url!r})"

    # -- plumbing ---------------------------------------------------------------------

    def _ensure_loop(self) -> tuple[list[httpx.AsyncClient], asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if not self._clients or self._semaphore is None or self._loop is not loop:
            # Clients from a finished loop cannot be closed from this one; drop them.
            s = self.settings
            # an injected transport is one connection pool (or none): one client
            shards = 1 if self._transport is not None else -(-s.concurrency // POOL_SHARD_SIZE)
            # shards x per_shard >= concurrency, and a request goes to the least busy
            # shard: one always has a free connection while fewer are in flight
            per_shard = -(-s.concurrency // shards)
            self._clients = [httpx.AsyncClient(
                verify=_ssl_context(),
                timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
                limits=httpx.Limits(max_connections=per_shard,
                                    max_keepalive_connections=per_shard),
                headers={"User-Agent": USER_AGENT, "Accept": "application/json",
                         "Content-Type": "application/json"},
                transport=self._transport,
                follow_redirects=False,
            ) for _ in range(shards)]
            self._shard_load = [0] * shards
            self._semaphore = asyncio.Semaphore(s.concurrency)
            self._loop = loop
        return self._clients, self._semaphore

    def _headers(self) -> dict[str, str]:
        headers = dict(self._extra_headers)
        if self._api_key:
            value = self._api_key.reveal()
            headers[self._auth_header] = f"{self._auth_scheme} {value}" if self._auth_scheme \
                else value
        return headers

    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key])

    def _error(self, cls: type[ProviderError], message: str, *, status: int | None,
               number: int | None, retries: int, waited: float) -> ProviderError:
        return cls(self.provider, self._redact(message), status=status, request_number=number,
                   url=self.display_url, retries=retries, retry_wait_s=waited)

    async def _wait_for_pause(self) -> None:
        while True:
            delay = self._paused_until - self.clock.monotonic()
            if delay <= 0:
                return
            await self.clock.sleep(delay)

    # -- the request loop -------------------------------------------------------------

    async def post_json(self, body: Any, *, token_estimate: float = 0.0) -> HttpResult:
        """POST ``body``; return the parsed 2xx JSON or raise a typed :class:`ProviderError`."""
        clients, semaphore = self._ensure_loop()
        payload = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        settings = self.settings
        policy = settings.retry
        retries, waited = 0, 0.0
        started = self.clock.monotonic()
        first_sent: float | None = None
        while True:
            await self._wait_for_pause()
            status: int | None = None
            headers: httpx.Headers | None = None
            content = b""
            async with semaphore:
                # the rate slot is taken when the request is actually sent (inside the
                # concurrency cap), so the limit holds at the server
                await self._wait_for_pause()
                await self._limiter.acquire(token_estimate)
                self._counter += 1
                number = self._counter
                self.requests_sent += 1
                shard = min(range(len(clients)), key=self._shard_load.__getitem__)
                self._shard_load[shard] += 1
                now = self.clock.monotonic()
                if first_sent is None:
                    first_sent = now
                budget = settings.timeout_s
                if settings.deadline_s is not None:
                    budget = max(0.0, min(budget, first_sent + settings.deadline_s - now))
                try:
                    async with asyncio.timeout(budget):
                        status, headers, content = await self._send(clients[shard], payload,
                                                                    number)
                except (TimeoutError, httpx.TimeoutException) as exc:
                    cls: type[ProviderError] = RequestTimeoutError
                    message = (f"no complete answer within the timeout "
                               f"({settings.timeout_s:g}s for the whole request, "
                               f"{settings.connect_timeout_s:g}s connect"
                               + (f", {settings.deadline_s:g}s deadline for the call"
                                  if settings.deadline_s is not None else "")
                               + f"; {type(exc).__name__})")
                except _TooLarge as big:
                    cap = settings.max_response_bytes
                    raise self._error(
                        MalformedResponseError,
                        f"answer larger than the cap of {cap} bytes ({big.why}); raise "
                        "max_response_bytes if this provider's answers are this big",
                        status=big.status, number=number, retries=retries,
                        waited=waited) from None
                except httpx.TransportError as exc:
                    cls = TransportError
                    message = f"{type(exc).__name__}: {exc}"
                finally:
                    self._shard_load[shard] -= 1
                if status is not None and headers is not None:
                    if 200 <= status < 300:
                        return self._parse(status, headers, content, number, retries, waited,
                                           started)
                    cls = error_for_status(status)
                    message = provider_message(content)
            retryable = status is None or policy.is_retryable_status(status)
            if not retryable or retries >= policy.max_retries:
                raise self._error(cls, message, status=status, number=number,
                                  retries=retries, waited=waited)
            wait, asked = policy.wait_s(retries, headers, rng=self._rng)
            if waited + wait > policy.max_total_wait_s:
                raise self._error(
                    cls, f"{message} (the next wait, {wait:.2f}s, would exceed the retry "
                         f"budget of {policy.max_total_wait_s:g}s)",
                    status=status, number=number, retries=retries, waited=waited)
            if settings.deadline_s is not None and \
                    self.clock.monotonic() + wait >= first_sent + settings.deadline_s:
                raise self._error(
                    cls, f"{message} (the next try would start past the call's deadline "
                         f"of {settings.deadline_s:g}s)",
                    status=status, number=number, retries=retries, waited=waited)
            if asked and status == 429:
                self._paused_until = max(self._paused_until, self.clock.monotonic() + wait)
            log.info("%s: %s on request #%d, retry %d in %.2fs%s", self.provider,
                     f"HTTP {status}" if status is not None else cls.kind, number, retries + 1,
                     wait, " (server asked)" if asked else "")
            await self.clock.sleep(wait)
            waited += wait
            retries += 1

    async def _send(self, client: httpx.AsyncClient, payload: bytes,
                    number: int) -> tuple[int, httpx.Headers, bytes]:
        """One try: send, then read the body in chunks up to the size cap."""
        cap = self.settings.max_response_bytes
        async with client.stream("POST", self.url, content=payload,
                                 headers=self._headers()) as response:
            status, headers = response.status_code, response.headers
            ok = 200 <= status < 300
            limit = cap if ok else min(cap, ERROR_BODY_BYTES)
            declared = headers.get("content-length")
            if ok and declared is not None and declared.isdigit() and int(declared) > cap:
                raise _TooLarge(status, f"it declares {int(declared)} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    if ok:
                        raise _TooLarge(status, f"more than {cap} bytes arrived")
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    break
                chunks.append(chunk)
        return status, headers, b"".join(chunks)


    def _parse(self, status: int, headers: httpx.Headers, content: bytes, number: int,
               retries: int, waited: float, started: float) -> HttpResult:
        try:
            data = json.loads(content)
        except (ValueError, RecursionError) as exc:
            snippet = content[:200].decode("utf-8", errors="replace")
            reason = ("nested too deeply" if isinstance(exc, RecursionError)
                      else f"{type(exc).__name__}: {exc}")
            raise self._error(MalformedResponseError,
                              f"body is not JSON that can be decoded ({reason}; "
                              f"{len(content)} bytes): {snippet!r}",
                              status=status, number=number, retries=retries,
                              waited=waited) from None
        return HttpResult(status=status, data=data, headers=headers,
                          request_number=number, retries=retries, retry_wait_s=waited,
                          elapsed_s=self.clock.monotonic() - started)

    def malformed(self, result: HttpResult, message: str) -> MalformedResponseError:
        """An error about a 2xx answer whose content is wrong (the dialect said why)."""
        error = self._error(MalformedResponseError, message, status=result.status,
                            number=result.request_number, retries=result.retries,
                            waited=result.retry_wait_s)
        assert isinstance(error, MalformedResponseError)
        return error

    async def aclose(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(RuntimeError):  # its loop is gone
                await client.aclose()
