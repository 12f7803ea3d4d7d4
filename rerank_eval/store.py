"""Results on disk: ``summary.json``, ``per_query.csv``, ``runs/<dataset>/<reranker>.trec``.

These are the design's output contract. Everything is written atomically, and written
again after every cell, so an interrupted run leaves complete files for the cells that
finished. ``load_summary`` / ``load_per_query`` read a run folder back for reports,
``compare`` and ``check``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval import atomic
from rerank_eval.environment import describe_environment
from rerank_eval.harness import CellResult, DatasetRun, RunResult
from rerank_eval.metrics import trec_eval_order
from rerank_eval.text import file_safe

FIRST_STAGE = "first-stage"
"""Reranker name of the first stage's own ranking in per_query.csv and runs/."""


def write_run_dir(result: RunResult, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    for dataset in result.datasets:
        write_trec(out_dir / "runs" / file_safe(dataset.name) / f"{FIRST_STAGE}.trec",
                   dataset.candidates.as_run(), tag=FIRST_STAGE)
    for cell in result.cells:
        if cell.records:
            write_trec(run_path(out_dir, cell.dataset, cell.reranker), cell.run(),
                       tag=cell.reranker)
    atomic.write_text(out_dir / "per_query.csv", per_query_frame(result).to_csv(index=False))
    atomic.write_json(out_dir / "summary.json", summary(result))


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


def summary(result: RunResult) -> dict[str, Any]:
    datasets = {d.name: d for d in result.datasets}
    return _clean({
        "suite": {"name": result.suite.name, "description": result.suite.description,
                  "measures": result.suite.measures, "max_queries": result.suite.max_queries},
        "results": [_cell_summary(cell, datasets.get(cell.dataset)) for cell in result.cells],
        "datasets": [_dataset_summary(d) for d in result.datasets],
        "environment": describe_environment(),
    })


def _cell_summary(cell: CellResult, dataset: DatasetRun | None) -> dict[str, Any]:
    usage = asdict(cell.usage)
    cost = usage.pop("cost_usd")
    top_k = dataset.candidates.top_k if dataset else None
    return {
        "dataset": cell.dataset,
        "reranker": cell.reranker,
        "spec": cell.spec,
        "n_queries": cell.n_queries,
        "metrics": cell.metrics,
        "latency_ms": cell.latency_ms,
        "throughput_docs_per_s": cell.throughput_docs_per_s,
        "usage": usage,
        "cost_usd": cost,
        "price": cell.price,
        "errors": cell.errors,
        "error_messages": cell.error_messages,
        "score_kind": cell.score_kind,
        "concurrency": cell.concurrency,
        "wall_s": cell.wall_s,
        "resumed_queries": cell.resumed_queries,
        "first_stage_recall": (dataset.first_stage_metrics.get(f"R@{top_k}") if dataset else None),
    }


def _dataset_summary(dataset: DatasetRun) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "split": dataset.split,
        "fingerprint": dataset.fingerprint,
        "n_docs": dataset.n_docs,
        "n_queries": len(dataset.query_ids),
        "first_stage": {**dataset.candidates.describe(), "metrics": dataset.first_stage_metrics},
        "warnings": dataset.warnings,
    }


def per_query_frame(result: RunResult) -> pd.DataFrame:
    """One row per (dataset, reranker, query): every measure, latency and candidate count."""
    rows: list[dict[str, Any]] = []
    for dataset in result.datasets:
        for query_id in dataset.query_ids:
            if query_id not in dataset.candidates.by_query:
                continue
            row = {"dataset": dataset.name, "reranker": FIRST_STAGE, "query_id": query_id,
                   "n_candidates": len(dataset.candidates.by_query[query_id]),
                   "latency_ms": None}
            row.update({m: v.get(query_id) for m, v in dataset.first_stage_per_query.items()
                        if m in result.suite.measures})
            rows.append(row)
    for cell in result.cells:
        for query_id, record in sorted(cell.records.items()):
            row = {"dataset": cell.dataset, "reranker": cell.reranker, "query_id": query_id,
                   "n_candidates": record.n_candidates,
                   "latency_ms": record.latency_s * 1000.0}
            row.update({m: v.get(query_id) for m, v in cell.per_query_metrics.items()})
            rows.append(row)
    columns = ["dataset", "reranker", "query_id", "n_candidates", "latency_ms",
               *result.suite.measures]
    return pd.DataFrame(rows, columns=columns)


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a rerank-eval run folder?")
    return json.loads(path.read_text(encoding="utf-8"))


def load_per_query(run_dir: Path) -> pd.DataFrame:
    path = Path(run_dir) / "per_query.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a rerank-eval run folder?")
    return pd.read_csv(path, dtype={"query_id": str, "dataset": str, "reranker": str})


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
