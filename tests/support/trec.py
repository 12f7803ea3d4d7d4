"""Reading TREC run files, and what pytrec_eval (trec_eval semantics) says about a run."""

from __future__ import annotations

from pathlib import Path

import pytrec_eval

from rerank_eval.metrics import trec_eval_order

TREC_EVAL_NAMES = {"nDCG@10": "ndcg_cut_10", "R@10": "recall_10", "R@100": "recall_100",
                   "AP@100": "map_cut_100"}


def read_trec(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        qid, _, doc, _, score, _ = line.split()
        run.setdefault(qid, {})[doc] = float(score)
    return run


def pytrec_reference(qrels, run) -> dict[str, dict[str, float]]:
    """What pytrec_eval says, per measure and query; RR@10 = recip_rank on the top 10."""
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut", "recall", "map_cut"})
    raw = evaluator.evaluate(run)
    out = {name: {q: v[key] for q, v in raw.items()} for name, key in TREC_EVAL_NAMES.items()}
    # trec_eval itself cuts at rank 10 in its own order: score desc, docno desc.
    top10 = {q: dict(trec_eval_order(docs)[:10]) for q, docs in run.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out["RR@10"] = {q: v["recip_rank"] for q, v in rr.items()}
    return out
