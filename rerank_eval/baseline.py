"""``baseline.json``: a small, reviewable file a team commits and ``check`` gates against.

``rerank-eval baseline RUN_DIR --out baseline.json`` writes, per dataset x reranker
(the first stage's own ranking included, as in per_query.csv): the spec, the dataset
fingerprint and first-stage settings, the measures' means, every query's value of each
measure (so ``check`` can pair by query), the latency summary (p50/p95/p99 ms), the cost
(``cost_usd`` and USD per 1,000 queries) and the environment of the run.

:func:`load_baseline` turns the file back into a :class:`rerank_eval.store.RunFolder`,
so ``check`` treats it exactly like a baseline run folder. The run folder itself is read
through :func:`rerank_eval.store.read_run` only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval import atomic
from rerank_eval.records import (
    FIRST_STAGE,
    KEY_COLUMNS,
    CellSummary,
    DatasetSummary,
    FirstStageSummary,
    PerQueryColumns,
    RunSummary,
    SchemaError,
    SuiteSummary,
)
from rerank_eval.store import RunFolder, read_json, read_run
from rerank_eval.types import Usage

BASELINE_SCHEMA_VERSION = 1
KIND = "rerank-eval-baseline"
LATENCY_KEYS = ("p50", "p95", "p99")


def is_baseline_file(path: Path) -> bool:
    """True for a file whose JSON says it is a baseline (``"kind": "rerank-eval-baseline"``)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data.get("kind") == KIND


def cost_per_1k(cell: CellSummary) -> float | None:
    """USD per 1,000 queries of a cell; None when its cost is unknown."""
    if cell.cost_usd is None or not cell.n_queries:
        return None
    return cell.cost_usd / cell.n_queries * 1000.0


def baseline_dict(run: RunFolder) -> dict[str, Any]:
    """The baseline of a run folder, as the JSON object ``baseline.json`` holds."""
    frame = run.require_per_query()
    summary = run.summary
    datasets = {d.name: d for d in summary.datasets}
    cells = {(c.dataset, c.reranker): c for c in summary.results}
    keys = list(dict.fromkeys(zip(frame["dataset"].astype(str), frame["reranker"].astype(str),
                                  strict=True)))
    keys += [k for k in cells if k not in keys]
    entries = []
    for dataset, reranker in keys:
        rows = frame[(frame["dataset"] == dataset) & (frame["reranker"] == reranker)]
        rows = rows.sort_values("query_id")
        per_query = {m: {str(q): _number(v) for q, v in zip(rows["query_id"], rows[m],
                                                              strict=True) if _finite(v)}
                     for m in run.measures}
        cell = cells.get((dataset, reranker))
        ds = datasets.get(dataset)
        entries.append({
            "dataset": dataset, "reranker": reranker,
            "spec": cell.spec if cell else reranker,
            "dataset_fingerprint": ds.fingerprint if ds else "",
            "n_queries": cell.n_queries if cell else len(rows),
            "measures": dict(cell.metrics) if cell and cell.metrics else
            {m: _number(rows[m].dropna().mean()) for m in run.measures if rows[m].notna().any()},
            "per_query": per_query,
            "latency_ms": {k: cell.latency_ms[k] for k in LATENCY_KEYS
                           if cell and k in cell.latency_ms},
            "cost_usd": cell.cost_usd if cell else None,
            "cost_per_1k_queries": cost_per_1k(cell) if cell else None,
            "errors": cell.errors if cell else 0,
        })
    return {
        "schema_version": BASELINE_SCHEMA_VERSION, "kind": KIND, "source": str(run.path),
        "suite": {"name": summary.suite.name, "measures": list(run.measures)},
        "datasets": [{"name": d.name, "split": d.split, "fingerprint": d.fingerprint,
                      "n_queries": d.n_queries,
                      "first_stage": {"method": d.first_stage.method,
                                      "top_k": d.first_stage.top_k, **d.first_stage.details}}
                     for d in summary.datasets],
        "cells": entries,
        "environment": summary.environment,
    }


def write_baseline(run_dir: Path, out: Path) -> dict[str, Any]:
    """Write ``out`` (baseline.json) from the run folder ``run_dir``; returns what was written."""
    data = baseline_dict(read_run(run_dir))
    atomic.write_text(Path(out), json.dumps(data, indent=1, sort_keys=False,
                                            ensure_ascii=False) + "\n")
    return data


def load_baseline(path: Path) -> RunFolder:
    """A baseline.json as a run folder (summary + per-query values), for ``check``."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise SchemaError(f"{path}: not a rerank-eval baseline file")
    version = data.get("schema_version")
    if version != BASELINE_SCHEMA_VERSION:
        raise SchemaError(f"{path}: baseline schema_version {version!r} is not "
                          f"{BASELINE_SCHEMA_VERSION}; write it again with `rerank-eval baseline`")
    measures = list((data.get("suite") or {}).get("measures") or [])
    datasets = []
    for d in data.get("datasets") or []:
        first = dict(d.get("first_stage") or {})
        datasets.append(DatasetSummary(
            name=str(d["name"]), split=str(d.get("split", "")),
            fingerprint=str(d.get("fingerprint", "")), n_queries=int(d.get("n_queries", 0)),
            first_stage=FirstStageSummary.from_dict(first)))
    results, rows = [], []
    for c in data.get("cells") or []:
        dataset, reranker = str(c["dataset"]), str(c["reranker"])
        if reranker != FIRST_STAGE:
            results.append(CellSummary(
                dataset=dataset, reranker=reranker, spec=str(c.get("spec", reranker)),
                n_queries=int(c.get("n_queries", 0)), metrics=dict(c.get("measures") or {}),
                latency_ms=dict(c.get("latency_ms") or {}),
                usage=Usage(cost_usd=c.get("cost_usd")), errors=int(c.get("errors", 0))))
        per_query: dict[str, dict[str, float]] = c.get("per_query") or {}
        queries = sorted({q for values in per_query.values() for q in values})
        for q in queries:
            rows.append({"dataset": dataset, "reranker": reranker, "query_id": q,
                         "n_candidates": None, "latency_ms": None,
                         **{m: per_query.get(m, {}).get(q) for m in measures}})
    frame = pd.DataFrame(rows, columns=[*KEY_COLUMNS, *measures])
    summary = RunSummary(suite=SuiteSummary(name=str((data.get("suite") or {}).get("name", "")),
                                            measures=measures),
                         results=results, datasets=datasets,
                         environment=dict(data.get("environment") or {}),
                         per_query=PerQueryColumns(measure_columns=measures))
    return RunFolder(path=path, summary=summary, per_query=frame, key_columns=list(KEY_COLUMNS),
                     measures=measures, has_per_query=True)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _number(value: Any) -> float:
    return float(value)
