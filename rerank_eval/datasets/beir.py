"""Reading a BEIR-layout folder, or a zip of one.

BEIR layout: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id corpus-id score``, tab separated, one
header line). Loading follows BEIR's ``GenericDataLoader``: the dataset keeps only the
queries its split judges, and judgments of any grade (0 and negative included) are kept.

Bad input fails with a :class:`DatasetError` that names the file and, where there is
one, the line and field. The three files are hashed as they are parsed: that sha256 is
the dataset's ``fingerprint``.

The corpus goes into a memory-mapped store in the cache the first time
(:mod:`~rerank_eval.datasets.corpus_cache`); later loads map that store without reading
``corpus.jsonl`` while its size and mtime say it is unchanged.
"""

from __future__ import annotations

import codecs
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from rerank_eval.datasets.corpus_cache import (
    CorpusSource,
    Hasher,
    StaleStore,
    discard_store,
    open_corpus,
)
from rerank_eval.datasets.model import Dataset, DatasetError
from rerank_eval.datasets.records import (
    Judgment,
    Record,
    assemble,
    build_queries,
    check_id,
    json_object,
)

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_DIR = "qrels"


class _Source(Protocol):
    """Where a BEIR layout's files are read from: a folder or a zip."""

    def open(self, rel: str) -> IO[bytes]: ...
    def has(self, rel: str) -> bool: ...
    def qrels_splits(self) -> list[str]: ...
    def where(self, rel: str) -> str: ...
    def location(self, rel: str) -> str: ...
    def identity(self, rel: str) -> dict[str, Any]: ...


class _FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, rel: str) -> IO[bytes]:
        return (self.root / rel).open("rb")

    def has(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def qrels_splits(self) -> list[str]:
        return sorted(p.stem for p in (self.root / QRELS_DIR).glob("*.tsv"))

    def where(self, rel: str) -> str:
        return str(self.root / rel)

    def location(self, rel: str) -> str:
        return str((self.root / rel).resolve())

    def identity(self, rel: str) -> dict[str, Any]:
        return _stat_identity(self.root / rel)


class _ZipSource:
    def __init__(self, path: Path, archive: zipfile.ZipFile, prefix: str) -> None:
        self.path = path
        self.archive = archive
        self.prefix = prefix
        self.names = set(archive.namelist())

    def open(self, rel: str) -> IO[bytes]:
        return self.archive.open(self.prefix + rel)

    def has(self, rel: str) -> bool:
        return self.prefix + rel in self.names

    def qrels_splits(self) -> list[str]:
        folder = PurePosixPath(self.prefix + QRELS_DIR)
        return sorted(PurePosixPath(n).stem for n in self.names
                      if PurePosixPath(n).parent == folder and n.endswith(".tsv"))

    def where(self, rel: str) -> str:
        return f"{self.path}!{self.prefix}{rel}"

    def location(self, rel: str) -> str:
        return f"{self.path.resolve()}!{self.prefix}{rel}"

    def identity(self, rel: str) -> dict[str, Any]:
        member = self.archive.getinfo(self.prefix + rel)
        return {**_stat_identity(self.path), "crc32": member.CRC, "member_size": member.file_size}


def _stat_identity(path: Path) -> dict[str, Any]:
    """What says a file is unchanged without reading it (see corpus_cache: racy clean)."""
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def load_beir_folder(path: Path, split: str = "test", name: str | None = None, *,
                     store_dir: Path | None = None) -> Dataset:
    """Load a BEIR-layout folder (or a ``.zip`` holding one, at its root or in one folder).

    ``fingerprint`` is the sha256 over the three files' names and bytes, so a folder and
    the zip it came from have the same fingerprint. The corpus is a memory-mapped store
    kept in ``store_dir`` (default ``$RERANK_EVAL_CACHE/corpora``).
    """
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _load_zip(path, split, name, store_dir)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a BEIR folder or zip")
    if not (path / CORPUS_FILE).is_file():
        subsets = subdatasets(path)
        if subsets:
            raise DatasetError(f"{path}: holds several datasets, load one of them: "
                               f"{', '.join(f'{path.name}/{s}' for s in subsets)}")
        raise DatasetError(f"{path}: no {CORPUS_FILE} (not a BEIR folder)")
    return _load_source(_FolderSource(path), split, name or path.name, path, store_dir)


def subdatasets(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / CORPUS_FILE).is_file())


def _load_zip(path: Path, split: str, name: str | None, store_dir: Path | None) -> Dataset:
    try:
        with zipfile.ZipFile(path) as archive:
            roots = sorted(str(PurePosixPath(n).parent) for n in archive.namelist()
                           if PurePosixPath(n).name == CORPUS_FILE)
            if not roots:
                raise DatasetError(f"{path}: no {CORPUS_FILE} in the archive")
            if len(roots) > 1:
                raise DatasetError(f"{path}: holds several datasets ({', '.join(roots)}); "
                                   "extract it and load one of them")
            prefix = "" if roots[0] == "." else roots[0] + "/"
            source = _ZipSource(path, archive, prefix)
            return _load_source(source, split, name or path.stem, path, store_dir)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{path}: not a valid zip archive: {exc}") from exc


def _load_source(source: _Source, split: str, name: str, path: Path | None,
                 store_dir: Path | None) -> Dataset:
    qrels_rel = f"{QRELS_DIR}/{split}.tsv"
    for rel in (CORPUS_FILE, QUERIES_FILE):
        if not source.has(rel):
            raise DatasetError(f"{source.where(rel)}: file missing")
    if "/" in split or not source.has(qrels_rel):
        splits = source.qrels_splits()
        raise DatasetError(f"{source.where(qrels_rel)}: no qrels for split {split!r}; "
                           f"splits that exist: {', '.join(splits) or 'none'}")

    corpus_source = CorpusSource(
        where=source.where(CORPUS_FILE), location=source.location(CORPUS_FILE), unit="line",
        records=lambda hasher: _jsonl_records(source, CORPUS_FILE, hasher),
        rehash=lambda hasher: _hash_file(source, CORPUS_FILE, hasher),
        first=lambda doc_id: _first_jsonl_line(source, CORPUS_FILE, doc_id),
        identity=source.identity(CORPUS_FILE))
    try:
        return _assemble_source(source, split, name, path, corpus_source, store_dir)
    except StaleStore:  # the store's corpus is not this file's, size and mtime notwithstanding
        discard_store(corpus_source, store_dir)
        return _assemble_source(source, split, name, path, corpus_source, store_dir)


def _assemble_source(source: _Source, split: str, name: str, path: Path | None,
                     corpus_source: CorpusSource, store_dir: Path | None) -> Dataset:
    qrels_rel = f"{QRELS_DIR}/{split}.tsv"
    loaded = open_corpus(corpus_source, store_dir)
    queries = build_queries(_jsonl_records(source, QUERIES_FILE, loaded.rest),
                             source.where(QUERIES_FILE), "line",
                             lambda qid: _first_jsonl_line(source, QUERIES_FILE, qid))
    judgments = _tsv_judgments(source, qrels_rel, loaded.rest)

    def refeed_rest(hasher: Hasher) -> None:
        _hash_file(source, QUERIES_FILE, hasher)
        _hash_file(source, qrels_rel, hasher)

    return assemble(name, split, loaded.corpus, queries, judgments, source.where(qrels_rel),
                     "line", path, lambda: loaded.fingerprint(refeed_rest))


def _hash_file(source: _Source, rel: str, hasher: Hasher) -> None:
    """Feed a file to the fingerprint as :func:`_jsonl_records` and :func:`_tsv_judgments`
    do (name, bytes, separator), without parsing it."""
    hasher.update(rel.encode() + b"\0")
    with source.open(rel) as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    hasher.update(b"\0")


def _jsonl_records(source: _Source, rel: str, hasher: Any) -> Iterator[Record]:
    """Parse a JSON-lines file one line at a time (stdlib json on bytes), hashing as it goes."""
    where = source.where(rel)
    hasher.update(rel.encode() + b"\0")
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            hasher.update(raw)
            obj = json_object(raw, where, line_no)
            if obj is not None:
                yield line_no, obj
    hasher.update(b"\0")


def _first_jsonl_line(source: _Source, rel: str, wanted: str) -> int | None:
    """Line of the first record with ``_id == wanted``: only read again to report a
    duplicate, so that loading need not keep a line number for every id."""
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and str(obj.get("_id")) == wanted:
                return line_no
    return None


def _tsv_judgments(source: _Source, rel: str, hasher: Any) -> Iterator[Judgment]:
    """Rows of a BEIR qrels file. The header is recognised (not blindly skipped, as BEIR
    does) by its non-numeric score column, so a header-less file loses no judgment."""
    where = source.where(rel)
    hasher.update(rel.encode() + b"\0")
    first = True
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            hasher.update(raw)
            try:
                # utf-8-sig on the first line: a leading byte-order mark is dropped
                line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{where} line {line_no}: not UTF-8 ({exc.reason})") from None
            if not line.strip():
                continue
            columns = [c.strip() for c in line.split("\t")]
            if len(columns) != 3:
                raise DatasetError(f"{where} line {line_no}: expected 3 tab-separated columns "
                                   f"(query-id, corpus-id, score), found {len(columns)}")
            query_id, doc_id, raw_score = columns
            is_header, first = first, False
            try:
                score = int(raw_score)
            except ValueError:
                if is_header:
                    continue
                raise DatasetError(f"{where} line {line_no}: field 'score': {raw_score!r} is not "
                                   "an integer") from None
            check_id(query_id, where, "line", line_no, "query-id")
            check_id(doc_id, where, "line", line_no, "corpus-id")
            yield line_no, query_id, doc_id, score
    hasher.update(b"\0")

