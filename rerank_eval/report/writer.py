"""Render ``report.md`` (figures in ``figures/`` beside it) and a self-contained ``report.html``.

Both come from the same :class:`~rerank_eval.report.analysis.Analysis`, tables and
figures; the HTML carries its CSS inline and its figures as base64 ``data:`` URIs, so
it opens with no network and no sibling files. Nothing in either depends on when the
report was rendered: the same run folder gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerank_eval import atomic
from rerank_eval.money import significant, usd
from rerank_eval.records import FIRST_STAGE
from rerank_eval.report import judged, tables
from rerank_eval.report.agreement import agreement_views
from rerank_eval.report.analysis import (
    BETTER,
    DAYS_PER_MONTH,
    WORSE,
    Analysis,
    DatasetAnalysis,
    System,
    analyse,
)
from rerank_eval.report.drilldown import drilldown_context
from rerank_eval.report.figures import RenderedFigure, ms_text, render_all, unknown_cost
from rerank_eval.report.glossary import glossary_context
from rerank_eval.report.load import (
    LOAD_FILE,
    load_markdown,
    load_view,
    read_load,
    write_load_report,
)
from rerank_eval.report.templating import environment
from rerank_eval.store import read_run

FIGURES_DIR = "figures"


@dataclass
class DatasetView:
    data: DatasetAnalysis
    tables: dict[str, tables.Table]
    figures: dict[str, RenderedFigure]
    notes: dict[str, list[str]] = field(default_factory=dict)


def build_views(analysis: Analysis, figures: list[RenderedFigure]) -> list[DatasetView]:
    by_key = {f.key: f for f in figures}
    views = []
    for d in analysis.datasets:
        view = DatasetView(
            data=d,
            tables={
                "quality": tables.quality_table(analysis, d),
                "comparison": tables.comparison_table(analysis, d),
                "latency": tables.latency_table(d),
                "cost": tables.cost_table(d),
                "projection": tables.projection_table(d),
            },
            figures={kind: by_key[f"{d.slug}-{kind}"] for kind in
                     ("quality-latency", "quality-cost", "latency-cdf", "per-query")
                     if f"{d.slug}-{kind}" in by_key},
        )
        view.notes = _notes(analysis, d)
        views.append(view)
    return views


def _notes(analysis: Analysis, d: DatasetAnalysis) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {"quality": [], "cost_plot": [], "latency": [], "cost": [],
                                   "projection": []}
    first = d.first_stage
    top_k = first.top_k
    recall = first.metrics.get(f"R@{top_k}")
    if recall is not None:
        notes["quality"].append(
            f"First stage {next(s.spec for s in d.systems if s.is_first_stage)}: "
            f"recall@{top_k} = {recall:.4f}, the ceiling for every reranker.")
    if not d.baseline_found:
        notes["quality"].append(
            f"The baseline {d.baseline!r} has no results on this dataset: no Δ, CI or marks.")
    failed = [s.name for s in d.rerankers if not s.n_queries]
    if failed:
        notes["quality"].append("No successful query: " + ", ".join(failed) + " (see Errors).")
    shallow = judged.shallow_note(d)
    if shallow:
        notes["quality"].append(shallow)
    unknown = unknown_cost(d)
    if unknown:
        notes["cost_plot"].append(
            "Cost unknown, so not on the cost plot: " + "; ".join(
                f"{s.name} ({s.cost.unknown_reason if s.cost else 'no usage'})"
                for s in unknown) + ".")
    for s in d.rerankers:
        if s.latency is None:
            continue
        note = _latency_method_note(s)
        if note:
            notes["latency"].append(note)
        if s.cache_hits:
            notes["latency"].append(
                f"{s.name}: {s.cache_hits} of {s.n_queries} queries were answered from the "
                "response cache; their latency is the one the provider's original call took, "
                "kept with the cached answer (run with --no-cache to measure it afresh).")
        if not s.latency.from_journal:
            notes["latency"].append(f"{s.name}: no journal in cells/; the distribution is read "
                                    "from per_query.csv and the cold request is not told apart.")
        if s.split_requests or s.truncated_documents:
            notes["latency"].append(
                f"{s.name}: {s.split_requests} extra requests from splitting candidate lists, "
                f"{s.truncated_documents} truncated documents.")
        note = execution_note(s)
        if note:
            notes["latency"].append(note)
    for s in d.rerankers:
        note = _cost_note(s)
        if note:
            notes["cost"].append(note)
    for s in d.rerankers:
        note = _unanswered_note(s)
        if note:
            notes["cost"].append(note)
    if analysis.qps is not None:
        notes["projection"].append(
            f"At {analysis.qps:g} queries per second ({analysis.qps * 86_400:,.0f} a day): "
            "cost = measured cost per query × queries; a month is "
            f"{DAYS_PER_MONTH} days. Requests in flight = queries per second × latency "
            "(Little's law), rounded up, from the latency measured at the run's concurrency; "
            "a local model needs that many workers, an API that much concurrency under its "
            "rate limit.")
    return notes


def _latency_method_note(s: System) -> str | None:
    """How a reranker's latency was measured, with its warm-up shown apart."""
    lat = s.latency
    if lat is None or not lat.method:
        return None
    warmup = ", ".join(ms_text(v) for v in lat.warmup_ms)
    if lat.sampled:
        return (f"{s.name}: {lat.method}, one call at a time (it reuses work across queries, "
                f"e.g. document embeddings, so its calls in the run get faster as it goes); "
                f"warm-up calls {warmup or '–'}, not in the percentiles; the pass took "
                f"{lat.pass_wall_s:.1f} s, apart from the run's wall time and throughput.")
    if "reuse" in lat.method:
        return (f"{s.name}: {lat.method}: it reuses work across queries, so these figures "
                "fall through the run and understate one request's latency (run with "
                "--latency-sample N to measure it); cold " + (warmup or "–")
                + ".")
    return (f"{s.name}: {lat.method} of the run ({s.n_queries:,} calls)"
            + (f"; the first, cold call ({warmup}) is not in the percentiles." if warmup
               else "."))


def execution_note(s: System) -> str | None:
    """Where a reranker's model ran when not in this process: actors, throughput, and per
    actor its calls, documents and utilisation (busy seconds / the main pass's wall)."""
    e = s.execution
    if e is None:
        return None
    where = "a local Ray instance" if e.address == "local" else "a Ray cluster"
    actors = "; ".join(
        f"#{a.actor} {a.device or '?'}"
        + (f" ({a.threads} thread{'s' if a.threads != 1 else ''})" if a.threads else "")
        + f" on {a.node or '?'}: {a.requests:,} calls, {a.documents:,} documents, busy "
        f"{a.busy_s:.1f} s" + (f" ({a.utilisation:.0%})" if a.utilisation is not None else "")
        for a in e.per_actor)
    rate = f", {e.queries_per_s:.2f} queries/s" if e.queries_per_s is not None else ""
    return (f"{s.name}: model inference on {e.kind} ({where}), {e.actors} "
            f"actor{'s' if e.actors != 1 else ''}, up to {e.in_flight_per_actor} calls in "
            f"flight each: {e.queries:,} queries in {e.wall_s:.1f} s{rate}; {actors}. "
            "Utilisation is an actor's busy seconds over that wall time.")


def _cost_note(s: System) -> str | None:
    """How a cost was worked out: busy seconds x an hourly rate (an estimate) for a local
    reranker, reported units x a dated price (or the provider's own cost) for a remote one."""
    c = s.cost
    if c is None or c.cost_usd is None:
        return None
    usage = c.usage
    total = f" = {usd(c.cost_usd)}, so {usd(c.per_1k_queries_usd)} per 1,000 queries."
    if c.is_local:
        busy = usage.get("compute_s")
        rate = (f"{c.price.text} (estimate; rate dated {c.price.date}"
                f"{f', {c.price.instance}' if c.price.instance else ''})"
                if c.price else "the hourly rate set in the suite (estimate)")
        seconds = (f"{significant(busy) if busy > 0 else 0} busy seconds" if busy is not None
                   else "busy time")
        return f"{s.name}: {seconds} over {c.n_queries} queries × {rate}{total}"
    billed = []
    if usage.get("search_units") is not None:
        billed.append(f"{tables.number(usage['search_units'])} search units")
    if usage.get("tokens") is not None:
        billed.append(f"{tables.number(usage['tokens'])} tokens")
    requests = f"{tables.number(usage.get('requests'))} requests"
    if c.basis == "provider" or not billed:
        return (f"{s.name}: cost as the provider reported it over {c.n_queries} queries "
                f"({requests}){total}")
    price = (f" × {c.price.text} (price dated {c.price.date}; source: {c.price.source})"
             if c.price else " × the price set in the suite")
    return (f"{s.name}: {' and '.join(billed)} reported over {c.n_queries} queries "
            f"({requests}){price}{total}")


def _unanswered_note(s: System) -> str | None:
    """Which requests were sent (and possibly billed) but gave no result."""
    if not s.requests_failed:
        return None
    errors = s.requests_failed - s.requests_rejected
    parts = []
    if s.requests_rejected:
        parts.append(f"{s.requests_rejected} answer{'s' if s.requests_rejected != 1 else ''} "
                     "rejected by validation (billed by the provider but gave no result; "
                     "their reported units are in the cost)")
    if errors:
        parts.append(f"{errors} request{'s' if errors != 1 else ''} answered with an error "
                     "or no answer (retries included; providers do not usually bill these)")
    failed = (f"; {s.failed_query_requests} of them for the {s.errors} queries that failed"
              if s.failed_query_requests else "")
    return (f"{s.name}: {s.requests_failed} of {s.requests:,} requests sent gave no result: "
            + " and ".join(parts) + f"{failed}. Every request sent is counted in the usage.")


def _context(analysis: Analysis, figures: list[RenderedFigure]) -> dict[str, Any]:
    by_key = {f.key: f for f in figures}
    env = analysis.environment
    baseline_text = ("the first stage's own ranking (no reranking)"
                     if analysis.baseline == FIRST_STAGE else f"the reranker {analysis.baseline}")
    if analysis.datasets and not any(d.baseline_found for d in analysis.datasets):
        known = sorted({s.name for d in analysis.datasets for s in d.systems})
        baseline_text += (" — which is not in this run, so nothing is compared (rerankers: "
                          + ", ".join(known) + ")")
    return {
        "a": analysis,
        "suite": analysis.suite,
        "views": build_views(analysis, figures),
        "overview": by_key.get("quality-bars"),
        "baseline_text": baseline_text,
        "any_labelled": not analysis.datasets or any(d.labelled for d in analysis.datasets),
        "better": BETTER, "worse": WORSE,
        "datasets_table": tables.datasets_table(analysis),
        "packages_table": tables.packages_table(analysis),
        "env": env,
        "ms_text": ms_text,
        "figures_dir": FIGURES_DIR,
    }


def write_reports(run_dir: Path, *, baseline: str = FIRST_STAGE,
                  qps: float | None = None) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png``; return the reports written.

    ``baseline`` is the reranker every other is compared with (``first-stage``: the
    first stage's own ranking); ``qps`` adds a load projection at that many queries per
    second. When the folder holds a ``load.json`` (``rerank-eval load``), both reports get
    a Load section and ``load.html`` is written too; a folder with a ``load.json`` and no
    ``summary.json`` gets ``load.html`` alone.
    """
    run_dir = Path(run_dir)
    load = read_load(run_dir) if (run_dir / LOAD_FILE).is_file() else None
    if load is not None and not (run_dir / "summary.json").is_file():
        return [write_load_report(run_dir, load)]
    run = read_run(run_dir)  # read once: the analysis, agreement and drill-down share it
    analysis = analyse(run, baseline=baseline, qps=qps)
    figures = render_all(analysis)
    agreement = agreement_views(run, analysis)  # also writes agreement.csv
    figures += [v.figure for v in agreement.values() if v.figure is not None]
    load_page = load_view(load) if load is not None else None
    every_figure = figures + (load_page.figures if load_page else [])
    figure_dir = run_dir / FIGURES_DIR
    figure_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f.filename for f in every_figure}
    for stale in figure_dir.glob("*.png"):
        if stale.name not in wanted:
            stale.unlink()
    for figure in every_figure:
        atomic.write_bytes(figure_dir / figure.filename, figure.png)
    context = _context(analysis, figures)
    context["load"] = load_page
    context.update(drilldown_context(run, analysis, every_figure), **glossary_context())
    context["agreement"] = agreement
    context["load_md"] = (load_markdown(load, figures_dir=FIGURES_DIR, view=load_page)
                          if load is not None else None)
    env = environment()
    written = []
    for template, name in (("report.md.j2", "report.md"), ("report.html.j2", "report.html")):
        path = run_dir / name
        atomic.write_text(path, env.get_template(template).render(**context))
        written.append(path)
    if load is not None:
        written.append(write_load_report(run_dir, load, view=load_page))
    return written
