"""``rerank-eval load SPEC``: the command's body (registered in :mod:`rerank_eval.cli`).

Checks every option first (exit 2 naming the option), builds the reranker for load and
refuses a non-loopback endpoint before anything is sent, builds the workload, runs the
sweep under a progress bar per level (live throughput and p95), then writes
``DIR/load.json`` and ``DIR/load.html`` and prints a table per level and the knee.
Ctrl-C stops the level running, keeps the finished ones, writes load.json with
``interrupted: true`` and exits 130. Exit 1 when no request succeeded, 2 on bad input.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rerank_eval.load.results_table import RETRIES_OFF

if TYPE_CHECKING:
    from rich.console import Console

    from rerank_eval.load.records import LoadReport
    from rerank_eval.load.sweep import SweepPlan, SweepState
    from rerank_eval.load.target import LoadTarget
    from rerank_eval.load.workload import Workload

DEFAULT_REQUESTS_PER_LEVEL = 100
DEFAULT_OPEN_DURATION = "30s"


class UsageError(ValueError):
    """Bad command-line input: exit 2 with this message."""


@dataclass(frozen=True)
class LoadOptions:
    """The command line, checked."""

    spec: str
    plan: SweepPlan
    dataset: str
    top_k: int
    cache_bust: bool
    out: Path
    gpu_hour_usd: float | None
    allow_remote: bool
    retries: int | None
    max_p95_ms: float | None


def check_options(spec: str, *, dataset: str, top_k: int, concurrency: str | None,
                  qps: str | None, requests_per_level: int | None, duration: str | None,
                  warmup: int, max_p95_ms: float | None, cache_bust: bool, out: Path | None,
                  gpu_hour_usd: float | None, allow_remote: bool, retries: int | None,
                  max_requests: int, max_in_flight: int, seed: int) -> LoadOptions:
    """Every option checked before anything is built; :class:`UsageError` names the option."""
    from rerank_eval.load.parsing import (
        OptionError,
        parse_concurrency_levels,
        parse_duration,
        parse_qps_levels,
    )
    from rerank_eval.load.sweep import SweepPlan
    from rerank_eval.rerankers import RerankerSpecError, parse_spec
    from rerank_eval.text import file_safe

    if (concurrency is None) == (qps is None):
        raise UsageError("give exactly one of --concurrency (closed loop, e.g. 1,2,4,8) or "
                         "--qps (open loop, e.g. 2,5,10)")
    try:
        kind = parse_spec(spec).kind
        duration_s = parse_duration(duration) if duration is not None else None
        if concurrency is not None:
            mode = "closed"
            levels: list[float] = [float(c) for c in parse_concurrency_levels(concurrency)]
            if requests_per_level is None and duration_s is None:
                requests_per_level = DEFAULT_REQUESTS_PER_LEVEL
        else:
            mode = "open"
            levels = list(parse_qps_levels(qps or ""))
            if duration_s is None:
                duration_s = parse_duration(DEFAULT_OPEN_DURATION)
    except (OptionError, RerankerSpecError) as exc:
        raise UsageError(str(exc)) from None
    out_dir = out or Path("reports") / f"load-{file_safe(kind) or 'reranker'}"
    for path in (out_dir, *out_dir.parents):
        if path.exists() and not path.is_dir():
            where = "" if path == out_dir else f" ({path} is a file)"
            raise UsageError(f"--out {out_dir}: not a folder{where}")
    plan = SweepPlan(mode=mode, levels=tuple(levels), requests_per_level=requests_per_level,
                     duration_s=duration_s, warmup=warmup, max_requests=max_requests,
                     max_in_flight=max_in_flight, seed=seed)
    return LoadOptions(spec=spec, plan=plan, dataset=dataset, top_k=top_k,
                       cache_bust=cache_bust, out=out_dir, gpu_hour_usd=gpu_hour_usd,
                       allow_remote=allow_remote, retries=retries, max_p95_ms=max_p95_ms)


def load_command(
    spec: Annotated[str, typer.Argument(
        help="Reranker spec, e.g. tei:http://127.0.0.1:8080, cohere:rerank-v3.5, "
        "cross-encoder:PATH, bm25.")],
    dataset: Annotated[str, typer.Option(
        "--dataset", "-d", help="Dataset whose queries and first-stage candidates are sent "
        "(name or BEIR folder/zip; default the built-in quick collection).")] = "quick",
    top_k: Annotated[int, typer.Option(min=1, help="Candidates per request (BM25 top-k).")]
    = 20,
    concurrency: Annotated[str | None, typer.Option(
        help="Closed loop: concurrency levels, comma-separated (e.g. 1,2,4,8,16).")] = None,
    requests_per_level: Annotated[int | None, typer.Option(
        min=1, help="Requests per level (closed loop default 100; open loop: a cap on "
        "arrivals).")] = None,
    qps: Annotated[str | None, typer.Option(
        help="Open loop: Poisson arrival rates per second, comma-separated (e.g. 2,5,10).")]
    = None,
    duration: Annotated[str | None, typer.Option(
        help="Time per level: 30s, 2m, 500ms or plain seconds (open loop default 30s).")]
    = None,
    warmup: Annotated[int, typer.Option(
        min=0, help="Requests sent before each level and not counted.")] = 3,
    max_p95_ms: Annotated[float | None, typer.Option(
        min=0, help="Latency budget of the knee (default 2x the p95 at the lowest level).")]
    = None,
    cache_bust: Annotated[bool, typer.Option(
        "--cache-bust", help="Prefix each query with a token unique to the request and the "
        "run, so no cache can answer it.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (default reports/load-<kind>).")] = None,
    gpu_hour_usd: Annotated[float | None, typer.Option(
        min=0, help="Hourly price of the serving machine: cost per 1,000 queries at the "
        "knee from it.")] = None,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Allow an endpoint that is not on this machine (loopback).")]
    = False,
    retries: Annotated[int | None, typer.Option(
        min=0, help="Retries per request of a remote reranker (default 0: errors are "
        "counted, not retried).")] = None,
    max_requests: Annotated[int, typer.Option(
        min=1, help="Cap on every request the sweep sends, warm-up included.")] = 10_000,
    max_in_flight: Annotated[int, typer.Option(
        min=1, help="Open loop: requests sent at once at most; later arrivals wait in the "
        "client and their wait counts in their latency.")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the open loop's arrival times.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Capacity and latency of a rerank endpoint: a sweep of load levels (closed loop:
    --concurrency; open loop: --qps), the knee and the saturation throughput; writes
    DIR/load.json and DIR/load.html."""
    from rerank_eval.cli import _setup_logging, console

    _setup_logging(verbose)
    try:
        options = check_options(
            spec, dataset=dataset, top_k=top_k, concurrency=concurrency, qps=qps,
            requests_per_level=requests_per_level, duration=duration, warmup=warmup,
            max_p95_ms=max_p95_ms, cache_bust=cache_bust, out=out, gpu_hour_usd=gpu_hour_usd,
            allow_remote=allow_remote, retries=retries, max_requests=max_requests,
            max_in_flight=max_in_flight, seed=seed)
        target = _build_target(options)
    except (UsageError, ValueError, OSError) as exc:
        from rich.markup import escape

        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    run_load(options, target, console)


def _build_target(options: LoadOptions) -> LoadTarget:
    """The reranker for load; errors that stop the command (exit 2) as ValueError."""
    from rerank_eval.load.target import build_target
    from rerank_eval.rerankers.remote.http.errors import ProviderError

    plan = options.plan
    cap = int(max(plan.levels)) if plan.mode == "closed" else plan.max_in_flight
    try:
        return build_target(options.spec, client_concurrency=cap, retries=options.retries,
                            allow_remote=options.allow_remote)
    except ProviderError as exc:  # a missing API key
        raise ValueError(str(exc)) from None


def run_load(options: LoadOptions, target: LoadTarget, console: Console) -> None:
    """Workload, sweep, files and the printed results; exits 130 after a Ctrl-C."""
    from rich.markup import escape

    from rerank_eval.candidates import CandidatesError
    from rerank_eval.datasets import DatasetError
    from rerank_eval.load.sweep import SweepState
    from rerank_eval.load.workload import build_workload

    try:
        workload = build_workload(options.dataset, options.top_k)
        target.prepare(workload)
    except (DatasetError, CandidatesError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow] before the first level; nothing written")
        raise typer.Exit(130) from None
    _print_plan(options, target, workload, console)
    state = SweepState()
    try:
        asyncio.run(_sweep(options, target, workload, state, console))
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside the sweep
        state.interrupted = True
    report = _write(options, target, workload, state, console)
    _print_results(report, target, options.out, console)
    if state.interrupted:
        console.print(f"[yellow]interrupted[/yellow]: {len(report.levels)} level(s) kept in "
                      f"{escape(str(options.out / 'load.json'))}", highlight=False)
        raise typer.Exit(130)
    if not any(level.ok for level in report.levels):
        console.print("[red]no request succeeded[/red]; see the errors above", highlight=False)
        raise typer.Exit(1)


async def _sweep(options: LoadOptions, target: LoadTarget, workload: Workload,
                 state: SweepState, console: Console) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from rerank_eval.load.progress import RichSweepProgress
    from rerank_eval.load.sweep import run_sweep
    from rerank_eval.load.workload import RequestSource
    from rerank_eval.rerankers.remote.http.clock import SYSTEM_CLOCK

    source = RequestSource(workload, cache_bust=options.cache_bust)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[live]}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            await run_sweep(target.reranker, source, options.plan, SYSTEM_CLOCK, state,
                            RichSweepProgress(progress))
    finally:
        await target.aclose()


def _print_plan(options: LoadOptions, target: LoadTarget, workload: Workload,
                console: Console) -> None:
    plan = options.plan
    docs = workload.documents_per_request()
    where = f" at {target.url}" if target.url else " (in-process)"
    if plan.mode == "closed":
        per = (f"{plan.requests_per_level} requests" if plan.requests_per_level else "") + \
            (" or " if plan.requests_per_level and plan.duration_s else "") + \
            (f"{plan.duration_s:g}s" if plan.duration_s else "")
        how = f"closed loop, concurrency {_levels(plan)}, {per} per level"
    else:
        how = (f"open loop (Poisson arrivals), {_levels(plan)} qps, {plan.duration_s:g}s per "
               f"level, at most {plan.max_in_flight} in flight")
    console.print(f"load test of {target.spec}{where}: {how}; warm-up {plan.warmup}; "
                  f"{len(workload.items)} queries of {workload.dataset} ({docs['mean']:g} "
                  f"documents each on average){'; cache-busted' if options.cache_bust else ''}",
                  highlight=False, markup=False)
    if target.remote:
        console.print(RETRIES_OFF if not target.retries else
                      f"retries: up to {target.retries} per request (--retries)",
                      highlight=False, markup=False)
    for note in target.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    planned = plan.planned_requests()
    if planned is not None and planned > plan.max_requests:
        console.print(f"[yellow]warning:[/yellow] about {planned:,} requests planned but "
                      f"--max-requests is {plan.max_requests:,}: the sweep will stop early",
                      highlight=False)
    biggest = max(plan.levels) if plan.mode == "closed" else plan.max_in_flight
    if target.remote and not options.cache_bust and len(workload.items) < biggest:
        console.print(f"note: {len(workload.items)} distinct queries for up to {int(biggest)} "
                      "requests in flight: the same request is sent more than once at a time "
                      "(every one reaches the endpoint; a server that caches answers may "
                      "flatter the numbers: --cache-bust avoids it)", highlight=False)


def _levels(plan: SweepPlan) -> str:
    return ",".join(f"{level:g}" for level in plan.levels)


def _write(options: LoadOptions, target: LoadTarget, workload: Workload, state: SweepState,
           console: Console) -> LoadReport:
    from rich.markup import escape

    from rerank_eval.load.records import write_load_json
    from rerank_eval.load.summary import build_report

    report = build_report(reranker=target.spec, plan=options.plan, state=state,
                          workload=workload, cache_bust=options.cache_bust,
                          retries=target.retries, max_p95_ms=options.max_p95_ms,
                          gpu_hour_usd=options.gpu_hour_usd, price=target.price(),
                          device=target.device, notes=target.notes)
    path = write_load_json(options.out, report)
    written = [path.name]
    try:
        from rerank_eval.report.load import write_load_report
    except ImportError:
        console.print("[yellow]warning:[/yellow] load.html not written (this build has no "
                      "load report)", highlight=False)
    else:
        try:
            written.append(write_load_report(options.out, report.to_dict()).name)
        except (OSError, ValueError) as exc:
            console.print(f"[yellow]warning:[/yellow] load.html not written: "
                          f"{escape(str(exc))}", highlight=False)
    console.print(f"results in [bold]{escape(str(options.out))}[/bold]: {', '.join(written)}",
                  highlight=False)
    return report


def _print_results(report: LoadReport, target: LoadTarget, out: Path,
                   console: Console) -> None:
    from rerank_eval.cli import out_console
    from rerank_eval.load.results_table import knee_line, level_table, other_lines

    out_console.print(level_table(report))
    out_console.print(knee_line(report), highlight=False, markup=False)
    for line in other_lines(report, remote=target.remote):
        out_console.print(line, highlight=False, markup=False)
