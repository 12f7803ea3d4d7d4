"""What :func:`rerank_eval.evaluate` returns: a run folder, seen as DataFrames.

Everything here is read back from the run folder through the one reader
(:func:`rerank_eval.store.read_run`), so ``.summary`` holds exactly summary.json's
numbers, ``.per_query`` is per_query.csv, ``.compare()`` gives the numbers the report and
``rerank-eval compare`` give (the same :mod:`rerank_eval.comparison` functions, the same
seeds), and ``.write_report()`` writes the same report ``rerank-eval run`` does. A result
can also be made from any run folder, e.g. one the command line wrote:
``EvaluationResult.read("reports/scifact")``.
"""

from __future__ import annotations

import html
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from rerank_eval.comparison import Comparison, compare_runs, compare_systems, pair_runs
from rerank_eval.records import FIRST_STAGE, CellSummary, DatasetSummary
from rerank_eval.store import RunFolder, read_run

PRIMARY_MEASURE = "nDCG@10"
"""The measure ``compare()`` tests when none is named (the reports' headline measure)."""
ALPHA = 0.05

LATENCY_COLUMNS = {"p50": "latency_p50_ms", "p95": "latency_p95_ms", "p99": "latency_p99_ms"}
COMPARISON_COLUMNS = ["dataset", "measure", "reranker", "baseline", "n_queries", "mean",
                      "baseline_mean", "delta", "ci_low", "ci_high", "p_value", "p_holm",
                      "significant", "wins", "ties", "losses", "confidence", "n_resamples",
                      "seed"]


class EvaluationResult:
    """A finished evaluation: its run folder, and DataFrames of what is in it.

    ``summary``: one row per (dataset, reranker), the first stage included as
    ``first-stage``: the measures, serving latency p50/p95/p99 (ms), evaluation throughput
    (candidates per second), cost (USD, and per 1,000 queries) where recorded, errors.
    ``per_query``: per_query.csv. ``run_dir``: the folder (a temporary one, removed with
    this object, when ``evaluate`` was not given ``out``).
    """

    def __init__(self, run_dir: str | os.PathLike[str], *,
                 workdir: tempfile.TemporaryDirectory[str] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self._workdir = workdir
        """Keeps a temporary run folder alive as long as this result."""
        self.folder: RunFolder = read_run(self.run_dir)
        """The run folder as :func:`rerank_eval.store.read_run` reads it."""
        self._summary = summary_frame(self.folder)

    @classmethod
    def read(cls, run_dir: str | os.PathLike[str]) -> EvaluationResult:
        """The result of a run folder written earlier (by ``evaluate`` or ``rerank-eval run``)."""
        return cls(run_dir)

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary

    @property
    def per_query(self) -> pd.DataFrame:
        return self.folder.per_query

    @property
    def measures(self) -> list[str]:
        return list(self.folder.measures)

    @property
    def failed(self) -> list[CellSummary]:
        """The (dataset, reranker) cells with failed queries; their messages are in
        ``error_messages``."""
        return self.folder.summary.failed

    def compare(self, baseline: str | EvaluationResult | os.PathLike[str] = FIRST_STAGE,
                measure: str | Sequence[str] | None = None, *,
                alpha: float = ALPHA) -> pd.DataFrame:
        """Paired comparisons, one row per (dataset, measure, reranker).

        ``baseline`` a string: a reranker of this run (default the first stage's own
        ranking), compared with every other on the queries both have, exactly as the
        report does. ``baseline`` another result or a run folder's path: each reranker
        against itself in that run, as ``rerank-eval compare THIS THAT`` does.
        ``measure``: one or more measures of the run (default nDCG@10). Columns: means,
        ``delta`` (mean of per-query differences), its 95% bootstrap CI (``ci_low``,
        ``ci_high``), the paired randomization test's ``p_value`` and its Holm-corrected
        ``p_holm`` (across the rerankers of one dataset and measure), ``significant``
        (``p_holm < alpha``), wins/ties/losses.
        """
        if isinstance(baseline, str):
            measures = self._measures(measure, self.folder)
            self._check_reranker(baseline)
            comparisons = compare_systems(self.per_query, baseline, measures)
        else:
            other = baseline if isinstance(baseline, EvaluationResult) else \
                EvaluationResult.read(baseline)
            measures = self._measures(measure, self.folder, other.folder)
            pairing = pair_runs(self.folder, other.folder)
            if pairing.empty:
                raise ValueError("nothing in common: " + pairing.empty_reason(
                    str(self.run_dir), str(other.run_dir)))
            comparisons = compare_runs(self.folder.require_per_query(),
                                       other.folder.require_per_query(), measures)
        return comparison_frame(comparisons, alpha)

    def write_report(self, directory: str | os.PathLike[str] | None = None, *,
                     baseline: str = FIRST_STAGE, qps: float | None = None) -> list[Path]:
        """Write ``report.md`` (with ``figures/``) and the self-contained ``report.html``.

        They are rendered into the run folder, as ``rerank-eval run`` does, then copied
        into ``directory`` when one is given; returns the report files written there.
        ``baseline`` and ``qps`` are ``rerank-eval report``'s options.
        """
        from rerank_eval.report import write_reports
        from rerank_eval.report.writer import FIGURES_DIR

        self._check_reranker(baseline)
        written = write_reports(self.run_dir, baseline=baseline, qps=qps)
        if directory is None:
            return written
        target = Path(directory)
        if target.exists() and target.resolve() == self.run_dir.resolve():
            return written
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for path in written:
            shutil.copyfile(path, target / path.name)
            copied.append(target / path.name)
        figures, target_figures = self.run_dir / FIGURES_DIR, target / FIGURES_DIR
        if figures.is_dir():
            target_figures.mkdir(exist_ok=True)
            wanted = {p.name for p in figures.glob("*.png")}
            for stale in target_figures.glob("*.png"):
                if stale.name not in wanted:
                    stale.unlink()
            for png in sorted(figures.glob("*.png")):
                shutil.copyfile(png, target_figures / png.name)
        return copied

    def _measures(self, measure: str | Sequence[str] | None, *runs: RunFolder) -> list[str]:
        if measure is None:
            if not self.folder.measures:
                raise ValueError(f"{self.run_dir} has no per-query measures to compare")
            measures = [PRIMARY_MEASURE if PRIMARY_MEASURE in self.folder.measures
                        else self.folder.measures[0]]
        else:
            measures = [measure] if isinstance(measure, str) else list(measure)
        for run in runs:
            lacking = [m for m in measures if m not in run.measures]
            if lacking:
                raise ValueError(f"{run.path} has no measure {', '.join(lacking)}; it has: "
                                 f"{', '.join(run.measures) or 'none'}")
        return measures

    def _check_reranker(self, name: str) -> None:
        from rerank_eval.suite import check_baseline

        check_baseline(name, dict.fromkeys(c.reranker for c in self.folder.summary.results),
                       f"of the run in {self.run_dir}")

    def __repr__(self) -> str:
        lines = [f"EvaluationResult({str(self.run_dir)!r}): {self._what()}"]
        if len(self._summary):
            lines.append(self._summary.drop(columns=["spec"]).to_string(
                index=False, float_format=_number))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self._summary.to_html(index=False, float_format=_number, na_rep="–",
                                      border=0)
        return (f"<p><b>rerank-eval</b>: {html.escape(self._what())}<br>"
                f"run folder <code>{html.escape(str(self.run_dir))}</code></p>{table}")

    def _what(self) -> str:
        summary = self.folder.summary
        datasets = ", ".join(d.name for d in summary.datasets) or "no dataset"
        rerankers = ", ".join(dict.fromkeys(c.reranker for c in summary.results)) or "none"
        text = f"{datasets} × {rerankers}"
        if self.failed:
            text += "; FAILED: " + ", ".join(f"{c.dataset} × {c.reranker} ({c.errors} errors)"
                                             for c in self.failed)
        return text


def summary_frame(run: RunFolder) -> pd.DataFrame:
    """summary.json as a table: per dataset the first stage, then each reranker."""
    measures = list(run.summary.suite.measures or run.measures)
    columns = ["dataset", "reranker", "spec", "n_queries", *measures,
               *LATENCY_COLUMNS.values(), "throughput_docs_per_s", "cost_usd",
               "cost_per_1k_queries_usd", "errors"]
    rows: list[dict[str, Any]] = []
    cells = list(run.summary.results)
    for dataset in run.summary.datasets:
        rows.append(_first_stage_row(dataset, measures))
        rows += [_cell_row(c, measures) for c in cells if c.dataset == dataset.name]
    known = {d.name for d in run.summary.datasets}
    rows += [_cell_row(c, measures) for c in cells if c.dataset not in known]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[4:-1]:
        frame[column] = frame[column].astype(float)
    return frame


def _first_stage_row(dataset: DatasetSummary, measures: list[str]) -> dict[str, Any]:
    first = dataset.first_stage
    spec = "run file" if first.method == "run" else (first.method or "?")
    return {"dataset": dataset.name, "reranker": FIRST_STAGE,
            "spec": f"{spec} top-{first.top_k}", "n_queries": dataset.n_queries,
            **{m: first.metrics.get(m) for m in measures}, "errors": 0}


def _cell_row(cell: CellSummary, measures: list[str]) -> dict[str, Any]:
    cost = cell.cost_usd
    return {"dataset": cell.dataset, "reranker": cell.reranker, "spec": cell.spec,
            "n_queries": cell.n_queries, **{m: cell.metrics.get(m) for m in measures},
            **{column: cell.latency_ms.get(key) for key, column in LATENCY_COLUMNS.items()},
            "throughput_docs_per_s": cell.throughput_docs_per_s, "cost_usd": cost,
            "cost_per_1k_queries_usd": (None if cost is None or not cell.n_queries
                                        else cost / cell.n_queries * 1000),
            "errors": cell.errors}


def comparison_frame(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> pd.DataFrame:
    rows = []
    for c in comparisons:
        row = asdict(c)
        row["reranker"] = row.pop("system")
        row["mean"] = row.pop("system_mean")
        row["significant"] = c.significant(alpha)
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _number(value: float) -> str:
    """Measures to 4 decimals, large numbers (ms, docs/s) to 1, tiny costs to 2 digits."""
    if math.isnan(value):
        return "–"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.2g}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"
