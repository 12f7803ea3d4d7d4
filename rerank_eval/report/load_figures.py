"""The load report's two figures: throughput and latency against the offered load.

Closed loop: x is the concurrency, on a log2 axis (levels usually double). Open loop: x is
the offered rate in queries per second, on a linear axis with the line y = x, where a
server that keeps up would lie. The knee is marked on both. Same rules as the run
report's figures (:mod:`rerank_eval.report.figures`): one Figure each, no pyplot, PNGs
without a date or version, so the same load.json gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from rerank_eval.report.figures import (
    LOSS,
    PALETTE,
    WIDTH,
    RenderedFigure,
    _legend_outside,
    _ms,
    _png,
    _style,
    ms_text,
)

KNEE_COLOR = "#2da44e"
BUDGET_COLOR = "#9a6700"
REFERENCE_COLOR = "#8c959f"
PERCENTILE_STYLE = {"p50": (PALETTE[0], "o"), "p90": (PALETTE[1], "s"),
                    "p95": (PALETTE[3], "D"), "p99": (PALETTE[4], "^")}

def level_x(data: Mapping[str, Any], level: Mapping[str, Any]) -> float:
    """The level's load: its concurrency (closed loop) or offered qps (open loop)."""
    key = "concurrency" if data["mode"] == "closed" else "offered_qps"
    return float(level[key])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def rps(value: Any) -> str:
    """Requests per second: ``3,258``, ``64.5``, ``2.35``; ``–`` when unknown."""
    number = _number(value)
    if number is None:
        return "–"
    if number >= 100:
        return f"{number:,.0f}"
    if number >= 10:
        return f"{number:.1f}"
    return f"{number:.2f}"


def _latency(level: Mapping[str, Any], key: str) -> float | None:
    return _number((level.get("latency_ms") or {}).get(key))


def knee_level(data: Mapping[str, Any]) -> int | None:
    """The index of the knee level in ``levels``, or None when no knee was found."""
    knee = data.get("knee") or {}
    if not knee.get("found"):
        return None
    index = knee.get("index")
    if isinstance(index, int) and 0 <= index < len(data["levels"]):
        return index
    key = "concurrency" if data["mode"] == "closed" else "offered_qps"
    return next((i for i, level in enumerate(data["levels"])
                 if level.get(key) == knee.get(key)), None)


def _failed(level: Mapping[str, Any]) -> int:
    return sum(int(v) for v in (level.get("errors") or {}).values() if _number(v))


def load_figures(data: Mapping[str, Any]) -> list[RenderedFigure]:
    """Throughput against load and, when any level has a successful request, latency."""
    figures = [throughput_figure(data)]
    if any(_latency(lv, "p50") is not None for lv in data["levels"]):
        figures.append(latency_figure(data))
    return figures


def _x_axis(ax, data: Mapping[str, Any], xs: list[float]) -> None:
    if data["mode"] == "closed":
        ax.set_xscale("log", base=2)
        lo, hi = min(xs), max(xs)
        pad = max(0.35, 0.08 * math.log2(hi / lo)) if lo > 0 else 0.35
        ax.set_xlim(lo / 2 ** pad, hi * 2 ** pad)
        ax.xaxis.set_major_locator(FixedLocator(sorted(set(xs))))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("concurrency (requests in flight; log2 scale)")
    else:
        ax.set_xlim(0, max(xs) * 1.1 if max(xs) > 0 else 1)
        ax.set_xlabel("offered load (queries per second, Poisson arrivals)")


def _knee_label(data: Mapping[str, Any], level: Mapping[str, Any]) -> str:
    x = level_x(data, level)
    where = f"concurrency {x:g}" if data["mode"] == "closed" else f"offered {x:g} qps"
    p95 = _latency(level, "p95")
    throughput = _number(level.get("throughput_rps"))
    return (f"knee: {where}, {rps(throughput)} rps" if throughput is not None else
            f"knee: {where}") + (f" at p95 {ms_text(p95)}" if p95 is not None else "")


def throughput_figure(data: Mapping[str, Any]) -> RenderedFigure:
    closed = data["mode"] == "closed"
    return RenderedFigure(
        "load-throughput", "load-throughput.png", "Throughput against load",
        "Line chart of achieved requests per second at each "
        + ("concurrency" if closed else "offered rate") + ", with the knee marked",
        _styled_png(draw_throughput, data))


def draw_throughput(data: Mapping[str, Any]) -> Figure:
    """Achieved throughput per level; open loop: against y = x; the knee and errors marked."""
    levels = data["levels"]
    closed = data["mode"] == "closed"
    xs = [level_x(data, lv) for lv in levels]
    ys = [_number(lv.get("throughput_rps")) or 0.0 for lv in levels]
    fig = Figure(figsize=(WIDTH, 4.2), layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    (line,) = ax.plot(xs, ys, color=PALETTE[0], marker="o", linewidth=1.6, markersize=6,
                      zorder=3)
    handles.append(line)
    labels.append("achieved throughput (rps)")
    _x_axis(ax, data, xs)
    top = max([*ys, *(xs if not closed else [])], default=0.0)
    if not closed:
        edge = ax.get_xlim()[1]
        (ref,) = ax.plot([0, edge], [0, edge], color=REFERENCE_COLOR, linestyle="--",
                         linewidth=1)
        handles.append(ref)
        labels.append("achieved = offered (y = x)")
    saturation = _number(data.get("saturation_rps"))
    if saturation is not None and saturation > 0:
        sat = ax.axhline(saturation, color=REFERENCE_COLOR, linestyle=":", linewidth=1)
        handles.append(sat)
        labels.append(f"saturation: {rps(saturation)} rps")
        top = max(top, saturation)
    failing = [i for i, lv in enumerate(levels) if _failed(lv)]
    if failing:
        marks = ax.scatter([xs[i] for i in failing], [ys[i] for i in failing], marker="x",
                           s=70, color=LOSS, linewidths=1.8, zorder=5)
        handles.append(marks)
        labels.append("level with errors: " + ", ".join(
            f"{xs[i]:g} ({_failed(levels[i])} failed)" for i in failing))
    knee = knee_level(data)
    if knee is not None:
        ax.axvline(xs[knee], color=KNEE_COLOR, linestyle="--", linewidth=1.2, zorder=2)
        ax.scatter([xs[knee]], [ys[knee]], s=260, facecolors="none", edgecolors=KNEE_COLOR,
                   linewidths=2, zorder=4)
        handles.append(Line2D([], [], color=KNEE_COLOR, linestyle="--", marker="o",
                              markerfacecolor="none", markersize=10, markeredgewidth=2))
        labels.append(_knee_label(data, levels[knee]))
    ax.set_ylim(0, top * 1.12 if top > 0 else 1.0)
    ax.set_ylabel("achieved throughput (requests per second)")
    ax.set_title("Throughput against " + ("concurrency" if closed else "offered load")
                 + ("" if knee is not None else " (no knee: no level within the p95 budget)"))
    _legend_outside(ax, handles, labels)
    return fig


def latency_figure(data: Mapping[str, Any]) -> RenderedFigure:
    closed = data["mode"] == "closed"
    return RenderedFigure(
        "load-latency", "load-latency.png", "Latency percentiles against load",
        "Line chart of p50, p90, p95 and p99 latency at each "
        + ("concurrency" if closed else "offered rate")
        + ", with the p95 budget and the knee marked", _styled_png(draw_latency, data))


def _styled_png(draw: Callable[[Mapping[str, Any]], Figure], data: Mapping[str, Any]) -> bytes:
    with _style():
        return _png(draw(data))


def draw_latency(data: Mapping[str, Any]) -> Figure:
    """p50/p90/p95/p99 per level (gaps where none succeeded), the p95 budget, the knee."""
    levels = data["levels"]
    closed = data["mode"] == "closed"
    xs = [level_x(data, lv) for lv in levels]
    fig = Figure(figsize=(WIDTH, 4.4), layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    values: list[float] = []
    for key, (colour, mark) in PERCENTILE_STYLE.items():
        ys = [_latency(lv, key) for lv in levels]
        plotted = [math.nan if y is None else y for y in ys]
        (line,) = ax.plot(xs, plotted, color=colour, marker=mark, linewidth=1.5, markersize=5,
                          zorder=3)
        handles.append(line)
        labels.append(key)
        values += [y for y in ys if y is not None]
    budget = _number((data.get("knee") or {}).get(
        "max_p95_ms", (data.get("settings") or {}).get("max_p95_ms")))
    if budget is not None and budget > 0:
        line = ax.axhline(budget, color=BUDGET_COLOR, linestyle="--", linewidth=1.2)
        handles.append(line)
        labels.append(f"p95 budget: {ms_text(budget)}")
        values.append(budget)
    _x_axis(ax, data, xs)
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
        ax.set_ylim(min(positive) / 1.4, max(positive) * 1.4)
    else:
        ax.set_ylim(0, max(positive, default=1.0) * 1.12)
    ax.yaxis.set_major_formatter(FuncFormatter(_ms))
    ax.yaxis.set_minor_formatter(NullFormatter())
    empty = [x for x, lv in zip(xs, levels, strict=True) if _latency(lv, "p50") is None]
    if empty:
        marks = ax.scatter(empty, [0.03] * len(empty), marker="x", s=70, color=LOSS,
                           linewidths=1.8, transform=ax.get_xaxis_transform(), clip_on=False,
                           zorder=5)
        handles.append(marks)
        labels.append("no successful request: " + ", ".join(f"{x:g}" for x in empty))
    knee = knee_level(data)
    if knee is not None:
        ax.axvline(xs[knee], color=KNEE_COLOR, linestyle="--", linewidth=1.2, zorder=2)
        p95 = _latency(levels[knee], "p95")
        if p95 is not None:
            ax.scatter([xs[knee]], [p95], s=220, facecolors="none", edgecolors=KNEE_COLOR,
                       linewidths=2, zorder=4)
        handles.append(Line2D([], [], color=KNEE_COLOR, linestyle="--", marker="o",
                              markerfacecolor="none", markersize=10, markeredgewidth=2))
        labels.append(_knee_label(data, levels[knee]))
    ax.set_ylabel("latency per request (successful requests)")
    ax.set_title("Latency percentiles against " + ("concurrency" if closed else "offered load"))
    _legend_outside(ax, handles, labels)
    return fig
