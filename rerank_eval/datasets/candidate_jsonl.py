"""JSON-lines candidates files: one query with its candidates per line, in two layouts.

The candidates layout (the team's retriever's order)::

    {"query_id": "q1", "query": "...", "documents": ["text", {"id": "d7", "title": "...",
     "text": "..."}], "labels": [2, 0]}

``query_id``, a document's ``id`` and ``title``, and ``labels`` are optional; ``labels``
holds one integer grade (or null: not judged) per document.

The MTEB reranking layout::

    {"query": "...", "positive": ["text", ...], "negative": ["text", ...]}

Positives are graded 1, negatives 0. MTEB has no retriever order, and positives first
would make the first stage look perfect, so the candidates are put in a seeded random
order (:func:`mteb_order`): deterministic, the same on every machine and Python version.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

from rerank_eval.datasets.candidate_records import (
    RawDocument,
    RawQuery,
    at,
    label_value,
    optional_id,
    text_value,
)
from rerank_eval.datasets.model import DatasetError
from rerank_eval.datasets.records import json_object

MTEB_FIELDS = ("positive", "negative")


def read_jsonl(data: bytes, where: str) -> Iterator[RawQuery]:
    """The queries of a JSON-lines file's bytes, one per non-blank line."""
    for line_no, raw in enumerate(io.BytesIO(data), start=1):
        obj = json_object(raw, where, line_no)
        if obj is not None:
            yield parse_line(obj, where, line_no)


def parse_line(obj: dict[str, Any], where: str, line: int) -> RawQuery:
    """One line's object, in whichever layout it is written."""
    mteb = any(key in obj for key in MTEB_FIELDS)
    if mteb and "documents" in obj:
        raise DatasetError(f"{where} line {line}: has both 'documents' and "
                           "'positive'/'negative'; write one layout per line")
    query = RawQuery(line=line, query_id=optional_id(obj.get("query_id"), where, line,
                                                     "query_id"),
                     query=text_value(obj.get("query"), where, line, "query", required=True),
                     layout="mteb" if mteb else "jsonl")
    if mteb:
        if "labels" in obj:
            raise DatasetError(f"{at(where, line, 'labels')}: not used with 'positive'/"
                               "'negative' (positives are graded 1, negatives 0)")
        query.documents = mteb_order(query.query, [
            _document(value, where, line, f"{key}[{i}]", grade)
            for key, grade in (("positive", 1), ("negative", 0))
            for i, value in enumerate(_documents(obj, key, where, line, required=False))])
        return query
    values = _documents(obj, "documents", where, line, required=True)
    labels = _labels(obj.get("labels"), len(values), where, line)
    query.documents = [_document(value, where, line, f"documents[{i}]", label)
                       for i, (value, label) in enumerate(zip(values, labels, strict=True))]
    return query


def mteb_order(query: str, documents: list[RawDocument]) -> list[RawDocument]:
    """An MTEB line's candidates in a seeded random order: sorted by
    ``sha256(query + "\\0" + title + "\\n" + text)``, ties (repeated texts) kept in file
    order. A document's place depends on the query and its own text only, not on Python's
    ``random`` nor on where the file lists it."""
    def key(item: tuple[int, RawDocument]) -> tuple[str, int]:
        index, doc = item
        digest = hashlib.sha256(f"{query}\0{doc.title}\n{doc.text}".encode(
            "utf-8", "surrogatepass")).hexdigest()
        return digest, index

    return [doc for _, doc in sorted(enumerate(documents), key=key)]


def _documents(obj: dict[str, Any], key: str, where: str, line: int,
               required: bool) -> list[Any]:
    value = obj.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{where} line {line}: missing field 'documents' (or "
                               "'positive'/'negative' for the MTEB layout)")
        return []
    if not isinstance(value, list):
        raise DatasetError(f"{at(where, line, key)} must be a list, got {type(value).__name__}")
    return value


def _labels(value: Any, n_documents: int, where: str, line: int) -> list[int | None]:
    if value is None:
        return [None] * n_documents
    if not isinstance(value, list):
        raise DatasetError(f"{at(where, line, 'labels')} must be a list of integers, "
                           f"got {type(value).__name__}")
    if len(value) != n_documents:
        raise DatasetError(f"{at(where, line, 'labels')}: {len(value)} labels for "
                           f"{n_documents} documents (one per document, null for unjudged)")
    return [label_value(v, where, line, f"labels[{i}]") for i, v in enumerate(value)]


def _document(value: Any, where: str, line: int, name: str, label: int | None) -> RawDocument:
    """A candidate: a string (its text) or an object with ``text`` and optional ``id``,
    ``title``; other keys are ignored (metadata)."""
    if isinstance(value, str):
        return RawDocument(line=line, field=name, id_field=f"{name}.id", doc_id=None,
                           title="", text=value, label=label)
    if not isinstance(value, dict):
        raise DatasetError(f"{at(where, line, name)} must be a string or an object with "
                           f"'text', got {type(value).__name__}")
    return RawDocument(line=line, field=name, id_field=f"{name}.id",
                       doc_id=optional_id(value.get("id"), where, line, f"{name}.id"),
                       title=text_value(value.get("title"), where, line, f"{name}.title",
                                        required=False),
                       text=text_value(value.get("text"), where, line, f"{name}.text",
                                       required=True),
                       label=label)
