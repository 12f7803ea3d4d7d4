"""The per-cell journal: an append-only JSONL of every completed query.

It is what makes an interrupted run resume: each finished query is appended (and
flushed) the moment it completes (``query`` lines; a latency pass's calls are ``warmup``
and ``latency`` lines, its sessions ``latency_segment``), and a later run over the same
cell with the same fingerprint skips what the journal already holds. A journal whose
fingerprint does not match (other candidates, options or dataset bytes) is set aside.
A torn last line (the process died mid-write) is ignored.

The header carries ``schema_version`` (:mod:`rerank_eval.records`); a journal without one
(version 0) holds the same records and is resumed. Readers that only want the records
(the report's latency distributions) use :func:`read_journal`, which checks no fingerprint.
"""

from __future__ import annotations

import json
import logging
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
        lines = self.path.read_text(encoding="utf-8").splitlines()
        header = _parse(lines[0]) if lines else None
        if not header or header.get("fingerprint") != self.fingerprint or not _readable(header):
            stale = self.path.with_suffix(".stale.jsonl")
            os.replace(self.path, stale)
            log.info("journal %s is for another configuration; moved to %s", self.path, stale)
            return empty
        return _contents(header, lines[1:])

    def open(self, meta: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
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
    lines = path.read_text(encoding="utf-8").splitlines()
    header = _parse(lines[0]) if lines else None
    if header is None or header.get("type") != "header":
        return _contents({}, lines)
    schema_version(header, str(path))
    return _contents(header, lines[1:])


def _readable(header: dict[str, Any]) -> bool:
    try:
        schema_version(header, "journal")
    except SchemaError:
        return False
    return True


def _contents(header: dict[str, Any], lines: list[str]) -> JournalContents:
    contents = JournalContents(records={}, wall_s=0.0, meta=header.get("meta", {}))
    for line in lines:
        entry = _parse(line)
        if entry is None:
            continue
        kind = entry.get("type")
        if kind == "query":
            record = QueryRecord.from_dict(entry)
            contents.records[record.query_id] = record
        elif kind == "latency":
            record = QueryRecord.from_dict(entry)
            contents.latency[record.query_id] = record
        elif kind == "warmup":
            contents.warmup.append(QueryRecord.from_dict(entry))
        elif kind == "latency_segment":
            contents.latency_wall_s += float(entry["wall_s"])
        elif entry.get("type") == "segment":
            contents.wall_s += float(entry["wall_s"])
            if isinstance(entry.get("failed_usage"), dict):
                contents.failed_usage = (contents.failed_usage
                                         + usage_from_dict(entry["failed_usage"]))
    return contents


def _parse(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def journal_path(run_dir: Path, dataset: str, reranker: str) -> Path:
    """Where a run folder keeps the journal of one dataset x reranker cell."""
    return Path(run_dir) / "cells" / file_safe(dataset) / f"{file_safe(reranker)}.jsonl"
