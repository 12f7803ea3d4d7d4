"""What a report shows, computed from a run folder alone.

Reads ``summary.json``, ``per_query.csv`` and the cell journals (``cells/``) and
derives: every reranker against a baseline per dataset and measure (paired bootstrap
CI, randomization test, Holm: :func:`rerank_eval.comparison.compare_systems`), the
per-query latency distributions (the journals keep each request's wall time and its
order, so the cold first request is told apart), cost per 1,000 queries and units per
query from the usage the providers reported, and a load projection for a given number
of queries per second. No harness object is needed, so ``rerank-eval report RUN_DIR``
renders exactly what ``rerank-eval run`` did.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval.comparison import Comparison, compare_systems
from rerank_eval.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, paired_comparison
from rerank_eval.store import FIRST_STAGE, load_per_query, load_summary
from rerank_eval.text import file_safe

ALPHA = 0.05
"""Significance level, applied to Holm-corrected p-values."""
CONFIDENCE = 0.95
PRIMARY_MEASURE = "nDCG@10"
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30
BETTER, WORSE = "▲", "▼"


# -- small pure functions (tested on constructed numbers) -------------------------------


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices (ascending) of the points no other point dominates.

    x is a cost (lower is better: latency, dollars), y a quality (higher is better).
    A point is dominated when another is at least as good on both axes and strictly
    better on one; identical points do not dominate each other, so both stay.
    """
    frontier = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox <= x and oy >= y) and (ox < x or oy > y)
            for j, (ox, oy) in enumerate(points) if j != i
        )
        if not dominated:
            frontier.append(i)
    return frontier


@dataclass(frozen=True)
class Projection:
    """A reranker at ``qps`` queries per second, from its measured cost and latency."""

    qps: float
    queries_per_day: float
    cost_per_day_usd: float | None
    cost_per_month_usd: float | None
    units_per_day: float | None
    unit: str | None
    in_flight_mean: int | None
    """Requests in flight on average (Little's law: qps x mean latency), rounded up."""
    in_flight_p95: int | None
    """The same at the p95 latency: the concurrency that absorbs slow requests."""


def project_load(qps: float, *, cost_per_query_usd: float | None,
                 latency_mean_ms: float | None, latency_p95_ms: float | None,
                 units_per_query: float | None = None, unit: str | None = None) -> Projection:
    """Cost per day and month (30 days) and the concurrency needed at ``qps``."""
    if not qps > 0:
        raise ValueError(f"qps must be positive, got {qps}")
    per_day = qps * SECONDS_PER_DAY
    cost_day = None if cost_per_query_usd is None else cost_per_query_usd * per_day

    def in_flight(ms: float | None) -> int | None:
        # a tiny epsilon keeps 2.0000000001 (float noise) from becoming 3
        return None if ms is None else max(1, math.ceil(qps * ms / 1000.0 - 1e-9))

    return Projection(
        qps=qps, queries_per_day=per_day, cost_per_day_usd=cost_day,
        cost_per_month_usd=None if cost_day is None else cost_day * DAYS_PER_MONTH,
        units_per_day=None if units_per_query is None else units_per_query * per_day,
        unit=unit, in_flight_mean=in_flight(latency_mean_ms),
        in_flight_p95=in_flight(latency_p95_ms),
    )


def mean_ci(values: Sequence[float], *, seed: int = DEFAULT_SEED,
            n_resamples: int = DEFAULT_RESAMPLES) -> tuple[float, float]:
    """95% percentile-bootstrap CI of a mean: the paired CI of the values against zero."""
    if not values:
        return math.nan, math.nan
    zeros = {str(i): 0.0 for i in range(len(values))}
    result = paired_comparison({str(i): float(v) for i, v in enumerate(values)}, zeros,
                               confidence=CONFIDENCE, seed=seed, n_resamples=n_resamples)
    return result.ci_low, result.ci_high


# -- the analysis of a run folder --------------------------------------------------------


@dataclass
class MeasureResult:
    mean: float | None
    comparison: Comparison | None = None

    @property
    def mark(self) -> str:
        c = self.comparison
        if c is None or not c.significant(ALPHA):
            return ""
        return BETTER if c.delta > 0 else WORSE if c.delta < 0 else ""


@dataclass
class Latency:
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None
    max: float | None
    cold: float | None
    warm_ms: list[float]
    """Per-request wall times of every request but the cold first one, sorted."""
    from_journal: bool


@dataclass
class Cost:
    cost_usd: float | None
    per_1k_queries_usd: float | None
    requests_per_query: float | None
    tokens_per_query: float | None
    search_units_per_query: float | None
    compute_s_per_query: float | None
    price: PriceNote | None
    """The price that applies (with its date and source), when it can be traced."""
    unknown_reason: str | None
    unknown_short: str | None
    projection: Projection | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    """The cell's usage totals as the run recorded them."""
    n_queries: int = 0

    @property
    def billed_unit(self) -> tuple[str, float] | None:
        if self.search_units_per_query is not None:
            return "search units", self.search_units_per_query
        if self.tokens_per_query is not None:
            return "tokens", self.tokens_per_query
        return None


@dataclass
class System:
    name: str
    spec: str
    is_baseline: bool
    is_first_stage: bool
    n_queries: int
    errors: int
    measures: dict[str, MeasureResult]
    primary_ci: tuple[float, float] | None
    """95% bootstrap CI of the primary measure's mean (bars, error bars)."""
    latency: Latency | None
    cost: Cost | None
    concurrency: int | None
    throughput: float | None
    wall_s: float | None
    retries: int
    retry_wait_s: float
    cache_hits: int
    split_requests: int
    truncated_documents: int
    deltas: list[float] = field(default_factory=list)
    """Per-query primary-measure differences against the baseline, sorted descending."""


@dataclass
class DatasetAnalysis:
    name: str
    slug: str
    split: str
    n_queries: int
    n_docs: int
    fingerprint: str
    first_stage: dict[str, Any]
    warnings: list[str]
    baseline: str
    baseline_found: bool
    systems: list[System]
    """The baseline first, then the rest by the primary measure, best first."""

    @property
    def rerankers(self) -> list[System]:
        return [s for s in self.systems if not s.is_first_stage]

    @property
    def compared(self) -> list[System]:
        return [s for s in self.systems if not s.is_baseline and s.n_queries]


@dataclass
class PriceTable:
    available: bool
    description: str
    dates: list[str]


@dataclass
class Analysis:
    suite: dict[str, Any]
    measures: list[str]
    primary: str
    baseline: str
    qps: float | None
    datasets: list[DatasetAnalysis]
    environment: dict[str, Any]
    price_table: PriceTable
    seed: int
    n_resamples: int
    confidence: float
    alpha: float
    failed: list[dict[str, Any]]
    colors: dict[str, int]
    """Reranker name -> a stable palette index, shared by every figure."""


def analyse(run_dir: Path, *, baseline: str = FIRST_STAGE, qps: float | None = None,
            seed: int = DEFAULT_SEED, n_resamples: int = DEFAULT_RESAMPLES) -> Analysis:
    run_dir = Path(run_dir)
    summary = load_summary(run_dir)
    frame = _per_query(run_dir)
    measures = list(summary.get("suite", {}).get("measures") or
                    [c for c in frame.columns if c not in _KEYS])
    primary = PRIMARY_MEASURE if PRIMARY_MEASURE in measures else (measures[0] if measures
                                                                   else PRIMARY_MEASURE)
    comparisons = compare_systems(frame, baseline, measures=measures, seed=seed,
                                  n_resamples=n_resamples) if len(frame) else []
    by_key = {(c.dataset, c.system, c.measure): c for c in comparisons}
    results = summary.get("results", [])
    names = list(dict.fromkeys(r["reranker"] for r in results))
    colors = {name: i for i, name in enumerate(names)}
    datasets = [
        _dataset(run_dir, d, results, frame, measures, primary, baseline, by_key, qps, seed,
                 n_resamples)
        for d in summary.get("datasets", [])
    ]
    return Analysis(
        suite=summary.get("suite", {}), measures=measures, primary=primary, baseline=baseline,
        qps=qps, datasets=datasets, environment=summary.get("environment", {}),
        price_table=_price_table(), seed=seed, n_resamples=n_resamples,
        confidence=CONFIDENCE, alpha=ALPHA,
        failed=[r for r in results if r.get("errors")], colors=colors,
    )


_KEYS = ("dataset", "reranker", "query_id", "n_candidates", "latency_ms")


def _per_query(run_dir: Path) -> pd.DataFrame:
    try:
        return load_per_query(run_dir)
    except FileNotFoundError:
        return pd.DataFrame(columns=list(_KEYS))


def _dataset(run_dir: Path, dataset: dict[str, Any], results: list[dict[str, Any]],
             frame: pd.DataFrame, measures: list[str], primary: str, baseline: str,
             by_key: dict[tuple[str, str, str], Comparison], qps: float | None, seed: int,
             n_resamples: int) -> DatasetAnalysis:
    name = dataset["name"]
    rows = frame[frame["dataset"] == name] if len(frame) else frame
    cells = [c for c in results if c["dataset"] == name]
    first = dataset.get("first_stage", {})
    systems = [_first_stage_system(dataset, rows, measures, primary, baseline, by_key, seed,
                                   n_resamples)]
    systems += [_system(run_dir, cell, rows, measures, primary, baseline, by_key, qps, seed,
                        n_resamples) for cell in cells]
    baseline_rows = rows[rows["reranker"] == baseline] if len(rows) else rows
    base_values = (baseline_rows.set_index("query_id")[primary].dropna()
                   if len(baseline_rows) and primary in rows.columns else None)
    for system in systems:
        if system.is_baseline or base_values is None or not system.n_queries:
            continue
        mine = rows[rows["reranker"] == system.name].set_index("query_id")[primary].dropna()
        common = sorted(set(mine.index) & set(base_values.index))
        system.deltas = sorted((float(mine[q] - base_values[q]) for q in common), reverse=True)

    def order(s: System) -> tuple[int, float, str]:
        value = s.measures.get(primary, MeasureResult(None)).mean
        return (0 if s.is_baseline else 1 if value is not None else 2,
                -(value if value is not None else 0.0), s.name)

    systems.sort(key=order)
    return DatasetAnalysis(
        name=name, slug=file_safe(name) or "dataset", split=dataset.get("split", ""),
        n_queries=dataset.get("n_queries", 0), n_docs=dataset.get("n_docs", 0),
        fingerprint=dataset.get("fingerprint", ""), first_stage=first,
        warnings=list(dataset.get("warnings", [])), baseline=baseline,
        baseline_found=any(s.is_baseline for s in systems), systems=systems,
    )


def _values(rows: pd.DataFrame, reranker: str, measure: str) -> list[float]:
    if not len(rows) or measure not in rows.columns:
        return []
    picked = rows[rows["reranker"] == reranker].sort_values("query_id")[measure].dropna()
    return [float(v) for v in picked]


def _first_stage_system(dataset: dict[str, Any], rows: pd.DataFrame, measures: list[str],
                        primary: str, baseline: str,
                        by_key: dict[tuple[str, str, str], Comparison], seed: int,
                        n_resamples: int) -> System:
    metrics = dataset.get("first_stage", {}).get("metrics", {})
    values = _values(rows, FIRST_STAGE, primary)
    return System(
        name=FIRST_STAGE, spec=_first_stage_label(dataset.get("first_stage", {})),
        is_baseline=baseline == FIRST_STAGE, is_first_stage=True,
        n_queries=dataset.get("n_queries", 0), errors=0,
        measures={m: MeasureResult(metrics.get(m), by_key.get((dataset["name"], FIRST_STAGE, m)))
                  for m in measures},
        primary_ci=mean_ci(values, seed=seed, n_resamples=n_resamples) if values else None,
        latency=None, cost=None, concurrency=None, throughput=None, wall_s=None, retries=0,
        retry_wait_s=0.0, cache_hits=0, split_requests=0, truncated_documents=0,
    )


def _first_stage_label(first: dict[str, Any]) -> str:
    method = first.get("method", "?")
    top_k = first.get("top_k", "?")
    if method == "run":
        return f"run file top-{top_k}"
    bm25 = first.get("bm25") or {}
    stemmer = bm25.get("stemmer")
    return f"{method} top-{top_k}" + (f" ({stemmer} stemming)" if stemmer else "")


def _system(run_dir: Path, cell: dict[str, Any], rows: pd.DataFrame, measures: list[str],
            primary: str, baseline: str, by_key: dict[tuple[str, str, str], Comparison],
            qps: float | None, seed: int, n_resamples: int) -> System:
    name = cell["reranker"]
    metrics = cell.get("metrics") or {}
    usage = cell.get("usage") or {}
    values = _values(rows, name, primary)
    latency = _latency(run_dir, cell, rows) if cell.get("n_queries") else None
    cost = _cost(cell, latency, qps) if cell.get("n_queries") else None
    return System(
        name=name, spec=cell.get("spec", name), is_baseline=name == baseline,
        is_first_stage=False, n_queries=int(cell.get("n_queries") or 0),
        errors=int(cell.get("errors") or 0),
        measures={m: MeasureResult(metrics.get(m), by_key.get((cell["dataset"], name, m)))
                  for m in measures},
        primary_ci=mean_ci(values, seed=seed, n_resamples=n_resamples) if values else None,
        latency=latency, cost=cost, concurrency=cell.get("concurrency"),
        throughput=cell.get("throughput_docs_per_s"), wall_s=cell.get("wall_s"),
        retries=int(usage.get("retries") or 0), retry_wait_s=float(usage.get("retry_wait_s") or 0),
        cache_hits=int(usage.get("cache_hits") or 0),
        split_requests=int(usage.get("split_requests") or 0),
        truncated_documents=int(usage.get("truncated_documents") or 0),
    )


def _journal_latencies(run_dir: Path, dataset: str, reranker: str,
                       keep: set[str] | None) -> list[tuple[int, float]] | None:
    """(order, latency_ms) of each query in the cell's journal; None without a journal."""
    path = run_dir / "cells" / file_safe(dataset) / f"{file_safe(reranker)}.jsonl"
    if not path.is_file():
        return None
    latest: dict[str, tuple[int, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if not isinstance(entry, dict) or entry.get("type") != "query":
            continue
        query_id = str(entry["query_id"])
        if keep is None or query_id in keep:
            latest[query_id] = (int(entry["order"]), float(entry["latency_s"]) * 1000.0)
    return sorted(latest.values())


def _latency(run_dir: Path, cell: dict[str, Any], rows: pd.DataFrame) -> Latency:
    name = cell["reranker"]
    summary = cell.get("latency_ms") or {}
    mine = rows[rows["reranker"] == name] if len(rows) else rows
    keep = set(mine["query_id"]) if len(mine) else None
    journal = _journal_latencies(run_dir, cell["dataset"], name, keep)
    if journal:
        warm = [ms for order, ms in journal if order != 0]
    else:
        warm = [float(v) for v in mine["latency_ms"].dropna()] if len(mine) else []
    return Latency(
        p50=summary.get("p50"), p95=summary.get("p95"), p99=summary.get("p99"),
        mean=summary.get("mean"), max=summary.get("max"), cold=summary.get("cold"),
        warm_ms=sorted(warm), from_journal=bool(journal),
    )


def _cost(cell: dict[str, Any], latency: Latency | None, qps: float | None) -> Cost:
    n = int(cell.get("n_queries") or 0)
    usage = cell.get("usage") or {}
    cost = cell.get("cost_usd")

    def per_query(key: str) -> float | None:
        value = usage.get(key)
        return None if value is None or not n else float(value) / n

    tokens, units = per_query("tokens"), per_query("search_units")
    compute = per_query("compute_s")
    price = _price_for(cell)
    reason = short = None
    if cost is None:
        if tokens is not None or units is not None:
            reason = "usage reported, but the price table has no price for this model"
            short = "no price for this model"
        elif compute is not None:
            reason = (f"local: {usage['compute_s']:.2f} s of measured busy time; "
                      "no hourly hardware price in the price table")
            short = "local, no hardware price"
        else:
            reason = "the provider reported no billable usage"
            short = "no usage reported"
    result = Cost(
        cost_usd=cost, per_1k_queries_usd=None if cost is None or not n else cost / n * 1000,
        requests_per_query=per_query("requests"), tokens_per_query=tokens,
        search_units_per_query=units, compute_s_per_query=compute, price=price,
        unknown_reason=reason, unknown_short=short, usage=dict(usage), n_queries=n,
    )
    if qps is not None:
        billed = result.billed_unit
        result.projection = project_load(
            qps, cost_per_query_usd=None if cost is None or not n else cost / n,
            latency_mean_ms=latency.mean if latency else None,
            latency_p95_ms=latency.p95 if latency else None,
            units_per_query=billed[1] if billed else None, unit=billed[0] if billed else None)
    return result


# -- the price table ------------------------------------------------------------------


def _price_table() -> PriceTable:
    try:
        from rerank_eval import pricing
    except ImportError:
        return PriceTable(False, "price table: not available", [])
    try:
        prices = pricing.price_table()
    except (OSError, ValueError) as exc:
        return PriceTable(False, f"price table: not readable ({exc})", [])
    dates = sorted({p.date for p in prices if p.date != "user"})
    extra = " plus $RERANK_EVAL_PRICES" if _env_prices() else ""
    span = f"dated {dates[0]} to {dates[-1]}" if len(dates) > 1 else (
        f"dated {dates[0]}" if dates else "undated")
    return PriceTable(True, f"price table: rerank_eval/pricing.toml{extra}, {len(prices)} "
                            f"entries {span}", dates)


def _env_prices() -> str | None:
    import os

    return os.environ.get("RERANK_EVAL_PRICES") or None


@dataclass(frozen=True)
class PriceNote:
    """The price behind a cost: ``text`` for tables, ``date`` and ``source`` to trace it."""

    text: str
    date: str
    source: str


def _price_note(usd: Any, per: Any, unit: Any, date: Any, source: Any) -> PriceNote:
    try:
        per_value = float(per)
        per_text = (f"{per_value / 1e6:g}M" if per_value >= 1e6 else
                    f"{per_value / 1e3:g}K" if per_value >= 1e3 else f"{per_value:g}")
        unit_text = str(unit).replace("_", " ")
        text = (f"${float(usd):g} per {unit_text}" if per_value == 1 else
                f"${float(usd):g} per {per_text} {unit_text}s")
    except (TypeError, ValueError):
        text = f"{usd} per {per} {unit}"
    return PriceNote(text, str(date), str(source))


def _price_for(cell: dict[str, Any]) -> PriceNote | None:
    """The price behind a cell's cost: recorded in the summary, else looked up by its spec."""
    recorded = cell.get("price")
    if isinstance(recorded, dict):
        return _price_note(recorded.get("usd"), recorded.get("per"), recorded.get("unit"),
                           recorded.get("date"), recorded.get("source"))
    try:
        from rerank_eval import pricing
        from rerank_eval.rerankers.base import parse_spec
    except ImportError:
        return None
    try:
        spec = parse_spec(cell.get("spec") or cell["reranker"])

        def number(key: str) -> float | None:
            return float(spec.options[key]) if key in spec.options else None

        price = pricing.override_price(
            spec.kind, spec.arg, per_1m_tokens=number("price_usd_per_1m_tokens"),
            per_1k_search_units=number("price_usd_per_1k_search_units"),
        ) or pricing.find_price(spec.kind, spec.arg)
    except (ValueError, OSError):
        return None
    if price is None:
        return None
    return _price_note(price.usd, price.per, price.unit, price.date, price.source)
