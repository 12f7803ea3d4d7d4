"""The file ``rerank-eval pool`` writes for people to label: CSV, or TSV by its suffix.

One row per (query, pooled document), columns :data:`POOL_COLUMNS`. ``query_id``,
``doc_id`` and ``label`` are what the judgments reader
(:mod:`rerank_eval.datasets.qrels_file`, behind ``run --qrels FILE``) reads back; the
other columns are there for the person labelling and are ignored. An empty ``label`` is
"not judged yet". Nothing in a row says which reranker found the document.

Fields are quoted as the ``csv`` module quotes them (a text holding the delimiter, a
quote or a line break is quoted), so a spreadsheet opens the file as written and saves
it back in the same shape.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rerank_eval import atomic
from rerank_eval.pooling import Pool

POOL_COLUMNS = ("dataset", "query_id", "query", "doc_id", "title", "document", "label")


def delimiter_for(path: Path) -> str:
    """Tab for ``.tsv`` (and ``.tab``, ``.txt``), else comma."""
    return "\t" if Path(path).suffix.lower() in (".tsv", ".tab", ".txt") else ","


def pool_text(pool: Pool, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(POOL_COLUMNS)
    for entry in pool.entries:
        document = pool.documents[entry.doc_id]
        writer.writerow([pool.dataset, entry.query_id, pool.queries.get(entry.query_id, ""),
                         entry.doc_id, document.title, document.text,
                         "" if entry.label is None else str(entry.label)])
    return buffer.getvalue()


def write_pool(pool: Pool, out: Path) -> None:
    """Write ``out`` atomically: CSV, or TSV when its suffix says so."""
    atomic.write_text(Path(out), pool_text(pool, delimiter_for(out)))
