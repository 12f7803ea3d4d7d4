"""Corpus stores in the cache: built once per corpus source, verified, then mapped.

A loader describes its corpus as a :class:`CorpusSource` and calls :func:`open_corpus`.
The store lives in ``$RERANK_EVAL_CACHE/corpora/<key>/`` (default
``~/.cache/rerank-eval/corpora``), ``key`` a hash of where the corpus comes from (a file,
``archive.zip!member`` or a Hugging Face label), beside the store files of
:mod:`~rerank_eval.datasets.corpus_store` and a ``manifest.json``::

    {"format": 1, "location": ..., "identity": {"size": ..., "mtime_ns": ...},
     "checked_at_ns": ..., "corpus_sha256": ..., "rows": ..., "empty_documents": ...,
     "files": {"corpus.arrow": {"size": ..., "sha256": ...}, ...},
     "fingerprints": {"<sha256 of the queries and qrels parts>": "<dataset fingerprint>"}}

A store is reused when both hold:

1. **The source is the one it was built from.** Its identity (a file's size and
   mtime_ns; a zip's, plus the member's CRC-32 and size; a Hugging Face dataset's own
   fingerprint) equals the manifest's, and the source is then not read at all. When it
   differs, the corpus's bytes are hashed, without parsing (~1 s a GB), and compared with
   ``corpus_sha256``: equal (a touched or copied file) refreshes the identity, different
   rebuilds. A file changed within :data:`RACY_NS` of the last check may keep its size
   and mtime (file-system clocks are coarse), so such a store is hashed too: git's "racy
   clean" rule.
2. **The store files are intact**: each file's size and sha256 match the manifest (read
   through the page cache, ~1 s a GB, and those are the pages the mapping then uses).
   A full checksum rather than size + mtime because a store outlives the run that wrote
   it: a torn write, a bad sector or a half-copied cache keeps both. A damaged store is
   rebuilt with a warning.

The dataset fingerprint (a sha256 over the corpus, queries and qrels parts, unchanged
from before stores) cannot be resumed from a saved hash state, so the manifest keeps the
fingerprint for each digest of the other two parts: a cached load hashes the queries and
qrels as it parses them and looks the fingerprint up; an unseen split costs one more
hash of the corpus bytes.

Writes are atomic: the store is built in a temporary folder beside its place and renamed
into it; manifest updates go through :mod:`rerank_eval.atomic`. A cache that cannot be
written (read-only, full disk) leaves the corpus in memory, with a warning.
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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from rerank_eval import atomic
from rerank_eval.datasets.corpus import Corpus
from rerank_eval.datasets.corpus_build import write_corpus
from rerank_eval.datasets.corpus_store import ArrowCorpus, StoreWriter, file_sha256
from rerank_eval.datasets.records import Record, build_corpus

log = logging.getLogger("rerank_eval.datasets")

CACHE_ENV = "RERANK_EVAL_CACHE"
STORES_DIR = "corpora"
MANIFEST = "manifest.json"
LAST_USED = "last_used"
FORMAT = 1
RACY_NS = 5 * 10**9
MAX_FINGERPRINTS = 64
ORPHAN_AGE_S = 24 * 3600


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


class Tee:
    """Feeds every update to several hashers."""

    def __init__(self, *hashers: Hasher) -> None:
        self.hashers = hashers

    def update(self, data: bytes, /) -> None:
        for hasher in self.hashers:
            hasher.update(data)


class StaleStore(Exception):
    """The store's corpus turned out not to be the source's (found while hashing it for
    a fingerprint): the loader discards it and loads again."""


@dataclass(frozen=True)
class CorpusSource:
    """How a loader reads its corpus.

    ``where`` names it in messages, ``location`` (absolute) keys its store;
    ``records(hasher)`` parses it, feeding the corpus part of the fingerprint to
    ``hasher``; ``rehash(hasher)`` feeds the same bytes without parsing; ``first(id)`` is
    the position of an id's first record (for duplicate messages); ``identity`` is a
    JSON-able description that changes when the source does, or None when there is none
    (the corpus then stays in memory).
    """

    where: str
    location: str
    unit: str
    records: Callable[[Hasher], Iterator[Record]]
    rehash: Callable[[Hasher], None]
    first: Callable[[str], int | None]
    identity: dict[str, Any] | None


class LoadedCorpus:
    """A corpus and how to finish the dataset fingerprint: feed the queries and qrels
    parts to :attr:`rest`, then call :meth:`fingerprint`."""

    def __init__(self, corpus: Corpus, rest: Hasher,
                 fingerprint: Callable[[Callable[[Hasher], None]], str]) -> None:
        self.corpus = corpus
        self.rest = rest
        self._fingerprint = fingerprint

    def fingerprint(self, refeed_rest: Callable[[Hasher], None]) -> str:
        """``refeed_rest(hasher)`` feeds the queries and qrels parts again; it is called
        only for a split this store has not seen."""
        return self._fingerprint(refeed_rest)


def cache_root() -> Path:
    """``$RERANK_EVAL_CACHE``, or ``~/.cache/rerank-eval``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "rerank-eval"


def default_store_dir() -> Path:
    """Where corpus stores live: ``$RERANK_EVAL_CACHE/corpora``."""
    return cache_root() / STORES_DIR


def open_corpus(source: CorpusSource, store_dir: Path | None = None) -> LoadedCorpus:
    """The source's corpus: its verified store, else a new one, else (no identity, or a
    cache that cannot be written) a corpus in memory."""
    if source.identity is None:
        return _in_memory(source)
    entry = _Entry((store_dir or default_store_dir()) / store_key(source.location), source)
    reused = entry.reuse()
    if reused is not None:
        return reused
    try:
        return entry.build()
    except _Unwritable as exc:
        log.warning(f"{entry.folder}: cannot write the corpus store ({exc.__cause__}); "
                    "keeping the corpus in memory")
        return _in_memory(source)


def discard_store(source: CorpusSource, store_dir: Path | None = None) -> None:
    """Remove the source's store (after :class:`StaleStore`)."""
    folder = (store_dir or default_store_dir()) / store_key(source.location)
    (folder / MANIFEST).unlink(missing_ok=True)


@dataclass(frozen=True)
class StoreInfo:
    """A published store, for ``cache ls`` / ``cache prune``."""

    folder: Path
    location: str
    rows: int
    size: int
    """Bytes of its files."""
    created: str
    last_used: float
    """When a load last used it (epoch seconds)."""


def list_stores(store_dir: Path | None = None) -> list[StoreInfo]:
    """Every store with a readable manifest (its files are not verified here)."""
    root = store_dir or default_store_dir()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith("."):
            continue
        try:
            manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
            used = (folder / LAST_USED).stat().st_mtime
            found.append(StoreInfo(folder=folder, location=str(manifest["location"]),
                                   rows=int(manifest["rows"]),
                                   size=sum(int(f["size"]) for f in manifest["files"].values()),
                                   created=str(manifest.get("created", "")), last_used=used))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return found


def leftovers(store_dir: Path | None = None) -> list[Path]:
    """What ``cache prune`` may delete besides stores: temporary folders of builds (a
    build in progress has one too: prune those older than a build takes) and folders
    without a readable manifest."""
    root = store_dir or default_store_dir()
    listed = {info.folder for info in list_stores(root)}
    return [p for p in sorted(root.iterdir()) if p not in listed] if root.is_dir() else []


def remove_store(folder: Path) -> None:
    """Delete a store. A process that has it mapped keeps reading it (POSIX keeps the
    files until they are unmapped); its next load rebuilds."""
    doomed = folder.with_name(f".{folder.name}.old.{os.getpid()}")
    try:
        os.rename(folder, doomed)  # first out of the way: no load sees half a folder
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def store_key(location: str) -> str:
    return hashlib.sha256(location.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _in_memory(source: CorpusSource) -> LoadedCorpus:
    full = hashlib.sha256()
    corpus = build_corpus(source.records(full), source.where, source.unit, source.first)
    return LoadedCorpus(corpus, full, lambda _refeed: full.hexdigest())


class _Unwritable(Exception):
    """The store could not be written (the cause is the OSError)."""


class _GuardedWriter(StoreWriter):
    """A :class:`StoreWriter` whose failures say "the store", not "the source": an
    OSError while reading the source is the loader's to report, one while writing the
    store sends the corpus to memory."""

    def __init__(self, folder: Path) -> None:
        try:
            super().__init__(folder)
        except (OSError, pa.ArrowException) as exc:
            raise _Unwritable from exc

    def write(self, ids: list[str], titles: list[str], texts: list[str],
              keys: np.ndarray) -> None:
        try:
            super().write(ids, titles, texts, keys)
        except (OSError, pa.ArrowException) as exc:
            raise _Unwritable from exc

    def close(self) -> dict[str, dict[str, Any]]:
        try:
            return super().close()
        except (OSError, pa.ArrowException) as exc:
            raise _Unwritable from exc


class _Entry:
    """One store folder and its manifest."""

    def __init__(self, folder: Path, source: CorpusSource) -> None:
        self.folder = folder
        self.source = source
        self.manifest: dict[str, Any] = {}

    # ------------------------------------------------------------------ reuse

    def reuse(self) -> LoadedCorpus | None:
        manifest = self._read_manifest()
        if manifest is None or not self._same_source(manifest):
            return None
        damage = _damage(self.folder, manifest)
        if damage is None:
            try:
                corpus = ArrowCorpus(self.folder, manifest["empty_documents"])
            except (OSError, ValueError, pa.ArrowException) as exc:
                damage = f"cannot be opened: {exc}"
            else:
                if len(corpus) == manifest["rows"]:
                    self.manifest = manifest
                    with contextlib.suppress(OSError):
                        (self.folder / LAST_USED).touch()
                    tail = hashlib.sha256()
                    return LoadedCorpus(corpus, tail,
                                        lambda refeed: self._cached_fingerprint(tail, refeed))
                damage = f"holds {len(corpus)} rows, its manifest {manifest['rows']}"
        log.warning(f"{self.folder}: corpus store for {self.source.location} is damaged "
                    f"({damage}); rebuilding it")
        return None

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.folder / MANIFEST
        try:
            manifest = json.loads(path.read_text("utf-8"))
            if (manifest["format"] != FORMAT or not isinstance(manifest["files"], dict)
                    or not isinstance(manifest["fingerprints"], dict)):
                raise ValueError("unknown format")
            return manifest
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(f"{path}: unreadable manifest ({exc}); rebuilding the corpus store")
            return None

    def _same_source(self, manifest: dict[str, Any]) -> bool:
        """Whether the store was built from the source as it is now (see the module doc)."""
        identity = self.source.identity
        if manifest.get("location") != self.source.location:
            return False
        mtime = (identity or {}).get("mtime_ns")
        racy = isinstance(mtime, int) and mtime >= manifest.get("checked_at_ns", 0) - RACY_NS
        if manifest.get("identity") == identity and not racy:
            return True
        checked_at = time.time_ns()
        hasher = hashlib.sha256()
        self.source.rehash(hasher)
        if hasher.hexdigest() != manifest.get("corpus_sha256"):
            return False  # the source changed: rebuild (not damage: no warning)
        manifest.update(identity=identity, checked_at_ns=checked_at)
        self._update_manifest(manifest["files"], identity=identity, checked_at_ns=checked_at)
        return True

    def _cached_fingerprint(self, tail: Any, refeed_rest: Callable[[Hasher], None]) -> str:
        rest = tail.hexdigest()
        known = self.manifest["fingerprints"].get(rest)
        if isinstance(known, str):
            return known
        full = hashlib.sha256()
        self.source.rehash(full)
        if full.copy().hexdigest() != self.manifest["corpus_sha256"]:  # the corpus part only
            raise StaleStore(self.source.location)
        refeed_rest(full)
        fingerprint = full.hexdigest()
        self._remember(rest, fingerprint)
        return fingerprint

    # ------------------------------------------------------------------ build

    def build(self) -> LoadedCorpus:
        source = self.source
        checked_at = time.time_ns()
        full, tail = hashlib.sha256(), hashlib.sha256()
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            _sweep_orphans(self.folder)
            tmp = Path(tempfile.mkdtemp(dir=self.folder.parent, prefix=f".{self.folder.name}."))
            tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide a shared cache
        except OSError as exc:
            raise _Unwritable from exc
        try:
            writer = _GuardedWriter(tmp)
            try:
                empty = write_corpus(source.records(full), source.where, source.unit,
                                     source.first, writer)
                # the corpus part comes first: its own digest is a copy of the state now
                corpus_sha256 = full.copy().hexdigest()
                files = writer.close()
            except BaseException:
                writer.abort()
                raise
            manifest = {"format": FORMAT, "kind": "corpus", "location": source.location,
                        "created": _now(), "identity": source.identity,
                        "checked_at_ns": checked_at,
                        "corpus_sha256": corpus_sha256, "rows": writer.rows,
                        "empty_documents": empty, "files": files, "fingerprints": {}}
            try:
                atomic.write_json(tmp / MANIFEST, manifest)
                (tmp / LAST_USED).touch()
                _publish(tmp, self.folder)
            except OSError as exc:
                raise _Unwritable from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when published
        self.manifest = manifest
        corpus = ArrowCorpus(self.folder, empty)

        def fingerprint(_refeed: Callable[[Hasher], None]) -> str:
            value = full.hexdigest()
            self._remember(tail.hexdigest(), value)
            return value

        return LoadedCorpus(corpus, Tee(full, tail), fingerprint)

    # ------------------------------------------------------------------ manifest updates

    def _remember(self, rest: str, fingerprint: str) -> None:
        known = dict(self.manifest.get("fingerprints", {}))
        known[rest] = fingerprint
        while len(known) > MAX_FINGERPRINTS:
            known.pop(next(iter(known)))
        self.manifest["fingerprints"] = known
        self._update_manifest(self.manifest["files"], fingerprints=known)

    def _update_manifest(self, files: dict[str, Any], **changes: Any) -> None:
        """Rewrite the manifest with ``changes`` if it still describes the same files (a
        concurrent rebuild wins); a cache that cannot be written only loses the memo."""
        path = self.folder / MANIFEST
        try:
            current = json.loads(path.read_text("utf-8"))
            if current.get("files") != files:
                return
            current.update(changes)
            atomic.write_json(path, current)
        except (OSError, ValueError) as exc:
            log.debug(f"{path}: not updated ({exc})")


def _damage(folder: Path, manifest: dict[str, Any]) -> str | None:
    """What is wrong with the store files, or None."""
    for name, expected in manifest["files"].items():
        path = folder / name
        try:
            size = path.stat().st_size
            if size != expected["size"]:
                return f"{name}: {size} bytes, expected {expected['size']}"
            if file_sha256(path) != expected["sha256"]:
                return f"{name}: sha256 differs"
        except (OSError, KeyError, TypeError) as exc:
            return f"{name}: {exc}"
    return None


def _sweep_orphans(folder: Path) -> None:
    """Remove this store's temporary folders left by killed builds. Only old ones: a
    build running in another process right now has a young one (no lock is taken)."""
    for orphan in folder.parent.glob(f".{folder.name}.*"):
        with contextlib.suppress(OSError):
            if time.time() - orphan.stat().st_mtime > ORPHAN_AGE_S:
                shutil.rmtree(orphan, ignore_errors=True)


def _publish(tmp: Path, folder: Path) -> None:
    """Rename the built store into place, replacing (then deleting) an older one."""
    try:
        os.rename(tmp, folder)
        return
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) and not folder.exists():
            raise
    old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old."))
    with contextlib.suppress(FileNotFoundError):  # another process moved it already
        os.rename(folder, old / "store")
    try:
        os.rename(tmp, folder)
    except OSError:
        if not (folder / MANIFEST).is_file():
            raise
        # another process published the same store meanwhile: keep theirs
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
