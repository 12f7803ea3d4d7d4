"""Typed errors of the remote rerankers, and the redaction that keeps API keys out of them.

Every error a remote adapter raises is a :class:`ProviderError` subclass that names the
provider, the HTTP status (``None`` for transport failures), the request number (the
n-th HTTP request this reranker sent, counting retries) and the provider's own message.
Messages pass through :func:`redact` before they are stored, so a key echoed by a
server, or typed into a URL, never reaches a traceback, a log or a report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rerank_eval.text import clip


class ProviderError(Exception):
    """A remote reranker call failed. ``message`` is the provider's own words, redacted."""

    kind = "error"

    def __init__(self, provider: str, message: str, *, status: int | None = None,
                 request_number: int | None = None, url: str | None = None,
                 retries: int = 0, retry_wait_s: float = 0.0) -> None:
        self.provider = provider
        self.message = message
        self.status = status
        self.request_number = request_number
        self.url = url
        self.retries = retries
        self.retry_wait_s = retry_wait_s
        super().__init__(self._render())

    def _render(self) -> str:
        where = [self.provider]
        if self.status is not None:
            where.append(f"HTTP {self.status}")
        if self.request_number is not None:
            where.append(f"request #{self.request_number}")
        if self.url:
            where.append(self.url)
        text = f"{' '.join(where[:1])} {self.kind}"
        if len(where) > 1:
            text += f" ({', '.join(where[1:])})"
        text += f": {self.message}"
        if self.retries:
            text += f" [after {self.retries} retr{'y' if self.retries == 1 else 'ies'}, "
            text += f"{self.retry_wait_s:.2f}s waiting]"
        return text


class MissingAPIKeyError(ProviderError):
    kind = "missing API key"


class AuthenticationError(ProviderError):
    """401/403 (and Cohere's 498): the key is missing, wrong or not allowed."""

    kind = "authentication error"


class BadRequestError(ProviderError):
    """4xx other than auth and rate limits: the request itself is wrong; retrying won't help."""

    kind = "bad request"


class RateLimitError(ProviderError):
    """429 that outlasted the retry budget."""

    kind = "rate limited"


class ServerError(ProviderError):
    """5xx that outlasted the retry budget."""

    kind = "server error"


class RequestTimeoutError(ProviderError):
    """The provider did not answer within the timeout (every retry included)."""

    kind = "timeout"


class TransportError(ProviderError):
    """The connection failed (refused, reset, DNS) on every try."""

    kind = "transport error"


class MalformedResponseError(ProviderError):
    """A 2xx answer that cannot be trusted: bad JSON, missing fields, bad indices or scores."""

    kind = "malformed response"


def error_for_status(status: int) -> type[ProviderError]:
    if status in (401, 403, 498):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status == 408:
        return RequestTimeoutError
    if status >= 500:
        return ServerError
    return BadRequestError


def provider_message(body: bytes, content_type: str | None = None, limit: int = 500) -> str:
    """The human part of an error body, whatever the dialect.

    Cohere ``{"message"}``, Jina/Voyage/FastAPI ``{"detail"}`` (string or list),
    Mixedbread ``{"type","message","details"}``, TEI ``{"error","error_type"}``,
    OpenAI-style ``{"error": {"message"}}`` (vLLM, Infinity), and plain text.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return "(empty body)"
    try:
        data = json.loads(text)
        message = _message_from(data)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return clip(text, limit)
    return clip(message if message else text, limit)


def _message_from(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if not isinstance(data, Mapping):
        return None
    for key in ("message", "detail", "error"):
        value = data.get(key)
        if isinstance(value, str) and value:
            kind = data.get("error_type") or data.get("type")
            return f"{value} ({kind})" if isinstance(kind, str) and kind else value
        if isinstance(value, Mapping):
            nested = _message_from(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            parts = [_message_from(v) or json.dumps(v, default=str) for v in value[:3]]
            return "; ".join(parts)
    return None

