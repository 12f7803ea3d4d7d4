"""Built artifacts kept between runs: BM25 indexes and first-stage candidates.

Building a BM25 index over a large corpus and searching it dominates a run's first-stage
time, and every run of the same dataset with the same settings would build the same
thing. An artifact is stored once under ``$RERANK_EVAL_CACHE/artifacts`` (default
``~/.cache/rerank-eval/artifacts``) and reused:

``artifacts/<kind>/<key>/``
    the artifact's files and ``manifest.json``: ``kind``, ``key``, the ``fields`` the key
    is the hash of (dataset fingerprint, settings, library versions), ``dataset`` (a
    label), ``settings`` (a short line for ``cache ls``), ``created``, and each file's
    ``size`` and ``sha256``. ``last_used`` (an empty file) is touched on every reuse.

**Key**: the SHA-256 of the canonical JSON of (:data:`FORMAT_VERSION`, kind, fields), so
different data or settings never share an entry, and the same ones always do.

**Atomic**: an entry is built in ``<kind>/.tmp-<key>-*`` and renamed into place after
its manifest is written, so a folder named by its key is complete; a killed build leaves
only a temporary folder, removed by the next build of that key or by ``cache prune``.

**Verified**: before reuse, every file's size and sha256 are checked against the
manifest. A damaged entry (missing or changed file, unreadable manifest) is removed
with a warning and rebuilt; a damaged entry never yields a result.

**One build per key across processes**: building and checking take the key's lock
(an exclusive ``flock`` on ``<kind>/<key>.lock``, released by the kernel if the holder
dies, and the file removed by its holder when done); a second run needing the same
entry waits, then reuses what the first built.

A cache that cannot be written (read-only, full disk) is skipped with a warning: the
artifact is built in memory. ``RERANK_EVAL_NO_ARTIFACT_CACHE=1`` turns the cache off
(everything is built in memory and nothing is read or written). ``--no-cache`` on
``run`` does not: it concerns provider responses only, and cached artifacts cannot
change results (a key covers every input that decides them).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rerank_eval import atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LAST_USED = "last_used"
NO_CACHE_ENV = "RERANK_EVAL_NO_ARTIFACT_CACHE"
TMP_PREFIX = ".tmp-"

T = TypeVar("T")

_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
"""Errors of a cache that cannot be written (full, read-only): the run goes on without it."""


def cache_base() -> Path:
    """``$RERANK_EVAL_CACHE`` (default ``~/.cache/rerank-eval``): the root of every cache."""
    base = os.environ.get("RERANK_EVAL_CACHE")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "rerank-eval"


def disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("1", "true", "yes")


def artifact_key(kind: str, fields: Mapping[str, Any]) -> str:
    canonical = json.dumps({"format": FORMAT_VERSION, "kind": kind, "fields": fields},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class DamagedArtifact(ValueError):
    """An entry whose manifest or files do not check out: removed and rebuilt."""


@dataclass(frozen=True)
class Entry:
    """A verified entry: its folder and manifest."""

    path: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name


@dataclass
class Fetched:
    """What :meth:`ArtifactCache.fetch` returns: the value, and whether it was reused."""

    value: Any
    reused: bool


class ArtifactCache:
    """Entries under ``root`` (default ``$RERANK_EVAL_CACHE/artifacts``); ``enabled=False``
    (or :data:`NO_CACHE_ENV`) reads and writes nothing: every fetch builds."""

    def __init__(self, root: Path | None = None, *, enabled: bool = True) -> None:
        self.root = Path(root) if root is not None else cache_base() / "artifacts"
        self.enabled = enabled and not disabled_by_env()
        self.builds: dict[str, int] = {}
        """Per kind, how many entries this object built (reuse is what did not)."""

    def folder(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def fetch(self, kind: str, fields: Mapping[str, Any], *, label: Mapping[str, str],
              build: Callable[[Path | None], T], load: Callable[[Entry], T]) -> Fetched:
        """The artifact ``(kind, fields)``: loaded from a verified entry, else built.

        ``build(folder)`` computes the value and writes its files into ``folder`` (a
        fresh temporary folder; None with the cache off: nothing to write);
        ``load(entry)`` reads a verified entry. ``label`` (``dataset``, ``settings``) is
        recorded in the manifest for ``cache ls``.
        """
        if not self.enabled:
            return self._in_memory(kind, build)
        key = artifact_key(kind, fields)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(hold_lock(self.root / kind / f"{key}.lock", remove=True))
            except OSError as exc:
                log.warning("artifact cache %s cannot be written (%s); building in memory",
                            self.root, exc)
                return self._in_memory(kind, build)
            entry = self._verified(kind, key)
            if entry is not None:
                with contextlib.suppress(OSError):
                    (entry.path / LAST_USED).touch()
                try:
                    return Fetched(load(entry), reused=True)
                except Exception as exc:  # checksums passed, yet unreadable: rebuild
                    self._discard(kind, key, f"cannot be read ({type(exc).__name__}: {exc})")
            try:
                value = self._build(kind, key, fields, label, build)
            except OSError as exc:
                if exc.errno not in _CANNOT_WRITE:
                    raise
                log.warning("artifact cache %s cannot be written (%s); building in memory",
                            self.root, exc)
                return self._in_memory(kind, build)
        self.builds[kind] = self.builds.get(kind, 0) + 1
        return Fetched(value, reused=False)

    def _in_memory(self, kind: str, build: Callable[[Path | None], T]) -> Fetched:
        value = build(None)
        self.builds[kind] = self.builds.get(kind, 0) + 1
        return Fetched(value, reused=False)

    def _build(self, kind: str, key: str, fields: Mapping[str, Any],
               label: Mapping[str, str], build: Callable[[Path | None], T]) -> T:
        parent = self.root / kind
        parent.mkdir(parents=True, exist_ok=True)
        for orphan in parent.glob(f"{TMP_PREFIX}{key}-*"):  # we hold the key: a killed build's
            shutil.rmtree(orphan, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{key}-", dir=parent))
        try:
            value = build(tmp)
            files = {}
            for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
                _fsync(path)
                files[path.relative_to(tmp).as_posix()] = {"size": path.stat().st_size,
                                                           "sha256": file_sha256(path)}
            manifest = {
                "format": FORMAT_VERSION, "kind": kind, "key": key,
                "dataset": label.get("dataset", ""), "settings": label.get("settings", ""),
                "created": _now(), "fields": dict(fields), "files": files,
                "size": sum(f["size"] for f in files.values()),
            }
            atomic.write_json(tmp / MANIFEST, manifest)
            (tmp / LAST_USED).touch()
            final = self.folder(kind, key)
            if final.exists():  # damaged and not removable before: out of the way now
                shutil.rmtree(final)
            os.rename(tmp, final)
            _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return value

    def _verified(self, kind: str, key: str) -> Entry | None:
        folder = self.folder(kind, key)
        if not folder.exists():
            return None
        try:
            return verify_entry(folder, kind=kind, key=key)
        except DamagedArtifact as exc:
            self._discard(kind, key, str(exc))
            return None

    def _discard(self, kind: str, key: str, reason: str) -> None:
        folder = self.folder(kind, key)
        log.warning("artifact cache: %s entry %s is damaged (%s); removed, rebuilding",
                    kind, folder, reason)
        shutil.rmtree(folder, ignore_errors=True)


def read_manifest(folder: Path) -> dict[str, Any]:
    """An entry's manifest; :class:`DamagedArtifact` when missing or malformed."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise DamagedArtifact(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise DamagedArtifact(f"{path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise DamagedArtifact(f"{path}: not a manifest (no 'files' object)")
    return manifest


def verify_entry(folder: Path, *, kind: str | None = None, key: str | None = None) -> Entry:
    """The entry in ``folder`` if its manifest matches ``kind``/``key`` and every file
    its size and sha256; else :class:`DamagedArtifact` naming what differs."""
    manifest = read_manifest(folder)
    if manifest.get("format") != FORMAT_VERSION:
        raise DamagedArtifact(f"{folder / MANIFEST}: format {manifest.get('format')!r}, "
                              f"expected {FORMAT_VERSION}")
    for name, expected in (("kind", kind), ("key", key)):
        if expected is not None and manifest.get(name) != expected:
            raise DamagedArtifact(f"{folder / MANIFEST}: {name} {manifest.get(name)!r}, "
                                  f"expected {expected!r}")
    for name, info in manifest["files"].items():
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            raise DamagedArtifact(f"{path} is missing") from None
        if not isinstance(info, dict) or size != info.get("size"):
            raise DamagedArtifact(f"{path}: {size} bytes, the manifest says "
                                  f"{info.get('size') if isinstance(info, dict) else info!r}")
        if file_sha256(path) != info.get("sha256"):
            raise DamagedArtifact(f"{path}: sha256 differs from the manifest's")
    return Entry(folder, manifest)


@contextlib.contextmanager
def hold_lock(path: Path, *, blocking: bool = True, remove: bool = False) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed). Yields True when held;
    with ``blocking=False``, yields False at once if another process holds it.

    A holder may remove the lock file (``remove=True``: when done, so no lock file stays
    behind; ``cache prune``); a process that was waiting on the removed file then sees
    another inode at ``path`` and locks a new file instead.
    """
    if fcntl is None:  # pragma: no cover - Windows: no cross-process lock
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield True
    finally:
        if remove:
            with contextlib.suppress(OSError):
                os.unlink(path)
        os.close(fd)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
