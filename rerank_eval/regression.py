"""``check``: did quality drop significantly against a stored baseline?

With a baseline run folder (it has ``per_query.csv``), each reranker is compared with
itself in the baseline, paired by query: a regression is a drop whose Holm-corrected
randomization p-value is below ``alpha``. With only a baseline ``summary.json`` there is
nothing to pair, so a regression is a mean drop larger than ``tolerance``. A baseline
cell missing from the new run, or a new cell with errors, also fails the check: a CI
gate must not pass because something did not run.

Both sides are read through :func:`rerank_eval.store.read_run` / ``read_summary``, so a
baseline written by an older rerank-eval (an unversioned summary.json) still gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rerank_eval.comparison import Comparison, compare_runs
from rerank_eval.records import RunSummary
from rerank_eval.store import RunFolder, read_run, read_summary


@dataclass
class Finding:
    dataset: str
    reranker: str
    measure: str
    baseline: float | None
    current: float | None
    delta: float | None
    p_holm: float | None
    verdict: str  # "ok" | "regression" | "improvement" | "missing" | "errors"
    detail: str = ""


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    paired: bool = True

    @property
    def failed(self) -> bool:
        return any(f.verdict in ("regression", "missing", "errors") for f in self.findings)


def check(run_dir: Path, baseline: Path, measures: list[str], *, alpha: float = 0.05,
          tolerance: float = 0.01) -> CheckResult:
    current = read_run(run_dir)
    baseline = Path(baseline)
    if baseline.is_dir() and (baseline / "per_query.csv").is_file():
        old = read_run(baseline)
        result = _paired(current, old, measures, alpha)
        baseline_summary = old.summary
    else:
        baseline_summary = _baseline_summary(baseline)
        result = _unpaired(current.summary, baseline_summary, measures, tolerance)
    _missing_and_errors(current.summary, baseline_summary, result)
    return result


def _paired(current: RunFolder, baseline: RunFolder, measures: list[str],
            alpha: float) -> CheckResult:
    comparisons = compare_runs(current.require_per_query(), baseline.require_per_query(),
                               measures)
    result = CheckResult(paired=True)
    for c in comparisons:
        result.findings.append(Finding(
            dataset=c.dataset, reranker=c.system, measure=c.measure, baseline=c.baseline_mean,
            current=c.system_mean, delta=c.delta, p_holm=c.p_holm, verdict=_verdict(c, alpha),
            detail=f"95% CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}], {c.wins}/{c.ties}/{c.losses} "
                   f"wins/ties/losses over {c.n_queries} queries",
        ))
    return result


def _verdict(c: Comparison, alpha: float) -> str:
    if c.p_holm < alpha and c.delta < 0:
        return "regression"
    if c.p_holm < alpha and c.delta > 0:
        return "improvement"
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
                                           detail="in the baseline but not in this run"))
    for key, row in now.items():
        if row.errors:
            result.findings.append(Finding(*key, measure="", baseline=None, current=None,
                                           delta=None, p_holm=None, verdict="errors",
                                           detail=f"{row.errors} failed queries"))


def _baseline_summary(path: Path) -> RunSummary:
    if path.is_dir():
        return read_run(path).summary
    if not path.is_file():
        raise FileNotFoundError(f"baseline {path} is neither a run folder nor a summary.json")
    return read_summary(path)
