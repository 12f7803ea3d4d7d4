"""The glossary at the end of every report: what each measure measures, and when to prefer it.

One list, rendered by both templates (``_glossary.html.j2``, ``_glossary.md.j2``). The
definitions follow trec_eval, whose semantics ir-measures computes: a document is relevant
when its grade is at least 1, unjudged documents count as not relevant, ``@k`` cuts each
ranking at rank k, and a report's value is the mean over queries.

The RBO weight is the paper's Eq. 21 (Webber, Moffat & Zobel, ACM TOIS 28(4), 2010):
the first d ranks carry ``1 - p^(d-1) + (1-p)/p * d * (ln(1/(1-p)) - sum_{i<d} p^i/i)``
of the weight, 0.856 for p = 0.9 and d = 10 (:func:`rbo_top_weight`, checked in a test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str
    example: str
    """How to ask for it (an ir-measures name, or where the report shows it)."""
    what: str
    when: str


def rbo_top_weight(p: float, d: int) -> float:
    """The share of RBO's weight that the first ``d`` ranks carry at persistence ``p``."""
    tail = sum(p ** i / i for i in range(1, d))
    return 1 - p ** (d - 1) + (1 - p) / p * d * (math.log(1 / (1 - p)) - tail)


GLOSSARY_INTRO = (
    "Measures as ir-measures names them, with trec_eval's semantics: a document is relevant "
    "when its grade is at least 1 (nDCG uses the grade itself as the gain), unjudged "
    "documents count as not relevant, @k cuts each ranking at rank k, and the tables show "
    "the mean over queries.")

GLOSSARY: tuple[Term, ...] = (
    Term("nDCG@k", "nDCG@10",
         "Normalised discounted cumulative gain: each document in the top k adds its "
         "relevance grade, discounted by log2(rank + 1), and the sum is divided by that of "
         "the ideal ordering of the judged documents (1 = the best order possible).",
         "Prefer it as a reranker's headline when judgments are graded and the order within "
         "the top k matters: it rewards putting the most relevant documents first."),
    Term("RR@k", "RR@10",
         "Reciprocal rank: 1 / the rank of the first relevant document within the top k, "
         "0 when there is none (its mean over queries is MRR).",
         "Prefer it when one good answer is enough (question answering, navigational "
         "search, a pipeline that reads the top hit): nothing after the first relevant "
         "document counts."),
    Term("R@k", "R@100",
         "Recall: the share of the query's relevant documents that are in the top k.",
         "Prefer it for a first stage, or for a RAG context of k passages: did the relevant "
         "documents get in at all, whatever their order. The first stage's R@top-k is the "
         "ceiling of every reranker."),
    Term("AP", "AP, AP@100",
         "Average precision: the mean, over all of the query's relevant documents, of the "
         "precision at each one's rank (0 for those not retrieved); its mean is MAP. "
         "Binary: grades above 1 count as 1.",
         "Prefer it to summarise a whole ranking when queries have many relevant documents: "
         "deep and stable; it says less about the first few results than nDCG@10 or RR."),
    Term("P@k", "P@10",
         "Precision: the share of the top k that is relevant.",
         "Prefer it when a reader sees all k results (a result page, k passages in a prompt). "
         "A query with fewer than k relevant documents cannot reach 1, so compare systems "
         "rather than read it on its own."),
    Term("Judged@k", "Judged@10",
         "The share of the top k that has a judgment, relevant or not: it measures the "
         "judgments, not the ranking.",
         "Read it beside the others: when it is low, they count many unjudged (perhaps "
         "relevant) documents as not relevant, which penalises a reranker that brings up "
         "documents the judges never saw; judge those (rerank-eval pool) before trusting a "
         "loss."),
    Term("RBO", "RBO(p=0.9)",
         "Rank-biased overlap of two rankings: the share of their top d they have in common, "
         "averaged over depths d weighted by (1 - p)·p^(d-1); 1 = identical, 0 = disjoint. "
         f"At p = 0.9 the top 10 ranks carry {rbo_top_weight(0.9, 10):.0%} of the weight. "
         "It needs no judgments.",
         "Prefer it to compare two rerankers (or a reranker with its first stage) on "
         "unlabelled data, or to see how much a reranker changes; agreement is not "
         "quality: both can be wrong."),
)


def glossary_context() -> dict[str, object]:
    """What the glossary partials read from the template context."""
    return {"glossary": GLOSSARY, "glossary_intro": GLOSSARY_INTRO}
