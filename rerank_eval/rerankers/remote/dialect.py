"""A provider's wire format, as pure functions of data.

A :class:`Dialect` builds one request body from a query, documents and ``top_n``, and
reads one answer (the parsed JSON and the response headers) into a :class:`Parsed`:
raw ``(index, score)`` pairs and the usage the provider reported. Neither touches the
network or the HTTP client: a wrong answer raises :class:`MalformedAnswer` (a reason),
which the reranker turns into a :class:`~.http.errors.MalformedResponseError` naming the
request number, status and URL.

The readers every dialect shares (:func:`items`, :func:`pairs`, :func:`number`,
:func:`usage_tokens`, :func:`server_timing`) live here, once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rerank_eval.text import clip
from rerank_eval.types import Document

log = logging.getLogger("rerank_eval.remote")


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: its JSON, and its headers (looked up case-insensitively)."""

    data: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Parsed:
    """One answer, read but not yet validated: raw (index, score) pairs and reported usage."""

    pairs: list[tuple[Any, Any]]
    tokens: int | None = None
    search_units: float | None = None
    cost_usd: float | None = None
    """A cost the provider itself reported (SearchRouter's ``usage.cost``)."""
    server_ms: Mapping[str, float] | None = None
    """Time the server says it spent, by phase (ms; :func:`server_timing`); None: not sent."""


class MalformedAnswer(Exception):
    """A 2xx answer whose content cannot be trusted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Dialect(Protocol):
    sends_top_n: bool
    """False: the server always scores every document (TEI); ``top_n`` is cut here."""

    def build_body(self, query: str, documents: Sequence[Document],
                   top_n: int | None) -> dict[str, Any]: ...

    def parse(self, answer: Answer) -> Parsed: ...


# -- shared readers ----------------------------------------------------------------------


def items(data: Any, key: str | None) -> list[Any]:
    """The list of results under ``key`` (``None``: the body itself is the list)."""
    found = data if key is None else (data.get(key) if isinstance(data, dict) else None)
    if not isinstance(found, list):
        where = "the body" if key is None else f"'{key}'"
        raise MalformedAnswer(f"{where} is not a list of results: {clip(data)}")
    return found


def pairs(results: list[Any], score_key: str) -> list[tuple[Any, Any]]:
    out = []
    for position, item in enumerate(results):
        if not isinstance(item, dict) or "index" not in item or score_key not in item:
            raise MalformedAnswer(
                f"result {position} lacks 'index' or '{score_key}': {clip(item)}")
        out.append((item["index"], item[score_key]))
    return out


def number(value: Any, what: str) -> Any:
    """``value`` if it is a non-negative number, None if absent; else malformed."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise MalformedAnswer(f"{what} is not a non-negative number: {value!r}")
    return value


def usage_tokens(data: Any, *keys: str) -> Any:
    """Tokens from ``usage.<key>``, the first of ``keys`` the answer has; None if unreported."""
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return None
    value = next((usage[key] for key in keys if key in usage), None)
    return number(value, f"usage.{keys[0]}")


def with_extra_body(body: dict[str, Any], extra_body: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge ``extra_body`` into the top level of ``body`` (pass-through fields)."""
    if extra_body:
        body.update(extra_body)
    return body


# -- server timing -----------------------------------------------------------------------

TEI_TIMING_HEADERS = (("x-total-time", "total"), ("x-tokenization-time", "tokenization"),
                      ("x-queue-time", "queue"), ("x-inference-time", "inference"))
"""text-embeddings-inference's timing headers (whole milliseconds, ``as_millis()`` in its
router's ``ResponseMetadata``) and the ``server_ms`` key each fills. On ``/rerank`` TEI
sends the tokenization, queue and inference times averaged over the request's texts, and
the total as the request's own wall time from arrival to answer."""


def server_timing(headers: Mapping[str, str], *, tei: bool = False) -> dict[str, float] | None:
    """Time the server says it spent, in ms by phase, from the answer's headers.

    Every dialect reads the W3C ``Server-Timing`` header (``name;dur=12.3, other;dur=4``
    gives ``{"name": 12.3, "other": 4.0}``; a metric without ``dur`` carries no time and is
    left out); ``tei=True`` also reads TEI's ``x-*-time`` headers (:data:`TEI_TIMING_HEADERS`),
    which win over a ``Server-Timing`` metric of the same name. None when nothing usable
    was sent.

    Timing is informative, not billed: a malformed value is left out and logged at debug
    level, never an error (unlike the usage a provider bills by).
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    found: dict[str, float] = {}
    raw = lowered.get("server-timing")
    if raw is not None:
        found.update(parse_server_timing(raw))
    if tei:
        for header, key in TEI_TIMING_HEADERS:
            value = lowered.get(header)
            if value is None:
                continue
            ms = _milliseconds(value)
            if ms is None:
                log.debug("ignoring %s: not a non-negative number of ms: %r", header, value)
            else:
                found[key] = ms
    return found or None


def parse_server_timing(value: str) -> dict[str, float]:
    """``{metric: dur}`` from a W3C ``Server-Timing`` value; malformed metrics are skipped
    (logged at debug level); the first of two metrics with one name wins."""
    out: dict[str, float] = {}
    for metric in _split_outside_quotes(value, ","):
        parts = _split_outside_quotes(metric, ";")
        name = parts[0].strip() if parts else ""
        if not name or not _is_token(name):
            if metric.strip():
                log.debug("ignoring Server-Timing metric with a bad name: %r", metric)
            continue
        dur: str | None = None
        for param in parts[1:]:
            key, sep, param_value = param.partition("=")
            if key.strip().lower() == "dur" and dur is None:  # the first dur wins
                dur = param_value.strip() if sep else ""
        if dur is None:
            continue  # a metric without a duration (a cache hit flag ...): no time to keep
        ms = _milliseconds(_unquote(dur))
        if ms is None:
            log.debug("ignoring Server-Timing metric %r: dur %r is not a non-negative "
                      "number", name, dur)
        elif name not in out:
            out[name] = ms
    return out


def _milliseconds(value: str) -> float | None:
    try:
        ms = float(value.strip())
    except ValueError:
        return None
    return ms if math.isfinite(ms) and ms >= 0 else None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator``, except inside a quoted string (``desc="a, b"``)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


_TOKEN_EXTRA = set("!#$%&'*+-.^_`|~")


def _is_token(name: str) -> bool:
    """An HTTP token (RFC 9110): what a metric name must be."""
    return all(c.isascii() and (c.isalnum() or c in _TOKEN_EXTRA) for c in name)
