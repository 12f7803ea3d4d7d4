"""The ``rerank-eval`` command line: run, report, compare, check, baseline, providers, load."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rerank_eval.cache_command import cache_app
from rerank_eval.load.command import load_command
from rerank_eval.pool_command import pool_command
from rerank_eval.suite import Suite, SuiteError, check_baseline
from rerank_eval.suite_build import build_suite, check_before_loading

app = typer.Typer(
    help="Evaluate and benchmark rerankers: quality, latency and cost, side by side.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True)
# Results tables are wide; when piped (CI logs, files) use a width that fits them.
out_console = Console(width=None if Console().is_terminal else 160)


# Report options shared by `run` (which writes the report) and `report` (which rewrites it).
BaselineRerankerOption = Annotated[str, typer.Option(
    help="Reranker the report compares every other with (default: the first stage's own "
    "ranking).")]
QpsOption = Annotated[float | None, typer.Option(
    min=0.001, help="Project cost per day/month and the concurrency needed at this many "
    "queries per second in the report.")]


class _RichProgress:
    """Harness progress as one rich bar per cell."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def cell_started(self, dataset: str, reranker: str, total: int, done: int) -> None:
        self.task = self.progress.add_task(f"{dataset} × {reranker}", total=total, completed=done)

    def query_done(self) -> None:
        if self.task is not None:
            self.progress.advance(self.task)

    def cell_finished(self, cell: Any) -> None:
        if self.task is not None:
            status = "[red]failed" if cell.failed else "[green]done"
            label = f"{cell.dataset} × {cell.reranker} {status}"
            self.progress.update(self.task, description=label)
        self.task = None

    def message(self, text: str) -> None:
        self.progress.console.print(text)


def _setup_logging(verbose: bool) -> None:
    if not verbose:
        # Model loading draws its own progress bars (transformers' "Loading weights"),
        # which would interleave with ours; set before transformers is imported.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
        # The handler's own level also silences libraries that set DEBUG on their loggers
        # at import time (bm25s does).
        handlers=[RichHandler(level=logging.INFO if verbose else logging.WARNING,
                              console=console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("bm25s", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def run(
    suite_file: Annotated[Path | None, typer.Argument(
        help="Suite TOML (datasets, rerankers, measures). Optional with --dataset.")] = None,
    dataset: Annotated[list[str], typer.Option(
        "--dataset", "-d", help="Dataset name (resolved under $RERANK_EVAL_DATASETS, the cache, "
        "then downloaded), a BEIR folder/zip, or a candidates file (.jsonl, .jsonl.gz, .csv, "
        ".tsv: each query with its candidates, in your retriever's order). Repeatable; "
        "replaces the suite's.")] = [],  # noqa: B006
    reranker: Annotated[list[str], typer.Option(
        "--reranker", "-r", help="Reranker spec, e.g. bm25, biencoder, cross-encoder:PATH, "
        "cohere:rerank-v3.5. Repeatable; replaces the suite's.")] = [],  # noqa: B006
    top_k: Annotated[int | None, typer.Option(help="Candidates per query from the first stage.")]
    = None,
    max_queries: Annotated[int | None, typer.Option(
        help="Evaluate only the first N query ids in sorted order.")] = None,
    measure: Annotated[list[str], typer.Option(
        "--measure", "-m", help="ir-measures name, e.g. nDCG@10. Repeatable.")] = [],  # noqa: B006
    run_file: Annotated[Path | None, typer.Option(
        help="TREC run file giving the candidates instead of BM25.")] = None,
    qrels: Annotated[Path | None, typer.Option(
        help="Judgments replacing the datasets' own: a CSV/TSV with query_id, doc_id, label "
        "(what `rerank-eval pool` writes; empty label = unjudged) or TREC qrels.")] = None,
    stemmer: Annotated[str | None, typer.Option(
        help="BM25 first-stage stemmer language (e.g. english); default none.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (default reports/<suite name>). Re-running into the "
        "same folder resumes.")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Bypass the response cache of remote providers.")] = False,
    baseline_reranker: BaselineRerankerOption = "first-stage",
    qps: QpsOption = None,
    cpu_hour_usd: Annotated[float | None, typer.Option(
        min=0, help="Hourly price of the CPU machine for local rerankers' cost "
        "(default: the dated rate in pricing.toml).")] = None,
    gpu_hour_usd: Annotated[float | None, typer.Option(
        min=0, help="Hourly price of the GPU machine for local rerankers' cost.")] = None,
    latency_sample: Annotated[int | None, typer.Option(
        min=0, help="Queries (spread across the run) timed in a separate latency pass, "
        "cross-query reuse off, for rerankers that reuse work across queries (the "
        "bi-encoder); default 50, 0 = off, >= the query count = all.")] = None,
    latency_warmup: Annotated[int | None, typer.Option(
        min=0, help="Warm-up calls before the latency pass, reported apart (default 3).")]
    = None,
    executor: Annotated[str | None, typer.Option(
        help="Where local model inference (biencoder, cross-encoder) runs: in-process "
        "(default) or ray: Ray actors, one model each (RAY_ADDRESS joins a cluster, else a "
        "local Ray starts); needs `make setup-ray`.")] = None,
    ray_actors: Annotated[int | None, typer.Option(
        min=1, help="Ray actors per local model reranker (default: one per GPU, else 1 CPU "
        "actor, 2 from 4 CPUs up); implies --executor ray.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Rerank datasets with each reranker; write summary.json, per_query.csv, runs/ and reports."""
    _setup_logging(verbose)
    try:
        suite = build_suite(suite_file, dataset, reranker, top_k, max_queries, measure,
                            run_file, stemmer, {"cpu_hour_usd": cpu_hour_usd,
                                                "gpu_hour_usd": gpu_hour_usd},
                            latency_sample=latency_sample, latency_warmup=latency_warmup,
                            executor=executor or ("ray" if ray_actors else None),
                            ray_actors=ray_actors, qrels=qrels)
        out_dir = out or Path("reports") / suite.name
        check_before_loading(suite, out_dir, baseline=baseline_reranker)
    except (SuiteError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    result = _run_suite(suite, out_dir, response_cache=not no_cache)
    from rerank_eval.report import write_reports

    reports = write_reports(out_dir, baseline=baseline_reranker, qps=qps)
    _print_results(out_dir, baseline_reranker)
    console.print(f"results in [bold]{out_dir}[/bold]: summary.json, per_query.csv, runs/, "
                  f"{', '.join(p.name for p in reports)}")
    if result.failed:
        console.print("[red]some cells failed; see errors above and in summary.json[/red]")
        raise typer.Exit(1)


def _run_suite(suite: Suite, out_dir: Path, response_cache: bool = True) -> Any:
    from rerank_eval.run_lock import RunLockedError, hold_run_lock

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with hold_run_lock(out_dir):
            return _run_locked(suite, out_dir, columns, response_cache)
    except RunLockedError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _run_locked(suite: Suite, out_dir: Path, columns: tuple[Any, ...],
                response_cache: bool) -> Any:
    from rerank_eval.candidates import CandidatesError
    from rerank_eval.datasets import DatasetError
    from rerank_eval.harness import Harness
    from rerank_eval.store import write_run_dir

    with Progress(*columns, console=console, transient=False) as progress:
        harness = Harness(suite, out_dir, progress=_RichProgress(progress),
                          on_cell_done=lambda partial: write_run_dir(partial, out_dir),
                          response_cache=response_cache)
        try:
            result = asyncio.run(harness.run())
        except (DatasetError, CandidatesError, SuiteError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/yellow]: every finished query is kept in "
                          f"{out_dir / 'cells'}; run the same command again to resume")
            raise typer.Exit(130) from None
    write_run_dir(result, out_dir)
    return result


def _print_results(out_dir: Path, baseline: str = "first-stage") -> None:
    """Per dataset: the table (Δ against the first stage, ▲/▼ where significant), then
    the verdict in one sentence."""
    from rerank_eval.report.analysis import analyse
    from rerank_eval.report.tables import terminal_table

    analysis = analyse(out_dir, baseline=baseline)
    for dataset in analysis.datasets:
        t = terminal_table(analysis, dataset)
        table = Table(title=dataset.name, title_justify="left")
        for header, align in zip(t.headers, t.align, strict=True):
            table.add_column(header, justify="left" if align == "l" else "right")
        for row in t.rows:
            table.add_row(*row)
        out_console.print(table)
        out_console.print(f"verdict: {dataset.verdict}", highlight=False)
    out_console.print(f"▲/▼: significantly better/worse than {analysis.baseline} "
                      f"(paired randomization test, Holm, p < {analysis.alpha}).",
                      highlight=False)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(
        help="A folder written by `run` (and/or by `load`: its load.json).")],
    baseline_reranker: BaselineRerankerOption = "first-stage",
    qps: QpsOption = None,
) -> None:
    """Write report.md and report.html again for a run folder (with a Load section when it
    has load.json); for a folder with only load.json, write load.html."""
    from rerank_eval.report import write_reports
    from rerank_eval.store import read_run

    try:
        if (run_dir / "summary.json").is_file() or not (run_dir / "load.json").is_file():
            labels = dict.fromkeys(r.reranker for r in read_run(run_dir).summary.results)
            check_baseline(baseline_reranker, labels, f"in {run_dir}")
        written = write_reports(run_dir, baseline=baseline_reranker, qps=qps)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print("wrote " + ", ".join(str(p) for p in written))


@app.command()
def check(
    run_dir: Annotated[Path, typer.Argument(help="The run folder to check.")],
    baseline: Annotated[Path, typer.Option(
        help="Baseline: a run folder or a baseline.json (paired by query), or a summary.json "
        "(means only).")],
    measure: Annotated[list[str], typer.Option(
        "--measure", "-m", help="Measures to gate on (default the headline nDCG@10).")] = [],  # noqa: B006
    alpha: Annotated[float, typer.Option(help="Significance level after Holm correction.")]
    = 0.05,
    max_drop: Annotated[float, typer.Option(
        min=0, help="Non-inferiority margin: fail only on a significant mean drop larger "
        "than this.")] = 0.01,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail (exit 1) when the result is inconclusive or a budgeted value "
        "is unknown.")] = False,
    tolerance: Annotated[float, typer.Option(
        help="Allowed mean drop when the baseline has no per-query values.")] = 0.01,
    max_p95_ms: Annotated[float | None, typer.Option(
        min=0, help="Latency budget: fail when a reranker's p95 latency exceeds this (ms).")]
    = None,
    max_cost_per_1k: Annotated[float | None, typer.Option(
        min=0, help="Cost budget: fail when a reranker costs more than this USD per 1,000 "
        "queries.")] = None,
    summary_md: Annotated[Path | None, typer.Option(
        help="Append the findings as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY).")]
    = None,
    recheck: Annotated[int | None, typer.Option(
        min=1, help="Provider drift: re-send this many of the run's requests to each remote "
        "reranker, bypassing the response cache, and compare the rankings with the run's.")]
    = None,
    max_drift: Annotated[float | None, typer.Option(
        min=0, max=1, help="With --recheck: fail (exit 1) when a remote reranker's top-10 "
        "changed on more than this share of the rechecked queries. Unset: any change is a "
        "warning (a failure with --strict).")] = None,
) -> None:
    """CI gate. Exit 0 pass, 1 regression, budget exceeded or (with --max-drift/--strict)
    provider drift, 2 usage or input error."""
    from rerank_eval.records import SchemaError
    from rerank_eval.regression import check as run_check
    from rerank_eval.regression import markdown_summary

    try:
        result = run_check(run_dir, baseline, measure or None, alpha=alpha,
                           tolerance=tolerance, max_drop=max_drop, strict=strict,
                           max_p95_ms=max_p95_ms, max_cost_per_1k=max_cost_per_1k)
    except (FileNotFoundError, SchemaError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if max_drift is not None and recheck is None:
        console.print("[red]error:[/red] --max-drift needs --recheck N", highlight=False)
        raise typer.Exit(2)
    if result.pairing is not None:
        for line in result.pairing.lines("this run", "the baseline"):
            out_console.print(f"paired: {line}", highlight=False, markup=False)
    colours = {"regression": "red", "missing": "red", "errors": "red", "over budget": "red",
               "improvement": "green", "inconclusive": "yellow", "unknown": "yellow"}
    quality = result.of_kind("quality", "run")
    if quality:
        table = Table(title=f"check {run_dir} against {baseline}: quality (max drop "
                      f"{max_drop:g})", title_justify="left")
        for title in ("dataset", "reranker", "measure", "baseline", "now", "Δ", "p (Holm)",
                      "verdict", "detail"):
            table.add_column(title)
        for f in quality:
            colour = colours.get(f.verdict, "default")
            table.add_row(f.dataset, f.reranker, f.measure, _num(f.baseline), _num(f.current),
                          _num(f.delta, signed=True), _num(f.p_holm),
                          f"[{colour}]{f.verdict}[/{colour}]", f.detail)
        out_console.print(table)
    budgets = result.of_kind("latency", "cost")
    if budgets:
        table = Table(title="budgets: latency and cost", title_justify="left")
        for title in ("dataset", "reranker", "budget on", "baseline", "now", "verdict",
                      "detail"):
            table.add_column(title)
        for f in budgets:
            colour = colours.get(f.verdict, "default")
            table.add_row(f.dataset, f.reranker, f.measure,
                          "–" if f.baseline is None else f"{f.baseline:.4g}",
                          "–" if f.current is None else f"{f.current:.4g}",
                          f"[{colour}]{f.verdict}[/{colour}]", f.detail)
        out_console.print(table)
    for f in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {f.dataset} × {f.reranker} {f.measure}: "
                      f"{f.verdict}: {f.detail}", highlight=False)
    drift, drift_error = None, None
    if recheck is not None:
        drift, drift_error = _recheck(run_dir, recheck, max_drift, strict)
    if summary_md is not None:
        try:
            with summary_md.open("a", encoding="utf-8") as handle:
                handle.write(markdown_summary(result, str(run_dir), str(baseline)))
                if drift is not None:
                    from rerank_eval.drift import markdown as drift_markdown

                    handle.write(drift_markdown(drift))
                if drift_error is not None:
                    handle.write(f"### Provider drift\n\nThe recheck could not be made: "
                                 f"{drift_error}\n\n")
        except OSError as exc:
            console.print(f"[red]error:[/red] cannot write {summary_md}: {exc}",
                          highlight=False)
            raise typer.Exit(2) from None
    if drift_error is not None:
        console.print(f"[red]error:[/red] {drift_error}", highlight=False)
        raise typer.Exit(2)
    if result.failed or (drift is not None and drift.failed):
        console.print("[red]check failed[/red]")
        raise typer.Exit(1)
    warned = result.warnings or (drift is not None and drift.warnings)
    console.print("[green]check passed[/green]" + (" with warnings" if warned else ""))


def _recheck(run_dir: Path, n: int, max_drift: float | None,
             strict: bool) -> tuple[Any, str | None]:
    """``check --recheck``: provider drift, printed apart from quality and budgets.

    Returns the :class:`rerank_eval.drift.DriftResult` (None on error) and the error, if
    the recheck could not be made (exit 2).
    """
    from rich.markup import escape

    from rerank_eval.drift import DRIFT, SKIPPED, UNKNOWN, DriftError
    from rerank_eval.drift import recheck as run_recheck

    try:
        drift = run_recheck(run_dir, n, max_drift=max_drift, strict=strict)
    except DriftError as exc:
        return None, str(exc)
    colours = {DRIFT: "red" if drift.enforce else "yellow", UNKNOWN: "yellow",
               "stable": "green"}
    checked = drift.findings
    if checked:
        table = Table(title=f"provider drift: {n} rechecked queries per remote reranker, "
                      "response cache bypassed", title_justify="left")
        for title in ("dataset", "reranker", "rechecked", "top-10 changed", "mean τ",
                      "mean top-10 overlap", "verdict", "queries changed"):
            table.add_column(title)
        for c in checked:
            colour = colours.get(c.verdict, "default")
            table.add_row(c.dataset, c.reranker, str(c.checked), str(len(c.changed)),
                          _num(c.mean_tau), _num(c.mean_overlap),
                          f"[{colour}]{c.verdict}[/{colour}]",
                          ", ".join(c.changed[:8]) + (" …" if len(c.changed) > 8 else "")
                          or "none")
        out_console.print(table)
    for c in drift.cells:
        if c.verdict == SKIPPED:
            out_console.print(f"drift: {c.sentence()}", highlight=False, markup=False)
        elif c.verdict in (DRIFT, UNKNOWN):
            label = "[red]drift:[/red]" if drift.failed else "[yellow]warning:[/yellow]"
            console.print(f"{label} {escape(c.sentence())}", highlight=False)
    if not checked:
        out_console.print("drift: no remote reranker in this run to recheck", highlight=False)
    return drift, None


@app.command("baseline")
def baseline_command(
    run_dir: Annotated[Path, typer.Argument(help="The run folder to take as the baseline.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="The baseline file to write (commit it).")] = Path("baseline.json"),
) -> None:
    """Write baseline.json from a run folder: per dataset × reranker, means, per-query values,
    latency and cost, for `check --baseline baseline.json`."""
    from rerank_eval.baseline import write_baseline
    from rerank_eval.records import SchemaError

    try:
        data = write_baseline(run_dir, out)
    except (FileNotFoundError, SchemaError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"wrote {out}: {len(data['cells'])} dataset × reranker cells, measures "
                  f"{', '.join(data['suite']['measures'])}", highlight=False)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The new run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The old run folder, paired by query.")],
    measure: Annotated[list[str], typer.Option("--measure", "-m")] = [],  # noqa: B006
    alpha: Annotated[float, typer.Option()] = 0.05,
) -> None:
    """Compare two runs of the same rerankers, paired by query, and list queries that changed.

    First says what was paired: queries in common per dataset × reranker, rerankers on one
    side only, settings that differ. Exit 2 when the runs have nothing in common.
    """
    from rerank_eval.comparison import compare_runs, differing_queries, pair_runs
    from rerank_eval.records import SchemaError
    from rerank_eval.store import read_run

    try:
        run_new, run_old = read_run(run_a), read_run(run_b)
        new, old = run_new.require_per_query(), run_old.require_per_query()
        measures = measure or [m for m in run_new.measures if m in run_old.measures]
        for name, side in ((str(run_a), run_new), (str(run_b), run_old)):
            lacking = [m for m in measures if m not in side.measures]
            if lacking:
                raise ValueError(f"{name} has no measure {', '.join(lacking)}; it has: "
                                 f"{', '.join(side.measures) or 'none'}")
        pairing = pair_runs(run_new, run_old)
        if pairing.empty:
            raise ValueError("nothing in common: " + pairing.empty_reason(str(run_a),
                                                                          str(run_b)))
        comparisons = compare_runs(new, old, measures)
    except (FileNotFoundError, SchemaError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    for line in pairing.lines(str(run_a), str(run_b)):
        out_console.print(f"paired: {line}", highlight=False, markup=False)
    table = Table(title=f"{run_a} vs {run_b}", title_justify="left")
    for title in ("dataset", "reranker", "measure", "old", "new", "Δ", "95% CI", "p (Holm)",
                  "W/T/L", "changed queries"):
        table.add_column(title)
    for c in comparisons:
        changed = differing_queries(new, old, c.dataset, c.system, c.measure)
        shown = ", ".join(changed[:8]) + (f" … (+{len(changed) - 8})" if len(changed) > 8 else "")
        mark = "*" if c.significant(alpha) else ""
        table.add_row(c.dataset, c.system, c.measure, _num(c.baseline_mean), _num(c.system_mean),
                      _num(c.delta, signed=True) + mark,
                      f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]", _num(c.p_holm),
                      f"{c.wins}/{c.ties}/{c.losses}", shown or "none")
    out_console.print(table)


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


@app.command()
def providers(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the same listing as JSON (kinds, env vars, options, prices).")]
    = False,
) -> None:
    """List the reranker kinds, their argument, environment variables and dated prices.

    Generated from the registry: each kind (and each remote provider's profile) declares
    every environment variable it reads, its options and how it is priced.
    """
    import dataclasses
    import json

    from rerank_eval import pricing
    from rerank_eval.executors import EXECUTOR_ENV_VARS
    from rerank_eval.rerankers import known_kinds
    from rerank_eval.rerankers.registry import SHARED_ENV_VARS

    table_prices: dict[str, list[pricing.Price]] = {}
    for price in pricing.price_table():
        table_prices.setdefault(price.provider, []).append(price)
    hardware = [h for h in (pricing.hardware_price("cpu"), pricing.hardware_price("cuda")) if h]
    kinds = known_kinds()

    def prices_of(kind: Any) -> list[Any]:
        if kind.cost_basis == "hardware":
            return hardware
        return table_prices.get(kind.price_provider, []) if kind.price_provider else []

    if as_json:
        listing = {
            "kinds": [{
                "kind": kind.kind, "summary": kind.summary, "arg_help": kind.arg_help,
                "env_vars": list(kind.env_vars), "cost_basis": kind.cost_basis,
                "price_provider": kind.price_provider, "options": list(kind.options),
                "prices": [dataclasses.asdict(p) for p in prices_of(kind)],
            } for kind in kinds],
            "shared_env_vars": SHARED_ENV_VARS,
            "executor_env_vars": EXECUTOR_ENV_VARS,
        }
        typer.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        return

    table = Table(title="reranker kinds", title_justify="left", show_lines=True)
    for title in ("spec", "what", "environment", "prices (per unit, date seen)"):
        table.add_column(title)
    for kind in kinds:
        spec = f"{kind.kind}:{kind.arg_help}" if kind.arg_help else kind.kind
        if kind.cost_basis == "hardware":
            listed = [f"busy time at ${h.usd_per_hour:g} per {h.device} hour ({h.date})"
                      for h in hardware]
        else:
            listed = [f"{p.model}: ${p.usd:g} per {p.per:,.0f} {p.unit}s ({p.date})"
                      for p in prices_of(kind)]
        table.add_row(spec, kind.summary, ", ".join(kind.env_vars),
                      "\n".join(listed or ["no dated price: cost is reported as unknown"]))
    out_console.print(table)
    shared = "; ".join(f"{name}: {what}" for name, what in SHARED_ENV_VARS.items())
    out_console.print(f"Every remote kind also reads: {shared}", highlight=False, markup=False)
    executors = "; ".join(f"{name}: {what}" for name, what in EXECUTOR_ENV_VARS.items())
    out_console.print(f"The executors read: {executors}", highlight=False, markup=False)


app.command("load")(load_command)
app.command("pool")(pool_command)
app.add_typer(cache_app, name="cache")


if __name__ == "__main__":
    app()
