"""A real Infinity server ranks exactly as our local cross-encoder on the same weights.

Through the ``infinity`` preset (HTTP, Infinity's own tokenizer, batching and torch on the
CPU) against ``cross-encoder:DIR?dtype=fp32``: 5 SciFact test queries x their BM25 top-20,
where several pairs are longer than the model's 512 tokens (asserted), so truncation is
compared too. 100 pairs keep the test near half a minute on 2 cores; 25 queries (500 pairs)
took five minutes and agreed just as well.

Scores: Infinity's ``/rerank`` applies a sigmoid to the logit unless ``raw_scores`` is
sent; our cross-encoder's ``activation=auto`` applies the model's own activation, which for
a one-label model without a sentence-transformers config is also the sigmoid. So both report
sigmoid(logit) and must agree to float noise; and Infinity's raw scores (``raw_scores``
through ``extra_body``) are our sigmoid's logit, so the sigmoid is the only transform.

The tolerance, 1e-4, is what float32 allows and no more: the two sides pad each batch
differently (Infinity to the longest pair of its batch, ours to a 32-token bucket), which
moves a 6-layer model's output by about 1e-6 (measured: at most 7e-7 on the sigmoid,
3e-6 on the logit). A real difference (another truncation, missing special tokens, a
missing activation) moves scores by 1e-2 or more. The smallest gap between two candidates
of a query is asserted to exceed the disagreement, so equal orders are not luck.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from rerank_eval.candidates import bm25_candidates
from rerank_eval.datasets import load_dataset
from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.base import Runtime
from rerank_eval.testing.infinity import InfinityServer
from rerank_eval.types import RerankRequest, RerankResponse

QUERIES = 5
TOP_K = 20
RAW_QUERIES = 2
TOLERANCE = 1e-4


def ranking(response: RerankResponse) -> list[int]:
    return [r.index for r in sorted(response.results, key=lambda r: -r.relevance_score)]


def scores(response: RerankResponse) -> dict[int, float]:
    return {r.index: r.relevance_score for r in response.results}


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@pytest.mark.slow
@pytest.mark.shared_data
async def test_infinity_ranks_scifact_as_the_local_cross_encoder(
        infinity_server: InfinityServer, cross_encoder_dir: Path,
        shared_datasets: Path) -> None:
    dataset = load_dataset(shared_datasets / "scifact")
    candidates = bm25_candidates(dataset, TOP_K)
    query_ids = sorted(q for q in candidates.by_query if q in dataset.qrels)[:QUERIES]
    runtime = Runtime(response_cache=False)
    served_spec = f"infinity:{infinity_server.model_id}?base_url={infinity_server.base_url}"
    local = create_reranker(f"cross-encoder:{cross_encoder_dir}?dtype=fp32", runtime=runtime)
    served = create_reranker(served_spec, runtime=runtime)
    served_raw = create_reranker(served_spec + '&extra_body={"raw_scores":true}',
                                 runtime=runtime)
    worst = worst_logit = 0.0
    smallest_gap = 1.0
    truncated = 0
    try:
        for n, query_id in enumerate(query_ids):
            texts = [dataset.corpus[d].full_text for d, _ in candidates.by_query[query_id]]
            request = RerankRequest(query=dataset.queries[query_id], documents=texts)
            ours = await local.rerank(request)
            theirs = await served.rerank(request)
            assert ours.score_kind == "sigmoid"
            truncated += ours.usage.truncated_documents
            assert ranking(theirs) == ranking(ours), f"query {query_id}: orders differ"
            a, b = scores(ours), scores(theirs)
            assert a.keys() == b.keys() == set(range(len(texts)))
            worst = max(worst, *(abs(a[i] - b[i]) for i in a))
            smallest_gap = min(smallest_gap, *(y - x for x, y in pairwise(sorted(a.values()))))
            if n < RAW_QUERIES:
                raw = scores(await served_raw.rerank(request))
                worst_logit = max(worst_logit, *(abs(logit(a[i]) - raw[i]) for i in a))
    finally:
        for reranker in (local, served, served_raw):
            await reranker.aclose()
    print(f"{len(query_ids)} queries x top-{TOP_K}: sigmoid scores differ by up to {worst:.1e}, "
          f"logits by {worst_logit:.1e}; closest candidates {smallest_gap:.1e} apart; "
          f"{truncated} pairs truncated")
    assert worst <= TOLERANCE, f"scores differ by up to {worst:.2e}"
    assert worst_logit <= TOLERANCE, f"raw scores differ from our logits by {worst_logit:.2e}"
    assert worst < smallest_gap, "the orders agree only by luck: noise exceeds a gap"
    assert truncated > 0, "no pair reached 512 tokens: truncation went untested"
