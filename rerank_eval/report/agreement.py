"""The report's Agreement section, per dataset: how alike the rankings are, pair by pair.

Shown for every dataset. When a dataset has no relevance labels (no metrics) it is the
report's main comparison, since quality cannot be measured; with labels it sits after
the quality tables. Either way the section says that agreement is not quality. The
numbers come from :mod:`rerank_eval.agreement` over the run folder's TREC files, and the
same table is written to ``agreement.csv`` beside the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rerank_eval.agreement import (
    AGREEMENT_FILE,
    CONFIDENCE,
    DEPTH,
    PERSISTENCE,
    RESAMPLES,
    PairAgreement,
    overlap_name,
    rbo_name,
    run_agreement,
    write_agreement_csv,
)
from rerank_eval.records import FIRST_STAGE
from rerank_eval.report.agreement_figures import agreement_heatmap, system_name
from rerank_eval.report.analysis import Analysis, DatasetAnalysis
from rerank_eval.report.figures import RenderedFigure
from rerank_eval.report.tables import Table, metric, number
from rerank_eval.store import RunFolder, read_run

NOT_QUALITY = ("Agreement is not quality: two rerankers can agree and both be wrong, and a "
               "reranker whose ranking agrees closely with the first stage's has changed "
               "little (for better or for worse).")
NO_LABELS = ("No relevance labels were given for this dataset, so there are no quality "
             "measures and the quality tables (leaderboard, comparisons, quality plots) are "
             "absent: the rerankers are compared here by how far their rankings agree with "
             "each other and with the first stage.")


@dataclass
class AgreementView:
    """What the Agreement section of one dataset shows."""

    dataset: str
    labelled: bool
    rows: list[PairAgreement]
    table: Table
    figure: RenderedFigure | None
    intro: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_quality: str = NOT_QUALITY


def agreement_views(run: RunFolder | Path, analysis: Analysis, *,
                    write_csv: bool = True) -> dict[str, AgreementView]:
    """dataset name -> its Agreement section; writes ``agreement.csv`` (atomically) too."""
    folder = run if isinstance(run, RunFolder) else read_run(Path(run))
    rows = run_agreement(folder, seed=analysis.seed)
    if write_csv:
        write_agreement_csv(folder.path / AGREEMENT_FILE, rows)
    return {d.name: dataset_view(analysis, d, [r for r in rows if r.dataset == d.name])
            for d in analysis.datasets}


def dataset_view(analysis: Analysis, dataset: DatasetAnalysis,
                 rows: Sequence[PairAgreement]) -> AgreementView:
    systems = list(dict.fromkeys(s for r in rows for s in (r.b, r.a) if s == FIRST_STAGE))
    systems += list(dict.fromkeys(s for r in rows for s in (r.a, r.b) if s != FIRST_STAGE))
    labelled = dataset.labelled
    intro = [] if labelled else [NO_LABELS]
    intro.append(
        f"How alike the rankings are, pair by pair, over the queries both ranked. "
        f"{overlap_name(DEPTH)} is the share of the top {DEPTH} that two rankings have in "
        f"common (of the candidates, when a query has fewer than {DEPTH}). "
        f"{rbo_name(PERSISTENCE)} is rank-biased overlap (Webber, Moffat and Zobel, 2010; "
        "the extrapolated RBO_ext of the whole rankings): the expected share in common at a "
        f"depth chosen with weight decaying by {PERSISTENCE:g} per rank, so the top ranks "
        f"count most (the first {DEPTH} carry 86% of the weight); 1 is the same order, 0 "
        f"nothing in common. Each mean comes with its {CONFIDENCE:.0%} percentile bootstrap "
        f"confidence interval over queries ({RESAMPLES:,} resamples, seed {analysis.seed}).")
    notes = identical_notes(rows)
    if not rows:
        notes.append("Fewer than two rankings of this dataset are in the run folder: there "
                      "is no pair to compare.")
    return AgreementView(dataset=dataset.name, labelled=labelled, rows=list(rows),
                         table=agreement_table(dataset.slug, rows),
                         figure=agreement_heatmap(dataset.name, dataset.slug, systems, rows),
                         intro=intro, notes=notes)


def identical_notes(rows: Sequence[PairAgreement]) -> list[str]:
    """A sentence for each pair that ranked every query the same (RBO 1 on each)."""
    notes = []
    for r in rows:
        if r.measure != rbo_name(PERSISTENCE) or not r.n_queries or r.ci_low < 1.0:
            continue
        queries = f"all {r.n_queries:,} queries" if r.n_queries > 1 else "its one query"
        if r.b == FIRST_STAGE:
            notes.append(f"{r.a} left the first stage's ranking as it was on {queries}: "
                         "reranking with it changed nothing.")
        else:
            notes.append(f"{r.a} and {r.b} ranked {queries} identically.")
    return notes


def agreement_table(slug: str, rows: Sequence[PairAgreement]) -> Table:
    """One row per pair: its query count, then each measure's mean and CI."""
    measures = list(dict.fromkeys(r.measure for r in rows)) or [overlap_name(DEPTH),
                                                                 rbo_name(PERSISTENCE)]
    headers = [("ranking A", "l"), ("ranking B", "l"), ("queries", "r")]
    for m in measures:
        headers += [(m, "r"), (f"{CONFIDENCE:.0%} CI", "r")]
    by_pair: dict[tuple[str, str], dict[str, PairAgreement]] = {}
    for r in rows:
        by_pair.setdefault((r.a, r.b), {})[r.measure] = r
    body = []
    for (a, b), found in by_pair.items():
        n = max(r.n_queries for r in found.values())
        cells = [system_name(a), _b_label(b), number(n)]
        for m in measures:
            r = found.get(m)
            cells += [metric(r.mean) if r else "–", _interval(r) if r else "–"]
        body.append(cells)
    return Table(key=f"{slug}-agreement", headers=[h for h, _ in headers],
                 align=[a for _, a in headers], rows=body, row_classes=[""] * len(body))


def _b_label(name: str) -> str:
    return "first stage (no reranking)" if name == FIRST_STAGE else name


def _interval(r: PairAgreement) -> str:
    if r.ci_low != r.ci_low or r.ci_high != r.ci_high:  # NaN: no query in common
        return "–"
    return f"[{r.ci_low:.4f}, {r.ci_high:.4f}]"
