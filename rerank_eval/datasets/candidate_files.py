"""Candidates files as datasets: each query with its candidates, in the order of the
team's own retriever, in one file (``.jsonl``, ``.jsonl.gz``, ``.csv``, ``.tsv``).

The layouts are read by :mod:`~rerank_eval.datasets.candidate_jsonl` (the candidates
layout and MTEB's ``positive``/``negative``) and :mod:`~rerank_eval.datasets.candidate_table`
(CSV/TSV). This module settles the ids and builds the :class:`Dataset`:

- a missing query id is ``q<line>`` (the query's first line); a missing document id is
  derived from its content, ``d-`` + the first 16 hex digits of sha1(title + "\\n" +
  text), so an equal document in several queries' lists is one corpus document; a text
  repeated within one query's list gets ``-2``, ``-3``... on its later occurrences. An id
  the file gives must name one document everywhere and appear once per query;
- the candidate order is ``Dataset.first_stage``, which the harness uses as the first
  stage instead of BM25 or a run file;
- the labels given (0 included) are the qrels; a file without labels is a dataset
  without judgments: a run reranks every query and computes no metrics;
- ``fingerprint`` is the sha256 of the file's bytes (as ``sha256sum`` prints it).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import zlib
from collections.abc import Iterable
from pathlib import Path

from rerank_eval.datasets.candidate_jsonl import read_jsonl
from rerank_eval.datasets.candidate_records import RawDocument, RawQuery
from rerank_eval.datasets.candidate_table import read_table
from rerank_eval.datasets.corpus import MemoryCorpus, is_empty_document
from rerank_eval.datasets.model import (
    CANDIDATES_SUFFIXES,
    CorpusDocument,
    Dataset,
    DatasetError,
)

log = logging.getLogger("rerank_eval.datasets")


def is_candidates_file(path: Path) -> bool:
    """Whether ``path`` is a file this module reads (by its suffix)."""
    return Path(path).is_file() and Path(path).name.lower().endswith(CANDIDATES_SUFFIXES)


def candidates_file_stem(path: Path) -> str:
    """The file's name without its candidates suffix: the dataset's default name."""
    name = Path(path).name
    for suffix in sorted(CANDIDATES_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def load_candidates_file(path: Path, split: str = "test", name: str | None = None) -> Dataset:
    """Load a candidates file (layout by suffix: ``.jsonl``/``.jsonl.gz``, ``.csv``,
    ``.tsv``). ``split`` is recorded only: a candidates file has one set of queries."""
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    lower = path.name.lower()
    data = _gunzip(raw, where) if lower.endswith(".gz") else raw
    if lower.endswith((".jsonl", ".jsonl.gz")):
        queries = list(read_jsonl(data, where))
    elif lower.endswith((".csv", ".tsv")):
        queries = list(read_table(data, where, "\t" if lower.endswith(".tsv") else ","))
    else:
        raise DatasetError(f"{path}: not a candidates file (suffixes: "
                           f"{', '.join(CANDIDATES_SUFFIXES)})")
    return build_dataset(queries, where=where, name=name or candidates_file_stem(path),
                         split=split, path=path, fingerprint=hashlib.sha256(raw).hexdigest())


def build_dataset(raw_queries: list[RawQuery], *, where: str, name: str, split: str,
                  path: Path | None, fingerprint: str) -> Dataset:
    """Settle the ids of parsed queries and build the :class:`Dataset` (see the module)."""
    if not raw_queries:
        raise DatasetError(f"{where}: no queries (empty file)")
    given = _given_query_ids(raw_queries, where)
    corpus: dict[str, CorpusDocument] = {}
    first_seen: dict[str, RawDocument] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    first_stage: dict[str, list[str]] = {}
    without_documents: list[str] = []
    generated = {"query": 0, "document": 0}
    for raw in raw_queries:
        query_id = raw.query_id
        if query_id is None:
            query_id = f"q{raw.line}"
            if query_id in given:
                raise DatasetError(f"{where} line {raw.line}: no 'query_id', and the id it "
                                   f"would get, {query_id!r}, is the query_id of line "
                                   f"{given[query_id]}; give this line a query_id")
            generated["query"] += 1
        if not raw.documents:
            without_documents.append(query_id)
            continue
        ranking: dict[str, RawDocument] = {}
        for doc in raw.documents:
            doc_id = doc.doc_id
            if doc_id is None:
                doc_id = _content_id(doc, ranking)
                generated["document"] += 1
            elif doc_id in ranking:
                raise DatasetError(f"{where} line {doc.line}: field {doc.id_field!r}: document "
                                   f"{doc_id!r} is already a candidate of this query "
                                   f"({ranking[doc_id].field}); a ranking holds a document "
                                   "once")
            _add_document(corpus, first_seen, doc_id, doc, where)
            ranking[doc_id] = doc
            if doc.label is not None:
                qrels.setdefault(query_id, {})[doc_id] = doc.label
        queries[query_id] = raw.query
        first_stage[query_id] = list(ranking)
    if not queries:
        raise DatasetError(f"{where}: no query has any candidate document")
    warnings = _warnings(where, name, raw_queries, without_documents, generated, corpus)
    warnings += label_notes(name, queries, qrels)
    for warning in warnings:
        log.warning(warning)
    return Dataset(name=name, split=split, corpus=MemoryCorpus(corpus), queries=queries,
                   qrels=qrels, path=path, fingerprint=fingerprint, warnings=warnings,
                   first_stage=first_stage)


def content_id(title: str, text: str) -> str:
    """The id of a document the file gives none: ``d-`` + 16 hex of sha1(title\\ntext)."""
    digest = hashlib.sha1(f"{title}\n{text}".encode("utf-8", "surrogatepass"))
    return f"d-{digest.hexdigest()[:16]}"


def label_notes(name: str, queries: Iterable[str], qrels: dict[str, dict[str, int]]
                ) -> list[str]:
    """What a dataset with its own candidates should say about its labels (shown with the
    dataset in summary.json and the report)."""
    query_ids = list(queries)
    labelled = [q for q in query_ids if qrels.get(q)]
    if not labelled:
        return [f"{name}: no labels: every query is reranked, no quality metric is computed "
                "(add labels to the file, or pass --qrels FILE)"]
    notes = [f"{name}: judgments are the labels of the candidates given, not a whole "
             "collection's qrels as in BEIR: nDCG's ideal ranking and recall's denominator "
             "count only labelled candidates, so the numbers compare rerankers on this "
             "file, not with BEIR's"]
    if len(labelled) < len(query_ids):
        notes.append(f"{name}: {len(query_ids) - len(labelled)} of {len(query_ids)} queries "
                     f"have no labels; a run reranks and evaluates the {len(labelled)} "
                     "labelled ones (label them, or remove every label to rerank all)")
    return notes


def _given_query_ids(raw_queries: list[RawQuery], where: str) -> dict[str, int]:
    given: dict[str, int] = {}
    for raw in raw_queries:
        if raw.query_id is None:
            continue
        if raw.query_id in given:
            raise DatasetError(f"{where} line {raw.line}: field 'query_id': duplicate id "
                               f"{raw.query_id!r} (first at line {given[raw.query_id]})")
        given[raw.query_id] = raw.line
    return given


def _content_id(doc: RawDocument, ranking: dict[str, RawDocument]) -> str:
    base = content_id(doc.title, doc.text)
    doc_id, occurrence = base, 1
    while doc_id in ranking:  # the same text again in this query's list
        occurrence += 1
        doc_id = f"{base}-{occurrence}"
    return doc_id


def _add_document(corpus: dict[str, CorpusDocument], first_seen: dict[str, RawDocument],
                  doc_id: str, doc: RawDocument, where: str) -> None:
    known = corpus.get(doc_id)
    if known is None:
        corpus[doc_id] = CorpusDocument(doc_id, doc.title, doc.text)
        first_seen[doc_id] = doc
    elif (known.title, known.text) != (doc.title, doc.text):
        raise DatasetError(f"{where} line {doc.line}: field {doc.id_field!r}: id {doc_id!r} "
                           f"names another text at line {first_seen[doc_id].line} "
                           f"({first_seen[doc_id].field}); one id, one document")


def _warnings(where: str, name: str, raw_queries: list[RawQuery],
              without_documents: list[str], generated: dict[str, int],
              corpus: dict[str, CorpusDocument]) -> list[str]:
    warnings = []
    mteb = sum(1 for raw in raw_queries if raw.layout == "mteb")
    if mteb:
        warnings.append(f"{where}: {mteb} queries in the MTEB layout (positive/negative) have "
                        "no retriever order: their candidates are in a seeded random order "
                        "(by sha256 of query and text), so the first stage's metrics are "
                        "those of a random ranking")
    if without_documents:
        warnings.append(f"{where}: {len(without_documents)} queries have no candidates "
                        f"(e.g. {without_documents[0]!r}); left out")
    if generated["query"] or generated["document"]:
        warnings.append(f"{where}: ids generated where the file gives none: "
                        f"{generated['query']} query ids (q<line>), document ids for "
                        f"{generated['document']} candidates (d-<sha1 of title and text>, "
                        "-2, -3... for a text repeated in one list); the TREC files use them")
    empty = sum(1 for doc in corpus.values() if is_empty_document(doc.title, doc.text))
    if empty:
        warnings.append(f"{name}: {empty} documents have neither title nor text "
                        "(empty or whitespace only)")
    return warnings


def _gunzip(raw: bytes, where: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{where}: not a valid gzip file: {exc}") from None
