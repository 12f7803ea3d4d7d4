"""One request of a load test, sent, and what came of it.

Errors are counted by type, from the typed errors of the remote client
(:mod:`rerank_eval.rerankers.remote.http.errors`); anything else (a local model's
failure, a bug) is ``other`` and its message is kept for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rerank_eval.rerankers import Reranker
from rerank_eval.rerankers.remote.http.clock import Clock
from rerank_eval.rerankers.remote.http.errors import (
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from rerank_eval.secrets import redact
from rerank_eval.text import clip
from rerank_eval.types import RerankRequest, Usage, take_usage

ERROR_TYPES = ("rate_limited", "server_error", "timeout", "transport", "client_error",
               "malformed", "other")
"""The error counts of every level, in this order (load.json ``errors``)."""


def error_type(exc: BaseException) -> str:
    """The load.json error type of a failed call."""
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, ServerError):
        return "server_error"
    if isinstance(exc, RequestTimeoutError):
        return "timeout"
    if isinstance(exc, TransportError):
        return "transport"
    if isinstance(exc, MalformedResponseError):
        return "malformed"
    if isinstance(exc, ProviderError) and exc.status is not None and 400 <= exc.status < 500:
        return "client_error"
    return "other"


def describe(exc: BaseException) -> str:
    """A failed call in one line, secrets redacted (provider errors are already)."""
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, ProviderError):
        text = f"{type(exc).__name__}: {text}"
    return clip(redact(text), 300)


@dataclass(frozen=True)
class Outcome:
    """A finished request. Times are on the sweep's clock (seconds)."""

    scheduled: float
    """When it was due: the closed loop's send time, the open loop's Poisson arrival."""
    finished: float
    documents: int
    error: str | None = None
    """None on success, else one of :data:`ERROR_TYPES`."""
    message: str | None = None
    retries: int = 0
    tokens: int | None = None
    cost_usd: float | None = None
    server_ms: Mapping[str, float] | None = None
    shared: bool = False
    """Answered by an identical request already in flight in the client (sent once)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def latency_s(self) -> float:
        """From when it was due to its end: queueing before the send included."""
        return self.finished - self.scheduled


async def send(reranker: Reranker, request: RerankRequest, clock: Clock,
               scheduled: float) -> Outcome:
    """Send one request; never raises but for cancellation."""
    documents = len(request.documents)
    try:
        response = await reranker.rerank(request)
    except Exception as exc:
        usage = take_usage(exc) or Usage()
        retries = usage.retries or (exc.retries if isinstance(exc, ProviderError) else 0)
        return Outcome(scheduled=scheduled, finished=clock.monotonic(), documents=documents,
                       error=error_type(exc), message=describe(exc), retries=retries,
                       tokens=usage.tokens, cost_usd=usage.cost_usd)
    usage = response.usage
    return Outcome(scheduled=scheduled, finished=clock.monotonic(), documents=documents,
                   retries=usage.retries, tokens=usage.tokens, cost_usd=usage.cost_usd,
                   server_ms=response.server_ms,
                   shared=usage.cache_hits > 0 and usage.requests == 0)
