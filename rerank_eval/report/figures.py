"""The report's figures (matplotlib, Agg), rendered to PNG bytes that do not change between runs.

No pyplot: each figure is a :class:`matplotlib.figure.Figure` of its own, so rendering
touches no global state. The PNG metadata carries no software version or date, fonts
are matplotlib's bundled DejaVu Sans, and every input is ordered, so the same analysis
gives the same bytes. Points are named in legends, never by text placed beside them,
so labels cannot overlap.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display, ever; must precede any backend use

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from rerank_eval.money import usd
from rerank_eval.report.analysis import (
    Analysis,
    DatasetAnalysis,
    System,
    pareto_frontier,
)

DPI = 110
WIDTH = 9.0
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8")
BASELINE_COLOR = "#6e7781"
WIN, LOSS, TIE = "#2da44e", "#cf222e", "#afb8c1"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d0d7de",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "svg.hashsalt": "rerank-eval",
    "figure.facecolor": "white",
}


@dataclass(frozen=True)
class RenderedFigure:
    key: str
    filename: str
    """Stable name under ``figures/``: ``<dataset>-<kind>.png`` or ``<kind>.png``."""
    title: str
    alt: str
    png: bytes


def color(analysis: Analysis, system: System) -> str:
    if system.is_first_stage:
        return BASELINE_COLOR
    return PALETTE[analysis.colors.get(system.name, 0) % len(PALETTE)]


def marker(analysis: Analysis, system: System) -> str:
    if system.is_first_stage:
        return "o"
    return MARKERS[analysis.colors.get(system.name, 0) % len(MARKERS)]


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _ms(value: float, _pos: object = None) -> str:
    """Tick labels: round values, shortest form."""
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g} ms"


def ms_text(value: float) -> str:
    """A measured latency, with about three significant digits."""
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def _log_ticks(ax, xs: list[float], formatter) -> None:
    """Log x axis with 1-2-5 ticks over short spans and decades over long ones."""
    ax.set_xscale("log")
    _pad_log(ax, xs)
    lo, hi = ax.get_xlim()
    decades = math.log10(hi / lo) if lo > 0 else 10
    subs = (1.0, 2.0, 5.0) if decades <= 2.2 else (1.0,) if decades > 4.5 else (1.0, 3.0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(formatter))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _usd(value: float, _pos: object = None) -> str:
    return usd(value)


LEGEND_RIGHT_MAX_ENTRIES = 8
LEGEND_RIGHT_MAX_CHARS = 45


def _legend_outside(ax, handles, labels, title: str | None = None) -> None:
    """A legend beside the plot; below it (the figure grows) when it would crowd the axes.

    Many rerankers or long names (URLs, router slugs) in a right-hand legend squeeze the
    axes until labels are cut off, so those go under the plot in columns instead.
    """
    longest = max((len(str(label)) for label in labels), default=0)
    if len(labels) <= LEGEND_RIGHT_MAX_ENTRIES and longest <= LEGEND_RIGHT_MAX_CHARS:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  frameon=False, title=title, title_fontsize=8, borderaxespad=0.0)
        return
    fig = ax.figure
    ncols = 2 if longest <= 60 else 1
    rows = math.ceil(len(labels) / ncols) + (1 if title else 0)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + 0.2 * rows)
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False,
               title=title, title_fontsize=8)


def _wrap(text: str, width: int = 110) -> str:
    return "\n".join(textwrap.wrap(text, width))


def render_all(analysis: Analysis) -> list[RenderedFigure]:
    """Every figure of the report, in the order the report shows them."""
    figures: list[RenderedFigure] = []
    with _style():
        if any(s.primary_ci for d in analysis.datasets for s in d.systems):
            figures.append(quality_bars(analysis))
        for dataset in analysis.datasets:
            figures.extend(dataset_figures(analysis, dataset))
    return figures


def dataset_figures(analysis: Analysis, dataset: DatasetAnalysis) -> list[RenderedFigure]:
    figures = []
    measured = [s for s in dataset.rerankers if s.latency and s.latency.p50 is not None]
    scored = [s for s in dataset.rerankers  # a quality axis needs labels: none without them
              if s.measures.get(analysis.primary) and s.measures[analysis.primary].mean
              is not None]
    if any(s.latency and s.latency.p50 for s in measured if s in scored):  # log axis: p50 > 0
        figures.append(quality_latency(analysis, dataset))
    if any(s.cost and s.cost.per_1k_queries_usd is not None for s in scored):
        figures.append(quality_cost(analysis, dataset))
    if any(s.latency and (s.latency.warm_ms or s.latency.cold is not None) for s in measured):
        figures.append(latency_cdf(analysis, dataset))
    if any(s.deltas for s in dataset.compared):
        figures.append(per_query(analysis, dataset))
    return figures


# -- quality bars with CI error bars, all datasets ---------------------------------------


def quality_bars(analysis: Analysis) -> RenderedFigure:
    primary = analysis.primary
    names: list[tuple[str, bool]] = []
    for dataset in analysis.datasets:
        for s in dataset.systems:
            if s.primary_ci and (s.name, s.is_first_stage) not in names:
                names.append((s.name, s.is_first_stage))
    n_data = len(analysis.datasets)
    height = 3.6 if n_data <= 3 else 4.2
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    handles, labels = [], []
    for k, (name, first) in enumerate(names):
        xs, ys, lo, hi = [], [], [], []
        system_for_style = None
        for i, dataset in enumerate(analysis.datasets):
            s = next((s for s in dataset.systems if s.name == name), None)
            value = s.measures[primary].mean if s and primary in s.measures else None
            if s is None or value is None or s.primary_ci is None:
                continue
            system_for_style = s
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(value)
            lo.append(max(0.0, value - s.primary_ci[0]))
            hi.append(max(0.0, s.primary_ci[1] - value))
        if system_for_style is None:
            continue
        bars = ax.bar(xs, ys, width=width * 0.92, color=color(analysis, system_for_style),
                      yerr=[lo, hi], capsize=3, error_kw={"elinewidth": 1, "ecolor": "#24292f"},
                      hatch="//" if first else None, edgecolor="white" if not first else "#f6f8fa",
                      linewidth=0.5)
        handles.append(bars)
        labels.append(f"{name} (no reranking)" if first else name)
    ax.set_xticks(range(n_data), [f"{d.name}\n({d.n_queries} queries)" for d in
                                  analysis.datasets])
    ax.set_ylabel(f"{primary} (mean over queries)")
    ax.set_ylim(0, min(1.05, max(0.1, _top_of(ax) * 1.08)))
    ax.grid(axis="x", visible=False)
    ax.set_title(f"{primary} per dataset, with 95% bootstrap confidence intervals of the mean")
    _legend_outside(ax, handles, labels)
    return RenderedFigure(
        "quality-bars", "quality-bars.png", f"{primary} per dataset",
        f"Bar chart of mean {primary} per dataset and reranker with 95% confidence intervals",
        _png(fig))


def _top_of(ax) -> float:
    tops = []
    for container in ax.containers:
        for patch in getattr(container, "patches", []):
            tops.append(patch.get_height())
    for line in ax.lines:
        tops.extend(line.get_ydata())
    return max(tops) if tops else 1.0


# -- quality against latency / cost, Pareto frontier -------------------------------------


def _scatter(analysis: Analysis, dataset: DatasetAnalysis, points: list[tuple[System, float]],
             xlabel: str, title: str, log_x: bool, formatter, footnote: str | None) -> Figure:
    primary = analysis.primary
    fig = Figure(figsize=(WIDTH, 4.4 if not footnote else 4.9), layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    xy = [(x, s.measures[primary].mean) for s, x in points]
    on_frontier = set(pareto_frontier(xy))
    covers = _covers(xy, log_x)
    for i, (s, x) in enumerate(points):
        y = s.measures[primary].mean
        err = None
        if s.primary_ci:
            err = [[max(0.0, y - s.primary_ci[0])], [max(0.0, s.primary_ci[1] - y)]]
        ax.errorbar([x], [y], yerr=err, fmt="none", ecolor=color(analysis, s), alpha=0.45,
                    elinewidth=1.2, capsize=2)
        # a point that others land on grows, so coinciding points show as concentric marks
        under = sum(1 for later in covers if i in later)
        size = (90 if i in on_frontier else 70) * 3.0 ** under
        edge = "#24292f" if i in on_frontier else "white"
        width = 1.3 if i in on_frontier else 0.6
        ax.scatter([x], [y], s=size, marker=marker(analysis, s), color=color(analysis, s),
                   edgecolors=edge, linewidths=width, zorder=3 + len(covers[i]))
        handles.append(Line2D([], [], linestyle="none", marker=marker(analysis, s),
                              color=color(analysis, s), markeredgecolor=edge,
                              markeredgewidth=width, markersize=8))
        mark = s.measures[primary].mark
        covered = [points[j][0].name for j in covers[i]]
        labels.append(f"{s.name}{' ' + mark if mark else ''}"
                      + (f" (overlaps {', '.join(covered)})" if covered else ""))
    if log_x:
        _log_ticks(ax, [x for _, x in points], formatter)
    else:
        _pad_linear(ax, [x for _, x in points])
        ax.xaxis.set_major_formatter(FuncFormatter(formatter))
    frontier = sorted((xy[i] for i in on_frontier), key=lambda p: (p[0], p[1]))
    if frontier:
        # a staircase through the frontier, carried on to the right edge: nothing to the
        # right of it and above it was measured
        fx = [p[0] for p in frontier] + [ax.get_xlim()[1]]
        fy = [p[1] for p in frontier] + [frontier[-1][1]]
        (line,) = ax.plot(fx, fy, drawstyle="steps-post", color="#24292f", linewidth=1.1,
                          linestyle="--", zorder=2)
        handles.append(line)
        labels.append("Pareto frontier (outlined points)")
    base = next((s for s in dataset.systems if s.is_first_stage), None)
    if base is not None and base.measures[primary].mean is not None:
        line = ax.axhline(base.measures[primary].mean, color=BASELINE_COLOR, linewidth=1,
                          linestyle=":")
        handles.append(line)
        labels.append(f"first stage, no reranking ({base.measures[primary].mean:.3f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{primary} (mean; bars: 95% CI)")
    ax.set_title(title)
    _legend_outside(ax, handles, labels, title="▲/▼: significantly better/worse than "
                    f"{analysis.baseline}" if any(s.measures[primary].mark for s, _ in points)
                    else None)
    if footnote:
        fig.get_layout_engine().set(h_pad=0.15)
        fig.supxlabel(_wrap(footnote, 120), fontsize=7.5, color="#57606a", x=0.01, ha="left")
    return fig


def _covers(xy: list[tuple[float, float]], log_x: bool) -> list[list[int]]:
    """For each point, the earlier points it lands on (within ~2.5% of the data's spans)."""
    def nx(x: float) -> float:
        return math.log10(x) if log_x and x > 0 else x

    xs = [nx(x) for x, _ in xy]
    ys = [y for _, y in xy]
    span_x = ((max(xs) - min(xs)) if xs else 0.0) or 1.0
    span_y = ((max(ys) - min(ys)) if ys else 0.0) or 1.0
    return [[j for j in range(i)
             if abs(xs[i] - xs[j]) < 0.025 * span_x and abs(ys[i] - ys[j]) < 0.03 * span_y]
            for i in range(len(xy))]


def _pad_log(ax, xs: list[float]) -> None:
    lo, hi = min(xs), max(xs)
    if lo <= 0:
        return
    span = max(math.log10(hi) - math.log10(lo), 0.3)
    ax.set_xlim(10 ** (math.log10(lo) - 0.12 * span), 10 ** (math.log10(hi) + 0.12 * span))


def _pad_linear(ax, xs: list[float]) -> None:
    lo, hi = min(xs), max(xs)
    span = hi - lo or max(abs(hi), 1e-6)
    ax.set_xlim(max(0.0, lo - 0.12 * span) if lo >= 0 else lo - 0.12 * span, hi + 0.12 * span)


def quality_latency(analysis: Analysis, dataset: DatasetAnalysis) -> RenderedFigure:
    points = [(s, s.latency.p50) for s in dataset.rerankers
              if s.latency and s.latency.p50 is not None and s.latency.p50 > 0
              and s.measures[analysis.primary].mean is not None]
    fig = _scatter(analysis, dataset, points,
                   "median serving latency per query (ms, log scale; warm-up left out)",
                   f"{dataset.name}: quality against latency", True, _ms, None)
    return RenderedFigure(
        f"{dataset.slug}-quality-latency", f"{dataset.slug}-quality-latency.png",
        f"{dataset.name}: quality against latency",
        f"Scatter plot of {analysis.primary} against median latency on {dataset.name}, "
        "with the Pareto frontier", _png(fig))


def unknown_cost(dataset: DatasetAnalysis) -> list[System]:
    return [s for s in dataset.rerankers
            if s.n_queries and (s.cost is None or s.cost.per_1k_queries_usd is None)]


def quality_cost(analysis: Analysis, dataset: DatasetAnalysis) -> RenderedFigure:
    points = [(s, s.cost.per_1k_queries_usd) for s in dataset.rerankers
              if s.cost and s.cost.per_1k_queries_usd is not None
              and s.measures[analysis.primary].mean is not None]
    xs = [x for _, x in points]
    log_x = bool(xs) and min(xs) > 0 and max(xs) / min(xs) > 10
    unknown = unknown_cost(dataset)
    groups: dict[str, list[str]] = {}
    for s in unknown:
        groups.setdefault(s.cost.unknown_short if s.cost else "no usage", []).append(s.name)
    footnote = ("Not shown, cost unknown: " + "; ".join(
        f"{', '.join(names)} ({why})" for why, names in groups.items()) if unknown else None)
    fig = _scatter(analysis, dataset, points,
                   "cost per 1,000 queries (USD" + (", log scale)" if log_x else ")"),
                   f"{dataset.name}: quality against cost", log_x, _usd, footnote)
    return RenderedFigure(
        f"{dataset.slug}-quality-cost", f"{dataset.slug}-quality-cost.png",
        f"{dataset.name}: quality against cost",
        f"Scatter plot of {analysis.primary} against cost per 1,000 queries on "
        f"{dataset.name}, with the Pareto frontier", _png(fig))


# -- latency distributions ---------------------------------------------------------------


def latency_cdf(analysis: Analysis, dataset: DatasetAnalysis) -> RenderedFigure:
    fig = Figure(figsize=(WIDTH, 4.2), layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    all_x: list[float] = []
    systems = [s for s in dataset.rerankers if s.latency and
               (s.latency.warm_ms or s.latency.cold is not None)]
    for s in systems:
        warm = [v for v in s.latency.warm_ms if v > 0]
        if warm:
            n = len(warm)
            ys = [(i + 1) / n for i in range(n)]
            ax.plot([warm[0], *warm], [0.0, *ys], drawstyle="steps-post",
                    color=color(analysis, s), linewidth=1.6)
            all_x.extend(warm)
        handles.append(Line2D([], [], color=color(analysis, s), linewidth=1.6,
                              marker=marker(analysis, s), markeredgecolor="#24292f",
                              markeredgewidth=0.6))
        sampled = f", {len(s.latency.warm_ms)} sampled, reuse off" if s.latency.sampled else ""
        labels.append(f"{s.name} (p50 {ms_text(s.latency.p50)}{sampled})"
                      if s.latency.p50 is not None else s.name)
        if s.latency.cold is not None and s.latency.cold > 0:
            ax.scatter([s.latency.cold], [1.06], marker=marker(analysis, s), s=42,
                       color=color(analysis, s), edgecolors="#24292f", linewidths=0.6,
                       zorder=3, clip_on=False)
            all_x.append(s.latency.cold)
    ax.axhline(1.0, color="#8c959f", linewidth=0.6)
    if all_x:
        _log_ticks(ax, all_x, _ms)
    ax.set_ylim(0, 1.1)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 0.95, 1.0], ["0", "25%", "50%", "75%", "95%", "100%"])
    ax.set_xlabel("latency per query (ms, log scale; wall time of the rerank call)")
    ax.set_ylabel("share of queries at or below")
    ax.set_title(f"{dataset.name}: serving latency (warm-up left out; cold call marked apart)")
    _legend_outside(ax, handles, labels,
                    title="markers above 100%: the first (cold) request" if any(
                        s.latency.cold for s in systems) else None)
    return RenderedFigure(
        f"{dataset.slug}-latency-cdf", f"{dataset.slug}-latency-cdf.png",
        f"{dataset.name}: latency distribution",
        f"Cumulative distribution of per-query latency per reranker on {dataset.name}",
        _png(fig))


# -- per-query wins and losses -------------------------------------------------------------


def per_query(analysis: Analysis, dataset: DatasetAnalysis) -> RenderedFigure:
    primary = analysis.primary
    systems = [s for s in dataset.compared if s.deltas]
    cols = 1 if len(systems) == 1 else 2 if len(systems) in (2, 4) else 3
    rows = math.ceil(len(systems) / cols)
    fig = Figure(figsize=(WIDTH, 0.6 + 2.3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    limit = max((abs(d) for s in systems for d in s.deltas), default=1.0) or 1.0
    for ax, s in zip(axes.flat, systems, strict=False):
        deltas = s.deltas
        colors = [WIN if d > 1e-9 else LOSS if d < -1e-9 else TIE for d in deltas]
        ax.bar(range(len(deltas)), deltas, width=1.0, color=colors, linewidth=0)
        tied = [i for i, d in enumerate(deltas) if abs(d) <= 1e-9]
        if tied:  # sorted, so the ties are one run: a grey band where the bars would be
            ax.axvspan(tied[0] - 0.5, tied[-1] + 0.5, ymin=0.47, ymax=0.53, color=TIE,
                       linewidth=0)
        ax.axhline(0, color="#24292f", linewidth=0.6)
        c = s.measures[primary].comparison
        wtl = f"{c.wins} better / {c.ties} tied / {c.losses} worse" if c else ""
        mark = s.measures[primary].mark
        ax.set_title(f"{s.name}{' ' + mark if mark else ''}\n{wtl}", fontsize=9)
        ax.set_xlim(-0.5, len(deltas) - 0.5)
        ax.set_ylim(-limit * 1.08, limit * 1.08)
        ax.grid(axis="x", visible=False)
        ax.set_xlabel("queries, sorted by Δ")
    for ax in axes.flat[len(systems):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"Δ {primary} vs {dataset.baseline}")
    fig.suptitle(f"{dataset.name}: per-query {primary} against {dataset.baseline} "
                 "(green: better, red: worse, grey: tied)", fontsize=10)
    return RenderedFigure(
        f"{dataset.slug}-per-query", f"{dataset.slug}-per-query.png",
        f"{dataset.name}: per-query wins and losses",
        f"Sorted per-query differences in {primary} against {dataset.baseline} on {dataset.name}",
        _png(fig))
