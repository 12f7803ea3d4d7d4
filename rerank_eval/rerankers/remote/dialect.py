"""A provider's wire format, as pure functions of data.

A :class:`Dialect` builds one request body from a query, documents and ``top_n``, and
reads one answer (the parsed JSON and the response headers) into a :class:`Parsed`:
raw ``(index, score)`` pairs and the usage the provider reported. Neither touches the
network or the HTTP client: a wrong answer raises :class:`MalformedAnswer` (a reason),
which the reranker turns into a :class:`~.http.errors.MalformedResponseError` naming the
request number, status and URL.

The readers every dialect shares (:func:`items`, :func:`pairs`, :func:`number`,
:func:`usage_tokens`) live here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rerank_eval.text import clip
from rerank_eval.types import Document


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
