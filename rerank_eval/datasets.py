"""BEIR-format datasets: a folder, a zip of one, a BEIR download, or Hugging Face ``datasets``.

BEIR layout: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id corpus-id score``, tab separated, one
header line). Loading follows BEIR's ``GenericDataLoader``: the dataset keeps only the
queries its split judges, and judgments of any grade (0 and negative included) are kept.

Bad input fails with a :class:`DatasetError` that names the file and, where there is
one, the line and field. Judgments that name unknown queries or documents are the one
thing tolerated: they are counted, reported in ``Dataset.warnings`` and dropped, because
published qrels do contain a few of them and refusing the whole dataset would help no one.

``load_dataset(name)`` resolves a name in the order the design fixes: an existing path,
``$RERANK_EVAL_DATASETS/<name>``, the download cache, then BEIR's public zip (verified
against the MD5 BEIR publishes, see ``dataset_registry.toml``). ``hf:<id-or-path>`` goes
to Hugging Face ``datasets``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

import httpx

log = logging.getLogger(__name__)

DATASETS_ENV = "RERANK_EVAL_DATASETS"
CACHE_ENV = "RERANK_EVAL_CACHE"
URL_ENV = "RERANK_EVAL_DATASETS_URL"
HF_PREFIX = "hf:"

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_DIR = "qrels"
DOWNLOAD_RECORD = ".rerank-eval-download.json"

_DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=120.0)
_CHUNK = 1 << 20

# A dataset record as the parsers hand it on: its position (line or row) and its fields.
_Record = tuple[int, dict[str, Any]]
# A judgment: position, query id, document id, grade.
_Judgment = tuple[int, str, str, int]


class DatasetError(ValueError):
    """A dataset cannot be found, fetched or read. The message names the file (and the
    line and field where there is one)."""


@dataclass(frozen=True, slots=True)
class CorpusDocument:
    """One corpus document. ``full_text`` is what rerankers are given."""

    doc_id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """``title + " " + text`` (BEIR convention); just the non-empty part when one is empty."""
        if not self.title:
            return self.text
        if not self.text:
            return self.title
        return f"{self.title} {self.text}"


@dataclass
class Dataset:
    """A loaded split: corpus, the queries the split judges, and their judgments."""

    name: str
    split: str
    corpus: dict[str, CorpusDocument] = field(repr=False)
    queries: dict[str, str] = field(repr=False)
    qrels: dict[str, dict[str, int]] = field(repr=False)
    path: Path | None
    fingerprint: str
    warnings: list[str] = field(default_factory=list)

    @property
    def n_judgments(self) -> int:
        return sum(len(docs) for docs in self.qrels.values())

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, split={self.split!r}, docs={len(self.corpus)}, "
                f"queries={len(self.queries)}, judgments={self.n_judgments}, "
                f"path={self.path!r}, fingerprint={self.fingerprint[:12]!r}…)")


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class BeirEntry:
    """One BEIR archive: its published MD5 (``None`` when none was published)."""

    name: str
    md5: str | None
    public: bool = True
    note: str = ""


@dataclass
class BeirRegistry:
    base_url: str
    entries: dict[str, BeirEntry]


@cache
def beir_registry() -> BeirRegistry:
    """The BEIR archives rerank-eval knows how to download (package data, read once)."""
    text = resources.files("rerank_eval").joinpath("dataset_registry.toml").read_text("utf-8")
    data = tomllib.loads(text)
    entries = {
        name: BeirEntry(name=name, md5=spec.get("md5") or None,
                        public=bool(spec.get("public", True)), note=spec.get("note", ""))
        for name, spec in data["datasets"].items()
    }
    return BeirRegistry(base_url=data["base_url"], entries=entries)


def known_beir_datasets() -> list[str]:
    """Names of the BEIR datasets that can be downloaded (``load_dataset(name)`` fetches them)."""
    return sorted(name for name, entry in beir_registry().entries.items() if entry.public)


def default_cache_dir() -> Path:
    """Where downloaded datasets live: ``$RERANK_EVAL_CACHE/datasets`` or
    ``~/.cache/rerank-eval/datasets``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "rerank-eval"
    return base / "datasets"


# --------------------------------------------------------------------------- resolution


def load_dataset(name_or_path: str | Path, split: str = "test", *,
                 datasets_dir: Path | None = None, cache_dir: Path | None = None,
                 download: bool = True, verify: bool = True) -> Dataset:
    """Load a dataset by path or name.

    Resolution order: ``hf:<id-or-path>`` → Hugging Face; an existing path (BEIR folder or
    ``.zip``); ``datasets_dir`` (default ``$RERANK_EVAL_DATASETS``) ``/<name>``; the cache
    (``cache_dir``, default :func:`default_cache_dir`) ``/<name>``; BEIR's public zip,
    downloaded into the cache. ``verify=False`` allows archives without a published MD5.
    Names may address a sub-dataset of an archive, e.g. ``cqadupstack/android``.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text.startswith(HF_PREFIX):
        return load_hf_dataset(text[len(HF_PREFIX):], split)
    path = Path(text).expanduser()
    if path.exists():
        return load_beir_folder(path, split)
    if isinstance(name_or_path, Path) or _looks_like_path(text):
        raise DatasetError(f"{path}: no such file or folder")
    name = _check_name(text)

    looked: list[str] = []
    root = datasets_dir if datasets_dir is not None else _env_path(DATASETS_ENV)
    if root is None:
        looked.append(f"${DATASETS_ENV} (not set)")
    else:
        for candidate in (root / name, root / f"{name}.zip"):
            looked.append(str(candidate))
            if candidate.exists():
                return load_beir_folder(candidate, split, name=name)

    cache_root = cache_dir if cache_dir is not None else default_cache_dir()
    cached = cache_root / name
    looked.append(str(cached))
    if cached.is_dir():
        return load_beir_folder(cached, split, name=name)

    archive = name.split("/")[0]
    entry = beir_registry().entries.get(archive)
    if entry is None or not entry.public:
        raise DatasetError(_not_found_message(name, looked, entry))
    if not download:
        raise DatasetError(f"dataset {name!r} is not available locally and downloading is off; "
                           f"looked in: {', '.join(looked)}")
    download_beir(archive, cache_root, verify=verify)
    if not cached.is_dir():
        held = ", ".join(_subdatasets(cache_root / archive)) or "no sub-datasets"
        raise DatasetError(f"{cache_root / archive}: the {archive!r} archive has no {name!r}; "
                           f"it holds: {held}")
    return load_beir_folder(cached, split, name=name)


def _looks_like_path(text: str) -> bool:
    return (text.startswith((".", "~", "/")) or text.lower().endswith(".zip")
            or (os.sep != "/" and os.sep in text))


def _check_name(text: str) -> str:
    parts = text.split("/")
    if not text or any(part in ("", ".", "..") for part in parts):
        raise DatasetError(f"{text!r} is not a dataset name or an existing path")
    return text


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def _not_found_message(name: str, looked: list[str], entry: BeirEntry | None) -> str:
    if entry is not None:  # known to BEIR but not distributed by it
        return (f"dataset {name!r} is not available locally ({entry.note}); "
                f"looked in: {', '.join(looked)}")
    return (f"unknown dataset {name!r}: not a path, and not found in: {', '.join(looked)}; "
            f"downloadable BEIR datasets: {', '.join(known_beir_datasets())}")


# --------------------------------------------------------------------------- download


def download_beir(name: str, cache_dir: Path, *, base_url: str | None = None,
                  verify: bool = True) -> Path:
    """Download BEIR's ``<name>.zip`` into ``cache_dir/<name>`` and return that folder.

    The archive is streamed to a temporary folder inside ``cache_dir``, its MD5 checked
    against the registry, extracted there, and only then renamed into place, so an
    interrupted or failed download leaves nothing behind. The base URL is ``base_url``,
    else ``$RERANK_EVAL_DATASETS_URL``, else BEIR's server. An archive without a
    published MD5 is refused unless ``verify=False``.
    """
    registry = beir_registry()
    entry = registry.entries.get(name)
    if entry is None:
        raise DatasetError(f"no download entry for {name!r}; "
                           f"downloadable BEIR datasets: {', '.join(known_beir_datasets())}")
    if not entry.public:
        raise DatasetError(f"cannot download {name!r}: {entry.note}")
    if verify and entry.md5 is None:
        raise DatasetError(f"no published checksum for {name!r} in the dataset registry; "
                           "refusing to download it unverified (pass verify=False / --no-verify "
                           "to accept it anyway)")
    target = cache_dir / name
    if target.is_dir():
        return target
    base = (base_url or os.environ.get(URL_ENV) or registry.base_url).rstrip("/")
    url = f"{base}/{name}.zip"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{name}.download-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        log.info("downloading %s", url)
        md5, sha256 = _fetch(url, archive)
        if verify and md5 != entry.md5:
            raise DatasetError(f"{url}: checksum mismatch: expected md5 {entry.md5}, got {md5}; "
                               "the download was discarded")
        folder = _extract(archive, Path(tmp) / "extracted", name, url)
        record = {"url": url, "md5": md5, "sha256": sha256, "verified": verify,
                  "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (folder / DOWNLOAD_RECORD).write_text(json.dumps(record, indent=2) + "\n", "utf-8")
        try:
            folder.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent download that finished first
                raise
    log.info("%s: extracted to %s", url, target)
    return target


def _fetch(url: str, dest: Path) -> tuple[str, str]:
    """Stream ``url`` to ``dest``; return its (md5, sha256) hex digests."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    try:
        with httpx.stream("GET", url, timeout=_DOWNLOAD_TIMEOUT, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise DatasetError(f"{url}: download failed: HTTP {resp.status_code}")
            with dest.open("wb") as handle:
                for chunk in resp.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    md5.update(chunk)
                    sha256.update(chunk)
    except httpx.HTTPError as exc:
        raise DatasetError(f"{url}: download failed: {type(exc).__name__}: {exc}") from exc
    return md5.hexdigest(), sha256.hexdigest()


def _extract(archive: Path, dest: Path, name: str, url: str) -> Path:
    """Extract ``archive`` under ``dest`` and return the dataset folder inside it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member).parts
                if member.startswith("/") or ".." in parts:
                    raise DatasetError(f"{url}: unsafe path in archive: {member!r}")
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{url}: not a valid zip archive: {exc}") from exc
    if (dest / name).is_dir():
        return dest / name
    if (dest / CORPUS_FILE).is_file():
        return dest
    raise DatasetError(f"{url}: the archive has neither a top-level {name}/ folder "
                       f"nor a {CORPUS_FILE}")


# --------------------------------------------------------------------------- BEIR files


class _Source(Protocol):
    """Where a BEIR layout's files are read from: a folder or a zip."""

    def open(self, rel: str) -> IO[bytes]: ...
    def has(self, rel: str) -> bool: ...
    def qrels_splits(self) -> list[str]: ...
    def where(self, rel: str) -> str: ...


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


def load_beir_folder(path: Path, split: str = "test", name: str | None = None) -> Dataset:
    """Load a BEIR-layout folder (or a ``.zip`` holding one, at its root or in one folder).

    ``fingerprint`` is the sha256 over the three files' names and bytes, so a folder and
    the zip it came from have the same fingerprint.
    """
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _load_zip(path, split, name)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a BEIR folder or zip")
    if not (path / CORPUS_FILE).is_file():
        subsets = _subdatasets(path)
        if subsets:
            raise DatasetError(f"{path}: holds several datasets, load one of them: "
                               f"{', '.join(f'{path.name}/{s}' for s in subsets)}")
        raise DatasetError(f"{path}: no {CORPUS_FILE} (not a BEIR folder)")
    return _load_source(_FolderSource(path), split, name or path.name, path)


def _subdatasets(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / CORPUS_FILE).is_file())


def _load_zip(path: Path, split: str, name: str | None) -> Dataset:
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
            return _load_source(source, split, name or path.stem, path)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{path}: not a valid zip archive: {exc}") from exc


def _load_source(source: _Source, split: str, name: str, path: Path | None) -> Dataset:
    qrels_rel = f"{QRELS_DIR}/{split}.tsv"
    for rel in (CORPUS_FILE, QUERIES_FILE):
        if not source.has(rel):
            raise DatasetError(f"{source.where(rel)}: file missing")
    if "/" in split or not source.has(qrels_rel):
        splits = source.qrels_splits()
        raise DatasetError(f"{source.where(qrels_rel)}: no qrels for split {split!r}; "
                           f"splits that exist: {', '.join(splits) or 'none'}")

    hasher = hashlib.sha256()
    corpus = _build_corpus(_jsonl_records(source, CORPUS_FILE, hasher),
                           source.where(CORPUS_FILE), "line",
                           lambda doc_id: _first_jsonl_line(source, CORPUS_FILE, doc_id))
    queries = _build_queries(_jsonl_records(source, QUERIES_FILE, hasher),
                             source.where(QUERIES_FILE), "line",
                             lambda qid: _first_jsonl_line(source, QUERIES_FILE, qid))
    judgments = _tsv_judgments(source, qrels_rel, hasher)
    return _assemble(name, split, corpus, queries, judgments, source.where(qrels_rel), "line",
                     path, hasher.hexdigest)


def _jsonl_records(source: _Source, rel: str, hasher: Any) -> Iterator[_Record]:
    """Parse a JSON-lines file one line at a time (stdlib json on bytes), hashing as it goes."""
    where = source.where(rel)
    hasher.update(rel.encode() + b"\0")
    loads = json.loads
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            hasher.update(raw)
            if raw.isspace():
                continue
            try:
                obj = loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where} line {line_no}: invalid JSON: {exc.msg} "
                                   f"(column {exc.colno})") from None
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{where} line {line_no}: invalid JSON: not UTF-8 "
                                   f"({exc.reason} at byte {exc.start})") from None
            if not isinstance(obj, dict):
                raise DatasetError(f"{where} line {line_no}: expected a JSON object, "
                                   f"got {type(obj).__name__}")
            yield line_no, obj
    hasher.update(b"\0")


def _first_jsonl_line(source: _Source, rel: str, wanted: str) -> int | None:
    """Line of the first record with ``_id == wanted``: only read again to report a
    duplicate, so that loading need not keep a line number for every id."""
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and str(obj.get("_id")) == wanted:
                return line_no
    return None


def _tsv_judgments(source: _Source, rel: str, hasher: Any) -> Iterator[_Judgment]:
    """Rows of a BEIR qrels file. The header is recognised (not blindly skipped, as BEIR
    does) by its non-numeric score column, so a header-less file loses no judgment."""
    where = source.where(rel)
    hasher.update(rel.encode() + b"\0")
    first = True
    with source.open(rel) as handle:
        for line_no, raw in enumerate(handle, start=1):
            hasher.update(raw)
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
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
            if not query_id or not doc_id:
                field_name = "query-id" if not query_id else "corpus-id"
                raise DatasetError(f"{where} line {line_no}: field {field_name!r} is empty")
            yield line_no, query_id, doc_id, score
    hasher.update(b"\0")


# --------------------------------------------------------------------------- validation


def _record_id(obj: dict[str, Any], where: str, unit: str, pos: int) -> str:
    value = obj.get("_id")
    if value is None:
        raise DatasetError(f"{where} {unit} {pos}: missing field '_id'")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(f"{where} {unit} {pos}: field '_id' must be a string or integer, "
                           f"got {type(value).__name__}")
    text = str(value)
    if not text:
        raise DatasetError(f"{where} {unit} {pos}: field '_id' is empty")
    return text


def _text_field(obj: dict[str, Any], key: str, where: str, unit: str, pos: int,
                required: bool) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{where} {unit} {pos}: missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise DatasetError(f"{where} {unit} {pos}: field {key!r} must be a string, "
                           f"got {type(value).__name__}")
    return value


def _duplicate(where: str, unit: str, pos: int, item_id: str,
               first: Callable[[str], int | None]) -> DatasetError:
    earlier = first(item_id)
    at = f" (first at {unit} {earlier})" if earlier is not None else ""
    return DatasetError(f"{where} {unit} {pos}: duplicate _id {item_id!r}{at}")


def _build_corpus(records: Iterable[_Record], where: str, unit: str,
                  first: Callable[[str], int | None]) -> dict[str, CorpusDocument]:
    corpus: dict[str, CorpusDocument] = {}
    for pos, obj in records:
        doc_id, title, text = obj.get("_id"), obj.get("title"), obj.get("text")
        # Fast path for the well-formed common case; the checks below name the bad field.
        if type(doc_id) is not str or not doc_id:
            doc_id = _record_id(obj, where, unit, pos)
        if type(title) is not str:
            title = _text_field(obj, "title", where, unit, pos, False)
        if type(text) is not str:
            text = _text_field(obj, "text", where, unit, pos, False)
        if doc_id in corpus:
            raise _duplicate(where, unit, pos, doc_id, first)
        corpus[doc_id] = CorpusDocument(doc_id, title, text)
    if not corpus:
        raise DatasetError(f"{where}: no documents (empty corpus)")
    return corpus


def _build_queries(records: Iterable[_Record], where: str, unit: str,
                   first: Callable[[str], int | None]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for pos, obj in records:
        query_id = _record_id(obj, where, unit, pos)
        if query_id in queries:
            raise _duplicate(where, unit, pos, query_id, first)
        queries[query_id] = _text_field(obj, "text", where, unit, pos, True)
    if not queries:
        raise DatasetError(f"{where}: no queries")
    return queries


@dataclass
class _Dropped:
    """Judgments dropped for naming an unknown query or document."""

    rows: int = 0
    ids: dict[str, None] = field(default_factory=dict)  # insertion-ordered set

    def add(self, item_id: str) -> None:
        self.rows += 1
        self.ids[item_id] = None

    def message(self, where: str, kind: str) -> str:
        example = next(iter(self.ids))
        return (f"{where}: {self.rows} judgment{'s' * (self.rows != 1)} name "
                f"{len(self.ids)} unknown {kind}{'s' * (len(self.ids) != 1)} "
                f"(e.g. {example!r}); dropped")


def _join_qrels(judgments: Iterable[_Judgment], corpus: dict[str, CorpusDocument],
                queries: dict[str, str], where: str,
                unit: str) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Group judgments by query; drop (and report) those naming unknown ids."""
    qrels: dict[str, dict[str, int]] = {}
    unknown_queries, unknown_docs = _Dropped(), _Dropped()
    repeated: list[int] = []
    total = 0
    for pos, query_id, doc_id, score in judgments:
        total += 1
        if query_id not in queries:
            unknown_queries.add(query_id)
            continue
        if doc_id not in corpus:
            unknown_docs.add(doc_id)
            continue
        judged = qrels.setdefault(query_id, {})
        if doc_id in judged:
            repeated.append(pos)
        judged[doc_id] = score
    if total == 0:
        raise DatasetError(f"{where}: no judgments")
    warnings = []
    if unknown_queries.rows:
        warnings.append(unknown_queries.message(where, "query"))
    if unknown_docs.rows:
        warnings.append(unknown_docs.message(where, "document"))
    if repeated:
        warnings.append(f"{where}: {len(repeated)} repeated judgments of the same query and "
                        f"document (e.g. {unit} {repeated[0]}); the last one counts")
    if not qrels:
        raise DatasetError(f"{where}: none of its {total} judgments names a known query and "
                           f"document ({'; '.join(warnings)})")
    return qrels, warnings


def _assemble(name: str, split: str, corpus: dict[str, CorpusDocument],
              queries: dict[str, str], judgments: Iterable[_Judgment], qrels_where: str,
              unit: str, path: Path | None, fingerprint: Callable[[], str]) -> Dataset:
    """Join the judgments, then build the Dataset. ``fingerprint`` is called last: the
    judgments are hashed while they are read."""
    qrels, warnings = _join_qrels(judgments, corpus, queries, qrels_where, unit)
    empty = sum(1 for doc in corpus.values() if not doc.title and not doc.text)
    if empty:
        warnings.append(f"{name}: {empty} documents have neither title nor text")
    for warning in warnings:
        log.warning(warning)
    return Dataset(name=name, split=split, corpus=corpus,
                   queries={qid: queries[qid] for qid in qrels}, qrels=qrels, path=path,
                   fingerprint=fingerprint(), warnings=warnings)


# --------------------------------------------------------------------------- Hugging Face


def load_hf_dataset(path_or_id: str, split: str = "test", *, name: str | None = None,
                    revision: str | None = None, qrels: str | None = None,
                    cache_dir: Path | None = None) -> Dataset:
    """Load a BEIR-format dataset with Hugging Face ``datasets``.

    ``path_or_id`` is either a local folder or a hub id. A local folder holds ``corpus/``,
    ``queries/`` and ``qrels/`` sub-folders, each saved with ``save_to_disk`` or holding
    data files (``qrels/<split>.jsonl`` etc., split taken from the file name). Otherwise
    the configs ``corpus`` and ``queries`` are loaded from it, and the qrels from the
    ``qrels`` argument, else its ``qrels`` or ``default`` config, else ``<id>-qrels``
    (BeIR's hub layout). Columns: ``_id``/``title``/``text``, ``_id``/``text``,
    ``query-id``/``corpus-id``/``score``.

    ``fingerprint`` is a sha256 over the rows as loaded (there are no source files to
    hash on the hub).
    """
    import datasets as hf  # heavy import: only paid by those who load from HF

    label = f"{HF_PREFIX}{path_or_id}"
    local = Path(path_or_id).expanduser()
    if not local.exists() and _looks_like_path(path_or_id):
        raise DatasetError(f"{label}: no such folder")
    options = {"revision": revision, "cache_dir": str(cache_dir) if cache_dir else None}
    if local.is_dir() and (local / "corpus").is_dir():
        parts = {part: _hf_load_folder(hf, local / part, label, options) for part in
                 ("corpus", "queries", "qrels")}
    else:
        source = str(local) if local.is_dir() else path_or_id
        parts = {"corpus": _hf_call(hf.load_dataset, label, "corpus", source, "corpus",
                                    **options),
                 "queries": _hf_call(hf.load_dataset, label, "queries", source, "queries",
                                     **options),
                 "qrels": _hf_load_qrels(hf, source, qrels, label, options)}

    hasher = hashlib.sha256()
    corpus_ds = _hf_pick(parts["corpus"], "corpus", label)
    queries_ds = _hf_pick(parts["queries"], "queries", label)
    qrels_ds = _hf_pick(parts["qrels"], split, label, is_split=True)
    corpus = _build_corpus(_hf_records(corpus_ds, "corpus", f"{label} corpus", ("_id",),
                                       hasher),
                           f"{label} corpus", "row", lambda i: _hf_first_row(corpus_ds, i))
    queries = _build_queries(_hf_records(queries_ds, "queries", f"{label} queries",
                                         ("_id", "text"), hasher),
                             f"{label} queries", "row", lambda i: _hf_first_row(queries_ds, i))
    where = f"{label} qrels[{split}]"
    judgments = _hf_judgments(qrels_ds, where, hasher)
    return _assemble(name or local.name or path_or_id, split, corpus, queries, judgments,
                     where, "row", local if local.exists() else None, hasher.hexdigest)


def _hf_call(function: Callable[..., Any], label: str, what: str, *args: Any,
             **kwargs: Any) -> Any:
    try:
        return function(*args, **{k: v for k, v in kwargs.items() if v is not None})
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{label}: cannot load {what}: {type(exc).__name__}: {exc}") from exc


def _hf_load_folder(hf: Any, folder: Path, label: str, options: dict[str, Any]) -> Any:
    """A part saved with ``save_to_disk``, or a folder of data files (json, csv, parquet)."""
    if not folder.is_dir():
        raise DatasetError(f"{label}: no {folder.name}/ folder in {folder.parent}")
    if (folder / "dataset_dict.json").is_file() or (folder / "dataset_info.json").is_file():
        return _hf_call(hf.load_from_disk, label, folder.name, str(folder))
    return _hf_call(hf.load_dataset, label, folder.name, str(folder),
                    cache_dir=options["cache_dir"])


def _hf_load_qrels(hf: Any, source: str, qrels: str | None, label: str,
                   options: dict[str, Any]) -> Any:
    if qrels is not None:
        return _hf_call(hf.load_dataset, label, "qrels", qrels, **options)
    errors = []
    for args in ((source, "qrels"), (source, "default"), (f"{source}-qrels",)):
        try:
            return hf.load_dataset(*args, **{k: v for k, v in options.items() if v is not None})
        except (ValueError, OSError) as exc:
            errors.append(f"{'/'.join(args)}: {type(exc).__name__}")
    raise DatasetError(f"{label}: cannot find qrels (tried {', '.join(errors)}); "
                       "pass qrels=<id-or-path>")


def _hf_pick(loaded: Any, wanted: str, label: str, is_split: bool = False) -> Any:
    """One ``Dataset`` out of what ``datasets`` returned (a ``DatasetDict`` or a ``Dataset``)."""
    if not hasattr(loaded, "keys"):  # already a single Dataset
        return loaded
    splits = list(loaded.keys())
    if wanted in splits:
        return loaded[wanted]
    if not is_split and len(splits) == 1:
        return loaded[splits[0]]
    what = "qrels for split" if is_split else "split"
    raise DatasetError(f"{label}: no {what} {wanted!r}; splits that exist: {', '.join(splits)}")


def _hf_records(ds: Any, part: str, where: str, required: tuple[str, ...],
                hasher: Any) -> Iterator[_Record]:
    """Rows of one part, hashed by content (not by where they came from)."""
    missing = [c for c in required if c not in ds.column_names]
    if missing:
        raise DatasetError(f"{where}: missing column {missing[0]!r} "
                           f"(columns: {', '.join(ds.column_names)})")
    hasher.update(part.encode() + b"\0")
    for row_no, row in enumerate(ds):
        hasher.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
        yield row_no, row


def _hf_first_row(ds: Any, wanted: str) -> int | None:
    return next((i for i, value in enumerate(ds["_id"]) if str(value) == wanted), None)


def _hf_judgments(ds: Any, where: str, hasher: Any) -> Iterator[_Judgment]:
    for row_no, row in _hf_records(ds, "qrels", where, ("query-id", "corpus-id", "score"),
                                          hasher):
        query_id, doc_id, score = row["query-id"], row["corpus-id"], row["score"]
        if query_id is None or doc_id is None or str(query_id) == "" or str(doc_id) == "":
            raise DatasetError(f"{where} row {row_no}: empty query-id or corpus-id")
        yield row_no, str(query_id), str(doc_id), _hf_score(score, where, row_no)


def _hf_score(value: Any, where: str, row_no: int) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise DatasetError(f"{where} row {row_no}: field 'score': {value!r} is not an "
                           "integer") from None
