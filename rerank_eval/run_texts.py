"""The texts a run folder keeps: every query, and each document that some ranking put near
its top.

A run folder's TREC files hold ids only. The per-query drill-down of the report and
``rerank-eval pool`` need the words behind them, and the folder should stay readable on
a machine without the dataset, so the harness writes beside the TREC files:

- ``runs/<dataset>/queries.jsonl``: ``{"query_id", "text"}`` for every query of the run;
- ``runs/<dataset>/documents.jsonl``: ``{"doc_id", "title", "text"}`` for the union, over
  the first stage and every reranker, of each query's top :data:`TEXT_DEPTH` documents.

Deeper documents are not kept (a 1M-document corpus must not be copied into every run
folder); a reader that needs them reloads the dataset from summary.json's ``source``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rerank_eval import atomic
from rerank_eval.metrics import trec_eval_order
from rerank_eval.text import file_safe

TEXT_DEPTH = 20
"""How deep in each ranking documents keep their text in the run folder."""

QUERIES_FILE = "queries.jsonl"
DOCUMENTS_FILE = "documents.jsonl"


class TextsError(ValueError):
    """A texts file of a run folder cannot be read; the message names file and line."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    title: str
    text: str


class HasTitleAndText(Protocol):
    title: str
    text: str


@dataclass
class RunTexts:
    """One dataset's texts as a run folder keeps them."""

    queries: dict[str, str] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    depth: int = TEXT_DEPTH


def texts_dir(run_dir: Path, dataset: str) -> Path:
    return Path(run_dir) / "runs" / file_safe(dataset)


def top_doc_ids(runs: Iterable[Mapping[str, Mapping[str, float]]],
                depth: int = TEXT_DEPTH) -> set[str]:
    """Every document within the top ``depth`` of some query in some run (trec_eval order,
    the order the TREC files and the metrics use)."""
    kept: set[str] = set()
    for run in runs:
        for scores in run.values():
            kept.update(doc_id for doc_id, _ in trec_eval_order(scores)[:depth])
    return kept


def write_run_texts(run_dir: Path, dataset: str, queries: Mapping[str, str],
                    documents: Mapping[str, HasTitleAndText], doc_ids: Iterable[str]) -> None:
    """Write the two files atomically; ``doc_ids`` missing from ``documents`` are skipped
    (a run file may name documents the corpus lacks: the first stage warns about those)."""
    folder = texts_dir(run_dir, dataset)
    lines = io.StringIO()
    for query_id in sorted(queries):
        lines.write(json.dumps({"query_id": query_id, "text": queries[query_id]},
                               ensure_ascii=False) + "\n")
    atomic.write_text(folder / QUERIES_FILE, lines.getvalue())
    lines = io.StringIO()
    for doc_id in sorted(doc_ids):
        document = documents.get(doc_id)
        if document is None:
            continue
        lines.write(json.dumps({"doc_id": doc_id, "title": document.title,
                                "text": document.text}, ensure_ascii=False) + "\n")
    atomic.write_text(folder / DOCUMENTS_FILE, lines.getvalue())


def read_run_texts(run_dir: Path, dataset: str) -> RunTexts | None:
    """The dataset's texts, or None when the folder has none (written before they were
    kept). Raises :class:`TextsError` naming the file and line of a damaged file."""
    folder = texts_dir(run_dir, dataset)
    queries_path, documents_path = folder / QUERIES_FILE, folder / DOCUMENTS_FILE
    if not queries_path.is_file():
        return None
    texts = RunTexts()
    for record in _records(queries_path, ("query_id", "text")):
        texts.queries[str(record["query_id"])] = str(record["text"])
    if documents_path.is_file():
        for record in _records(documents_path, ("doc_id", "text")):
            texts.documents[str(record["doc_id"])] = StoredDocument(
                title=str(record.get("title") or ""), text=str(record["text"]))
    return texts


def _records(path: Path, required: tuple[str, ...]) -> Iterable[dict]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TextsError(f"{path}:{line_no}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise TextsError(f"{path}:{line_no}: expected an object")
            for name in required:
                if name not in record:
                    raise TextsError(f"{path}:{line_no}: field {name!r} is missing")
            yield record
