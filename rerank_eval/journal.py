"""The per-cell journal: an append-only JSONL of every completed query.

It is what makes an interrupted run resume: each finished query is appended (and
flushed) the moment it completes, and a later run over the same cell with the same
fingerprint skips what the journal already holds. A journal whose fingerprint does not
match (other candidates, options or dataset bytes) is set aside, not mixed in.
A torn last line (the process died mid-write) is ignored.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval.types import Usage

log = logging.getLogger(__name__)


@dataclass
class QueryRecord:
    """One reranked query: the scores given to its candidates, what it used, how long it took."""

    query_id: str
    order: int
    """Position in the cell's request sequence; 0 is the cold (first) request."""
    latency_s: float
    n_candidates: int
    scores: dict[str, float]
    usage: Usage = field(default_factory=Usage)

    def to_json(self) -> dict[str, Any]:
        return {"type": "query", **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryRecord:
        return cls(
            query_id=data["query_id"], order=int(data["order"]), latency_s=float(data["latency_s"]),
            n_candidates=int(data["n_candidates"]),
            scores={k: float(v) for k, v in data["scores"].items()},
            usage=Usage(**data.get("usage", {})),
        )


@dataclass
class JournalContents:
    records: dict[str, QueryRecord]
    wall_s: float
    """Wall time of the segments that produced the records (sessions of this cell)."""
    meta: dict[str, Any]


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
        if not header or header.get("fingerprint") != self.fingerprint:
            stale = self.path.with_suffix(".stale.jsonl")
            os.replace(self.path, stale)
            log.info("journal %s is for another configuration; moved to %s", self.path, stale)
            return empty
        contents = JournalContents(records={}, wall_s=0.0, meta=header.get("meta", {}))
        for line in lines[1:]:
            entry = _parse(line)
            if entry is None:
                continue
            if entry.get("type") == "query":
                record = QueryRecord.from_json(entry)
                contents.records[record.query_id] = record
            elif entry.get("type") == "segment":
                contents.wall_s += float(entry["wall_s"])
        return contents

    def open(self, meta: dict[str, Any] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self._handle = self.path.open("a", encoding="utf-8")
        if new:
            self._write({"type": "header", "fingerprint": self.fingerprint, "meta": meta or {}})

    def append(self, record: QueryRecord) -> None:
        self._write(record.to_json())

    def close_segment(self, wall_s: float) -> None:
        self._write({"type": "segment", "wall_s": wall_s})
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, entry: dict[str, Any]) -> None:
        assert self._handle is not None, "journal not open"
        self._handle.write(json.dumps(entry) + "\n")
        self._handle.flush()


def _parse(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
