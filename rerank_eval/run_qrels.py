"""The relevance judgments a run folder keeps: ``runs/<dataset>/qrels.txt``.

The per-query drill-down of the report shows each document's grade, and a report must
come from the run folder alone (the dataset may be elsewhere, or gone), so the harness
writes the judgments of the queries it evaluated beside the TREC run files, in TREC
qrels format (``query_id 0 doc_id grade``, one line each, sorted): ``trec_eval
qrels.txt first-stage.trec`` then gives the run's own numbers. A dataset without
judgments (an unlabelled candidates file) gets an empty file; a folder written before
the file existed has none (:func:`read_run_qrels` returns None).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from rerank_eval import atomic
from rerank_eval.run_texts import texts_dir
from rerank_eval.trec import TrecFileError, read_trec_qrels

QRELS_FILE = "qrels.txt"


QrelsFileError = TrecFileError
"""A run folder's qrels file cannot be read; the message names file and line."""


def qrels_path(run_dir: Path, dataset: str) -> Path:
    return texts_dir(run_dir, dataset) / QRELS_FILE


def write_run_qrels(run_dir: Path, dataset: str,
                    qrels: Mapping[str, Mapping[str, int]]) -> None:
    """Write the judgments atomically, queries and documents in sorted (string) order."""
    lines = io.StringIO()
    for query_id in sorted(qrels):
        for doc_id in sorted(qrels[query_id]):
            lines.write(f"{query_id} 0 {doc_id} {int(qrels[query_id][doc_id])}\n")
    atomic.write_text(qrels_path(run_dir, dataset), lines.getvalue())


def read_run_qrels(run_dir: Path, dataset: str) -> dict[str, dict[str, int]] | None:
    """query id -> doc id -> grade; None when the folder keeps no judgments for the dataset.

    Raises :class:`QrelsFileError` for a line that is not ``query 0 doc grade``.
    """
    path = qrels_path(run_dir, dataset)
    if not path.is_file():
        return None
    return read_trec_qrels(path)
