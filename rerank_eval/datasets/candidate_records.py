"""What every candidates-file layout parses into, before ids are settled.

A layout reader (:mod:`~rerank_eval.datasets.candidate_jsonl`,
:mod:`~rerank_eval.datasets.candidate_table`) turns its lines into :class:`RawQuery`
objects: a query with its candidate documents in first-stage order, ids and labels
where the file gives them. :mod:`~rerank_eval.datasets.candidate_files` then generates
the missing ids, checks them across the file and builds the :class:`Dataset`. The field
checks here are shared by the layouts so that their messages read alike:
``<file> line <n>: field '<field>': ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rerank_eval.datasets import records
from rerank_eval.datasets.model import DatasetError
from rerank_eval.datasets.records import id_value


@dataclass(frozen=True)
class RawDocument:
    """One candidate as the file gives it; ``doc_id`` None: generated from its content."""

    line: int
    field: str
    """Where it is on its line, for messages: ``documents[2]``, ``positive[0]``, ``document``."""
    id_field: str
    """The field of its id, for messages: ``documents[2].id``, ``doc_id``."""
    doc_id: str | None
    title: str
    text: str
    label: int | None
    """Graded relevance; None: not judged."""


@dataclass
class RawQuery:
    """One query and its candidates, best first; ``query_id`` None: generated (``q<line>``)."""

    line: int
    query_id: str | None
    query: str
    documents: list[RawDocument] = field(default_factory=list)
    layout: str = "jsonl"
    """``jsonl``, ``mteb``, ``csv`` or ``tsv``: how the line was read."""


def at(where: str, line: int, name: str) -> str:
    """``<file> line <n>: field '<name>'``: the start of every field error."""
    return f"{where} line {line}: field {name!r}"


def optional_id(value: Any, where: str, line: int, name: str) -> str | None:
    """An id field that may be absent (None): a string or an integer, usable in TREC files."""
    return id_value(value, where, "line", line, name)


def text_value(value: Any, where: str, line: int, name: str, required: bool) -> str:
    """A text field: a string; absent is an error when ``required``, else ``""``."""
    return records.text_value(value, where, "line", line, name, required)


def label_value(value: Any, where: str, line: int, name: str) -> int | None:
    """A graded relevance label: an integer (JSON number or table cell); None or an empty
    cell is "not judged". Booleans and fractions are refused, not rounded."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise DatasetError(f"{at(where, line, name)}: {value!r} is not an integer "
                               "relevance label") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise DatasetError(f"{at(where, line, name)}: {value!r} is not an integer relevance label")
