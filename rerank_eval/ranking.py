"""The one check on a ranking before anyone trusts it.

A ranking is accepted only if every index is an integer in range and appears once,
every score is a finite number, and the count is right: every document when ``top_n``
is unset, ``min(top_n, n)`` otherwise. Anything else raises (through ``fail``) — a
silently wrong ranking is worse than a failed cell. Remote answers are checked with it
(:mod:`rerank_eval.rerankers.remote.validation`), and so is every reranker's response in
the harness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from rerank_eval.types import RankedResult


def validate_ranking(pairs: Sequence[tuple[Any, Any]], n_docs: int, top_n: int | None,
                     fail: Callable[[str], Exception]) -> list[RankedResult]:
    """Return the results best first (stable on ties) or raise ``fail(reason)``."""
    expected = n_docs if top_n is None else min(top_n, n_docs)
    if len(pairs) != expected:
        what = "every document" if top_n is None else f"top_n={top_n}"
        raise fail(f"expected {expected} results ({what} of {n_docs}), got {len(pairs)}")
    seen: set[int] = set()
    results: list[RankedResult] = []
    for position, (index, score) in enumerate(pairs):
        if isinstance(index, bool) or not isinstance(index, int):
            raise fail(f"result {position}: index {index!r} is not an integer")
        if not 0 <= index < n_docs:
            raise fail(f"result {position}: index {index} out of range for {n_docs} documents")
        if index in seen:
            raise fail(f"result {position}: index {index} appears more than once")
        seen.add(index)
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise fail(f"result {position} (index {index}): score {score!r} is not a number")
        if not math.isfinite(score):
            raise fail(f"result {position} (index {index}): score {score!r} is not finite")
        results.append(RankedResult(index=index, relevance_score=float(score)))
    results.sort(key=lambda r: -r.relevance_score)
    return results
