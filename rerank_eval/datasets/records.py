"""From parsed records to a :class:`Dataset`: the checks shared by every source.

The BEIR-file and Hugging Face loaders hand on records (position + fields) and
judgments; this module checks ids and text fields, refuses duplicates, joins the
judgments to the known queries and documents (dropping and reporting those that name
unknown ids) and builds the :class:`Dataset`. ``unit`` is how a position is spoken of in
messages: ``line`` for files, ``row`` for Hugging Face rows.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval.datasets.corpus import Corpus, MemoryCorpus
from rerank_eval.datasets.model import CorpusDocument, Dataset, DatasetError

# The package's one logger, as before the split into modules.
log = logging.getLogger("rerank_eval.datasets")

# A dataset record as the parsers hand it on: its position (line or row) and its fields.
Record = tuple[int, dict[str, Any]]
# A judgment: position, query id, document id, grade.
Judgment = tuple[int, str, str, int]

# An id a TREC file cannot carry: its columns are split on whitespace, so an id holding a
# space, tab or newline shifts every column after it (and an empty one removes one).
_WHITESPACE = re.compile(r"\s")


def check_id(item_id: str, where: str, unit: str, pos: int, field_name: str) -> str:
    """Refuse an id that a TREC run or qrels file could not carry: empty, or holding
    whitespace. The error names the file, the position, the field and the id."""
    if not item_id:
        raise DatasetError(f"{where} {unit} {pos}: field {field_name!r} is empty")
    if _WHITESPACE.search(item_id):
        raise DatasetError(f"{where} {unit} {pos}: field {field_name!r}: id {item_id!r} holds "
                           "whitespace, which a TREC run or qrels file cannot carry; "
                           "rename it (e.g. replace spaces with '_')")
    return item_id


def id_value(value: Any, where: str, unit: str, pos: int, name: str) -> str | None:
    """An id field: a string or an integer, usable in TREC files; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(f"{where} {unit} {pos}: field {name!r} must be a string or "
                           f"integer, got {type(value).__name__}")
    return check_id(str(value), where, unit, pos, name)


def text_value(value: Any, where: str, unit: str, pos: int, name: str,
               required: bool) -> str:
    """A text field: a string; absent is an error when ``required``, else ``""``."""
    if value is None:
        if required:
            raise DatasetError(f"{where} {unit} {pos}: missing field {name!r}")
        return ""
    if not isinstance(value, str):
        raise DatasetError(f"{where} {unit} {pos}: field {name!r} must be a string, "
                           f"got {type(value).__name__}")
    return value


def json_object(raw: bytes, where: str, line_no: int) -> dict[str, Any] | None:
    """One line of a JSON-lines file as an object; None for a blank line. A byte-order
    mark opening the first line is not part of the data. Errors name file and line."""
    if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw or raw.isspace():
        return None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where} line {line_no}: invalid JSON: {exc.msg} "
                           f"(column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{where} line {line_no}: invalid JSON: not UTF-8 "
                           f"({exc.reason} at byte {exc.start})") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{where} line {line_no}: expected a JSON object, "
                           f"got {type(obj).__name__}")
    return obj


def _record_id(obj: dict[str, Any], where: str, unit: str, pos: int) -> str:
    value = id_value(obj.get("_id"), where, unit, pos, "_id")
    if value is None:
        raise DatasetError(f"{where} {unit} {pos}: missing field '_id'")
    return value


def _duplicate(where: str, unit: str, pos: int, item_id: str,
               first: Callable[[str], int | None]) -> DatasetError:
    return duplicate_error(where, unit, pos, item_id, first(item_id))


def duplicate_error(where: str, unit: str, pos: int, item_id: str,
                    earlier: int | None) -> DatasetError:
    """``<where> line 9: duplicate _id 'd1' (first at line 1)``."""
    at = f" (first at {unit} {earlier})" if earlier is not None else ""
    return DatasetError(f"{where} {unit} {pos}: duplicate _id {item_id!r}{at}")


def corpus_fields(obj: dict[str, Any], where: str, unit: str, pos: int) -> tuple[str, str, str]:
    """A corpus record's checked ``(_id, title, text)``; a missing title or text is ``""``."""
    doc_id, title, text = obj.get("_id"), obj.get("title"), obj.get("text")
    # Fast path for the well-formed common case; the checks below name the bad field.
    if type(doc_id) is not str or not doc_id or _WHITESPACE.search(doc_id):
        doc_id = _record_id(obj, where, unit, pos)
    if type(title) is not str:
        title = text_value(obj.get("title"), where, unit, pos, "title", False)
    if type(text) is not str:
        text = text_value(obj.get("text"), where, unit, pos, "text", False)
    return doc_id, title, text


def build_corpus(records: Iterable[Record], where: str, unit: str,
                 first: Callable[[str], int | None]) -> MemoryCorpus:
    """The corpus in memory (a dict): for sources the store cannot cache.
    :func:`~rerank_eval.datasets.corpus_build.write_corpus` applies the same checks while
    streaming into a store."""
    corpus: dict[str, CorpusDocument] = {}
    for pos, obj in records:
        doc_id, title, text = corpus_fields(obj, where, unit, pos)
        if doc_id in corpus:
            raise _duplicate(where, unit, pos, doc_id, first)
        corpus[doc_id] = CorpusDocument(doc_id, title, text)
    if not corpus:
        raise no_documents(where)
    return MemoryCorpus(corpus)


def no_documents(where: str) -> DatasetError:
    return DatasetError(f"{where}: no documents (empty corpus)")


def build_queries(records: Iterable[Record], where: str, unit: str,
                  first: Callable[[str], int | None]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for pos, obj in records:
        query_id = _record_id(obj, where, unit, pos)
        if query_id in queries:
            raise _duplicate(where, unit, pos, query_id, first)
        queries[query_id] = text_value(obj.get("text"), where, unit, pos, "text", True)
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


def join_qrels(judgments: Iterable[Judgment], corpus: Corpus,
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


def assemble(name: str, split: str, corpus: Corpus,
             queries: dict[str, str], judgments: Iterable[Judgment], qrels_where: str,
             unit: str, path: Path | None, fingerprint: Callable[[], str]) -> Dataset:
    """Join the judgments, then build the Dataset. ``fingerprint`` is called last: the
    judgments are hashed while they are read."""
    qrels, warnings = join_qrels(judgments, corpus, queries, qrels_where, unit)
    empty = corpus.empty_documents()
    if empty:
        warnings.append(f"{name}: {empty} documents have neither title nor text "
                        "(empty or whitespace only)")
    for warning in warnings:
        log.warning(warning)
    return Dataset(name=name, split=split, corpus=corpus,
                   queries={qid: queries[qid] for qid in qrels}, qrels=qrels, path=path,
                   fingerprint=fingerprint(), warnings=warnings)
