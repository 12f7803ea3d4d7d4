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
actually sent. The server's timing (``server_ms``) is not kept: a hit carries ``None``,
since the server did nothing for it this time.

**Integrity.** Each entry carries ``check``, the SHA-256 of its canonical JSON without
it; an entry without one (older caches) is validated as strictly as a provider's answer
(:func:`rerank_eval.ranking.validate_ranking`), and so is every entry. An entry that
fails either is a miss: reported once, removed, and fetched again (:class:`DamagedEntry`).

**One payment per key across processes.** Before sending, a caller takes the key's claim
(:meth:`ResponseCache.claim`: an exclusive ``flock`` on ``KEY.lock``, released by the
kernel if the holder dies, so a claim is never stale); a second run sharing the cache
waits for it, then finds the first's answer in the cache. Temp files left by a kill
(``.tmp-*.json`` older than :data:`ORPHAN_AGE_S`) are removed when their folder is written.

Location: ``$RERANK_EVAL_CACHE/responses`` (default ``~/.cache/rerank-eval/responses``).
Disabled by the option ``cache=false``, by ``Runtime(response_cache=False)`` (what
``--no-cache`` sets), or by the environment variable ``RERANK_EVAL_NO_CACHE=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from rerank_eval.ranking import validate_ranking
from rerank_eval.text import file_safe
from rerank_eval.types import RerankResponse, Usage

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process claim
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1

ORPHAN_AGE_S = 300.0
"""A ``.tmp-*.json`` older than this was left by a killed writer and is removed."""

CLAIM_POLL_S = 0.02
"""How often a caller waiting for another process's claim looks again."""


class DamagedEntry(ValueError):
    """A cache entry that is readable but wrong: a miss, never the provider's fault."""


def entry_check(record: Mapping[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON without its ``check`` field."""
    body = {k: v for k, v in record.items() if k != "check"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
        except (OSError, ValueError, RecursionError):
            self.discard(provider, key)
            return None  # unreadable entry: a miss, removed and fetched again
        if not isinstance(record, dict) or record.get("v") != FORMAT_VERSION \
                or record.get("key") != key:
            return None
        return record

    def discard(self, provider: str, key: str) -> None:
        """Remove a damaged entry, so it is fetched again and never read again."""
        if self.enabled:
            with contextlib.suppress(OSError):
                os.unlink(self.path_for(provider, key))

    @contextlib.asynccontextmanager
    async def claim(self, provider: str, key: str) -> AsyncIterator[None]:
        """Hold the key's claim (``KEY.lock``, exclusive ``flock``) while fetching it, so
        another process sharing the cache waits, then reads the answer from the cache."""
        if not self.enabled or fcntl is None:
            yield
            return
        lock = self.path_for(provider, key).with_suffix(".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = await _lock(lock)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock)
            os.close(fd)  # releases the lock

    def put(self, provider: str, key: str, record: Mapping[str, Any]) -> Path | None:
        if not self.enabled:
            return None
        path = self.path_for(provider, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"v": FORMAT_VERSION, "key": key, **record}
        data["check"] = entry_check(data)
        _remove_orphans(path.parent)
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


async def _lock(lock: Path) -> int:
    """An fd holding an exclusive flock on ``lock`` (waiting, without blocking the loop);
    retried when the file was removed by the previous holder meanwhile."""
    assert fcntl is not None
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(CLAIM_POLL_S)
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)  # the holder removed the file as we waited: take the new one


def _remove_orphans(folder: Path) -> None:
    """Remove temp files a killed writer left (older than :data:`ORPHAN_AGE_S`)."""
    cutoff = time.time() - ORPHAN_AGE_S
    with contextlib.suppress(OSError):
        for tmp in folder.glob(".tmp-*.json"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()


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

    Raises :class:`DamagedEntry` when the record fails its checksum or does not fit the
    request (checked as strictly as a provider's answer).
    """
    check = record.get("check")
    if check is not None and check != entry_check(record):
        raise DamagedEntry("checksum mismatch")
    pairs = record.get("results")
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2
                                              for p in pairs):
        raise DamagedEntry("results is not a list of [index, score] pairs")
    results = validate_ranking([tuple(p) for p in pairs], n_docs, top_n, DamagedEntry)
    u = record.get("usage")
    if not isinstance(u, dict):
        raise DamagedEntry("usage is not an object")
    for name in ("tokens", "search_units", "cost_usd", "split_requests"):
        value = u.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value) or value < 0):
            raise DamagedEntry(f"usage {name} {value!r} is not a non-negative number")
    latency = record.get("latency_s")
    if isinstance(latency, bool) or not isinstance(latency, int | float) \
            or not math.isfinite(latency) or latency < 0:
        raise DamagedEntry(f"latency_s {latency!r} is not a non-negative number")
    usage = Usage(requests=0, tokens=u.get("tokens"), search_units=u.get("search_units"),
                  cost_usd=u.get("cost_usd"), cache_hits=1,
                  split_requests=int(u.get("split_requests") or 0))
    return RerankResponse(results=results, usage=usage,
                          latency_s=float(latency), score_kind="provider")


def as_hit(original: RerankResponse) -> RerankResponse:
    """An identical call that was in flight: its answer, counted as a cache hit."""
    u = original.usage
    usage = Usage(requests=0, tokens=u.tokens, search_units=u.search_units,
                  cost_usd=u.cost_usd, cache_hits=1, split_requests=u.split_requests)
    return RerankResponse(results=original.results, usage=usage,
                          latency_s=original.latency_s, score_kind=original.score_kind,
                          server_ms=None)
