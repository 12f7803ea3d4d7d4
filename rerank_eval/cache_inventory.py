"""What is kept under ``$RERANK_EVAL_CACHE``, and freeing it: ``rerank-eval cache ls|prune``.

The cache root holds several areas, each written by its own module; this one reads them
all without importing their writers:

========================  ============  ================================================
folder                    kind          one entry is
========================  ============  ================================================
``artifacts/<kind>/<key>`` ``bm25-index``, ``candidates`` (:mod:`rerank_eval.artifacts`):
                                        a folder with ``manifest.json``
``corpora/<key>``         ``corpus``    a corpus store (``rerank_eval.datasets``), with
                                        ``manifest.json``
``responses/<provider>``  ``responses`` a provider's cached answers (one JSON file each;
                                        listed per provider, pruned file by file)
``datasets/<name>``       ``dataset``   a downloaded dataset
anything else             ``other``     listed; pruned only when asked for by kind
========================  ============  ================================================

An entry's *last used* time is the modification time of its ``last_used`` file (touched
on every reuse) when it has one; ``--older-than`` ages an entry by it, else by creation.
An artifact being built holds its key's lock: ``prune`` skips it (and every entry whose
lock it cannot take), so it never removes what a running process is writing.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerank_eval.artifacts import LAST_USED, MANIFEST, TMP_PREFIX, cache_base, hold_lock

KINDS = ("bm25-index", "candidates", "corpus", "responses", "dataset", "other")
"""Every kind ``--kind`` accepts."""
AREAS = {"artifacts", "corpora", "responses", "datasets"}

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class CacheItem:
    """One row of ``cache ls`` (or what ``prune`` removed)."""

    kind: str
    dataset: str
    settings: str
    size: int
    created: float | None
    """Seconds since the epoch (UTC), when known."""
    last_used: float | None
    path: Path
    count: int = 1
    """Entries in the row (a provider's responses: its files)."""

    @property
    def age_from(self) -> float | None:
        """The time ``--older-than`` measures from: last use, else creation."""
        return self.last_used if self.last_used is not None else self.created

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "settings": self.settings,
                "size": self.size, "entries": self.count, "created": iso(self.created),
                "last_used": iso(self.last_used), "path": str(self.path)}


@dataclass
class PruneResult:
    removed: list[CacheItem]
    skipped: list[tuple[CacheItem, str]]

    @property
    def freed(self) -> int:
        return sum(item.size for item in self.removed)


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as seconds; ValueError otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"--older-than {text!r}: expected a number and a unit s, m, h, d "
                         "or w (e.g. 30d, 12h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def list_cache(base: Path | None = None) -> list[CacheItem]:
    """Every entry under the cache root, areas in a fixed order, then by dataset."""
    base = base if base is not None else cache_base()
    items = [*_artifacts(base), *_corpora(base), *_responses(base), *_datasets(base),
             *_others(base)]
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(items, key=lambda i: (order.get(i.kind, len(KINDS)), i.dataset, i.settings,
                                        str(i.path)))


def prune_cache(*, base: Path | None = None, older_than: float | None = None,
                kinds: Iterable[str] = (), everything: bool = False, dry_run: bool = False,
                now: float | None = None) -> PruneResult:
    """Remove the entries of ``kinds`` (default: every kind but ``other``) whose last use
    is more than ``older_than`` seconds ago, or all of them with ``everything``.
    ``dry_run`` removes nothing and returns what would go."""
    if older_than is None and not everything:
        raise ValueError("say what to prune: --older-than AGE or --all")
    wanted = set(kinds) or set(KINDS) - {"other"}
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"--kind {sorted(unknown)[0]!r}: unknown; kinds: {', '.join(KINDS)}")
    base = base if base is not None else cache_base()
    if everything:
        cutoff = None
    else:
        assert older_than is not None
        now = now if now is not None else datetime.datetime.now(datetime.UTC).timestamp()
        cutoff = now - older_than
    result = PruneResult(removed=[], skipped=[])
    for item in list_cache(base):
        if item.kind not in wanted:
            continue
        if item.kind == "responses":
            gone = _prune_responses(item, cutoff, dry_run)
            if gone is not None:
                result.removed.append(gone)
            continue
        if cutoff is not None and (item.age_from is None or item.age_from >= cutoff):
            continue
        reason = None if dry_run else _remove(item)
        if reason is None:
            result.removed.append(item)
        else:
            result.skipped.append((item, reason))
    if not dry_run and wanted & {"bm25-index", "candidates"}:
        _remove_orphans(base / "artifacts")
    return result


# --- the areas ---------------------------------------------------------------------------


def _artifacts(base: Path) -> Iterator[CacheItem]:
    root = base / "artifacts"
    for kind_dir in _subdirs(root):
        for entry in _subdirs(kind_dir):
            manifest = _manifest(entry)
            created = _parse_iso(manifest.get("created")) if manifest else None
            yield CacheItem(
                kind=str(manifest.get("kind", kind_dir.name)) if manifest else kind_dir.name,
                dataset=str(manifest.get("dataset", "")) if manifest else "",
                settings=str(manifest.get("settings", "")) if manifest else "(no manifest)",
                size=_size(entry), created=created if created else _mtime(entry),
                last_used=_mtime(entry / LAST_USED), path=entry)


def _corpora(base: Path) -> Iterator[CacheItem]:
    for entry in _subdirs(base / "corpora"):
        manifest = _manifest(entry) or {}
        location = str(manifest.get("location", ""))
        rows = manifest.get("rows")
        settings = f"{rows:,} documents from {location}" if isinstance(rows, int) else location
        created = _parse_iso(manifest.get("created"))
        yield CacheItem(kind=str(manifest.get("kind", "corpus")),
                        dataset=str(manifest.get("dataset") or _dataset_of(location)),
                        settings=settings or "(no manifest)", size=_size(entry),
                        created=created if created else _mtime(entry),
                        last_used=_mtime(entry / LAST_USED), path=entry)


def _responses(base: Path) -> Iterator[CacheItem]:
    for provider in _subdirs(base / "responses"):
        files = list(_response_entries(provider))
        if not files:
            continue
        times = [mtime for _, _, mtime in files]
        yield CacheItem(kind="responses", dataset="-", settings=f"{provider.name}: "
                        f"{len(files):,} responses", size=sum(size for _, size, _ in files),
                        created=min(times), last_used=max(times), path=provider,
                        count=len(files))


def _datasets(base: Path) -> Iterator[CacheItem]:
    for entry in _subdirs(base / "datasets"):
        yield CacheItem(kind="dataset", dataset=entry.name, settings="download",
                        size=_size(entry), created=_mtime(entry),
                        last_used=_mtime(entry / LAST_USED), path=entry)


def _others(base: Path) -> Iterator[CacheItem]:
    if not base.is_dir():
        return
    for path in sorted(base.iterdir()):
        if path.name in AREAS or path.name.startswith("."):
            continue
        yield CacheItem(kind="other", dataset="-", settings=path.name, size=_size(path),
                        created=_mtime(path), last_used=None, path=path)


def _response_entries(provider: Path) -> Iterator[tuple[Path, int, float]]:
    """(file, size, mtime) of a provider's cached answers (not locks or temp files)."""
    for path in provider.rglob("*.json"):
        if path.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            stat = path.stat()
            yield path, stat.st_size, stat.st_mtime


def _prune_responses(item: CacheItem, cutoff: float | None, dry_run: bool) -> CacheItem | None:
    """Remove a provider's answers written before ``cutoff`` (all with None); the row of
    what went, or None when nothing did."""
    files = [(path, size, mtime) for path, size, mtime in _response_entries(item.path)
             if cutoff is None or mtime < cutoff]
    if not files:
        return None
    if not dry_run:
        for path, _, _ in files:
            path.unlink(missing_ok=True)
    times = [mtime for _, _, mtime in files]
    provider = item.path.name
    return CacheItem(kind="responses", dataset="-",
                     settings=f"{provider}: {len(files):,} responses",
                     size=sum(size for _, size, _ in files), created=min(times),
                     last_used=max(times), path=item.path, count=len(files))


# --- removing ----------------------------------------------------------------------------


def _remove(item: CacheItem) -> str | None:
    """Remove an entry; the reason it was kept, or None when removed."""
    if item.kind in ("bm25-index", "candidates") and item.path.parent.parent.name == "artifacts":
        lock = item.path.parent / f"{item.path.name}.lock"
        with hold_lock(lock, blocking=False) as held:
            if not held:
                return "in use (being built)"
            shutil.rmtree(item.path, ignore_errors=True)
            lock.unlink(missing_ok=True)  # while held: a waiter sees a new inode
        return None
    if item.path.is_dir() and not item.path.is_symlink():
        shutil.rmtree(item.path, ignore_errors=True)
    else:
        item.path.unlink(missing_ok=True)
    return None


def _remove_orphans(root: Path) -> None:
    """Temporary folders of killed builds, and locks of removed entries, that no process
    holds."""
    for kind_dir in _subdirs(root):
        for path in sorted(kind_dir.iterdir()):
            if path.name.startswith(TMP_PREFIX):
                key = path.name[len(TMP_PREFIX):].split("-", 1)[0]
                lock = kind_dir / f"{key}.lock"
                with hold_lock(lock, blocking=False) as held:
                    if held:
                        shutil.rmtree(path, ignore_errors=True)
            elif path.suffix == ".lock" and not (kind_dir / path.stem).exists():
                with hold_lock(path, blocking=False) as held:
                    if held:
                        path.unlink(missing_ok=True)


# --- helpers -----------------------------------------------------------------------------


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except OSError:
        return []


def _manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(OSError):
            return path.lstat().st_size
        return 0
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _parse_iso(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _dataset_of(location: str) -> str:
    """``…/scifact/corpus.jsonl`` → ``scifact``; ``…/scifact.zip!…`` → ``scifact``."""
    if not location:
        return ""
    if "!" in location:
        return Path(location.split("!", 1)[0]).stem
    path = Path(location)
    return path.parent.name if path.name.startswith("corpus") else path.stem
