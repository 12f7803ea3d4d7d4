"""Deterministic, meaningful scores for the fakes: token overlap between query and document.

score = |Q ∩ D| / sqrt(|Q| · |D|) over lowercase alphanumeric token sets (0 when either
is empty), in [0, 1]. Tests import :func:`expected_ranking` to know exactly what a fake
computed.

A provider whose model got worse on part of the queries: :func:`is_degraded` picks a
deterministic share of queries by hashing the query text, and :func:`degraded_ranking`
answers those with ``1 - score`` (the ranking reversed); other queries are unchanged.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def overlap_score(query: str, document: str) -> float:
    q, d = set(tokens(query)), set(tokens(document))
    if not q or not d:
        return 0.0
    return len(q & d) / math.sqrt(len(q) * len(d))


def ranking(query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
    """(index, score), best first; ties broken by index."""
    scored = [(i, overlap_score(query, d)) for i, d in enumerate(documents)]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored


def is_degraded(query: str, share: float) -> bool:
    """Whether a provider degraded on ``share`` of the queries degrades this one: the
    first 8 bytes of sha256(query) as a fraction of 2**64, below ``share``."""
    if share <= 0:
        return False
    digest = hashlib.sha256(query.encode("utf-8")).digest()[:8]
    return int.from_bytes(digest, "big") / 2**64 < share


def degraded_ranking(query: str, documents: Sequence[str],
                     share: float = 0.0) -> list[tuple[int, float]]:
    """:func:`ranking`, except for the degraded queries (:func:`is_degraded`): scores
    ``1 - score``, so their ranking is reversed (ties still broken by index)."""
    if not is_degraded(query, share):
        return ranking(query, documents)
    scored = [(i, 1.0 - overlap_score(query, d)) for i, d in enumerate(documents)]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored


def expected_ranking(query: str, documents: Sequence[str],
                     top_n: int | None = None) -> list[tuple[int, float]]:
    out = ranking(query, documents)
    return out if top_n is None else out[:top_n]


def count_tokens(text: str) -> int:
    return len(tokens(text))


def cohere_results(ranked: list[tuple[int, float]], documents: list[Any],
                   return_documents: bool) -> list[dict[str, Any]]:
    """``results[]`` of a Cohere-shaped answer; an echoed document comes back as it was sent
    (a string as ``{"text": ...}``, an object unchanged)."""
    results = []
    for index, score in ranked:
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if return_documents:
            doc = documents[index]
            item["document"] = {"text": doc} if isinstance(doc, str) else doc
        results.append(item)
    return results
