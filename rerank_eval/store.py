"""Results on disk: ``summary.json``, ``per_query.csv``, ``runs/<dataset>/<reranker>.trec``.

These are the design's output contract, whose record types and version live in
:mod:`rerank_eval.records`. Everything is written atomically, and written again after
every cell, so an interrupted run leaves complete files for the cells that finished.

:func:`read_run` is the one reader of a run folder: the reports, ``compare``, ``check``
and the library read results through it, whatever version wrote them.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval import atomic
from rerank_eval.environment import describe_environment
from rerank_eval.journal import JournalContents, journal_path, read_journal
from rerank_eval.metrics import trec_eval_order
from rerank_eval.records import (
    FIRST_STAGE,
    KEY_COLUMNS,
    CellResult,
    DatasetResult,
    PerQueryColumns,
    RunResult,
    RunSummary,
    SchemaError,
)
from rerank_eval.run_qrels import write_run_qrels
from rerank_eval.run_texts import top_doc_ids, write_run_texts
from rerank_eval.text import file_safe
from rerank_eval.trec import read_rankings

__all__ = ["FIRST_STAGE", "RunFolder", "SchemaError", "read_run", "read_summary",
           "write_run_dir"]


# -- writing ------------------------------------------------------------------------------


def write_run_dir(result: RunResult, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    for dataset in result.datasets:
        write_trec(out_dir / "runs" / file_safe(dataset.name) / f"{FIRST_STAGE}.trec",
                   dataset.first_stage_run, tag=FIRST_STAGE)
    for cell in result.cells:
        if cell.records:
            write_trec(run_path(out_dir, cell.dataset, cell.reranker), cell.run(),
                       tag=cell.reranker)
    for dataset in result.datasets:
        _write_texts(out_dir, dataset, [c for c in result.cells if c.dataset == dataset.name])
    atomic.write_text(out_dir / "per_query.csv", per_query_frame(result).to_csv(index=False))
    atomic.write_json(out_dir / "summary.json", _clean(summary(result).to_dict()))


def _write_texts(out_dir: Path, dataset: DatasetResult, cells: list[CellResult]) -> None:
    """``queries.jsonl``, ``documents.jsonl`` (top documents' texts) and ``qrels.txt`` of a
    dataset, when the harness handed them over (a result rebuilt from files has none)."""
    if dataset.corpus is None and not dataset.query_texts:
        return
    doc_ids = top_doc_ids([dataset.first_stage_run, *(c.run() for c in cells if c.records)])
    write_run_texts(out_dir, dataset.name, dataset.query_texts, dataset.corpus or {}, doc_ids)
    if dataset.qrels is not None:
        write_run_qrels(out_dir, dataset.name, dataset.qrels)


def run_path(out_dir: Path, dataset: str, reranker: str) -> Path:
    return Path(out_dir) / "runs" / file_safe(dataset) / f"{file_safe(reranker)}.trec"


def write_trec(path: Path, run: dict[str, dict[str, float]], tag: str) -> None:
    """TREC run format, each query's documents in trec_eval order, scores round-tripping exactly."""
    buffer = io.StringIO()
    safe_tag = file_safe(tag) or "run"
    for query_id in sorted(run):
        for rank, (doc_id, score) in enumerate(trec_eval_order(run[query_id]), start=1):
            buffer.write(f"{query_id} Q0 {doc_id} {rank} {float(score)!r} {safe_tag}\n")
    atomic.write_text(path, buffer.getvalue())


def summary(result: RunResult) -> RunSummary:
    """The run's ``summary.json``, with each cell's first-stage recall filled in."""
    datasets = {d.name: d.summary for d in result.datasets}
    for cell in result.cells:
        dataset = datasets.get(cell.dataset)
        top_k = dataset.first_stage.top_k if dataset else None
        cell.first_stage_recall = (dataset.first_stage.metrics.get(f"R@{top_k}")
                                   if dataset else None)
    return RunSummary(
        suite=result.suite, results=list(result.cells), datasets=list(datasets.values()),
        environment=describe_environment(),
        per_query=PerQueryColumns(key_columns=list(KEY_COLUMNS),
                                  measure_columns=list(result.suite.measures)),
    )


def per_query_frame(result: RunResult) -> pd.DataFrame:
    """One row per (dataset, reranker, query): every measure, latency and candidate count."""
    measures = result.suite.measures
    rows: list[dict[str, Any]] = []
    for dataset in result.datasets:
        for query_id in dataset.query_ids:
            if query_id not in dataset.first_stage_run:
                continue
            row = {"dataset": dataset.name, "reranker": FIRST_STAGE, "query_id": query_id,
                   "query_text": dataset.query_texts.get(query_id),
                   "n_candidates": len(dataset.first_stage_run[query_id]),
                   "order": None, "latency_ms": None}
            row.update({m: v.get(query_id) for m, v in dataset.first_stage_per_query.items()
                        if m in measures})
            rows.append(row)
    query_texts = {d.name: d.query_texts for d in result.datasets}
    for cell in result.cells:
        texts = query_texts.get(cell.dataset, {})
        for query_id, record in sorted(cell.records.items()):
            timed = cell.latency_records.get(query_id) if cell.has_latency_pass else record
            row = {"dataset": cell.dataset, "reranker": cell.reranker, "query_id": query_id,
                   "query_text": texts.get(query_id),
                   "n_candidates": record.n_candidates,
                   "order": (timed or record).order,
                   "latency_ms": None if timed is None else timed.latency_s * 1000.0}
            row.update({m: v.get(query_id) for m, v in cell.per_query_metrics.items()})
            rows.append(row)
    frame = pd.DataFrame(rows, columns=[*KEY_COLUMNS, *measures])
    frame["order"] = frame["order"].astype("Int64")  # blank for the first stage, no ".0"
    return frame


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


# -- reading: the one reader --------------------------------------------------------------


@dataclass
class RunFolder:
    """A run folder as read back, whatever version of rerank-eval wrote it."""

    path: Path
    summary: RunSummary
    per_query: pd.DataFrame
    """One row per (dataset, reranker, query); empty (key columns only) when the file is absent."""
    key_columns: list[str]
    measures: list[str]
    """The measure columns of ``per_query`` (declared in summary.json; inferred for version 0)."""
    has_per_query: bool = True
    _journals: dict[tuple[str, str], JournalContents | None] = field(default_factory=dict,
                                                                      repr=False)
    _rankings: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict,
                                                                    repr=False)

    def rankings(self, dataset: str, system: str) -> dict[str, list[str]]:
        """query id -> doc ids in trec_eval order, from ``runs/<dataset>/<system>.trec`` (a
        reranker, or ``first-stage``); {} when there is none. Read once per folder: the
        report's agreement and drill-down both use them."""
        key = (dataset, system)
        if key not in self._rankings:
            self._rankings[key] = read_rankings(run_path(self.path, dataset, system))
        return self._rankings[key]

    def journal(self, dataset: str, reranker: str) -> JournalContents | None:
        """The cell's journal (``cells/``): every query's record; None when there is none."""
        key = (dataset, reranker)
        if key not in self._journals:
            self._journals[key] = read_journal(journal_path(self.path, dataset, reranker))
        return self._journals[key]

    def latencies(self, dataset: str, reranker: str,
                  keep: set[str] | None = None) -> list[tuple[int, float]] | None:
        """(order, latency ms) of each journaled call that is a latency figure (for queries in
        ``keep``), by order: the latency pass's measured calls when the cell had one (its
        warm-up calls are not among them), else every main-pass call (order 0 is the cold
        one). None without a journal.
        """
        contents = self.journal(dataset, reranker)
        if contents is None:
            return None
        cell = next((c for c in self.summary.results
                     if c.dataset == dataset and c.reranker == reranker), None)
        timed = contents.latency if cell is not None and cell.has_latency_pass else \
            contents.records
        return sorted((r.order, r.latency_s * 1000.0) for q, r in timed.items()
                      if keep is None or q in keep)

    def require_per_query(self) -> pd.DataFrame:
        if not self.has_per_query:
            raise FileNotFoundError(f"{self.path / 'per_query.csv'} not found: is {self.path} "
                                    "a rerank-eval run folder?")
        return self.per_query


def read_run(run_dir: Path) -> RunFolder:
    """Read ``summary.json`` and ``per_query.csv`` of a run folder (any schema version).

    Raises FileNotFoundError without summary.json, :class:`SchemaError` for a file this
    version cannot read (written by a newer rerank-eval, or not a results file).
    """
    run_dir = Path(run_dir)
    path = run_dir / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a rerank-eval run folder?")
    run_summary = read_summary(path)
    csv = run_dir / "per_query.csv"
    declared = run_summary.per_query
    if csv.is_file():
        frame = pd.read_csv(csv, dtype={"query_id": str, "dataset": str, "reranker": str,
                                        "query_text": str})
    else:
        frame = pd.DataFrame(columns=list(declared.key_columns if declared else KEY_COLUMNS))
    if declared is not None:
        keys = list(declared.key_columns)
        measures = [m for m in declared.measure_columns if m in frame.columns]
    else:  # version 0: the suite's measures, else every column that is not a key
        keys = [c for c in frame.columns if c in KEY_COLUMNS]
        measures = ([m for m in run_summary.suite.measures if m in frame.columns] or
                    [c for c in frame.columns if c not in KEY_COLUMNS])
    return RunFolder(path=run_dir, summary=run_summary, per_query=frame, key_columns=keys,
                     measures=measures, has_per_query=csv.is_file())


def read_summary(path: Path) -> RunSummary:
    """A ``summary.json`` file on its own (a committed baseline), upgraded to this version."""
    path = Path(path)
    return RunSummary.from_dict(read_json(path), what=str(path))


def read_json(path: Path) -> Any:
    """A results file's JSON; invalid JSON is a :class:`SchemaError` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON: {exc}") from None
