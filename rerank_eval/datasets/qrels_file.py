"""Judgments from a file of their own (``run --qrels FILE``, a suite dataset's
``qrels = "..."``): they replace the dataset's judgments.

Two formats, told apart by the first non-blank line:

- a table whose header names at least ``query_id``, ``doc_id`` and ``label`` (BEIR's
  ``query-id``, ``corpus-id``, ``score`` too), comma separated, or tab separated when the
  header holds a tab; other columns are ignored, and a row with an empty label is not
  judged (skipped). This is the file ``rerank-eval pool`` writes (``query_id, query,
  doc_id, document, label``) once someone has filled in labels;
- TREC qrels: ``query-id iteration doc-id relevance``, whitespace separated, no header.

Judgments naming a query or document the dataset does not hold are dropped and reported,
as with BEIR qrels. The dataset's fingerprint then covers both: its own and the qrels
file's sha256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rerank_eval.datasets.candidate_files import label_notes
from rerank_eval.datasets.candidate_records import label_value
from rerank_eval.datasets.candidate_table import decode
from rerank_eval.datasets.model import Dataset, DatasetError
from rerank_eval.datasets.records import Judgment, check_id, join_qrels

log = logging.getLogger("rerank_eval.datasets")

COLUMNS = {
    "query_id": ("query_id", "query-id", "qid"),
    "doc_id": ("doc_id", "corpus-id", "docid", "doc-id"),
    "label": ("label", "score", "relevance"),
}
"""Each column the table needs, and the header names accepted for it."""


@dataclass(frozen=True)
class QrelsFile:
    """A qrels file as read: its judgments (position, query, document, grade)."""

    path: Path
    judgments: list[Judgment]
    sha256: str
    layout: str
    """``table`` or ``trec``."""
    unlabelled: int = 0
    """Table rows skipped for an empty label."""


def read_qrels_file(path: Path) -> QrelsFile:
    """Read a qrels file (either format; see the module). Errors name file, line, field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"qrels file {path} does not exist") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    text = decode(raw, str(path))
    first = next((line for line in text.split("\n") if line.strip()), None)
    if first is None:
        raise DatasetError(f"{path}: empty file (expected judgments: a table with query_id, "
                           "doc_id, label, or TREC qrels 'query-id 0 doc-id relevance')")
    sha = hashlib.sha256(raw).hexdigest()
    names = {cell.strip().lower() for cell in first.replace("\t", ",").split(",")}
    if names & set(COLUMNS["query_id"]):
        delimiter = "\t" if "\t" in first else ","
        judgments: list[Judgment] = []
        skipped = 0
        for judgment in _table_rows(text, str(path), delimiter):
            if judgment is None:
                skipped += 1
            else:
                judgments.append(judgment)
        return QrelsFile(path, judgments, sha, "table", skipped)
    return QrelsFile(path, list(_trec_rows(text, str(path))), sha, "trec")


def with_qrels_file(dataset: Dataset, path: Path) -> Dataset:
    """``dataset`` with its judgments replaced by those of a qrels file."""
    qrels_file = read_qrels_file(path)
    where = str(qrels_file.path)
    if not qrels_file.judgments:
        empty = (f": the label of all {qrels_file.unlabelled} rows is empty (fill in labels, "
                 "then run again)" if qrels_file.unlabelled else "")
        raise DatasetError(f"{where}: no judgments{empty}")
    qrels, dropped = join_qrels(qrels_file.judgments, dataset.corpus, dataset.queries,
                                where, "line")
    old_notes = label_notes(dataset.name, dataset.queries, dataset.qrels)
    kept = [w for w in dataset.warnings
            if dataset.first_stage is None or w not in old_notes]
    judged = sum(len(docs) for docs in qrels.values())
    warnings = [*kept, f"{dataset.name}: judgments from {where} ({judged} of {len(qrels)} "
                f"queries) replace the dataset's own", *dropped]
    if qrels_file.unlabelled:
        warnings.append(f"{where}: {qrels_file.unlabelled} rows with an empty label are not "
                        "judged")
    if dataset.first_stage is not None:
        warnings += label_notes(dataset.name, dataset.queries, qrels)
    for warning in warnings[len(kept):]:
        log.warning(warning)
    fingerprint = hashlib.sha256(
        f"{dataset.fingerprint}\0qrels\0{qrels_file.sha256}".encode()).hexdigest()
    return replace(dataset, qrels=qrels, fingerprint=fingerprint, warnings=warnings)


def _table_rows(text: str, where: str, delimiter: str) -> Iterator[Judgment | None]:
    """A table's judgments in file order; None for a row whose label is empty."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[str, int] = {}
    width = 0
    line = 1
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                line = reader.line_num + 1
                continue
            if not columns:
                header = [cell.strip().lower() for cell in row]
                columns = _header_columns(header, where, reader.line_num)
                width = len(header)
            else:
                yield _table_row(row, line, columns, width, where)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"{where} line {reader.line_num}: not valid CSV: {exc}") from None


def _header_columns(header: list[str], where: str, line: int) -> dict[str, int]:
    columns = {}
    for column, names in COLUMNS.items():
        index = next((header.index(n) for n in names if n in header), None)
        if index is None:
            raise DatasetError(f"{where} line {line}: the header lacks column {column!r} "
                               f"(has: {', '.join(header)}); a qrels table needs "
                               f"{', '.join(COLUMNS)}")
        columns[column] = index
    return columns


def _table_row(row: list[str], line: int, columns: dict[str, int], width: int,
               where: str) -> Judgment | None:
    if len(row) != width:
        raise DatasetError(f"{where} line {line}: expected {width} columns as in the header, "
                           f"found {len(row)}")
    label = label_value(row[columns["label"]], where, line, "label")
    if label is None:
        return None
    query_id = check_id(row[columns["query_id"]].strip(), where, "line", line, "query_id")
    doc_id = check_id(row[columns["doc_id"]].strip(), where, "line", line, "doc_id")
    return line, query_id, doc_id, label


def _trec_rows(text: str, where: str) -> Iterator[Judgment]:
    for line_no, line in enumerate(text.split("\n"), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise DatasetError(f"{where} line {line_no}: expected 4 columns 'query-id "
                               f"iteration doc-id relevance' (TREC qrels), found {len(parts)}; "
                               "a table needs a header line naming query_id, doc_id, label")
        query_id, _, doc_id, raw_label = parts
        label = label_value(raw_label, where, line_no, "relevance")
        assert label is not None  # a whitespace-split part is never empty
        yield line_no, query_id, doc_id, label
