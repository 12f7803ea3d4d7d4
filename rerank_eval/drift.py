"""Provider drift: ``check RUN --recheck N`` asks remote rerankers again, cache bypassed.

A run's remote answers usually come from the response cache, so a provider that silently
changed its model goes unnoticed: the cached (old) answers still pass the gate. The
recheck rebuilds N of the run's requests from the run folder and sends them again with
``Runtime(response_cache=False)``, then compares each new ranking with the one the run
recorded (``runs/<dataset>/<reranker>.trec``) over the same candidates.

Rebuilding a request needs, per dataset x remote reranker:

- the dataset, loaded again from where the run loaded it (``DatasetSummary.source``; a
  folder written before that field existed is resolved by its name, like
  ``--dataset NAME``, without downloading) and checked against the recorded fingerprint;
- the candidates, in first-stage order, from ``runs/<dataset>/first-stage.trec``;
- the reranker from the cell's ``spec`` (redacted: keys come from the environment, as in
  the run) with the non-secret options the cell's journal header recorded.

The N queries are the run's reranked query ids in sorted order, every k-th (k = total / N,
deterministic). Per query: Kendall tau-b between the old and new scores, the overlap of
the two top-10s, and whether the top-10 (ids in trec_eval order) changed. A reranker
*drifted* when the share of rechecked queries whose top-10 changed exceeds ``max_drift``
(default 0: any change). Local rerankers are skipped with a note: they run here.

This module builds rerankers, so :mod:`rerank_eval.regression` and
:mod:`rerank_eval.comparison` (which must not) know nothing of it; the CLI's ``check``
runs both and reports them apart.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rerank_eval.journal import journal_path
from rerank_eval.metrics import trec_eval_order
from rerank_eval.records import FIRST_STAGE, CellSummary, DatasetSummary, SchemaError
from rerank_eval.run_dataset import reload_dataset
from rerank_eval.secrets import REDACTED, redact
from rerank_eval.store import RunFolder, read_run, run_path
from rerank_eval.text import clip
from rerank_eval.trec import TrecFileError, read_trec_run
from rerank_eval.types import Document, RerankRequest, Usage

TOP_K = 10
"""The depth whose change names a query (top-10 ids in trec_eval order)."""

STABLE, DRIFT, UNKNOWN, SKIPPED = "stable", "drift", "unknown", "skipped"


class DriftError(ValueError):
    """The recheck cannot be made (a usage or input error: the CLI's exit code 2)."""


@dataclass(frozen=True)
class QueryDrift:
    query_id: str
    tau: float | None
    """Kendall tau-b between old and new scores over the same candidates (None: < 2)."""
    overlap: float
    """|old top-10 ∩ new top-10| / the top-10's size."""
    changed: bool
    """The top-10 (ids in trec_eval order) differs."""


@dataclass
class RerankerDrift:
    """One dataset x reranker: what the recheck found, or why it was skipped."""

    dataset: str
    reranker: str
    spec: str
    verdict: str = STABLE
    """stable | drift | unknown (no request answered) | skipped (local, or not rechecked)"""
    note: str = ""
    queries: list[QueryDrift] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """``query id: error`` of the rechecks that failed."""
    usage: Usage = field(default_factory=Usage)
    """What the recheck sent (it is billed: the cache is bypassed)."""

    @property
    def checked(self) -> int:
        return len(self.queries)

    @property
    def changed(self) -> list[str]:
        return [q.query_id for q in self.queries if q.changed]

    @property
    def share_changed(self) -> float | None:
        return len(self.changed) / self.checked if self.checked else None

    @property
    def mean_tau(self) -> float | None:
        taus = [q.tau for q in self.queries if q.tau is not None]
        return sum(taus) / len(taus) if taus else None

    @property
    def mean_overlap(self) -> float | None:
        return (sum(q.overlap for q in self.queries) / self.checked) if self.checked else None

    def sentence(self) -> str:
        """The finding in words, naming the provider and the queries."""
        if self.verdict == SKIPPED:
            return f"{self.reranker} on {self.dataset}: skipped ({self.note})"
        if self.verdict == UNKNOWN:
            return (f"{self.reranker} on {self.dataset}: recheck failed for every query "
                    f"({clip('; '.join(self.failures[:3]), 300)})")
        tau = "–" if self.mean_tau is None else f"{self.mean_tau:.3f}"
        overlap = "–" if self.mean_overlap is None else f"{self.mean_overlap:.2f}"
        head = (f"{self.reranker} on {self.dataset}: top-10 changed on {len(self.changed)} of "
                f"{self.checked} rechecked queries (mean Kendall tau {tau}, mean top-10 "
                f"overlap {overlap})")
        if self.verdict == DRIFT:
            head += (": the provider now ranks differently than when this run was made (its "
                     "model or settings may have changed; cached answers hide it): "
                     + _listed(self.changed))
        if self.failures:
            head += f"; {len(self.failures)} recheck(s) failed"
        return head


@dataclass
class DriftResult:
    cells: list[RerankerDrift] = field(default_factory=list)
    n: int = 0
    max_drift: float = 0.0
    enforce: bool = False
    """Drift fails the check (``--max-drift`` given, or ``--strict``); else a warning."""
    strict: bool = False

    @property
    def findings(self) -> list[RerankerDrift]:
        return [c for c in self.cells if c.verdict != SKIPPED]

    @property
    def failed(self) -> bool:
        bad = ((DRIFT,) if self.enforce else ()) + ((DRIFT, UNKNOWN) if self.strict else ())
        return any(c.verdict in bad for c in self.cells)

    @property
    def warnings(self) -> list[RerankerDrift]:
        return [c for c in self.cells if c.verdict in (DRIFT, UNKNOWN)]


def sample(query_ids: list[str], n: int) -> list[str]:
    """N ids out of the sorted ``query_ids``, evenly spaced (every k-th, k = len / N)."""
    ids = sorted(query_ids)
    if n <= 0 or not ids:
        return []
    if n >= len(ids):
        return ids
    return [ids[(i * len(ids)) // n] for i in range(n)]


def compare_rankings(query_id: str, old: dict[str, float], new: dict[str, float],
                     k: int = TOP_K) -> QueryDrift:
    """Kendall tau-b over the documents both scored, top-k overlap, whether the top-k changed."""
    common = sorted(set(old) & set(new))
    old_top = [d for d, _ in trec_eval_order(old)[:k]]
    new_top = [d for d, _ in trec_eval_order(new)[:k]]
    size = max(1, min(len(old_top), len(new_top)))
    overlap = len(set(old_top) & set(new_top)) / size
    tau: float | None = None
    if len(common) >= 2:
        a = [old[d] for d in common]
        b = [new[d] for d in common]
        if a == b:
            tau = 1.0
        else:
            from scipy.stats import kendalltau

            value = float(kendalltau(a, b).statistic)
            tau = value if math.isfinite(value) else None
    return QueryDrift(query_id=query_id, tau=tau, overlap=overlap, changed=old_top != new_top)


def recheck(run_dir: Path, n: int, *, max_drift: float | None = None, strict: bool = False,
            runtime: Any = None) -> DriftResult:
    """Re-send ``n`` requests per remote reranker of the run folder; see the module doc.

    ``runtime``: a :class:`rerank_eval.rerankers.Runtime` (tests: an in-process transport);
    its response cache is always turned off.
    """
    return asyncio.run(recheck_async(run_dir, n, max_drift=max_drift, strict=strict,
                                     runtime=runtime))


async def recheck_async(run_dir: Path, n: int, *, max_drift: float | None = None,
                        strict: bool = False, runtime: Any = None) -> DriftResult:
    from rerank_eval.rerankers import Runtime

    run_dir = Path(run_dir)
    if n < 1:
        raise DriftError(f"--recheck takes a number of queries >= 1, got {n}")
    if not run_dir.is_dir():
        raise DriftError(f"{run_dir}: --recheck needs a run folder (it rebuilds the requests "
                         "from runs/ and the dataset), not a baseline or summary file")
    try:
        run = read_run(run_dir)
    except (FileNotFoundError, SchemaError) as exc:
        raise DriftError(str(exc)) from None
    runtime = replace(runtime or Runtime(), response_cache=False)
    result = DriftResult(n=n, max_drift=max_drift or 0.0, enforce=max_drift is not None or strict,
                         strict=strict)
    datasets = {d.name: d for d in run.summary.datasets}
    for name, summary in datasets.items():
        cells = [c for c in run.summary.results if c.dataset == name and c.reranker != FIRST_STAGE]
        plans = [(cell, _remote_spec(run, cell)) for cell in cells]
        remote = [(cell, spec) for cell, spec in plans if not isinstance(spec, RerankerDrift)]
        result.cells.extend(spec for _, spec in plans if isinstance(spec, RerankerDrift))
        if not remote:
            continue
        dataset = _load_dataset(summary)
        candidates = _read_trec(run_path(run_dir, name, FIRST_STAGE))
        if not candidates:
            raise DriftError(f"{run_path(run_dir, name, FIRST_STAGE)}: no first-stage "
                             "candidates to rebuild the requests from")
        for cell, spec in remote:
            result.cells.append(await _recheck_cell(run_dir, cell, spec, dataset, candidates,
                                                    n, result.max_drift, runtime))
    return result


def _remote_spec(run: RunFolder, cell: CellSummary) -> Any:
    """The cell's spec, options merged, for a remote kind; else a skipped finding."""
    from rerank_eval.rerankers.registry import known_kinds
    from rerank_eval.rerankers.spec import RerankerSpecError, parse_spec

    skipped = RerankerDrift(dataset=cell.dataset, reranker=cell.reranker, spec=cell.spec,
                            verdict=SKIPPED)
    try:
        parsed = parse_spec(cell.spec, _journal_options(run.path, cell))
    except RerankerSpecError as exc:
        raise DriftError(f"{cell.dataset} × {cell.reranker}: cannot read its spec: {exc}") \
            from None
    kinds = {k.kind: k for k in known_kinds()}
    kind = kinds.get(parsed.kind)
    if kind is None:
        skipped.note = f"unknown reranker kind {parsed.kind!r}"
        return skipped
    if kind.cost_basis != "usage":
        skipped.note = "local reranker: nothing remote can drift"
        return skipped
    if cell.failed and not cell.n_queries:
        skipped.note = "the run answered no query for it"
        return skipped
    options = {k: v for k, v in parsed.options.items() if v != REDACTED}
    return replace(parsed, options=options)


def _journal_options(run_dir: Path, cell: CellSummary) -> dict[str, Any]:
    """The non-secret options the cell's journal header recorded (a suite's options table)."""
    path = journal_path(run_dir, cell.dataset, cell.reranker)
    try:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except (OSError, ValueError):
        return {}
    options = ((header or {}).get("fingerprint") or {}).get("options") or {}
    return {str(k): _option_value(v) for k, v in options.items()} if isinstance(options, dict) \
        else {}


def _option_value(value: Any) -> Any:
    """Journal headers keep options as ``str(value)``: lists and tables come back."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def _load_dataset(summary: DatasetSummary) -> Any:
    from rerank_eval.datasets import DatasetError

    where = summary.source or summary.name
    try:
        dataset, differs = reload_dataset(summary)
    except (DatasetError, OSError, ValueError) as exc:
        raise DriftError(f"dataset {summary.name!r}: cannot load it again from {where!r} to "
                         f"rebuild the requests: {exc}") from None
    if differs is not None:
        raise DriftError(f"dataset {summary.name!r} at {differs}: not the data the run used")
    return dataset


def _read_trec(path: Path) -> dict[str, dict[str, float]]:
    """A recorded TREC run; {} when it is missing or unreadable (nothing to recheck)."""
    try:
        return read_trec_run(path)
    except (OSError, TrecFileError):
        return {}


async def _recheck_cell(run_dir: Path, cell: CellSummary, spec: Any, dataset: Any,
                        candidates: dict[str, dict[str, float]], n: int, max_drift: float,
                        runtime: Any) -> RerankerDrift:
    from rerank_eval.rerankers import create_reranker

    found = RerankerDrift(dataset=cell.dataset, reranker=cell.reranker, spec=cell.spec)
    recorded = _read_trec(run_path(run_dir, cell.dataset, cell.reranker))
    ids = [q for q in recorded if q in candidates and q in dataset.queries
           and all(d in dataset.corpus for d in candidates[q])]
    chosen = sample(ids, n)
    if not chosen:
        found.verdict, found.note = SKIPPED, "no recorded ranking to recheck"
        return found
    try:
        reranker = create_reranker(spec, runtime=runtime)
    except Exception as exc:  # missing key, bad option: the run could not work either
        raise DriftError(f"{cell.dataset} × {cell.reranker}: cannot build the reranker to "
                         f"recheck it: {redact(str(exc))}") from None
    semaphore = asyncio.Semaphore(max(1, int(reranker.max_concurrency)))
    outcomes: dict[str, QueryDrift] = {}

    async def one(query_id: str) -> None:
        doc_ids = list(candidates[query_id])
        request = RerankRequest(query=dataset.queries[query_id],
                                documents=[Document(text=dataset.corpus[d].full_text, id=d)
                                           for d in doc_ids])
        async with semaphore:
            try:
                response = await reranker.rerank(request)
                new = {doc_ids[r.index]: float(r.relevance_score) for r in response.results}
            except Exception as exc:  # counted and named; the others still run
                found.failures.append(f"{query_id}: {clip(redact(str(exc)), 200)}")
                return
        found.usage = found.usage + response.usage
        outcomes[query_id] = compare_rankings(query_id, recorded[query_id], new)

    try:
        await asyncio.gather(*(one(q) for q in chosen))
    finally:
        await reranker.aclose()
    found.queries = [outcomes[q] for q in chosen if q in outcomes]
    found.failures.sort()
    share = found.share_changed
    if share is None:
        found.verdict = UNKNOWN
    elif share > max_drift:
        found.verdict = DRIFT
    return found


def _listed(ids: list[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


def markdown(result: DriftResult) -> str:
    """The drift findings as Markdown (appended to ``--summary-md``)."""
    lines = [f"### Provider drift: {result.n} rechecked queries per remote reranker "
             "(response cache bypassed)", ""]
    if not result.cells:
        return "\n".join([*lines, "No reranker to recheck.", "", ""])
    status = "fail" if result.failed else ("warning" if result.warnings else "pass")
    lines += [f"Status: **{status}** (a reranker drifts when more than "
              f"{result.max_drift:.0%} of its rechecked queries change their top-10)", "",
              "| dataset | reranker | rechecked | top-10 changed | mean Kendall τ "
              "| mean top-10 overlap | verdict | queries changed |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in result.cells:
        if c.verdict == SKIPPED:
            lines.append(f"| {c.dataset} | {c.reranker} | – | – | – | – | skipped | {c.note} |")
            continue
        tau = "–" if c.mean_tau is None else f"{c.mean_tau:.3f}"
        overlap = "–" if c.mean_overlap is None else f"{c.mean_overlap:.2f}"
        detail = _listed(c.changed) or "none"
        if c.failures:
            detail += f" ({len(c.failures)} recheck(s) failed)"
        lines.append(f"| {c.dataset} | {c.reranker} | {c.checked} | {len(c.changed)} | {tau} "
                     f"| {overlap} | {c.verdict} | {detail} |")
    return "\n".join([*lines, "", ""])
