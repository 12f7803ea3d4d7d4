"""Request-field checks shared by the fake dialects (each raises the dialect's 400)."""

from __future__ import annotations

from typing import Any

from rerank_eval.testing.fakes.server import Reject


def require_str(body: dict[str, Any], key: str, *, message: str | None = None,
                status: int = 400) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Reject(status, message or f"invalid request: {key} must be a non-empty string")
    return value


def require_list(body: dict[str, Any], key: str, *, message: str | None = None,
                 max_items: int | None = None, status: int = 400) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list) or not value:
        raise Reject(status, message or f"invalid request: list of {key} must not be empty")
    if max_items is not None and len(value) > max_items:
        raise Reject(status, f"invalid request: {len(value)} {key} exceeds the maximum of "
                             f"{max_items}")
    return value


def optional_int(body: dict[str, Any], key: str, *, minimum: int = 1,
                 status: int = 400) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Reject(status, f"invalid request: {key} must be an integer >= {minimum}")
    return value


def optional_bool(body: dict[str, Any], key: str, default: bool, status: int = 400) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Reject(status, f"invalid request: {key} must be a boolean")
    return value


def doc_text(doc: Any, index: int, rank_fields: list[str] | None = None,
             status: int = 400) -> str:
    """The text a fake scores: a string, or an object's text / rank_fields values."""
    if isinstance(doc, str):
        if not doc.strip():
            raise Reject(status, f"invalid request: document at index {index} cannot be empty")
        return doc
    if isinstance(doc, dict):
        if rank_fields:
            return " ".join(str(doc[f]) for f in rank_fields if f in doc)
        if isinstance(doc.get("text"), str) and doc["text"].strip():
            return doc["text"]
        raise Reject(status, f"invalid request: document at index {index} has no text")
    raise Reject(status, f"invalid request: document at index {index} must be a string or "
                         "an object")
