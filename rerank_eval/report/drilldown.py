"""The per-query drill-down of a report: which queries the rerankers differ on, and how.

For each dataset it picks the queries worth reading — the :data:`FEATURED` biggest wins
and losses against the report's baseline on the headline measure — and lays out, for
each of them and for every query of the searchable list, the query text and side by side
per system its top :data:`TOP_N` documents: title, the first :data:`SNIPPET_CHARS`
characters, the relevance grade (or "unjudged") and the rank the document had in the
first stage ("moved from": every reranker reorders the first stage's candidates, whatever
the baseline).

**Which queries.** With several rerankers a query is a win when *some* reranker gained
on it: wins are the queries with the largest difference of any reranker over the
baseline, losses those with the largest drop of any reranker (a query where one reranker
gains and another loses is in both lists: that is where they differ most). Picking by
the best reranker alone would hide the failures of the others. A dataset without
judgments (or whose baseline has no results) has no differences to rank by: the queries
are then those where the systems agree least, by the mean overlap of their top 10s.

**Size.** Everything is in the HTML (``<details>`` elements, readable without script), and
report.html stays under :data:`REPORT_BYTES`: the drill-downs get what the figures and
tables leave, shared evenly by the datasets. The featured queries are always complete;
entries of the all-queries list (biggest differences first) get their summary line as far
as it goes (the rest are left out), then their documents' titles, then the snippets, and
the report says where each cut fell.

Everything comes from the run folder: rankings (``runs/<dataset>/*.trec``), per-query
values (per_query.csv), texts (:mod:`rerank_eval.run_texts`) and judgments
(:mod:`rerank_eval.run_qrels`); a folder written before texts or judgments were kept
shows ids, or no grades, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import pandas as pd

from rerank_eval.records import FIRST_STAGE
from rerank_eval.report.analysis import Analysis, DatasetAnalysis
from rerank_eval.report.figures import RenderedFigure
from rerank_eval.run_qrels import read_run_qrels
from rerank_eval.run_texts import RunTexts, read_run_texts
from rerank_eval.store import RunFolder, read_run

TOP_N = 10
"""Documents shown per system and query."""
FEATURED = 10
"""Wins, and losses, featured per dataset (twice as many most-disagreed queries)."""
SNIPPET_CHARS = 200
MARKDOWN_TITLES = 3
"""Titles per system in the Markdown report's compact version."""
REPORT_BYTES = 4_600_000
"""What a whole report.html may weigh (under 5 MB with a margin): the drill-downs get what
its figures and the rest leave of it."""
OTHER_BYTES_PER_DATASET = 100_000
"""A dataset's tables and notes in report.html, generously."""
MIN_BUDGET_BYTES = 300_000
"""The least a dataset's drill-down gets, however many figures the report has."""

FULL, TITLES, SUMMARY = "full", "titles", "summary"
"""How much of a list entry is rendered: snippets too, titles only, the summary line."""

# Bytes a rendered element takes beyond its text (markup, grade, rank): measured on
# SciFact, rounded up, so that the estimate errs on the large side (by about 5%).
_QUERY_MARKUP = 150
_LINE_PER_SYSTEM = 24
_COLUMN_MARKUP = 120
_DOC_MARKUP = 115
_SNIPPET_MARKUP = 35


# -- small pure functions ----------------------------------------------------------------


def moved_from(rank: int, first_stage_rank: int | None) -> str:
    """Where a document at ``rank`` (1-based) was in the first stage: ``=``, ``↑ from 14``,
    ``↓ from 3``, or ``new`` when the first stage did not rank it."""
    if first_stage_rank is None:
        return "new"
    if first_stage_rank == rank:
        return "="
    return f"{'↑' if first_stage_rank > rank else '↓'} from {first_stage_rank}"


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The first ``limit`` characters of ``text`` (whitespace folded), ``…`` when cut."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[:limit].rstrip() + "…"


def same_rank(a: Sequence[str], b: Sequence[str], k: int = TOP_N) -> float:
    """Share of the top ``k`` ranks at which two rankings hold the same document (the
    longer list's length when both are shorter); 1.0 for two empty lists. Unlike the
    overlap, it tells apart two orderings of the same documents."""
    size = min(k, max(len(a), len(b)))
    return 1.0 if not size else sum(x == y for x, y in zip(a[:k], b[:k], strict=False)) / size


def top_overlap(a: Sequence[str], b: Sequence[str], k: int = TOP_N) -> float:
    """Share of the top ``k`` two rankings have in common (k, or the longer list when both
    are shorter, is the denominator); 1.0 for two empty lists."""
    top_a, top_b = set(a[:k]), set(b[:k])
    size = min(k, max(len(a), len(b)))
    return 1.0 if not size else len(top_a & top_b) / size


def extremes(deltas: Mapping[str, Mapping[str, float]],
             n: int = FEATURED) -> tuple[list[str], list[str]]:
    """The ``n`` biggest wins and losses: query ids by the largest difference of any system
    (positive only, largest first) and by the largest drop of any system (negative only,
    largest drop first); ties by query id."""
    gains = [(max(d.values()), q) for q, d in deltas.items() if d and max(d.values()) > 0]
    drops = [(min(d.values()), q) for q, d in deltas.items() if d and min(d.values()) < 0]
    wins = [q for _, q in sorted(gains, key=lambda item: (-item[0], item[1]))[:n]]
    losses = [q for _, q in sorted(drops)[:n]]
    return wins, losses


# -- what the templates render -----------------------------------------------------------


@dataclass(frozen=True)
class DocRow:
    rank: int
    doc_id: str
    title: str
    """Empty when the run folder keeps no text for the document."""
    snippet: str
    grade: int | None
    """None: unjudged (or, without judgments in the folder, unknown)."""
    moved: str
    """Rank in the first stage (:func:`moved_from`); empty in the first stage's own column."""

    @property
    def relevant(self) -> bool:
        return self.grade is not None and self.grade > 0

    @property
    def css(self) -> str:
        """``g1``..``g3`` by grade (3 and above alike), ``g0`` judged non-relevant,
        ``unj`` unjudged."""
        if self.grade is None:
            return "unj"
        return f"g{min(max(self.grade, 0), 3)}"


@dataclass(frozen=True)
class Column:
    system: str
    value: float | None
    """The headline measure on this query (None: unlabelled, or no value)."""
    delta: float | None
    """Against the baseline (None for the baseline itself)."""
    docs: list[DocRow]
    relevant_found: int | None = None
    """Relevant documents in the top :data:`TOP_N` (None without judgments)."""


@dataclass
class QueryView:
    query_id: str
    text: str
    columns: list[Column]
    key: float
    """What picked or ordered it: the difference (wins and losses) or the overlap."""
    same_rank: float | None = None
    """Without labels: the mean share of the top ranks where the systems agree exactly."""
    n_relevant: int | None = None
    """Judged relevant documents of the query (None without judgments)."""
    detail: str = FULL

    def line(self, measure: str | None, baseline: str) -> str:
        """The one-line summary: each system's value (and difference), or the overlap."""
        if measure is None:
            return (f"top-{TOP_N} overlap {self.key:.2f}, same document at the same rank "
                    f"{self.same_rank if self.same_rank is not None else 1.0:.2f}")
        parts = []
        for c in self.columns:
            if c.value is None:
                parts.append(f"{c.system} –")
            elif c.delta is None or c.system == baseline:
                parts.append(f"{c.system} {c.value:.3f}")
            else:
                parts.append(f"{c.system} {c.value:.3f} ({c.delta:+.3f})")
        return f"{measure}: " + " · ".join(parts)


@dataclass
class DrillDown:
    dataset: str
    slug: str
    measure: str | None
    """The headline measure the queries are picked by; None: picked by disagreement."""
    baseline: str
    systems: list[str]
    intro: str
    wins: list[QueryView] = field(default_factory=list)
    losses: list[QueryView] = field(default_factory=list)
    disagreements: list[QueryView] = field(default_factory=list)
    queries: list[QueryView] = field(default_factory=list)
    """The searchable list, biggest differences (or least agreement) first."""
    notes: list[str] = field(default_factory=list)
    has_grades: bool = True
    """Whether the folder keeps judgments for the dataset (not for an unlabelled one)."""

    @property
    def featured(self) -> list[tuple[str, str, list[QueryView]]]:
        """(anchor suffix, heading, queries) of each featured group that has queries."""
        groups = [("wins", "Biggest wins", self.wins), ("losses", "Biggest losses", self.losses),
                  ("disagree", "Least agreement", self.disagreements)]
        return [g for g in groups if g[2]]

    @property
    def nothing_featured(self) -> str:
        """What to say when no query is featured."""
        if self.measure is not None:
            return (f"No reranker differs from the baseline {self.baseline} on {self.measure} "
                    "on any query.")
        return "The systems put the same documents at the same ranks for every query."


# -- building it from a run folder -------------------------------------------------------


def build_drilldowns(run: RunFolder | Path, analysis: Analysis,
                     budget_bytes: int) -> dict[str, DrillDown]:
    """Dataset slug -> its drill-down, for every dataset with a first-stage ranking; the
    datasets share ``budget_bytes`` evenly."""
    run = run if isinstance(run, RunFolder) else read_run(Path(run))
    share = budget_bytes // max(1, len(analysis.datasets))
    found = {}
    for d in analysis.datasets:
        drill = _dataset(run, analysis, d, share)
        if drill is not None:
            found[d.slug] = drill
    return found


def drilldown_budget(analysis: Analysis, figures: Sequence[RenderedFigure]) -> int:
    """Bytes left for the drill-downs in a report of :data:`REPORT_BYTES` with these
    figures (inline as base64: 4/3 of their size) and every dataset's tables."""
    figure_bytes = sum(len(f.png) for f in figures) * 4 // 3
    left = REPORT_BYTES - figure_bytes - OTHER_BYTES_PER_DATASET * len(analysis.datasets)
    return max(left, MIN_BUDGET_BYTES * len(analysis.datasets))


def _dataset(run: RunFolder, analysis: Analysis, d: DatasetAnalysis,
             budget: int) -> DrillDown | None:
    first = run.rankings(d.name, FIRST_STAGE)
    if not first:
        return None
    systems = [s.name for s in d.systems if s.is_first_stage or s.n_queries]
    rankings = {FIRST_STAGE: first}
    rankings.update({name: run.rankings(d.name, name) for name in systems
                     if name != FIRST_STAGE})
    systems = [name for name in systems if rankings.get(name)]
    query_ids = sorted({q for r in rankings.values() for q in r})
    values = _values(run.per_query, d.name, analysis.primary, systems)
    texts = read_run_texts(run.path, d.name)
    qrels = read_run_qrels(run.path, d.name)
    query_texts = dict(texts.queries) if texts else _csv_query_texts(run.per_query, d.name)
    labelled = d.baseline in values and qrels != {}  # {}: the dataset has no judgments
    builder = _Builder(rankings, values, texts, qrels, query_texts, d.baseline, systems)
    drill = DrillDown(dataset=d.name, slug=d.slug,
                      measure=analysis.primary if labelled else None,
                      baseline=d.baseline, systems=systems, intro="",
                      has_grades=bool(qrels))
    if labelled:
        deltas = {q: {s: values[s][q] - values[d.baseline][q] for s in systems
                      if s != d.baseline and q in values.get(s, {})}
                  for q in query_ids if q in values.get(d.baseline, {})}
        wins, losses = extremes(deltas)
        drill.wins = [builder.view(q, max(deltas[q].values())) for q in wins]
        drill.losses = [builder.view(q, min(deltas[q].values())) for q in losses]
        spread = {q: max((abs(v) for v in deltas.get(q, {}).values()), default=0.0)
                  for q in query_ids}
        order = sorted(query_ids, key=lambda q: (-spread[q], q))
        drill.queries = [builder.view(q, spread[q]) for q in order]
        drill.intro = _labelled_intro(analysis.primary, d.baseline, len(systems))
    else:
        agreement = {q: _agreement(rankings, systems, q) for q in query_ids}
        order = sorted(query_ids, key=lambda q: (agreement[q], q))
        drill.disagreements = [builder.view(q, *agreement[q]) for q in order[:2 * FEATURED]
                               if agreement[q] < (1.0, 1.0)]
        drill.queries = [builder.view(q, *agreement[q]) for q in order]
        drill.intro = _unlabelled_intro(d, analysis.primary, systems, bool(values))
    drill.notes = _source_notes(texts, qrels, labelled)
    drill.notes += _fit(drill, budget)
    return drill


class _Builder:
    """Turns a query id into its :class:`QueryView` (columns, documents, grades)."""

    def __init__(self, rankings: dict[str, dict[str, list[str]]],
                 values: dict[str, dict[str, float]], texts: RunTexts | None,
                 qrels: dict[str, dict[str, int]] | None, query_texts: dict[str, str],
                 baseline: str, systems: list[str]) -> None:
        self.rankings, self.values, self.texts = rankings, values, texts
        self.qrels, self.query_texts = qrels, query_texts
        self.baseline, self.systems = baseline, systems

    def view(self, query_id: str, key: float, same: float | None = None) -> QueryView:
        first = {doc: rank for rank, doc in
                 enumerate(self.rankings[FIRST_STAGE].get(query_id, []), start=1)}
        judged = self.qrels.get(query_id, {}) if self.qrels is not None else None
        base = self.values.get(self.baseline, {}).get(query_id)
        columns = []
        for system in self.systems:
            ranked = self.rankings[system].get(query_id, [])[:TOP_N]
            docs = [self._doc(rank, doc, first, judged, system == FIRST_STAGE)
                    for rank, doc in enumerate(ranked, start=1)]
            value = self.values.get(system, {}).get(query_id)
            delta = (None if system == self.baseline or value is None or base is None
                     else value - base)
            columns.append(Column(system=system, value=value, delta=delta, docs=docs,
                                  relevant_found=None if judged is None
                                  else sum(d.relevant for d in docs)))
        n_relevant = None if judged is None else sum(g > 0 for g in judged.values())
        return QueryView(query_id=query_id, text=self.query_texts.get(query_id, ""),
                         columns=columns, key=key, same_rank=same, n_relevant=n_relevant)

    def _doc(self, rank: int, doc_id: str, first: dict[str, int],
             judged: dict[str, int] | None, is_first_stage: bool) -> DocRow:
        stored = self.texts.documents.get(doc_id) if self.texts else None
        return DocRow(rank=rank, doc_id=doc_id, title=stored.title if stored else "",
                      snippet=snippet(stored.text) if stored else "",
                      grade=judged.get(doc_id) if judged is not None else None,
                      moved="" if is_first_stage else moved_from(rank, first.get(doc_id)))


def _values(frame: pd.DataFrame, dataset: str, measure: str,
            systems: list[str]) -> dict[str, dict[str, float]]:
    """system -> query id -> the measure's value (NaN left out); empty without values."""
    if not len(frame) or measure not in frame.columns:
        return {}
    rows = frame[frame["dataset"] == dataset]
    found: dict[str, dict[str, float]] = {}
    for system in systems:
        mine = rows[rows["reranker"] == system]
        picked = {str(q): float(v) for q, v in zip(mine["query_id"], mine[measure], strict=True)
                  if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if picked:
            found[system] = picked
    return found


def _csv_query_texts(frame: pd.DataFrame, dataset: str) -> dict[str, str]:
    """Query texts from per_query.csv's ``query_text`` column, where the folder has it."""
    if not len(frame) or "query_text" not in frame.columns:
        return {}
    rows = frame[(frame["dataset"] == dataset) & frame["query_text"].notna()]
    return {str(q): str(t) for q, t in zip(rows["query_id"], rows["query_text"], strict=True)}


def _agreement(rankings: dict[str, dict[str, list[str]]], systems: list[str],
               query_id: str) -> tuple[float, float]:
    """Mean pairwise top-10 overlap of the rerankers on a query (with one reranker: with
    the first stage), then their mean share of the same document at the same rank (which
    tells apart two orders of the same ten, or fewer, documents)."""
    rerankers = [s for s in systems if s != FIRST_STAGE]
    compared = rerankers if len(rerankers) > 1 else systems
    pairs = [(rankings[a].get(query_id, []), rankings[b].get(query_id, []))
             for a, b in combinations(compared, 2)]
    if not pairs:
        return 1.0, 1.0
    return (sum(top_overlap(a, b) for a, b in pairs) / len(pairs),
            sum(same_rank(a, b) for a, b in pairs) / len(pairs))


def _labelled_intro(measure: str, baseline: str, n_systems: int) -> str:
    several = n_systems > 2
    return (f"Queries picked by {measure} against the baseline {baseline}: the biggest wins "
            + ("are the queries where some reranker gained most (the largest difference of "
               "any of them), the biggest losses those where some reranker lost most; a "
               "query where one gains and another loses is in both. "
               if several else "and losses are the queries where the reranker gained and "
               "lost most. ")
            + f"Per system, its top {TOP_N} documents: the relevance grade (or unjudged: "
            "not in the judgments, which the measures count as not relevant) and, for a "
            "reranker, the rank the document had in the first stage (↑ moved up, ↓ down, "
            "= unchanged, new: not among the first stage's candidates).")


def _unlabelled_intro(d: DatasetAnalysis, measure: str, systems: list[str],
                      has_values: bool) -> str:
    rerankers = [s for s in systems if s != FIRST_STAGE]
    why = ("the baseline " + d.baseline + " has no results here" if has_values
           else f"the dataset has no judgments, so no {measure}")
    among = ("the rerankers' mean pairwise overlap of their top 10s" if len(rerankers) > 1
             else "the overlap of the reranker's top 10 with the first stage's")
    among += " (lowest first; then by the share of ranks holding the same document)"
    return (f"No wins or losses to rank by ({why}): the featured queries are those where "
            f"the systems disagree most, by {among}. Disagreement is not "
            "quality: it shows where the choice of reranker matters, not which is right.")


def _source_notes(texts: RunTexts | None, qrels: dict[str, dict[str, int]] | None,
                  labelled: bool) -> list[str]:
    notes = []
    if texts is None:
        notes.append("This run folder keeps no texts (written before rerank-eval kept them "
                     "in runs/<dataset>/): documents are shown by id only.")
    if qrels is None and labelled:
        notes.append("This run folder keeps no judgments (runs/<dataset>/qrels.txt, written "
                     "since rerank-eval keeps them): grades are not shown.")
    return notes


# -- the byte budget ---------------------------------------------------------------------


def estimate_bytes(view: QueryView, detail: str) -> int:
    """About how many bytes of HTML ``view`` takes at ``detail`` (errs on the large side)."""
    size = _QUERY_MARKUP + len(view.query_id) + len(view.text.encode("utf-8"))
    size += sum(_LINE_PER_SYSTEM + len(c.system) for c in view.columns)
    if detail == SUMMARY:
        return size
    for c in view.columns:
        size += _COLUMN_MARKUP + len(c.system)
        for doc in c.docs:
            size += _DOC_MARKUP + len(doc.doc_id) + len(doc.title.encode("utf-8"))
            if detail == FULL and doc.snippet:
                size += _SNIPPET_MARKUP + len(doc.snippet.encode("utf-8"))
    return size


def _fit(drill: DrillDown, budget: int) -> list[str]:
    """Set each list entry's detail within ``budget`` bytes; returns the notes saying where
    it cut.

    The featured queries come first, always complete. Then, in list order: as many entries
    as fit get their summary line (the rest are left out); from what is left, as many of
    those as fit get the titles of their documents; and from what is then left, as many of
    those as fit the snippets too. So every listed query keeps its line, titles go before
    snippets, and each cut is one place in the list.
    """
    left = budget - sum(estimate_bytes(v, FULL) for _, _, group in drill.featured
                        for v in group)
    counts = {}
    kept = 0
    previous = None
    for level in (SUMMARY, TITLES, FULL):
        candidates = drill.queries if previous is None else drill.queries[:counts[previous]]
        n = 0
        for view in candidates:
            extra = estimate_bytes(view, level) - (estimate_bytes(view, previous)
                                                   if previous else 0)
            if extra > left:
                break
            left -= extra
            view.detail = level
            n += 1
        counts[level] = n
        previous = level
        if level == SUMMARY:
            kept = n
    total = len(drill.queries)
    drill.queries = drill.queries[:kept]
    if counts[FULL] == total:
        return []
    groups = [(counts[FULL], "with snippets"),
              (counts[TITLES] - counts[FULL], "with titles only"),
              (kept - counts[TITLES], "with their summary line only")]
    parts = [] if counts[FULL] else ["no snippets"]
    for n, what in groups:
        if n:
            parts.append(f"the {'next' if any(p.startswith('the') for p in parts) else 'first'}"
                         f" {n:,} {what}")
    if total > kept:
        parts.append(f"the last {total - kept:,} left out (see per_query.csv)")
    return [f"The list of all {total:,} queries is cut to keep this report small "
            f"(about {budget / 1e6:.1f} MB for this dataset's drill-down): "
            + ", ".join(parts) + "."]


def drilldown_context(run: RunFolder | Path, analysis: Analysis,
                      figures: Sequence[RenderedFigure] = ()) -> dict[str, object]:
    """What the drill-down partials read from the template context."""
    budget = drilldown_budget(analysis, figures)
    return {"drilldowns": build_drilldowns(run, analysis, budget),
            "md_titles": MARKDOWN_TITLES}
