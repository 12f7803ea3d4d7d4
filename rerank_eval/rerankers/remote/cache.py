"""Remote rerank responses cached on disk, so a repeated or resumed run never pays twice.

Key: SHA-256 of the canonical JSON of (cache format version, provider, endpoint URL
without user info or query string, and the exact request bodies the adapter would send:
model, query, documents and every parameter). The API key is not part of any body, so
it is never in a key or a file.

Value (one JSON file per key, written to a temp file in the same folder then renamed,
so a crash leaves either the old file or the new one, never half of one):
the ranking (index, score) in the caller's index space, the usage the provider reported
for the original call (tokens, search units, cost, split requests), and the original
call's latency.

**A cache hit** is returned with ``usage.requests = 0`` and ``usage.cache_hits = 1``
(nothing was sent), ``retries = 0``, but with the *original* ``tokens``,
``search_units``, ``cost_usd`` and ``split_requests``, and the original ``latency_s``.
That way a report built from a resumed run still shows what each result cost and how
long the provider took to produce it; ``requests`` / ``cache_hits`` tell what this run
actually sent.

Location: ``$RERANK_EVAL_CACHE/responses`` (default ``~/.cache/rerank-eval/responses``).
Disabled by the option ``cache=false``, by ``Runtime(response_cache=False)`` (what
``--no-cache`` sets), or by the environment variable ``RERANK_EVAL_NO_CACHE=1``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rerank_eval.text import file_safe
from rerank_eval.types import RankedResult, RerankResponse, Usage

FORMAT_VERSION = 1


def cache_root() -> Path:
    base = os.environ.get("RERANK_EVAL_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "rerank-eval"
    return root / "responses"


def cache_disabled_by_env() -> bool:
    return os.environ.get("RERANK_EVAL_NO_CACHE", "").strip().lower() in ("1", "true", "yes")


def request_key(provider: str, url: str, bodies: list[Any]) -> str:
    """Hash of what identifies a result. ``url`` must already be a safe URL (no secrets)."""
    canonical = json.dumps({"v": FORMAT_VERSION, "provider": provider, "url": url,
                            "bodies": bodies},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per key under ``root`` / provider; ``enabled=False`` reads and writes
    nothing (the ``RERANK_EVAL_NO_CACHE`` env var disables it too)."""

    def __init__(self, root: Path | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled and not cache_disabled_by_env()
        self.root = root if root is not None else cache_root()

    def path_for(self, provider: str, key: str) -> Path:
        return self.root / file_safe(provider) / key[:2] / f"{key}.json"

    def get(self, provider: str, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        path = self.path_for(provider, key)
        try:
            with path.open("r", encoding="utf-8") as handle:
                record = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable entry: treat as a miss, it will be rewritten
        if not isinstance(record, dict) or record.get("v") != FORMAT_VERSION \
                or record.get("key") != key:
            return None
        return record

    def put(self, provider: str, key: str, record: Mapping[str, Any]) -> Path | None:
        if not self.enabled:
            return None
        path = self.path_for(provider, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"v": FORMAT_VERSION, "key": key, **record}
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, allow_nan=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path


# -- the record of one response ----------------------------------------------------------


def to_record(reranker: str, response: RerankResponse) -> dict[str, Any]:
    """What is kept of a response: ranking, the usage the provider reported, latency."""
    u = response.usage
    return {
        "reranker": reranker,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "results": [[r.index, r.relevance_score] for r in response.results],
        "usage": {"requests": u.requests, "tokens": u.tokens,
                  "search_units": u.search_units, "cost_usd": u.cost_usd,
                  "split_requests": u.split_requests},
        "latency_s": response.latency_s,
    }


def from_record(record: dict[str, Any], n_docs: int, top_n: int | None) -> RerankResponse:
    """A cache hit: the original ranking, usage and latency; nothing sent this time.

    Raises ``KeyError`` / ``TypeError`` / ``ValueError`` when the record does not fit.
    """
    results = [RankedResult(int(i), float(s)) for i, s in record["results"]]
    expected = n_docs if top_n is None else min(top_n, n_docs)
    if len(results) != expected or len({r.index for r in results}) != expected:
        raise ValueError("cached ranking does not fit the request")
    u = record["usage"]
    usage = Usage(requests=0, tokens=u.get("tokens"), search_units=u.get("search_units"),
                  cost_usd=u.get("cost_usd"), cache_hits=1,
                  split_requests=int(u.get("split_requests", 0)))
    return RerankResponse(results=results, usage=usage,
                          latency_s=float(record["latency_s"]), score_kind="provider")


def as_hit(original: RerankResponse) -> RerankResponse:
    """An identical call that was in flight: its answer, counted as a cache hit."""
    u = original.usage
    usage = Usage(requests=0, tokens=u.tokens, search_units=u.search_units,
                  cost_usd=u.cost_usd, cache_hits=1, split_requests=u.split_requests)
    return RerankResponse(results=original.results, usage=usage,
                          latency_s=original.latency_s, score_kind=original.score_kind)
