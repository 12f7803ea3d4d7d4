"""Damage journal and response-cache files the ways a crash, a disk or a hand can.

Journal lines are counted from 1 (line 1 is the header). Cache entries are the
``<key>.json`` files under a response-cache root.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _write(path: Path, lines: list[bytes], *, newline: bool = True) -> None:
    path.write_bytes(b"\n".join(lines) + (b"\n" if newline else b""))


def invalid_utf8(path: Path, line: int) -> None:
    """Put bytes that are not UTF-8 into a line (inside a string, so it is still 'JSON')."""
    lines = _lines(path)
    lines[line - 1] = lines[line - 1].replace(b'"query_id": "', b'"query_id": "\xff\xfe', 1)
    _write(path, lines)


def drop_field(path: Path, line: int, name: str, *, keep_check: bool = False) -> None:
    """Remove a field from a line; ``keep_check=False`` also removes its checksum, as an
    older journal would have had none (so only strict validation can catch it)."""
    _edit(path, line, lambda entry: entry.pop(name), keep_check)


def set_field(path: Path, line: int, name: str, raw: str, *, keep_check: bool = True) -> None:
    """Set ``name`` (or, for ``scores``, the first score) to the raw JSON text ``raw``
    (``NaN``, ``Infinity``, ``"high"``...)."""
    lines = _lines(path)
    entry = json.loads(lines[line - 1])
    if not keep_check:
        entry.pop("check", None)
    marker = "__CORRUPT__"
    if name == "scores":
        first = next(iter(entry["scores"]))
        entry["scores"][first] = marker
    else:
        entry[name] = marker
    lines[line - 1] = json.dumps(entry).replace(f'"{marker}"', raw).encode()
    _write(path, lines)


def tear(path: Path, line: int) -> None:
    """A kill mid-write: keep the lines before ``line``, half of ``line``, no newline."""
    lines = _lines(path)
    torn = lines[line - 1][: len(lines[line - 1]) // 2]
    _write(path, [*lines[: line - 1], torn], newline=False)


def _edit(path: Path, line: int, change: Any, keep_check: bool) -> None:
    lines = _lines(path)
    entry = json.loads(lines[line - 1])
    if not keep_check:
        entry.pop("check", None)
    change(entry)
    lines[line - 1] = json.dumps(entry).encode()
    _write(path, lines)


# -- the response cache ------------------------------------------------------------------

CACHE_DAMAGE = ("out_of_range", "negative", "duplicate", "nan", "wrong_count", "swapped",
                "not_json")
"""Every way :func:`poison_entry` damages an entry."""


def cache_entries(root: Path) -> list[Path]:
    """The response cache's entries under the cache root ``root`` (its ``responses/``: the
    other areas, corpus stores and artifacts, hold JSON manifests too)."""
    return sorted(p for p in (Path(root) / "responses").rglob("*.json")
                  if not p.name.startswith(".tmp-"))


def poison_entry(path: Path, how: str, *, keep_check: bool = True) -> None:
    """Make an entry valid JSON but wrong. ``keep_check=False`` drops its checksum (an
    entry from an older cache), so strict validation alone must catch it."""
    if how == "not_json":
        path.write_text('{"results": [[0, 0.5', encoding="utf-8")
        return
    entry = json.loads(path.read_text(encoding="utf-8"))
    results = entry["results"]
    if how == "out_of_range":
        results[0][0] = 99
    elif how == "negative":
        results[0][0] = -1
    elif how == "duplicate":
        results[1][0] = results[0][0]
    elif how == "nan":
        results[0][1] = float("nan")
    elif how == "wrong_count":
        results.pop()
    elif how == "swapped":  # well-formed, but not what the provider said
        results[0][1], results[-1][1] = results[-1][1], results[0][1]
    else:
        raise ValueError(how)
    if not keep_check:
        entry.pop("check", None)
    path.write_text(json.dumps(entry), encoding="utf-8")


def orphan_tmp(folder: Path, age_s: float, name: str = ".tmp-orphan.json") -> Path:
    """A temp file as a killed writer leaves it, ``age_s`` old."""
    path = Path(folder) / name
    path.write_text('{"half": ', encoding="utf-8")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path
