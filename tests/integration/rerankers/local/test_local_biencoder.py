"""The ``biencoder`` kind through the registry, on the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.texts import LONG, TEXTS, scores_by_index

from rerank_eval.rerankers import create_reranker
from rerank_eval.rerankers.local.calibration import BIENCODER_BF16_TOLERANCE
from rerank_eval.types import RerankRequest


@pytest.fixture(scope="module", autouse=True)
def _model_loaded_once() -> None:
    """Load the bundled model up front (several seconds, once per process): no test carries it.

    Rerankers on the same device and weight dtype share it (fp32 weights for fp32 and for
    bf16 autocast on a CPU).
    """
    create_reranker("biencoder?dtype=fp32")


@pytest.mark.slow  # the first bf16 autocast of the process, and its calibration check
async def test_a_bf16_document_score_does_not_depend_on_its_batch_companions() -> None:
    """Under bf16 the padded length changes the arithmetic; bucketed padding removes it."""
    reranker = create_reranker("biencoder?dtype=bf16&batch_size=4")
    query = "vitamin C and scurvy"
    long_doc = " ".join(TEXTS) + " " + LONG
    alone = scores_by_index(await reranker.rerank(RerankRequest(query=query, documents=TEXTS[:1])))
    await reranker.aclose()  # forget embeddings: the next call embeds again, in a new batch
    mixed = scores_by_index(await reranker.rerank(RerankRequest(
        query=query, documents=[TEXTS[0], long_doc, *TEXTS[5:9], "tiny"])))
    assert alone[0] == mixed[0]


async def test_biencoder_embeds_each_document_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reranker = create_reranker("biencoder?dtype=fp32")
    assert reranker.name == "biencoder" and reranker.max_concurrency == 1
    seen: list[str] = []
    model = reranker._loaded.model
    original = model.preprocess

    def spy(inputs, *args, **kwargs):
        seen.extend(inputs)
        return original(inputs, *args, **kwargs)

    monkeypatch.setattr(model, "preprocess", spy)
    first_docs = TEXTS[:10]
    first = await reranker.rerank(RerankRequest(query="vitamin C", documents=first_docs))
    assert sorted(seen) == sorted([*first_docs, "vitamin C"])

    seen.clear()
    new = ["Lemons were carried on ships to prevent scurvy.", LONG]
    second_docs = [*first_docs[1:], *new]  # 9 shared, 2 new
    second = await reranker.rerank(RerankRequest(query="scurvy at sea", documents=second_docs))
    assert sorted(seen) == sorted([*new, "scurvy at sea"])
    assert second.usage.truncated_documents == 0  # LONG is ~170 tokens, under 256

    seen.clear()
    again = await reranker.rerank(RerankRequest(query="vitamin C", documents=first_docs))
    assert seen == []
    assert scores_by_index(again) == scores_by_index(first)
    assert first.score_kind == "cosine"
    assert [r.index for r in first.results] == [r.index for r in again.results]


async def test_biencoder_counts_truncation_and_honours_top_n() -> None:
    reranker = create_reranker("biencoder?dtype=fp32&max_length=24")
    docs = [TEXTS[0], LONG, TEXTS[3]]
    response = await reranker.rerank(RerankRequest(query="scurvy", documents=docs, top_n=2))
    assert response.usage.truncated_documents == 1
    assert len(response.results) == 2
    assert response.results[0].index == 0  # the scurvy sentence is the best match
    again = await reranker.rerank(RerankRequest(query="other", documents=docs))
    assert again.usage.truncated_documents == 1  # counted from the cache too


async def test_biencoder_bf16_and_fp32_rank_alike_on_handwritten_texts() -> None:
    fp32 = create_reranker("biencoder?dtype=fp32")
    bf16 = create_reranker("biencoder?dtype=bf16")
    assert bf16.precision.name == "bf16"
    for query in ("what causes scurvy", "sports news", "nutrition and deficiency"):
        request = RerankRequest(query=query, documents=TEXTS)
        a = scores_by_index(await fp32.rerank(request))
        b = scores_by_index(await bf16.rerank(request))
        assert max(abs(a[i] - b[i]) for i in a) <= BIENCODER_BF16_TOLERANCE
        top_a = sorted(a, key=lambda i: -a[i])[:3]
        top_b = sorted(b, key=lambda i: -b[i])[:3]
        assert top_a[0] == top_b[0] and set(top_a) == set(top_b)


@pytest.mark.shared_data
@pytest.mark.slow
async def test_biencoder_bf16_and_fp32_rankings_agree_on_scifact(shared_datasets: Path) -> None:
    from scipy.stats import spearmanr

    from rerank_eval.bm25_index import BM25Config, BM25Index
    from rerank_eval.datasets import load_dataset

    dataset = load_dataset(shared_datasets / "scifact")
    doc_ids = list(dataset.corpus)
    index = BM25Index([dataset.corpus[d].full_text for d in doc_ids],
                      BM25Config(stemmer="english"))
    query_ids = sorted(dataset.qrels)[:4]
    hits = index.search([dataset.queries[q] for q in query_ids], k=20)
    fp32 = create_reranker("biencoder?dtype=fp32")
    bf16 = create_reranker("biencoder?dtype=bf16")
    for query_id, query_hits in zip(query_ids, hits, strict=True):
        docs = [dataset.corpus[doc_ids[position]].full_text for position, _ in query_hits]
        request = RerankRequest(query=dataset.queries[query_id], documents=docs)
        a = scores_by_index(await fp32.rerank(request))
        b = scores_by_index(await bf16.rerank(request))
        keys = sorted(a)
        assert max(abs(a[i] - b[i]) for i in keys) <= BIENCODER_BF16_TOLERANCE
        assert spearmanr([a[i] for i in keys], [b[i] for i in keys]).statistic >= 0.97
        top_a = set(sorted(keys, key=lambda i: -a[i])[:10])
        top_b = set(sorted(keys, key=lambda i: -b[i])[:10])
        assert len(top_a & top_b) >= 9
