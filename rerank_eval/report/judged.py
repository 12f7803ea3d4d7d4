"""Judged@10 in the report: how much of each ranking's top 10 has a label at all.

A document nobody labelled counts as not relevant, so a reranker that brings up
unlabelled documents is scored as if they were wrong. When a ranking's judged share is
low, its numbers are a lower bound and comparisons with rankings the labels were drawn
from are unfair to it: the leaderboard shows the share per ranking, and a note says so
and how to label more (``rerank-eval pool``).
"""

from __future__ import annotations

from typing import Any

from rerank_eval.metrics import JUDGED_MEASURE

SHALLOW_BELOW = 0.9
"""A ranking whose Judged@10 is below this gets named in the note."""

COLUMN = JUDGED_MEASURE.replace("Judged", "judged")


def has_judged(dataset: Any) -> bool:
    """Whether the run recorded Judged@10 for some ranking of the dataset (older runs: no)."""
    return any(s.judged is not None for s in dataset.systems)


def cell(system: Any) -> str:
    return "–" if system.judged is None else f"{system.judged:.2f}"


def shallow_note(dataset: Any) -> str | None:
    """The note under the leaderboard when some ranking's Judged@10 is below the threshold."""
    low = [s for s in dataset.systems if s.judged is not None and s.judged < SHALLOW_BELOW]
    if not low:
        return None
    named = ", ".join(f"{'the first stage' if s.is_first_stage else s.name} {s.judged:.2f}"
                      for s in low)
    return (f"{COLUMN} (the share of a ranking's top 10 that has a label) is below "
            f"{SHALLOW_BELOW:g} for {named}: unlabelled documents count as not relevant, so "
            "these numbers are lower bounds and favour the rankings the labels came from. "
            "Pool too shallow? If the judgments are meant to cover each top 10 (many BEIR "
            "sets label only relevant documents, and then a low share is expected), label "
            "the unjudged ones: `rerank-eval pool RUN_DIR --depth 10 --out judge.csv`, fill "
            "in the label column, then `rerank-eval run ... --qrels judge.csv`.")
