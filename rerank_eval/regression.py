"""``check``: a CI gate on quality (non-inferiority), latency and cost against a baseline.

The baseline is a run folder, a ``baseline.json`` (:mod:`rerank_eval.baseline`), both
paired by query, or a bare ``summary.json`` (means only).

**Quality, paired** (a baseline with per-query values). Each reranker is compared with
itself in the baseline on the queries both have, for each measure (default the headline
nDCG@10): the mean difference ``delta`` (new - old), its 95% paired-bootstrap confidence
interval, and a two-sided paired randomization test, Holm-corrected across the rerankers
of one dataset and measure. With ``D = max_drop``:

- **regression**: significant (Holm p < ``alpha``) and ``delta < -D``;
- **improvement**: significant and ``delta > 0``;
- **inconclusive**: not significant, but the CI reaches below ``-D``: the data cannot tell
  a drop larger than D from noise. A warning (exit 0), or a failure with ``strict``. The
  finding gives the number of queries that would decide it, from the standard deviation
  ``sd`` of the per-query differences::

      n = ((z_{1 - alpha/2} + z_{power}) * sd / D) ** 2      (power 0.8)

  the sample size at which a true drop of D would be significant at ``alpha`` with
  probability ``power`` (normal approximation of the paired test);
- **ok** otherwise (including a significant drop no larger than D: non-inferior).

**Quality, means only** (a bare summary.json): a mean drop larger than ``tolerance``.

**Budgets**, apart from quality: ``max_p95_ms`` against each reranker's p95 latency and
``max_cost_per_1k`` against its USD per 1,000 queries; exceeding one fails. An unknown
value (not recorded) is a warning, a failure with ``strict``.

A baseline cell missing from the new run, or a new cell with errors, also fails: a CI
gate must not pass because something did not run.

Input problems are :class:`CheckError` (the CLI's exit 2): a measure either side lacks
(named, with the measures the run has), a dataset whose fingerprint differs, nothing in
common. Both sides are read through :func:`rerank_eval.store.read_run` (or
:func:`rerank_eval.baseline.load_baseline`), never through the harness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from rerank_eval.baseline import cost_per_1k, is_baseline_file, load_baseline
from rerank_eval.comparison import Comparison, Pairing, compare_runs, pair_runs, paired_differences
from rerank_eval.records import CellSummary, RunSummary
from rerank_eval.store import RunFolder, read_run, read_summary

HEADLINE_MEASURE = "nDCG@10"
DEFAULT_MAX_DROP = 0.01
DEFAULT_POWER = 0.8

FAILING = ("regression", "missing", "errors", "over budget")
"""Verdicts that fail the check; ``inconclusive`` and ``unknown`` fail only when strict."""
WARNING = ("inconclusive", "unknown")


class CheckError(ValueError):
    """The check cannot be made (a usage or input error): the CLI's exit code 2."""


@dataclass
class Finding:
    dataset: str
    reranker: str
    measure: str
    baseline: float | None
    current: float | None
    delta: float | None
    p_holm: float | None
    verdict: str
    """ok | improvement | regression | inconclusive | missing | errors
    | within budget | over budget | unknown"""
    detail: str = ""
    kind: str = "quality"
    """quality | latency | cost | run (a missing or failed cell)."""
    ci_low: float | None = None
    ci_high: float | None = None
    n_queries: int | None = None
    queries_needed: int | None = None
    """Inconclusive only: queries that would decide a drop of ``max_drop`` (see module doc)."""


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    paired: bool = True
    strict: bool = False
    pairing: Pairing | None = None
    max_drop: float = DEFAULT_MAX_DROP

    @property
    def failed(self) -> bool:
        bad = FAILING + (WARNING if self.strict else ())
        return any(f.verdict in bad for f in self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict in WARNING]

    def of_kind(self, *kinds: str) -> list[Finding]:
        return [f for f in self.findings if f.kind in kinds]


def queries_needed(sd: float, max_drop: float, alpha: float = 0.05,
                   power: float = DEFAULT_POWER) -> int | None:
    """Queries for a drop of ``max_drop`` to be significant: ((z_{1-a/2} + z_power) sd / D)^2.

    None when it cannot be said (no drop allowed, or no variance).
    """
    if max_drop <= 0 or not math.isfinite(sd) or sd <= 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil((z * sd / max_drop) ** 2)


def load_side(path: Path, what: str = "run") -> RunFolder:
    """A run folder, a baseline.json or a bare summary.json, read as a run folder."""
    path = Path(path)
    if path.is_dir():
        return read_run(path)
    if is_baseline_file(path):
        return load_baseline(path)
    if path.is_file():
        # A bare summary.json gates on means only, even beside a per_query.csv.
        return RunFolder(path=path, summary=read_summary(path),
                         per_query=pd.DataFrame(columns=["dataset", "reranker", "query_id"]),
                         key_columns=[], measures=[], has_per_query=False)
    raise FileNotFoundError(f"{what} {path} is neither a run folder, a baseline.json nor a "
                            "summary.json")


def available_measures(run: RunFolder) -> list[str]:
    """The measures a run (or baseline) has values of: per-query columns, else summary means
    (a run of an unlabelled dataset declares its measures but has no value of any)."""
    if run.has_per_query and len(run.per_query):
        return [m for m in run.measures if run.per_query[m].notna().any()]
    names: dict[str, None] = {}
    for cell in run.summary.results:
        names.update(dict.fromkeys(cell.metrics))
    return list(names)


def check(run_dir: Path, baseline: Path, measures: list[str] | None = None, *,
          alpha: float = 0.05, tolerance: float = 0.01, max_drop: float = DEFAULT_MAX_DROP,
          strict: bool = False, max_p95_ms: float | None = None,
          max_cost_per_1k: float | None = None, power: float = DEFAULT_POWER) -> CheckResult:
    """Gate ``run_dir`` against ``baseline`` (folder, baseline.json or summary.json)."""
    measures = list(measures or [HEADLINE_MEASURE])
    current = read_run(run_dir)
    old = load_side(baseline, "baseline")
    for name, side in (("the run", current), ("the baseline", old)):
        have = available_measures(side)
        missing = [m for m in measures if m not in have]
        if missing:
            raise CheckError(f"{name} {side.path} has no measure {', '.join(missing)}; "
                             f"it has: {', '.join(have) or 'none'}"
                             + ("" if have else " (were its datasets unlabelled? a run "
                                "without relevance labels has no quality to gate on)"))
    pairing = pair_runs(current, old)
    if pairing.fingerprint_mismatch:
        raise CheckError("dataset fingerprint differs between the run and the baseline for "
                         f"{', '.join(pairing.fingerprint_mismatch)}: they were not evaluated "
                         "on the same data")
    if pairing.empty:
        raise CheckError("nothing in common: " + pairing.empty_reason())
    if pairing.paired:
        result = _paired(current, old, measures, alpha, max_drop, power)
    else:
        result = _unpaired(current.summary, old.summary, measures, tolerance)
    result.strict, result.pairing, result.max_drop = strict, pairing, max_drop
    _missing_and_errors(current.summary, old.summary, result)
    _budgets(current.summary, old.summary, result, max_p95_ms, max_cost_per_1k)
    return result


def _paired(current: RunFolder, baseline: RunFolder, measures: list[str], alpha: float,
            max_drop: float, power: float) -> CheckResult:
    new, old = current.require_per_query(), baseline.require_per_query()
    comparisons = compare_runs(new, old, measures)
    result = CheckResult(paired=True)
    for c in comparisons:
        verdict = _verdict(c, alpha, max_drop)
        needed = None
        detail = (f"95% CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}], {c.wins}/{c.ties}/{c.losses} "
                  f"wins/ties/losses over {c.n_queries} queries")
        if verdict == "inconclusive":
            diffs = paired_differences(new, old, c.dataset, c.system, c.measure)
            sd = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
            needed = queries_needed(sd, max_drop, alpha, power)
            detail += (f"; the CI reaches below -{max_drop:g} but the drop is not significant"
                       + (f": about {needed} queries would decide a drop of {max_drop:g} "
                          f"(power {power:g})" if needed else ""))
        elif verdict == "ok" and c.delta < 0 and c.p_holm < alpha:
            detail += f"; significant drop within --max-drop {max_drop:g}"
        result.findings.append(Finding(
            dataset=c.dataset, reranker=c.system, measure=c.measure, baseline=c.baseline_mean,
            current=c.system_mean, delta=c.delta, p_holm=c.p_holm, verdict=verdict,
            detail=detail, ci_low=c.ci_low, ci_high=c.ci_high, n_queries=c.n_queries,
            queries_needed=needed,
        ))
    return result


def _verdict(c: Comparison, alpha: float, max_drop: float) -> str:
    significant = c.p_holm < alpha
    if significant and c.delta < -max_drop:
        return "regression"
    if significant and c.delta > 0:
        return "improvement"
    if not significant and c.ci_low < -max_drop:
        return "inconclusive"
    return "ok"


def _unpaired(current: RunSummary, baseline: RunSummary, measures: list[str],
              tolerance: float) -> CheckResult:
    result = CheckResult(paired=False)
    now = {(r.dataset, r.reranker): r for r in current.results}
    for row in baseline.results:
        key = (row.dataset, row.reranker)
        if key not in now:
            continue
        for measure in measures:
            old, new = row.metrics.get(measure), now[key].metrics.get(measure)
            if old is None or new is None:
                continue
            delta = new - old
            verdict = "regression" if delta < -tolerance else (
                "improvement" if delta > tolerance else "ok")
            result.findings.append(Finding(
                dataset=key[0], reranker=key[1], measure=measure, baseline=old, current=new,
                delta=delta, p_holm=None, verdict=verdict,
                detail=f"means only (no per-query baseline): tolerance {tolerance}",
            ))
    return result


def _missing_and_errors(current: RunSummary, baseline: RunSummary,
                        result: CheckResult) -> None:
    now = {(r.dataset, r.reranker): r for r in current.results}
    for row in baseline.results:
        key = (row.dataset, row.reranker)
        if key not in now:
            result.findings.append(Finding(*key, measure="", baseline=None, current=None,
                                           delta=None, p_holm=None, verdict="missing",
                                           detail="in the baseline but not in this run",
                                           kind="run"))
    for key, row in now.items():
        if row.errors:
            result.findings.append(Finding(*key, measure="", baseline=None, current=None,
                                           delta=None, p_holm=None, verdict="errors",
                                           detail=f"{row.errors} failed queries", kind="run"))


def _budgets(current: RunSummary, baseline: RunSummary, result: CheckResult,
             max_p95_ms: float | None, max_cost_per_1k: float | None) -> None:
    before = {(c.dataset, c.reranker): c for c in baseline.results}

    def p95(cell: CellSummary | None) -> float | None:
        return None if cell is None else cell.latency_ms.get("p95")

    def per_1k(cell: CellSummary | None) -> float | None:
        return None if cell is None else cost_per_1k(cell)

    budgets = [("latency", "p95 ms", max_p95_ms, p95, "ms"),
               ("cost", "$ / 1k queries", max_cost_per_1k, per_1k, "USD per 1,000 queries")]
    for kind, label, budget, value_of, unit in budgets:
        if budget is None:
            continue
        for cell in current.results:
            value, old = value_of(cell), value_of(before.get((cell.dataset, cell.reranker)))
            if value is None:
                verdict, detail = "unknown", f"not recorded in this run; budget {budget:g} {unit}"
            else:
                verdict = "over budget" if value > budget else "within budget"
                detail = f"budget {budget:g} {unit}"
            result.findings.append(Finding(
                dataset=cell.dataset, reranker=cell.reranker, measure=label, baseline=old,
                current=value, delta=None if value is None or old is None else value - old,
                p_holm=None, verdict=verdict, detail=detail, kind=kind))


# -- the Markdown summary (pull-request comment, $GITHUB_STEP_SUMMARY) ---------------------


def markdown_summary(result: CheckResult, run: str, baseline: str) -> str:
    """The findings as Markdown: a status line, what was paired, quality and budget tables."""
    status = "❌ failed" if result.failed else (
        "⚠️ passed with warnings" if result.warnings else "✅ passed")
    lines = [f"### rerank-eval check: {status}", "",
             f"`{run}` against `{baseline}`"
             + ("" if result.paired else " (means only: the baseline has no per-query values)")
             + f"; max drop {result.max_drop:g}" + (", strict" if result.strict else ""), ""]
    if result.pairing is not None:
        lines += [f"- {line}" for line in result.pairing.lines("this run", "the baseline")]
        lines.append("")
    quality = result.of_kind("quality", "run")
    if quality:
        lines += ["| dataset | reranker | measure | baseline | now | Δ | 95% CI | p (Holm) | "
                  "verdict | queries needed |",
                  "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- | ---: |"]
        for f in quality:
            ci = "–" if f.ci_low is None else f"[{f.ci_low:+.4f}, {f.ci_high:+.4f}]"
            lines.append(f"| {f.dataset} | {f.reranker} | {f.measure or '–'} | "
                         f"{_num(f.baseline)} | {_num(f.current)} | {_num(f.delta, True)} | "
                         f"{ci} | {_num(f.p_holm)} | {_mark(f.verdict)} | "
                         f"{f.queries_needed or '–'} |")
        lines.append("")
    budgets = result.of_kind("latency", "cost")
    if budgets:
        lines += ["| dataset | reranker | budget on | baseline | now | limit | verdict |",
                  "| --- | --- | --- | ---: | ---: | --- | --- |"]
        for f in budgets:
            lines.append(f"| {f.dataset} | {f.reranker} | {f.measure} | {_num(f.baseline, g=True)}"
                         f" | {_num(f.current, g=True)} | {f.detail} | {_mark(f.verdict)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _mark(verdict: str) -> str:
    marks = {"regression": "❌ regression", "missing": "❌ missing", "errors": "❌ errors",
             "over budget": "❌ over budget", "inconclusive": "⚠️ inconclusive",
             "unknown": "⚠️ unknown", "improvement": "✅ improvement"}
    return marks.get(verdict, verdict)


def _num(value: float | None, signed: bool = False, g: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if g:
        return f"{value:.4g}"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
