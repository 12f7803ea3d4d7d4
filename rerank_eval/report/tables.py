"""The tables a report and the terminal show, built from a run folder alone.

Reports read the run folder (:func:`rerank_eval.store.read_run`), never harness objects,
so ``rerank-eval report RUN_DIR`` renders the same thing ``rerank-eval run`` did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rerank_eval.money import usd
from rerank_eval.report import judged

# -- the report's tables, as formatted text (one builder for markdown and HTML) ----------


@dataclass(frozen=True)
class Table:
    key: str
    headers: list[str]
    align: list[str]
    """"l" or "r" per column."""
    rows: list[list[str]]
    row_classes: list[str]
    """"baseline" for the row the others are compared with, else ""."""


def _table(key: str, headers: list[tuple[str, str]], rows: list[tuple[str, list[str]]]) -> Table:
    return Table(key=key, headers=[h for h, _ in headers], align=[a for _, a in headers],
                 rows=[r for _, r in rows], row_classes=[c for c, _ in rows])


def metric(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.4f}"


def signed(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:+.4f}"


def ci(low: float | None, high: float | None) -> str:
    if low is None or high is None or low != low or high != high:
        return "–"
    return f"[{low:+.4f}, {high:+.4f}]"


def p_value(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.{max(1, digits)}f}M"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def wtl(comparison: Any) -> str:
    return "–" if comparison is None else f"{comparison.wins}/{comparison.ties}/{comparison.losses}"


def system_label(system: Any) -> str:
    if system.is_first_stage:
        return f"first stage: {system.spec}"
    return system.name


def _leading_cells(analysis: Any, system: Any, measures: list[str] | None = None) -> list[str]:
    """The cells every leaderboard row starts with: the reranker (the baseline said so), its
    query count, and each measure's mean with its significance mark."""
    cells = [system_label(system) + (" (baseline)" if system.is_baseline else ""),
             number(system.n_queries)]
    for m in analysis.measures if measures is None else measures:
        result = system.measures[m]
        cells.append(metric(result.mean) + (f" {result.mark}" if result.mark else ""))
    return cells


def quality_table(analysis: Any, dataset: Any) -> Table:
    """The leaderboard: every measure's mean with its significance mark, the primary Δ and CI,
    and each ranking's judged@10 when the run recorded it."""
    primary = analysis.primary
    headers = [("reranker", "l"), ("queries", "r")]
    headers += [(m, "r") for m in analysis.measures]
    headers += [(f"Δ {primary}", "r"), ("95% CI of Δ", "r"), ("W/T/L", "r"),
                ("p50 ms", "r"), ("$ / 1k queries", "r"), ("errors", "r")]
    headers += [(judged.COLUMN, "r")] if judged.has_judged(dataset) else []
    rows = []
    for s in dataset.systems:
        c = s.measures[primary].comparison if primary in s.measures else None
        cells = _leading_cells(analysis, s)
        cells += [signed(c.delta) if c else "–", ci(c.ci_low, c.ci_high) if c else "–", wtl(c),
                  ms(s.latency.p50) if s.latency else "–",
                  usd(s.cost.per_1k_queries_usd) if s.cost else "–",
                  "–" if s.is_first_stage else number(s.errors)]
        cells += [judged.cell(s)] if judged.has_judged(dataset) else []
        rows.append(("baseline" if s.is_baseline else "", cells))
    return _table(f"{dataset.slug}-quality", headers, rows)


def terminal_table(analysis: Any, dataset: Any) -> Table:
    """The `run` command's table: measures with ▲/▼, Δ of the headline measure against the
    baseline, latency, throughput, $ per 1,000 queries, errors; the baseline first. Without
    labels (no metrics) the measure and Δ columns are left out."""
    primary = analysis.primary
    measures = analysis.measures if dataset.labelled else []
    headers = [("reranker", "l"), ("queries", "r")]
    headers += [(m, "r") for m in measures]
    headers += [(f"Δ {primary}", "r")] if measures else []
    headers += [("p50 ms", "r"), ("p95 ms", "r"), ("docs/s", "r"), ("$ / 1k queries", "r"),
                ("errors", "r")]
    rows = []
    for s in dataset.systems:
        c = s.measures[primary].comparison if primary in s.measures else None
        cells = _leading_cells(analysis, s, measures)
        mark = s.measures[primary].mark if primary in s.measures else ""
        if measures:
            cells.append((signed(c.delta) + (f" {mark}" if mark else "")) if c else "–")
        cells += [ms(s.latency.p50) if s.latency else "–",
                  ms(s.latency.p95) if s.latency else "–",
                  number(round(s.throughput)) if s.throughput else "–",
                  usd(s.cost.per_1k_queries_usd) if s.cost else "–",
                  "–" if s.is_first_stage else number(s.errors)]
        rows.append(("baseline" if s.is_baseline else "", cells))
    return _table(f"{dataset.slug}-terminal", headers, rows)


def comparison_table(analysis: Any, dataset: Any) -> Table:
    """Every reranker against the baseline on every measure."""
    headers = [("reranker", "l"), ("measure", "l"), (dataset.baseline, "r"), ("reranker mean", "r"),
               ("Δ", "r"), ("95% CI of Δ", "r"), ("p", "r"), ("p (Holm)", "r"),
               ("W/T/L", "r")]
    rows = []
    for s in dataset.compared:
        for m in analysis.measures:
            c = s.measures[m].comparison
            if c is None:
                continue
            mark = s.measures[m].mark
            rows.append(("", [system_label(s), m, metric(c.baseline_mean), metric(c.system_mean),
                              signed(c.delta) + (f" {mark}" if mark else ""),
                              ci(c.ci_low, c.ci_high), p_value(c.p_value), p_value(c.p_holm),
                              wtl(c)]))
    return _table(f"{dataset.slug}-comparison", headers, rows)


def latency_table(dataset: Any) -> Table:
    headers = [("reranker", "l"), ("queries", "r"), ("p50 ms", "r"), ("p95 ms", "r"),
               ("p99 ms", "r"), ("max ms", "r"), ("mean ms", "r"), ("cold ms", "r"),
               ("concurrency", "r"), ("throughput docs/s", "r"), ("wall s", "r"),
               ("retries (wait s)", "r"), ("cache hits", "r")]
    rows = []
    for s in dataset.rerankers:
        lat = s.latency
        rows.append(("", [
            s.name, number(s.n_queries),
            *(ms(getattr(lat, k)) if lat else "–" for k in ("p50", "p95", "p99", "max", "mean",
                                                            "cold")),
            number(s.concurrency), number(round(s.throughput)) if s.throughput else "–",
            f"{s.wall_s:.2f}" if s.wall_s is not None else "–",
            f"{s.retries:,} ({s.retry_wait_s:.2f})", number(s.cache_hits),
        ]))
    return _table(f"{dataset.slug}-latency", headers, rows)


def cost_table(dataset: Any) -> Table:
    headers = [("reranker", "l"), ("cost of the run", "r"), ("$ / 1k queries", "r"),
               ("requests / query", "r"), ("tokens / query", "r"),
               ("search units / query", "r"), ("busy s / query", "r"), ("price (dated)", "l")]
    rows = []
    for s in dataset.rerankers:
        c = s.cost
        if c is None:
            rows.append(("", [s.name, "–", "–", "–", "–", "–", "–", "no successful query"]))
            continue
        if c.is_local:
            price = (f"{c.price.text}, estimate ({c.price.date})" if c.price
                     else "hourly rate set in the suite, estimate")
        else:
            price = f"{c.price.text} ({c.price.date})" if c.price else (
                "–" if c.cost_usd is None else "as reported by the provider")
        rows.append(("", [
            s.name, usd(c.cost_usd), usd(c.per_1k_queries_usd),
            "–" if c.is_local else number(c.requests_per_query, 2),
            "–" if c.is_local else number(c.tokens_per_query),
            "–" if c.is_local else number(c.search_units_per_query, 2),
            f"{c.compute_s_per_query:.4f}" if c.compute_s_per_query is not None else "–", price,
        ]))
    return _table(f"{dataset.slug}-cost", headers, rows)


def projection_table(dataset: Any) -> Table:
    headers = [("reranker", "l"), ("queries / day", "r"), ("billed units / day", "r"),
               ("cost / day", "r"), ("cost / month (30 d)", "r"),
               ("in flight (mean)", "r"), ("in flight (p95)", "r"),
               ("run's concurrency", "r")]
    rows = []
    for s in dataset.rerankers:
        p = s.cost.projection if s.cost else None
        if p is None:
            continue
        units = f"{number(p.units_per_day, 0)} {p.unit}" if p.units_per_day is not None else "–"
        rows.append(("", [s.name, number(p.queries_per_day, 0), units, usd(p.cost_per_day_usd),
                          usd(p.cost_per_month_usd), number(p.in_flight_mean),
                          number(p.in_flight_p95), number(s.concurrency)]))
    return _table(f"{dataset.slug}-projection", headers, rows)


def datasets_table(analysis: Any) -> Table:
    headers = [("dataset", "l"), ("split", "l"), ("queries", "r"), ("documents", "r"),
               ("first stage", "l"), ("sha256", "l")]
    rows = [("", [d.name, d.split, number(d.n_queries), number(d.n_docs),
                  next((s.spec for s in d.systems if s.is_first_stage), "–"),
                  d.fingerprint or "–"]) for d in analysis.datasets]
    return _table("datasets", headers, rows)


def packages_table(analysis: Any) -> Table:
    packages = analysis.environment.get("packages") or {}
    rows = [("", [name, version or "not installed"]) for name, version in packages.items()]
    return _table("packages", [("package", "l"), ("version", "l")], rows)
