"""The load report: ``load.html`` and a Markdown section, from a ``load.json`` alone.

``load.json`` (schema version 1) is the contract between ``rerank-eval load`` and this
report: the report reads the file, never the load engine, so ``rerank-eval report DIR``
renders the same thing the load run did. Fields beyond the contract that the engine
writes (a level's ``dropped``, ``shared_in_flight`` and ``error_messages``, the report's
``notes``) are shown when present. Like the run report, the HTML carries its CSS
and figures inline and nothing in it depends on when it was rendered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerank_eval import atomic
from rerank_eval.money import plain, price_text, usd
from rerank_eval.records import SchemaError
from rerank_eval.report.figures import RenderedFigure, ms_text
from rerank_eval.report.load_figures import knee_level, level_x, load_figures, rps
from rerank_eval.report.tables import Table, ms, number
from rerank_eval.report.templating import environment

LOAD_SCHEMA_VERSION = 1
LOAD_FILE = "load.json"
LOAD_HTML = "load.html"
MODES = ("closed", "open")
REQUIRED = ("schema_version", "kind", "reranker", "mode", "levels")
LEVEL_REQUIRED = ("requests", "ok", "errors", "throughput_rps", "latency_ms")
PERCENTILES = ("p50", "p90", "p95", "p99", "max")
ERROR_LABELS = {"rate_limited": "429", "server_error": "5xx", "timeout": "timeouts",
                "transport": "transport", "client_error": "4xx", "malformed": "malformed",
                "other": "other"}
ERROR_WORDS = {"rate_limited": "rate limited (429)", "server_error": "server errors (5xx)",
               "timeout": "timeouts", "transport": "transport errors",
               "client_error": "client errors (4xx)", "malformed": "malformed answers",
               "other": "other errors"}
SERVER_PHASES = ("queue", "tokenization", "inference", "total")
"""Server timing phases in the order a request goes through them; others follow, sorted."""


# -- reading ------------------------------------------------------------------------------


def read_load(path: Path) -> dict[str, Any]:
    """``load.json`` in the folder ``path`` (or the file ``path``), checked against the contract.

    Refuses a newer ``schema_version``, a missing one and a missing required field, naming
    the file and the field; keys it does not know are ignored.
    """
    path = Path(path)
    file = path / LOAD_FILE if path.is_dir() else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: no such file (`rerank-eval load` writes it)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{file}: not valid JSON ({exc})") from None
    check_load(data, str(file))
    return data


def check_load(data: Any, what: str) -> None:
    """Raise :class:`SchemaError` naming ``what`` and the field if ``data`` breaks the contract."""
    if not isinstance(data, Mapping):
        raise SchemaError(f"{what}: not a JSON object")
    for key in REQUIRED:
        if key not in data:
            raise SchemaError(f"{what}: missing required field {key!r}")
    version = data["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(f"{what}: field 'schema_version' is {version!r}, not a version number")
    if version > LOAD_SCHEMA_VERSION:
        raise SchemaError(f"{what}: field 'schema_version' is {version}, written by a newer "
                          f"rerank-eval (this one reads load.json up to version "
                          f"{LOAD_SCHEMA_VERSION}); upgrade rerank-eval")
    if data["kind"] != "load":
        raise SchemaError(f"{what}: field 'kind' is {data['kind']!r}, not 'load'")
    if data["mode"] not in MODES:
        raise SchemaError(f"{what}: field 'mode' is {data['mode']!r}, not 'closed' or 'open'")
    levels = data["levels"]
    if not isinstance(levels, list):
        raise SchemaError(f"{what}: field 'levels' is not a list")
    x_key = "concurrency" if data["mode"] == "closed" else "offered_qps"
    for i, level in enumerate(levels):
        if not isinstance(level, Mapping):
            raise SchemaError(f"{what}: field 'levels[{i}]' is not an object")
        for key in (x_key, *LEVEL_REQUIRED):
            if key not in level:
                raise SchemaError(f"{what}: missing required field 'levels[{i}].{key}'")
        if not _is_number(level[x_key]):
            raise SchemaError(f"{what}: field 'levels[{i}].{x_key}' is {level[x_key]!r}, "
                              "not a number")
        if not isinstance(level["errors"], Mapping):
            raise SchemaError(f"{what}: field 'levels[{i}].errors' is not an object")
        if level["latency_ms"] is not None and not isinstance(level["latency_ms"], Mapping):
            raise SchemaError(f"{what}: field 'levels[{i}].latency_ms' is not an object")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


# -- what the report shows ----------------------------------------------------------------


@dataclass(frozen=True)
class LoadView:
    """Everything the load templates show, as formatted text, tables and figures."""

    data: Mapping[str, Any]
    reranker: str
    facts: str
    """Mode, dataset, documents per request: one line under the title."""
    knee: str
    saturation: str
    cost: str
    retries: str
    errors: str | None
    """Which requests failed, by type and level; None when none did."""
    error_messages: list[str]
    interrupted: str | None
    levels: Table
    settings: Table
    figures: list[RenderedFigure]
    notes: list[str]
    environment: list[str]
    packages: Table | None


def load_view(data: Mapping[str, Any], *, figures: bool = True) -> LoadView:
    """Format a checked ``load.json`` for the templates; ``figures``: render its figures."""
    levels = list(data["levels"])
    return LoadView(
        data=data,
        reranker=str(data["reranker"]),
        facts=_facts(data),
        knee=_knee_text(data),
        saturation=_saturation_text(data),
        cost=_cost_text(data),
        retries=_retries_text(data),
        errors=_errors_text(data),
        error_messages=_error_messages(data),
        interrupted=(("Interrupted (Ctrl-C): the levels shown are the ones that ran; a level "
                      "marked “stopped early” was cut short.") if data.get("interrupted")
                     else None),
        levels=levels_table(data),
        settings=_settings_table(data),
        figures=load_figures(data) if levels and figures else [],
        notes=_notes(data),
        environment=_environment_lines(data.get("environment") or {}, data.get("created")),
        packages=_packages_table(data.get("environment") or {}),
    )


def _closed(data: Mapping[str, Any]) -> bool:
    return data["mode"] == "closed"


def load_label(data: Mapping[str, Any], level: Mapping[str, Any]) -> str:
    """``concurrency 4`` or ``offered 20 qps``."""
    x = level_x(data, level)
    return f"concurrency {x:g}" if _closed(data) else f"offered {x:g} qps"


def _latency(level: Mapping[str, Any], key: str) -> float | None:
    value = (level.get("latency_ms") or {}).get(key)
    return float(value) if _is_number(value) else None


def _ms_or_dash(value: Any) -> str:
    return ms_text(float(value)) if _is_number(value) else "–"


def _facts(data: Mapping[str, Any]) -> str:
    parts = [f"{'closed' if _closed(data) else 'open'} loop"
             + (" (a fixed number of requests in flight per level)" if _closed(data)
                else " (Poisson arrivals at a fixed offered rate per level)")]
    dataset = data.get("dataset")
    if dataset:
        detail = [f"top-{data['top_k']}" if data.get("top_k") is not None else "",
                  f"{data['queries']:,} distinct queries" if _is_number(data.get("queries"))
                  else ""]
        detail = [d for d in detail if d]
        parts.append(f"dataset {dataset}" + (f" ({', '.join(detail)})" if detail else ""))
    docs = data.get("documents_per_request") or {}
    if _is_number(docs.get("mean")):
        spread = (f" (min {docs['min']:g}, max {docs['max']:g})"
                  if _is_number(docs.get("min")) and _is_number(docs.get("max"))
                  and docs["min"] != docs["max"] else "")
        parts.append(f"{docs['mean']:g} documents per request{spread}")
    return "; ".join(parts)


def _budget(data: Mapping[str, Any]) -> tuple[float | None, str]:
    """The p95 budget in ms and where it came from."""
    knee = data.get("knee") or {}
    settings = data.get("settings") or {}
    budget = knee.get("max_p95_ms", settings.get("max_p95_ms"))
    return (float(budget) if _is_number(budget) else None,
            str(settings.get("max_p95_source") or ""))


def _budget_text(data: Mapping[str, Any]) -> str:
    budget, source = _budget(data)
    if budget is None:
        return "no p95 budget"
    return f"the {ms_text(budget)} p95 budget" + (f" ({source})" if source else "")


def _knee_text(data: Mapping[str, Any]) -> str:
    index = knee_level(data)
    knee = data.get("knee") or {}
    if index is None:
        reason = str(knee.get("reason") or "")
        return ("No knee: no level kept its p95 within " + _budget_text(data)
                + (f"; {reason}" if reason and "p95" not in reason else "") + ".")
    level = data["levels"][index]
    throughput = knee.get("throughput_rps", level.get("throughput_rps"))
    p95 = knee.get("p95_ms", _latency(level, "p95"))
    where = (f"concurrency {level_x(data, level):g}" if _closed(data)
             else f"offered {level_x(data, level):g} qps")
    return (f"Holds {rps(throughput)} rps at p95 {_ms_or_dash(p95)} ({where}): the highest "
            f"level within {_budget_text(data)}.")


def _saturation_text(data: Mapping[str, Any]) -> str:
    levels = data["levels"]
    measured = [lv for lv in levels if _is_number(lv.get("throughput_rps"))]
    saturation = data.get("saturation_rps")
    if not _is_number(saturation):
        saturation = max((lv["throughput_rps"] for lv in measured), default=None)
    if saturation is None:
        return "Saturation throughput: –."
    best = max(measured, key=lambda lv: lv["throughput_rps"], default=None)
    at = f" (at {load_label(data, best)})" if best is not None else ""
    return f"Saturation throughput: {rps(saturation)} rps{at}, the most any level achieved."


def _cost_text(data: Mapping[str, Any]) -> str:
    cost = data.get("cost_per_1k_queries")
    if not isinstance(cost, Mapping) or not _is_number(cost.get("usd")):
        return ("Cost per 1,000 queries at the knee: unknown (no dated price for this reranker "
                "and no --gpu-hour-usd).")
    basis = str(cost.get("basis") or "")
    price = cost.get("price")
    if basis == "gpu_hour" or (_is_number(cost.get("gpu_hour_usd")) and not price):
        hour = cost.get("gpu_hour_usd")
        how = ("estimate: " + (f"${plain(float(hour))} per GPU hour" if _is_number(hour)
                               else "a GPU hour rate")
               + ", from --gpu-hour-usd, ÷ the knee's throughput")
    elif isinstance(price, Mapping):
        text = price_text(price.get("usd"), price.get("per", 1), price.get("unit", ""))
        source = f"; source: {price['source']}" if price.get("source") else ""
        if basis == "hardware_hour":
            dated = f"rate dated {price['date']}" if price.get("date") else "undated rate"
            instance = f" ({price['instance']})" if price.get("instance") else ""
            how = f"estimate: {text}{instance} ÷ the knee's throughput; {dated}{source}"
        else:
            dated = f"price dated {price['date']}" if price.get("date") else "undated price"
            how = f"usage the server reported × {text} ({dated}{source})"
    else:
        how = f"basis: {basis or 'not recorded'}"
    note = str(cost.get("note") or "").strip()
    if note and not note.endswith("."):
        note += "."
    return (f"Cost per 1,000 queries at the knee: {usd(float(cost['usd']))} ({how})."
            + (f" {note}" if note else ""))


def _retries_text(data: Mapping[str, Any]) -> str:
    allowed = (data.get("settings") or {}).get("retries") or 0
    made = sum(int(lv.get("retries") or 0) for lv in data["levels"])
    if not allowed:
        return "Retries: off (a failed request counts as an error, never sent again)."
    return (f"Retries: up to {allowed} per request; {made:,} made in all (each level's "
            "latency includes its retries).")


def _error_counts(level: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (level.get("errors") or {}).items() if _is_number(v) and v}


def _errors_text(data: Mapping[str, Any]) -> str | None:
    totals: dict[str, int] = {}
    failing = []
    for level in data["levels"]:
        counts = _error_counts(level)
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
        if counts:
            failing.append(f"{level_x(data, level):g}")
    if not totals:
        return None
    requests = sum(int(lv.get("requests") or 0) for lv in data["levels"])
    kinds = ", ".join(f"{n:,} {ERROR_WORDS.get(k, k.replace('_', ' '))}"
                      for k, n in _ordered(totals).items())
    where = ("at concurrency " if _closed(data) else "at offered qps ") + ", ".join(failing)
    return (f"Errors: {sum(totals.values()):,} of {requests:,} requests failed {where}: "
            f"{kinds}. Percentiles are over successful requests only.")


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    known = [k for k in ERROR_LABELS if k in counts]
    return {k: counts[k] for k in [*known, *sorted(set(counts) - set(known))]}


def _error_messages(data: Mapping[str, Any]) -> list[str]:
    """The engine's sample of each level's error messages, one line per level."""
    lines = []
    for level in data["levels"]:
        messages = [str(m) for m in level.get("error_messages") or [] if m]
        if messages:
            lines.append(f"at {load_label(data, level)}: " + "; ".join(messages))
    return lines


def levels_table(data: Mapping[str, Any]) -> Table:
    """One row per level: load, requests, errors by type, throughput, latency, server time."""
    levels = data["levels"]
    knee = knee_level(data)
    kinds = list(_ordered({k: 1 for lv in levels for k in _error_counts(lv)}))
    phases = _server_phases(levels)
    dropped = any(_is_number(lv.get("dropped")) and lv["dropped"] for lv in levels)
    shared = any(_is_number(lv.get("shared_in_flight")) and lv["shared_in_flight"]
                 for lv in levels)
    tokens = any(_is_number(lv.get("tokens")) for lv in levels)
    cost = any(_is_number(lv.get("cost_usd")) for lv in levels)
    headers = [("concurrency" if _closed(data) else "offered qps", "r"), ("requests", "r"),
               ("ok", "r"), ("errors", "r")]
    headers += [(ERROR_LABELS.get(k, k.replace("_", " ")), "r") for k in kinds]
    headers += [("dropped", "r")] if dropped else []
    headers += [("merged", "r")] if shared else []
    headers += [("retries", "r"), ("rps", "r"), ("docs/s", "r")]
    headers += [(f"{p} ms", "r") for p in PERCENTILES]
    headers += [(f"srv {phase} ms", "r") for phase in phases]
    headers += [("tokens", "r")] if tokens else []
    headers += [("cost", "r")] if cost else []
    headers += [("stopped early", "l")]
    rows, classes = [], []
    for i, level in enumerate(levels):
        counts = _error_counts(level)
        x = f"{level_x(data, level):g}" + (" (knee)" if i == knee else "")
        cells = [x, number(level.get("requests")), number(level.get("ok")),
                 number(sum(counts.values()))]
        cells += [number(counts.get(k, 0)) for k in kinds]
        cells += [number(level.get("dropped") or 0)] if dropped else []
        cells += [number(level.get("shared_in_flight") or 0)] if shared else []
        cells += [number(level.get("retries") or 0), rps(level.get("throughput_rps")),
                  number(round(level["docs_per_s"])) if _is_number(level.get("docs_per_s"))
                  else "–"]
        cells += [ms(_latency(level, p)) for p in PERCENTILES]
        for phase in phases:
            timing = (level.get("server_ms") or {}).get(phase) or {}
            middle = timing.get("p50", timing.get("mean"))
            cells.append(f"{ms(middle if _is_number(middle) else None)} / "
                         f"{ms(timing['p95'] if _is_number(timing.get('p95')) else None)}"
                         if timing else "–")
        if tokens:
            cells.append(number(level.get("tokens")))
        if cost:
            cells.append(usd(level["cost_usd"]) if _is_number(level.get("cost_usd")) else "–")
        cells.append("yes" if level.get("stopped_early") else "no")
        rows.append(cells)
        classes.append(" ".join(c for c in ("knee" if i == knee else "",
                                            "failing" if counts else "") if c))
    return Table(key="load-levels", headers=[h for h, _ in headers],
                 align=[a for _, a in headers], rows=rows, row_classes=classes)


def _server_phases(levels: list[Mapping[str, Any]]) -> list[str]:
    seen = {phase for lv in levels for phase, timing in (lv.get("server_ms") or {}).items()
            if isinstance(timing, Mapping)}
    return [p for p in SERVER_PHASES if p in seen] + sorted(seen - set(SERVER_PHASES))


def _settings_table(data: Mapping[str, Any]) -> Table:
    settings = data.get("settings") or {}
    budget, source = _budget(data)

    def text(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, list):
            return ", ".join(f"{v:g}" if _is_number(v) else str(v) for v in value)
        if isinstance(value, int):
            return f"{value:,}"
        return f"{value:g}" if isinstance(value, float) else str(value)

    hour = settings.get("gpu_hour_usd")
    rows = [
        ["mode", f"{data['mode']} loop"],
        ["levels (" + ("concurrency" if _closed(data) else "offered qps") + ")",
         text(settings.get("levels"))],
        ["requests per level", text(settings.get("requests_per_level"))],
        ["duration per level (s)", text(settings.get("duration_s"))],
        ["warm-up requests", text(settings.get("warmup"))],
        ["cache bust", text(settings.get("cache_bust"))],
        ["retries", text(settings.get("retries")) + (" (off)" if not settings.get("retries")
                                                      else "")],
        ["max requests in all", text(settings.get("max_requests"))],
        ["p95 budget", (ms_text(budget) if budget is not None else "–")
         + (f" ({source})" if source else "")],
        ["GPU hour", f"${plain(float(hour))}" if _is_number(hour) else "–"],
        *([["max in flight", text(settings["max_in_flight"])]]
          if settings.get("max_in_flight") is not None else []),
        *([["drain after the arrivals (s)", text(settings["drain_s"])]]
          if settings.get("drain_s") is not None else []),
        ["seed", text(settings.get("seed"))],
    ]
    known = {"levels", "requests_per_level", "duration_s", "warmup", "cache_bust", "retries",
             "max_requests", "max_p95_ms", "max_p95_source", "gpu_hour_usd", "seed",
             "max_in_flight", "drain_s"}
    rows += [[key.replace("_", " "), text(value)] for key, value in settings.items()
             if key not in known and not isinstance(value, Mapping)]
    return Table(key="load-settings", headers=["setting", "value"], align=["l", "l"],
                 rows=rows, row_classes=[""] * len(rows))


def _notes(data: Mapping[str, Any]) -> list[str]:
    notes = [("Latency is measured from each request's scheduled start"
              + ("" if _closed(data) else ", its Poisson arrival time, so time spent waiting "
                 "on the client side is included")
              + "; percentiles are over successful requests only, errors are counted apart. "
              "rps and docs/s are the throughput each level achieved.")]
    failed = [load_label(data, lv) for lv in data["levels"]
              if _latency(lv, "p50") is None]
    if failed:
        notes.append("No successful request, so no latency (“–”), at: " + ", ".join(failed)
                     + ".")
    if any(lv.get("dropped") for lv in data["levels"]):
        notes.append("dropped: arrivals still unanswered when the level's drain time ran out "
                     "(neither ok nor an error).")
    if any(lv.get("shared_in_flight") for lv in data["levels"]):
        notes.append("merged: requests the client merged with an identical one already in "
                     "flight, so sent once and not counted in the throughput (--cache-bust "
                     "avoids it).")
    early = [load_label(data, lv) for lv in data["levels"] if lv.get("stopped_early")]
    if early:
        notes.append("Stopped early (Ctrl-C or the --max-requests cap): "
                     + ", ".join(early) + "; its figures cover the requests it finished.")
    if _server_phases(data["levels"]):
        notes.append("srv columns: time the server reported for each phase of a request (TEI's "
                     "x-queue-time, x-tokenization-time, x-inference-time and x-total-time "
                     "headers, or Server-Timing), p50 / p95 over the level's requests.")
    if not data["levels"]:
        notes.append("No level finished.")
    notes += [str(n) for n in data.get("notes") or [] if n]
    return notes


def _environment_lines(env: Mapping[str, Any], created: Any) -> list[str]:
    memory = f", {env['memory_gib']} GiB" if env.get("memory_gib") else ""
    platform = f", {env['platform']}" if env.get("platform") else ""
    lines = [f"Measured {created or env.get('timestamp') or '–'} on {env.get('cpu') or '?'} "
             f"({env.get('cpu_count') or '?'} cores{memory}); accelerator: "
             f"{env.get('accelerator') or 'none'}; Python {env.get('python') or '?'}{platform}."]
    if env.get("command"):
        lines.append(f"Command: {env['command']}")
    prices = env.get("price_table")
    if isinstance(prices, Mapping) and prices.get("description"):
        lines.append(str(prices["description"]).capitalize() + ".")
    return lines


def _packages_table(env: Mapping[str, Any]) -> Table | None:
    packages = env.get("packages")
    if not isinstance(packages, Mapping) or not packages:
        return None
    rows = [[str(name), str(version or "not installed")] for name, version in packages.items()]
    return Table(key="load-packages", headers=["package", "version"], align=["l", "l"],
                 rows=rows, row_classes=[""] * len(rows))


# -- rendering ----------------------------------------------------------------------------


def write_load_report(out_dir: Path, data: Mapping[str, Any], *,
                      view: LoadView | None = None) -> Path:
    """Write ``out_dir/load.html`` (self-contained) atomically and return its path.

    ``view``: an already built :func:`load_view` of ``data``, so its figures are not drawn
    twice when the run report shows them too.
    """
    check_load(data, str(Path(out_dir) / LOAD_FILE))
    view = view or load_view(data)
    path = Path(out_dir) / LOAD_HTML
    html = environment().get_template("load.html.j2").render(load=view)
    atomic.write_text(path, html)
    return path


def load_markdown(data: Mapping[str, Any], *, figures_dir: str | None = None,
                  full: bool = False, view: LoadView | None = None) -> str:
    """The load results in Markdown, a ``## Load`` section for ``report.md``.

    ``figures_dir``: where the figures' PNGs lie (relative to the Markdown), to link them;
    None leaves them out. ``full`` adds the settings and the environment.
    """
    check_load(data, "load data")
    view = view or load_view(data, figures=figures_dir is not None)
    return environment().get_template("load.md.j2").render(
        load=view, figures_dir=figures_dir, full=full)
