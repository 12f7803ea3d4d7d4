"""The per-cell journal: an append-only JSONL of every completed query.

It is what makes an interrupted run resume: each finished query is appended (and
flushed) the moment it completes (``query`` lines; a latency pass's calls are ``warmup``
and ``latency`` lines, its sessions ``latency_segment``), and a later run over the same
cell with the same fingerprint skips what the journal already holds. A journal whose
fingerprint does not match (other candidates, options or dataset bytes) is set aside.

Integrity: every line carries ``check``, the first 16 hex digits of the SHA-256 of the
line's canonical JSON without it (:func:`entry_check`); a line without one (older
journals) is validated strictly instead, and every record is validated anyway (ids,
finite scores, numbers where numbers belong). A line that is not valid UTF-8, not JSON,
fails its check or its validation is reported once (a warning naming file and line), set
aside (moved to ``<cell>.damaged.jsonl``) and its query recomputed, from the response
cache when it holds the answer. A torn last line (the process died mid-write) is the
same: set aside, and the journal is terminated with a newline before anything is
appended, so it never swallows the next record.

The header carries ``schema_version`` (:mod:`rerank_eval.records`); a journal without one
(version 0) holds the same records and is resumed. Readers that only want the records
(the report's latency distributions) use :func:`read_journal`, which checks no fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval.records import (
    SCHEMA_VERSION,
    QueryRecord,
    SchemaError,
    schema_version,
    usage_from_dict,
)
from rerank_eval.text import file_safe
from rerank_eval.types import Usage

log = logging.getLogger(__name__)


@dataclass
class JournalContents:
    records: dict[str, QueryRecord]
    wall_s: float
    """Wall time of the segments that produced the records (sessions of this cell)."""
    meta: dict[str, Any]
    failed_usage: Usage = field(default_factory=Usage)
    """What the queries that failed in earlier segments sent (and were billed)."""
    latency: dict[str, QueryRecord] = field(default_factory=dict)
    """The latency pass's measured calls (reuse off), by query id."""
    warmup: list[QueryRecord] = field(default_factory=list)
    """The latency pass's warm-up calls, in the order they were made."""
    latency_wall_s: float = 0.0
    """Wall time of the latency-pass segments."""


class CellJournal:
    def __init__(self, path: Path, fingerprint: dict[str, Any]) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self._handle = None

    def load(self) -> JournalContents:
        """Records of a previous matching run; sets aside a journal for another configuration."""
        empty = JournalContents(records={}, wall_s=0.0, meta={})
        if not self.path.exists():
            return empty
        raw = self.path.read_bytes().split(b"\n")
        if raw and raw[-1] == b"":
            raw.pop()
        header = _header(raw[0]) if raw else None
        if not header or header.get("fingerprint") != self.fingerprint or not _readable(header):
            stale = self.path.with_suffix(".stale.jsonl")
            os.replace(self.path, stale)
            log.info("journal %s is for another configuration; moved to %s", self.path, stale)
            return empty
        contents, damaged = _read_lines(self.path, raw[1:], first_line=2)
        if damaged:
            self._set_aside(raw, damaged)
        return contents

    def _set_aside(self, raw: list[bytes], damaged: list[int]) -> None:
        """Move damaged lines (0-based positions in ``raw``) to ``<cell>.damaged.jsonl`` and
        rewrite the journal without them (atomically), so each is reported only once."""
        bad = set(damaged)
        aside = self.path.with_suffix(".damaged.jsonl")
        with aside.open("ab") as handle:
            for i in sorted(bad):
                handle.write(raw[i] + b"\n")
        keep = b"".join(line + b"\n" for i, line in enumerate(raw) if i not in bad)
        tmp = self.path.with_name(f".tmp-{self.path.name}")
        tmp.write_bytes(keep)
        os.replace(tmp, self.path)

    def open(self, meta: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        if not new:
            _terminate(self.path)
        self._handle = self.path.open("a", encoding="utf-8")
        if new:
            self._write({"type": "header", "schema_version": SCHEMA_VERSION,
                         "fingerprint": self.fingerprint, "meta": meta or {}})

    def append(self, record: QueryRecord, kind: str = "query") -> None:
        """A finished call: ``query`` (main pass), ``latency`` or ``warmup`` (latency pass)."""
        self._write(record.to_dict(kind))

    def close_segment(self, wall_s: float, failed_usage: Usage | None = None,
                      kind: str = "segment") -> None:
        """Close a session of the main pass (``segment``) or of the latency pass
        (``latency_segment``: its wall time is kept apart from the main pass's)."""
        entry: dict[str, Any] = {"type": kind, "wall_s": wall_s}
        if failed_usage is not None and failed_usage != Usage():
            entry["failed_usage"] = asdict(failed_usage)
        self._write(entry)
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, entry: dict[str, Any]) -> None:
        assert self._handle is not None, "journal not open"
        entry = {**entry, "check": entry_check(entry)}
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()


def read_journal(path: Path) -> JournalContents | None:
    """A journal's records as they stand (later lines win), whatever its fingerprint.

    None when there is no journal; raises :class:`~rerank_eval.records.SchemaError` for
    one written by a newer rerank-eval.
    """
    path = Path(path)
    if not path.is_file():
        return None
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    header = _header(raw[0]) if raw else None
    if header is None or header.get("type") != "header":
        return _read_lines(path, raw, first_line=1)[0]
    schema_version(header, str(path))
    return _read_lines(path, raw[1:], first_line=2, header=header)[0]


def _readable(header: dict[str, Any]) -> bool:
    try:
        schema_version(header, "journal")
    except SchemaError:
        return False
    return True


def entry_check(entry: dict[str, Any]) -> str:
    """The checksum of a journal line: SHA-256 of its canonical JSON (without ``check``)."""
    body = {k: v for k, v in entry.items() if k != "check"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class DamagedLine(ValueError):
    """A journal line that cannot be trusted."""


def _terminate(path: Path) -> None:
    """End the file with a newline, so a torn last line never swallows the next record."""
    with path.open("rb+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.write(b"\n")


def _header(line: bytes) -> dict[str, Any] | None:
    try:
        entry = _decode(line)
    except DamagedLine:
        return None
    return entry if entry.get("type") == "header" else None


def _decode(line: bytes) -> dict[str, Any]:
    """A line as a checked entry, or :class:`DamagedLine` saying what is wrong."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedLine("not valid UTF-8") from None
    try:
        entry = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise DamagedLine("not JSON (a torn or damaged line)") from None
    if not isinstance(entry, dict):
        raise DamagedLine("not a JSON object")
    check = entry.get("check")
    if check is not None and check != entry_check(entry):
        raise DamagedLine("checksum mismatch")
    return entry


def _number(entry: dict[str, Any], name: str, *, required: bool = False,
            integer: bool = False) -> None:
    if name not in entry:
        if required:
            raise DamagedLine(f"missing {name!r}")
        return
    value = entry[name]
    kinds = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise DamagedLine(f"{name} {value!r} is not a number")
    if not math.isfinite(value) or value < 0:
        raise DamagedLine(f"{name} {value!r} is not a finite non-negative number")


def _usage(usage: Any, what: str) -> None:
    if usage is None:
        return
    if not isinstance(usage, dict):
        raise DamagedLine(f"{what} is not an object")
    for name, value in usage.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            raise DamagedLine(f"{what}: {name} {value!r} is not a finite number")


def _record(entry: dict[str, Any]) -> QueryRecord:
    """A ``query`` / ``latency`` / ``warmup`` line, validated strictly."""
    query_id = entry.get("query_id")
    if not isinstance(query_id, str) or not query_id:
        raise DamagedLine(f"query_id {query_id!r} is missing or not a string")
    scores = entry.get("scores")
    if not isinstance(scores, dict):
        raise DamagedLine(f"query {query_id}: scores missing or not an object")
    for doc_id, score in scores.items():
        if isinstance(score, bool) or not isinstance(score, int | float) \
                or not math.isfinite(score):
            raise DamagedLine(f"query {query_id}: score {score!r} of {doc_id!r} "
                              "is not a finite number")
    _number(entry, "order", integer=True)
    _number(entry, "n_candidates", integer=True)
    _number(entry, "latency_s")
    _usage(entry.get("usage"), f"query {query_id}: usage")
    try:
        return QueryRecord.from_dict(entry)
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedLine(f"query {query_id}: {exc}") from None


def _read_lines(path: Path, lines: list[bytes], *, first_line: int,
                header: dict[str, Any] | None = None
                ) -> tuple[JournalContents, list[int]]:
    """The records of ``lines`` (line ``first_line`` onwards) and the positions, in the
    whole file, of the damaged ones (each reported once with a warning)."""
    header = header or {}
    meta = header.get("meta") if isinstance(header.get("meta"), dict) else {}
    contents = JournalContents(records={}, wall_s=0.0, meta=meta)
    damaged: list[int] = []
    for offset, line in enumerate(lines):
        number = first_line + offset
        try:
            _apply(contents, _decode(line))
        except DamagedLine as exc:
            log.warning("journal %s line %d: %s; set aside, its query will be recomputed",
                        path, number, exc)
            damaged.append(number - 1)
    return contents, damaged


def _apply(contents: JournalContents, entry: dict[str, Any]) -> None:
    kind = entry.get("type")
    if kind == "query":
        record = _record(entry)
        contents.records[record.query_id] = record
    elif kind == "latency":
        record = _record(entry)
        contents.latency[record.query_id] = record
    elif kind == "warmup":
        contents.warmup.append(_record(entry))
    elif kind in ("segment", "latency_segment"):
        _number(entry, "wall_s", required=True)
        failed = entry.get("failed_usage")
        _usage(failed, "failed_usage")
        if kind == "latency_segment":
            contents.latency_wall_s += float(entry["wall_s"])
        else:
            contents.wall_s += float(entry["wall_s"])
            if isinstance(failed, dict):
                contents.failed_usage = contents.failed_usage + usage_from_dict(failed)


def journal_path(run_dir: Path, dataset: str, reranker: str) -> Path:
    """Where a run folder keeps the journal of one dataset x reranker cell."""
    return Path(run_dir) / "cells" / file_safe(dataset) / f"{file_safe(reranker)}.jsonl"
