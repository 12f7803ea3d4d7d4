"""The leaderboard rows a report shows, built from ``summary.json`` alone.

Reports read the run folder, never harness objects, so ``rerank-eval report RUN_DIR``
renders the same thing ``rerank-eval run`` did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HEADLINE_LATENCY = ("p50", "p95", "p99")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str  # "metric" | "ms" | "rate" | "usd" | "int" | "text"


def leaderboard(summary: dict[str, Any]) -> dict[str, tuple[list[Column], list[dict[str, Any]]]]:
    """Per dataset: the columns and one row per reranker (first stage first), best nDCG first."""
    measures = summary.get("suite", {}).get("measures", [])
    columns = [Column("reranker", "reranker", "text"), Column("n_queries", "queries", "int")]
    columns += [Column(m, m, "metric") for m in measures]
    columns += [Column(f"latency_{p}", f"{p} ms", "ms") for p in HEADLINE_LATENCY]
    columns += [Column("throughput", "docs/s", "rate"), Column("cost_usd", "cost $", "usd"),
                Column("errors", "errors", "int")]
    tables: dict[str, tuple[list[Column], list[dict[str, Any]]]] = {}
    for dataset in summary.get("datasets", []):
        first = dataset["first_stage"]
        rows = [{"reranker": f"first stage: {first['method']} top-{first['top_k']}",
                 "n_queries": dataset["n_queries"], **first.get("metrics", {})}]
        cells = [c for c in summary.get("results", []) if c["dataset"] == dataset["name"]]
        cells.sort(key=lambda c: -(c.get("metrics", {}).get(measures[0]) or -1) if measures else 0)
        for cell in cells:
            latency = cell.get("latency_ms") or {}
            rows.append({
                "reranker": cell["reranker"], "n_queries": cell["n_queries"],
                **cell.get("metrics", {}),
                **{f"latency_{p}": latency.get(p) for p in HEADLINE_LATENCY},
                "throughput": cell.get("throughput_docs_per_s"),
                "cost_usd": cell.get("cost_usd"), "errors": cell.get("errors"),
            })
        tables[dataset["name"]] = (columns, rows)
    return tables


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "metric":
        return f"{value:.4f}"
    if kind == "ms":
        return f"{value:,.1f}"
    if kind == "rate":
        return f"{value:,.0f}"
    if kind == "usd":
        return f"{value:.4f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)
