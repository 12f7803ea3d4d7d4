"""CSV and TSV candidates files: one row per (query, candidate).

Columns (a header line names them, in any order; others are ignored):
``query_id``, ``query``, ``document`` (required), ``doc_id``, ``title``, ``label``
(optional). The rows of a query are its candidates in first-stage order; a query's rows
need not be adjacent (they are collected in file order). An empty ``doc_id`` is generated
from the content, an empty ``label`` is "not judged". This is also the layout
``rerank-eval pool`` writes, so a pooled file, once labelled, is a dataset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from rerank_eval.datasets.candidate_records import (
    RawDocument,
    RawQuery,
    at,
    label_value,
    optional_id,
)
from rerank_eval.datasets.model import DatasetError

REQUIRED = ("query_id", "query", "document")
OPTIONAL = ("doc_id", "title", "label")


def read_table(data: bytes, where: str, delimiter: str) -> Iterator[RawQuery]:
    """The queries of a CSV (``delimiter=","``) or TSV (``"\\t"``) file's bytes."""
    text = decode(data, where)
    layout = "tsv" if delimiter == "\t" else "csv"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, header_line = _header(reader, where)
    columns = {name: header.index(name) for name in (*REQUIRED, *OPTIONAL) if name in header}
    queries: dict[str, RawQuery] = {}
    line = reader.line_num + 1
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                _add_row(row, line, columns, len(header), where, layout, queries)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"{where} line {reader.line_num}: not valid {layout.upper()}: "
                           f"{exc}") from None
    if not queries:
        raise DatasetError(f"{where}: no rows after the header (line {header_line})")
    yield from queries.values()


def decode(data: bytes, where: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); an error names the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{where} line {line}: not UTF-8 ({exc.reason})") from None


def _header(reader: csv.Reader, where: str) -> tuple[list[str], int]:
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                header = [cell.strip().lower() for cell in row]
                missing = [name for name in REQUIRED if name not in header]
                if missing:
                    raise DatasetError(
                        f"{where} line {reader.line_num}: the header lacks column "
                        f"{missing[0]!r} (has: {', '.join(header)}); expected "
                        f"{', '.join(REQUIRED)}, optionally {', '.join(OPTIONAL)}")
                return header, reader.line_num
    except csv.Error as exc:
        raise DatasetError(f"{where} line {reader.line_num}: not valid CSV: {exc}") from None
    raise DatasetError(f"{where}: empty file (expected a header line: "
                       f"{', '.join((*REQUIRED, *OPTIONAL))})")


def _add_row(row: list[str], line: int, columns: dict[str, int], width: int, where: str,
             layout: str, queries: dict[str, RawQuery]) -> None:
    if len(row) != width:
        raise DatasetError(f"{where} line {line}: expected {width} columns as in the header, "
                           f"found {len(row)}")

    def cell(name: str) -> str | None:
        index = columns.get(name)
        return None if index is None else row[index]

    query_id = optional_id((cell("query_id") or "").strip(), where, line, "query_id")
    assert query_id is not None  # a required column
    query_text = cell("query") or ""
    query = queries.get(query_id)
    if query is None:
        query = queries[query_id] = RawQuery(line=line, query_id=query_id, query=query_text,
                                             layout=layout)
    elif query.query != query_text:
        raise DatasetError(f"{at(where, line, 'query')}: query_id {query_id!r} has another "
                           f"query text on line {query.line}")
    doc_id = (cell("doc_id") or "").strip()
    query.documents.append(RawDocument(
        line=line, field="document", id_field="doc_id",
        doc_id=optional_id(doc_id, where, line, "doc_id") if doc_id else None,
        title=cell("title") or "", text=cell("document") or "",
        label=label_value(cell("label"), where, line, "label")))
