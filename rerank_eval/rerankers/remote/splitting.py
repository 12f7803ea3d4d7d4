"""Split a candidate list larger than a provider's per-request maximum, and merge the answers.

Each slice is sent as its own request with ``top_n = min(top_n, len(slice))`` (the
global top n is always inside the union of every slice's top n). Slice results are
mapped back to the caller's index space and merged by score, best first.

Merging assumes scores from different requests are comparable, which holds for
pointwise cross-encoders (Cohere, Voyage, Mixedbread, TEI...) and not exactly for
listwise models; responses built from several requests say so in
``usage.split_requests`` (requests beyond the first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rerank_eval.types import RankedResult


def split_ranges(n: int, max_per_request: int | None) -> list[range]:
    """Contiguous slices of ``range(n)``, as even as possible, each at most ``max_per_request``."""
    if n <= 0:
        return [range(0)]
    if max_per_request is None or n <= max_per_request:
        return [range(n)]
    if max_per_request < 1:
        raise ValueError(f"max documents per request must be >= 1, got {max_per_request}")
    parts = -(-n // max_per_request)
    size, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        out.append(range(start, stop))
        start = stop
    return out


def slice_top_n(top_n: int | None, part: range) -> int | None:
    return None if top_n is None else min(top_n, len(part))


def merge(parts: Sequence[tuple[range, Iterable[RankedResult]]],
          top_n: int | None) -> list[RankedResult]:
    """Map each slice's local indices into the caller's space, sort by score, cut to top_n.

    Ties keep the order slices came in (stable), so a single slice keeps its own order.
    """
    merged: list[RankedResult] = []
    for part, results in parts:
        merged.extend(RankedResult(part[r.index], r.relevance_score) for r in results)
    if len(parts) > 1:
        merged.sort(key=lambda r: -r.relevance_score)
    return merged if top_n is None else merged[:top_n]
