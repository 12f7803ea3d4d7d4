"""The load results in the terminal: a table per level, the knee, cost and notes."""

from __future__ import annotations

from rich.table import Table

from rerank_eval import money
from rerank_eval.load.outcome import ERROR_TYPES
from rerank_eval.load.records import LevelResult, LoadReport

RETRIES_OFF = "retries: off (a load test does not retry; --retries N to change)"
_ERROR_SHORT = {"rate_limited": "429", "server_error": "5xx", "timeout": "timeout",
                "transport": "transport", "client_error": "4xx", "malformed": "malformed",
                "other": "other"}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _errors(level: LevelResult) -> str:
    parts = [f"{level.errors[t]} {_ERROR_SHORT[t]}" for t in ERROR_TYPES if level.errors.get(t)]
    return ", ".join(parts)


SERVER_PHASES = ("queue", "tokenization", "inference", "total")
"""The order a request goes through them; other phases follow, sorted."""


def _server(level: LevelResult) -> str:
    phases = sorted(level.server_ms, key=lambda p: (SERVER_PHASES.index(p)
                                                    if p in SERVER_PHASES else 99, p))
    return " / ".join(f"{phase} {level.server_ms[phase].get('p50', 0):.1f}"
                      for phase in phases) or "–"


def level_table(report: LoadReport) -> Table:
    closed = report.mode == "closed"
    title = (f"load: {report.reranker}, {'closed loop' if closed else 'open loop (Poisson)'}"
             f", {report.dataset} top-{report.top_k}")
    table = Table(title=title, title_justify="left")
    for header in ("concurrency" if closed else "offered qps", "requests", "ok", "errors",
                   "rps", "docs/s", "p50 ms", "p95 ms", "p99 ms", "server ms (p50)", "note"):
        table.add_column(header, justify="left" if header in ("errors", "note",
                                                              "server ms (p50)") else "right")
    knee_index = report.knee.index if report.knee.found else None
    for index, level in enumerate(report.levels):
        notes = []
        if index == knee_index:
            notes.append("◀ knee")
        if level.stopped_early:
            notes.append("stopped early")
        if level.dropped:
            notes.append(f"{level.dropped} dropped")
        if level.shared_in_flight:
            notes.append(f"{level.shared_in_flight} shared")
        offered = str(level.concurrency) if closed else f"{level.offered_qps:g}"
        table.add_row(offered, str(level.requests), str(level.ok), _errors(level) or "0",
                      f"{level.throughput_rps:.1f}", f"{level.docs_per_s:.0f}",
                      _ms(level.latency_ms.get("p50")), _ms(level.latency_ms.get("p95")),
                      _ms(level.latency_ms.get("p99")), _server(level), ", ".join(notes))
    return table


def knee_line(report: LoadReport) -> str:
    knee = report.knee
    source = report.settings.max_p95_source
    if not knee.found:
        return f"knee: not found ({knee.reason})"
    at = f"concurrency {knee.concurrency}" if knee.concurrency is not None else \
        f"{knee.offered_qps:g} qps"
    return (f"knee: {at}, {knee.throughput_rps:.1f} requests/s at p95 {knee.p95_ms:.1f} ms "
            f"(budget {knee.max_p95_ms:.1f} ms: {source})")


def other_lines(report: LoadReport, *, remote: bool) -> list[str]:
    lines = []
    if report.saturation_rps is not None:
        lines.append(f"saturation: {report.saturation_rps:.1f} requests/s (the most any "
                     "level achieved)")
    cost = report.cost_per_1k_queries
    if cost is not None:
        lines.append(f"cost per 1,000 queries at the knee: {money.usd(cost.usd)} "
                     f"({cost.basis}: {cost.note})")
    elif report.knee.found:
        lines.append("cost per 1,000 queries: unknown (no dated price or reported usage); "
                     "--gpu-hour-usd X prices the serving machine")
    if remote:
        lines.append(RETRIES_OFF if not report.settings.retries else
                     f"retries: up to {report.settings.retries} per request (--retries); "
                     f"{sum(level.retries for level in report.levels)} made")
    shared = sum(level.shared_in_flight for level in report.levels)
    if shared:
        lines.append(f"warning: {shared} requests were merged by the client with an "
                     "identical one in flight (not sent, not counted as throughput); "
                     "--cache-bust makes every request distinct")
    for level in report.levels:
        for message in level.error_messages[:3]:
            lines.append(f"error at {level.label}: {message}")
    lines.extend(f"note: {note}" for note in report.notes)
    return lines
