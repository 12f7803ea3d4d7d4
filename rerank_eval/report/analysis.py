"""What a report shows, computed from a run folder alone.

Reads the run folder through the one reader (:func:`rerank_eval.store.read_run`:
``summary.json``, ``per_query.csv`` and the cell journals in ``cells/``) and derives:
every reranker against a baseline per dataset and measure (paired bootstrap CI,
randomization test, Holm: :func:`rerank_eval.comparison.compare_systems`), the per-query
latency distributions (the journals keep each request's latency and its order, so the
cold first request is told apart), cost per 1,000 queries and units per query from the
usage and the price the run recorded (never worked out again), and a load projection for
a given number of queries per second. No harness object is needed, so
``rerank-eval report RUN_DIR`` renders exactly what ``rerank-eval run`` did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval.comparison import Comparison, compare_systems
from rerank_eval.metrics import JUDGED_MEASURE
from rerank_eval.records import (
    FIRST_STAGE,
    CellSummary,
    DatasetSummary,
    ExecutionRecord,
    FirstStageSummary,
    PriceRecord,
    SuiteSummary,
)
from rerank_eval.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, paired_comparison
from rerank_eval.store import RunFolder, read_run
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
    """Per-request serving latencies (warm-up calls left out), sorted."""
    from_journal: bool
    method: str | None = None
    """How the run measured them (``latency_method``; None for older folders)."""
    warmup_ms: list[float] = field(default_factory=list)
    """The warm-up calls, in order (the first is ``cold``); not in the percentiles."""
    pass_wall_s: float = 0.0
    """Wall time of a separate latency pass (0 without one)."""
    sampled: bool = False
    """The figures come from a latency pass over sampled queries, reuse off."""


@dataclass
class Cost:
    cost_usd: float | None
    per_1k_queries_usd: float | None
    requests_per_query: float | None
    tokens_per_query: float | None
    search_units_per_query: float | None
    compute_s_per_query: float | None
    price: PriceRecord | None
    """The price the run recorded behind the cost (``text``, ``date``, ``source``)."""
    unknown_reason: str | None
    unknown_short: str | None
    projection: Projection | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    """The cell's usage totals as the run recorded them."""
    n_queries: int = 0
    basis: str = "usage"
    """``hardware``: a local reranker, busy seconds x an hourly rate (an estimate);
    ``usage``: reported units x a dated price; ``provider``: a cost the provider reported."""

    @property
    def is_local(self) -> bool:
        return self.basis == "hardware"

    @property
    def billed_unit(self) -> tuple[str, float] | None:
        if self.is_local:
            return None  # a local model is not billed by the unit
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
    requests: int = 0
    requests_failed: int = 0
    """Requests that gave no result (errors, timeouts, rejected answers)."""
    requests_rejected: int = 0
    """Answers rejected by validation: billed by a provider, no result."""
    failed_query_requests: int = 0
    """Requests sent for queries that failed in the end."""
    executor: str = "in-process"
    """Where its model inference ran (``in-process``, ``ray``)."""
    execution: ExecutionRecord | None = None
    judged: float | None = None
    """Judged@10 of its ranking (share of its top 10 that has a label); None: not recorded."""
    """Actors, throughput and per-actor utilisation when it ran on an executor."""


@dataclass
class DatasetAnalysis:
    name: str
    slug: str
    split: str
    n_queries: int
    n_docs: int
    fingerprint: str
    first_stage: FirstStageSummary
    warnings: list[str]
    baseline: str
    baseline_found: bool
    systems: list[System]
    """The baseline first, then the rest by the primary measure, best first."""
    verdict: str = ""
    """One sentence: the best on the headline measure, against the baseline and the
    runner-up, with significance, p50 latency and $ per 1,000 queries."""

    @property
    def rerankers(self) -> list[System]:
        return [s for s in self.systems if not s.is_first_stage]

    @property
    def compared(self) -> list[System]:
        return [s for s in self.systems if not s.is_baseline and s.n_queries]

    @property
    def labelled(self) -> bool:
        """Whether the run measured quality here: without relevance labels no system has a
        metric, and the report compares the rerankers by their agreement instead."""
        return _measured_quality(self.systems)


@dataclass
class Analysis:
    suite: SuiteSummary
    measures: list[str]
    primary: str
    baseline: str
    qps: float | None
    datasets: list[DatasetAnalysis]
    environment: dict[str, Any]
    price_table: str
    """Which price table priced the run (files, entries, dates), as the run recorded it."""
    seed: int
    n_resamples: int
    confidence: float
    alpha: float
    failed: list[CellSummary]
    colors: dict[str, int]
    """Reranker name -> a stable palette index, shared by every figure."""


def analyse(run_dir: Path | RunFolder, *, baseline: str = FIRST_STAGE,
            qps: float | None = None, seed: int = DEFAULT_SEED,
            n_resamples: int = DEFAULT_RESAMPLES) -> Analysis:
    run = run_dir if isinstance(run_dir, RunFolder) else read_run(Path(run_dir))
    summary, frame = run.summary, run.per_query
    measures = run.measures
    primary = PRIMARY_MEASURE if PRIMARY_MEASURE in measures else (measures[0] if measures
                                                                   else PRIMARY_MEASURE)
    comparisons = compare_systems(frame, baseline, measures=measures, seed=seed,
                                  n_resamples=n_resamples) if len(frame) else []
    by_key = {(c.dataset, c.system, c.measure): c for c in comparisons}
    names = list(dict.fromkeys(r.reranker for r in summary.results))
    colors = {name: i for i, name in enumerate(names)}
    datasets = [
        _dataset(run, d, measures, primary, baseline, by_key, qps, seed, n_resamples)
        for d in summary.datasets
    ]
    return Analysis(
        suite=summary.suite, measures=measures, primary=primary, baseline=baseline,
        qps=qps, datasets=datasets, environment=summary.environment,
        price_table=_price_table(summary.environment, summary.results), seed=seed,
        n_resamples=n_resamples,
        confidence=CONFIDENCE, alpha=ALPHA, failed=summary.failed, colors=colors,
    )


def _dataset(run: RunFolder, dataset: DatasetSummary, measures: list[str], primary: str,
             baseline: str, by_key: dict[tuple[str, str, str], Comparison], qps: float | None,
             seed: int, n_resamples: int) -> DatasetAnalysis:
    name = dataset.name
    frame = run.per_query
    rows = frame[frame["dataset"] == name] if len(frame) else frame
    cells = [c for c in run.summary.results if c.dataset == name]
    systems = [_first_stage_system(dataset, rows, measures, primary, baseline, by_key, seed,
                                   n_resamples)]
    systems += [_system(run, cell, rows, measures, primary, baseline, by_key, qps, seed,
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
    verdict = _verdict(rows, systems, primary, baseline, seed, n_resamples)
    return DatasetAnalysis(
        name=name, slug=file_safe(name) or "dataset", split=dataset.split,
        n_queries=dataset.n_queries, n_docs=dataset.n_docs,
        fingerprint=dataset.fingerprint, first_stage=dataset.first_stage,
        warnings=list(dataset.warnings), baseline=baseline,
        baseline_found=any(s.is_baseline for s in systems), systems=systems,
        verdict=verdict,
    )


def _verdict(rows: pd.DataFrame, systems: list[System], primary: str, baseline: str,
             seed: int, n_resamples: int) -> str:
    """The best reranker on ``primary``, by how much against the baseline and the runner-up,
    whether each difference is significant (paired randomization test; Holm across the
    rerankers for the baseline), and its p50 latency and $ per 1,000 queries against theirs."""
    ranked = sorted((s for s in systems if s.measures.get(primary)
                     and s.measures[primary].mean is not None and s.n_queries),
                    key=lambda s: -(s.measures[primary].mean or 0.0))
    rerankers = [s for s in ranked if not s.is_first_stage]
    if not rerankers:
        if not _measured_quality(systems):
            return ("No relevance labels were given, so quality is not measured: see "
                    "Agreement for how the rerankers' rankings compare.")
        return f"No reranker has a {primary} on this dataset."
    best = rerankers[0]
    base = next((s for s in systems if s.is_baseline), None)
    mean = best.measures[primary].mean or 0.0
    if best.is_baseline:
        others = [s for s in ranked if s is not best]
        if not others:
            return f"{_name(best)} is the only system with a {primary} ({mean:.4f})."
        return (f"{_name(best)} is best on {primary} ({mean:.4f}) and is the baseline; "
                f"the next best is {_name(others[0])} ("
                f"{_against(others[0].measures[primary].comparison, 'against it')}).")
    parts = [f"{_name(best)} is best on {primary} ({mean:.4f})"]
    compared: list[System] = []
    if base is not None and base is not best:
        parts.append(f"{_against(best.measures[primary].comparison, 'vs ' + _name(base))}")
        compared.append(base)
    runner = next((s for s in ranked if s is not best and s is not base), None)
    if runner is not None:
        pair = (compare_systems(rows, runner.name, measures=[primary], systems=[best.name],
                                seed=seed, n_resamples=n_resamples)
                if len(rows) and primary in rows.columns else [])
        parts.append(_against(pair[0] if pair else None, f"vs the runner-up {_name(runner)}",
                              holm=False))
        compared.append(runner)
    sentence = parts[0] + (": " + " and ".join(parts[1:]) if parts[1:] else "")
    if not best.is_first_stage:
        sentence += "; " + _cost_and_speed(best, compared)
    return sentence + "."


def _measured_quality(systems: Sequence[System]) -> bool:
    """Whether any system has a quality measure's mean (none has without labels; the share
    of judged documents is not a quality measure)."""
    return any(r.mean is not None for s in systems for m, r in s.measures.items()
               if m != JUDGED_MEASURE)


def _name(system: System) -> str:
    return "the first stage (no reranking)" if system.is_first_stage else system.name


def _against(c: Comparison | None, label: str, holm: bool = True) -> str:
    if c is None:
        return f"not compared {label} (no per-query values in common)"
    verdict = "significant" if c.significant(ALPHA) else "not significant"
    p = f"Holm p {_p(c.p_holm)}" if holm else f"p {_p(c.p_holm)}"
    return f"{c.delta:+.4f} {label} ({verdict}, {p})"


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _cost_and_speed(best: System, others: list[System]) -> str:
    from rerank_eval.money import usd

    def p50(s: System) -> str:
        if s.is_first_stage:
            return "no reranking"
        value = s.latency.p50 if s.latency else None
        return "–" if value is None else f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"

    def per_1k(s: System) -> str:
        if s.is_first_stage:
            return "no reranking cost"
        value = s.cost.per_1k_queries_usd if s.cost else None
        return "unknown" if value is None else usd(value)

    rest = [s for s in others if not s.is_first_stage]
    speed = f"p50 {p50(best)}"
    cost = f"{per_1k(best)} per 1k queries"
    if rest:
        speed += " vs " + ", ".join(f"{p50(s)} ({_name(s)})" for s in rest)
        cost += " vs " + ", ".join(f"{per_1k(s)} ({_name(s)})" for s in rest)
    return f"{speed}; {cost}"


def _values(rows: pd.DataFrame, reranker: str, measure: str) -> list[float]:
    if not len(rows) or measure not in rows.columns:
        return []
    picked = rows[rows["reranker"] == reranker].sort_values("query_id")[measure].dropna()
    return [float(v) for v in picked]


def _first_stage_system(dataset: DatasetSummary, rows: pd.DataFrame, measures: list[str],
                        primary: str, baseline: str,
                        by_key: dict[tuple[str, str, str], Comparison], seed: int,
                        n_resamples: int) -> System:
    metrics = dataset.first_stage.metrics
    values = _values(rows, FIRST_STAGE, primary)
    return System(
        name=FIRST_STAGE, spec=_first_stage_label(dataset.first_stage),
        is_baseline=baseline == FIRST_STAGE, is_first_stage=True,
        n_queries=dataset.n_queries, errors=0,
        measures={m: MeasureResult(metrics.get(m), by_key.get((dataset.name, FIRST_STAGE, m)))
                  for m in measures},
        primary_ci=mean_ci(values, seed=seed, n_resamples=n_resamples) if values else None,
        judged=metrics.get(JUDGED_MEASURE),
        latency=None, cost=None, concurrency=None, throughput=None, wall_s=None, retries=0,
        retry_wait_s=0.0, cache_hits=0, split_requests=0, truncated_documents=0,
    )


def _first_stage_label(first: FirstStageSummary) -> str:
    method = first.method or "?"
    top_k = "?" if first.top_k is None else first.top_k
    if method == "run":
        return f"run file top-{top_k}"
    bm25 = first.details.get("bm25") or {}
    stemmer = bm25.get("stemmer")
    return f"{method} top-{top_k}" + (f" ({stemmer} stemming)" if stemmer else "")


def _system(run: RunFolder, cell: CellSummary, rows: pd.DataFrame, measures: list[str],
            primary: str, baseline: str, by_key: dict[tuple[str, str, str], Comparison],
            qps: float | None, seed: int, n_resamples: int) -> System:
    name = cell.reranker
    usage = cell.usage
    values = _values(rows, name, primary)
    latency = _latency(run, cell, rows) if cell.n_queries else None
    cost = _cost(cell, latency, qps) if cell.n_queries else None
    return System(
        name=name, spec=cell.spec or name, is_baseline=name == baseline,
        is_first_stage=False, n_queries=cell.n_queries, errors=cell.errors,
        measures={m: MeasureResult(cell.metrics.get(m), by_key.get((cell.dataset, name, m)))
                  for m in measures},
        primary_ci=mean_ci(values, seed=seed, n_resamples=n_resamples) if values else None,
        latency=latency, cost=cost, concurrency=cell.concurrency,
        throughput=cell.throughput_docs_per_s, wall_s=cell.wall_s,
        retries=usage.retries, retry_wait_s=usage.retry_wait_s, cache_hits=usage.cache_hits,
        split_requests=usage.split_requests, truncated_documents=usage.truncated_documents,
        requests=usage.requests, requests_failed=usage.requests_failed,
        requests_rejected=usage.requests_rejected,
        failed_query_requests=cell.failed_usage.requests,
        executor=cell.executor, execution=cell.execution,
        judged=cell.metrics.get(JUDGED_MEASURE),
    )


def _latency(run: RunFolder, cell: CellSummary, rows: pd.DataFrame) -> Latency:
    name = cell.reranker
    summary = cell.latency_ms
    mine = rows[rows["reranker"] == name] if len(rows) else rows
    keep = set(mine["query_id"]) if len(mine) else None
    journal = run.latencies(cell.dataset, name, keep)
    if journal:  # a latency pass's calls never have order 0 (the main pass comes first)
        warm = [ms for order, ms in journal if order != 0]
    else:
        warm = [float(v) for v in mine["latency_ms"].dropna()] if len(mine) else []
    return Latency(
        p50=summary.get("p50"), p95=summary.get("p95"), p99=summary.get("p99"),
        mean=summary.get("mean"), max=summary.get("max"), cold=summary.get("cold"),
        warm_ms=sorted(warm), from_journal=bool(journal), method=cell.latency_method,
        warmup_ms=list(cell.latency_warmup_ms), pass_wall_s=cell.latency_wall_s,
        sampled=cell.has_latency_pass,
    )


def _cost(cell: CellSummary, latency: Latency | None, qps: float | None) -> Cost:
    n = cell.n_queries
    usage = asdict(cell.usage)
    usage.pop("cost_usd")
    cost = cell.cost_usd

    def per_query(key: str) -> float | None:
        value = usage.get(key)
        return None if value is None or not n else float(value) / n

    tokens, units = per_query("tokens"), per_query("search_units")
    compute = per_query("compute_s")
    price = cell.price
    if (price is not None and price.unit.endswith("_hour")) or (
            price is None and compute is not None):
        basis = "hardware"
    elif cost is not None and price is None:
        basis = "provider"
    else:
        basis = "usage"
    reason = short = None
    if cost is None:
        if basis != "hardware" and (tokens is not None or units is not None):
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
        basis=basis,
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


def _price_table(environment: dict[str, Any], cells: Sequence[CellSummary]) -> str:
    """The prices this run used, each with its own date and source."""
    used: dict[str, list[str]] = {}
    for cell in cells:
        price = cell.price
        if price is None or price.usd is None:
            continue
        estimate = " (estimate)" if price.unit.endswith("_hour") else ""
        where = f", {price.instance}" if price.instance else ""
        key = (f"{price.text}{estimate}, dated {price.date}{where}"
               f"{f' (source: {price.source})' if price.source else ''}")
        used.setdefault(key, [])
        if cell.reranker not in used[key]:
            used[key].append(cell.reranker)
    recorded = environment.get("price_table")
    table = ""
    if isinstance(recorded, dict) and recorded.get("description"):
        table = str(recorded["description"]).split(",")[0].removeprefix("price table: ")
    if not used:
        return "prices used: none (no cost was computed from a price)"
    text = "prices used: " + "; ".join(f"{', '.join(names)}: {key}"
                                       for key, names in used.items())
    return text + (f"; from {table}" if table else "")
