"""The local rerankers (``biencoder``, ``cross-encoder``) through the real registry path.

Offline: the cross-encoder is a tiny random-weight model built in a temp folder, the
bi-encoder is the bundled all-MiniLM-L6-v2.
"""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.local_batching import padded_length, plan_batches
from rerank_eval.rerankers.local_loading import BIENCODER_BF16_TOLERANCE
from rerank_eval.types import Document, RerankRequest
from tests._tiny_cross_encoder import build_tiny_cross_encoder

LOGGER = "rerank_eval.rerankers.local"

TEXTS = [
    "Scurvy is caused by a lack of vitamin C in the diet.",
    "Vitamin D deficiency leads to rickets in children.",
    "The cat sat on the mat and looked out of the window.",
    "Citrus fruits such as oranges and lemons are rich in ascorbic acid.",
    "Sailors on long voyages suffered from bleeding gums and fatigue.",
    "Stock markets rallied after the central bank held interest rates.",
    "Collagen synthesis requires vitamin C as a cofactor.",
    "A short note.",
    "Iron absorption from plant foods improves when eaten with vitamin C.",
    "Football fans celebrated the championship win in the city centre.",
    "Antioxidants neutralise free radicals in cells.",
    "Deficiency diseases were common before food fortification.",
]
LONG = " ".join(["The study measured diffusion in cerebral white matter of newborn infants."] * 12)


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


def _scores(response) -> dict[int, float]:
    return {r.index: r.relevance_score for r in response.results}


# --------------------------------------------------------------------------- cross-encoder


async def test_cross_encoder_scores_do_not_depend_on_order_or_batch_size(tiny_ce: Path) -> None:
    docs = [*TEXTS, LONG]
    query = "what causes scurvy"
    base = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&batch_size=4")
    reference = _scores(await base.rerank(RerankRequest(query=query, documents=docs)))
    assert sorted(reference) == list(range(len(docs)))

    order = list(range(len(docs)))
    random.Random(7).shuffle(order)
    shuffled = await base.rerank(RerankRequest(query=query, documents=[docs[i] for i in order]))
    for position, score in _scores(shuffled).items():
        assert score == pytest.approx(reference[order[position]], abs=1e-5)

    for batch_size in (1, 3, 64):
        other = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&batch_size={batch_size}")
        scores = _scores(await other.rerank(RerankRequest(query=query, documents=docs)))
        for index, score in scores.items():
            assert score == pytest.approx(reference[index], abs=1e-5), batch_size


async def test_cross_encoder_counts_truncated_documents(tiny_ce: Path) -> None:
    reranker = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&max_length=32")
    docs = [TEXTS[0], LONG, TEXTS[2], LONG + " again", "tiny"]
    response = await reranker.rerank(RerankRequest(query="scurvy", documents=docs))
    assert response.usage.truncated_documents == 2
    assert response.usage.requests == 1
    assert response.usage.compute_s is not None and response.usage.compute_s > 0
    assert response.latency_s >= response.usage.compute_s

    roomy = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&max_length=512")
    response = await roomy.rerank(RerankRequest(query="scurvy", documents=docs))
    assert response.usage.truncated_documents == 0


async def test_cuda_less_machine_falls_back_to_cpu_with_a_log_line(
        tiny_ce: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    caplog.set_level(logging.INFO, logger=LOGGER)
    reranker = create_reranker(f"cross-encoder:{tiny_ce}")
    assert reranker.device == "cpu"
    fallback = [r for r in caplog.records
                if r.name == LOGGER and "CUDA is not available" in r.getMessage()]
    assert fallback and "falls back to CPU" in fallback[0].getMessage()
    assert any("runs on cpu" in r.getMessage() for r in caplog.records)

    with pytest.raises(RerankerSpecError, match="CUDA is not available"):
        create_reranker(f"cross-encoder:{tiny_ce}?device=cuda")


async def test_cross_encoder_results_in_caller_index_space_and_top_n(tiny_ce: Path) -> None:
    reranker = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&activation=logit")
    docs = [Document(text=t, id=f"d{i}") for i, t in enumerate(TEXTS)]
    full = await reranker.rerank(RerankRequest(query="vitamin C", documents=docs))
    assert full.score_kind == "logit"
    assert sorted(r.index for r in full.results) == list(range(len(docs)))
    values = [r.relevance_score for r in full.results]
    assert values == sorted(values, reverse=True)

    top = await reranker.rerank(RerankRequest(query="vitamin C", documents=docs, top_n=3))
    assert [r.index for r in top.results] == [r.index for r in full.results[:3]]

    # Each index still points at its own document when the list is reversed.
    backwards = await reranker.rerank(RerankRequest(query="vitamin C", documents=docs[::-1]))
    by_text = {docs[r.index].text: r.relevance_score for r in full.results}
    for r in backwards.results:
        assert r.relevance_score == pytest.approx(by_text[docs[::-1][r.index].text], abs=1e-5)

    sigmoid = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32")
    response = await sigmoid.rerank(RerankRequest(query="vitamin C", documents=docs))
    assert response.score_kind == "sigmoid"
    logits = _scores(full)
    for index, score in _scores(response).items():
        assert score == pytest.approx(1 / (1 + np.exp(-logits[index])), abs=1e-6)
    assert [r.index for r in response.results] == [r.index for r in full.results]


async def test_model_work_runs_off_the_event_loop_and_models_are_shared(tiny_ce: Path) -> None:
    first = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32")
    second = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&batch_size=8")
    assert first._loaded is second._loaded
    threads: list[int] = []
    original = first._score

    def spy(query: str, texts: list[str]):
        threads.append(threading.get_ident())
        return original(query, texts)

    first._score = spy
    await first.rerank(RerankRequest(query="q", documents=TEXTS[:3]))
    assert threads and threads[0] != threading.get_ident()
    await first.aclose()
    response = await second.rerank(RerankRequest(query="q", documents=[]))
    assert list(response.results) == [] and response.usage.requests == 1


def test_bf16_that_drifts_from_fp32_falls_back_to_fp32(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from rerank_eval.rerankers import local, local_device

    folder = build_tiny_cross_encoder(tmp_path / "drifty", seed=1)  # a model of its own
    monkeypatch.setattr(local_device, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(local, "CROSS_ENCODER_BF16_TOLERANCE", (-1.0, 0.0))  # nothing passes
    caplog.set_level(logging.INFO, logger=LOGGER)
    reranker = create_reranker(f"cross-encoder:{folder}?device=cpu")
    assert reranker.precision.name == "fp32"
    assert reranker.precision_check is not None and not reranker.precision_check.passed
    assert any(r.levelno == logging.WARNING and "using fp32" in r.getMessage()
               for r in caplog.records)
    # Asked for explicitly, bf16 is kept (the log still says how far it drifted).
    explicit = create_reranker(f"cross-encoder:{folder}?device=cpu&dtype=bf16")
    assert explicit.precision.name == "bf16"


def test_auto_dtype_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    from rerank_eval.rerankers import local_device

    monkeypatch.setattr(local_device, "cpu_has_native_bf16", lambda: False)
    assert local_device.resolve_precision("auto", "cpu", "x").name == "fp32"
    monkeypatch.setattr(local_device, "cpu_has_native_bf16", lambda: True)
    cpu = local_device.resolve_precision("auto", "cpu", "x")
    assert cpu.name == "bf16" and cpu.autocast_dtype == torch.bfloat16
    assert cpu.weight_dtype == torch.float32  # CPU: fp32 weights under autocast
    mps = local_device.resolve_precision("auto", "mps", "x")
    assert mps.weight_dtype == torch.float16 and mps.autocast_dtype is None


def test_options_are_checked(tiny_ce: Path) -> None:
    with pytest.raises(RerankerSpecError, match="unknown option"):
        create_reranker(f"cross-encoder:{tiny_ce}?colour=red")
    with pytest.raises(RerankerSpecError, match="unknown option"):
        create_reranker("biencoder?activation=sigmoid")
    with pytest.raises(RerankerSpecError, match="dtype"):
        create_reranker(f"cross-encoder:{tiny_ce}?dtype=int4")
    with pytest.raises(RerankerSpecError, match="batch_size"):
        create_reranker(f"cross-encoder:{tiny_ce}?batch_size=many")
    with pytest.raises(RerankerSpecError, match="activation"):
        create_reranker(f"cross-encoder:{tiny_ce}?activation=softmax")
    with pytest.raises(RerankerSpecError, match="needs a model"):
        create_reranker("cross-encoder")
    with pytest.raises(RerankerSpecError, match="does not exist"):
        create_reranker("cross-encoder:./no/such/model")


def test_batches_are_length_sorted_within_the_token_budget() -> None:
    lengths = [5, 300, 40, 300, 12, 256, 7]
    batches = plan_batches(lengths, [str(i) for i in range(len(lengths))],
                           max_length=256, token_budget=512, max_rows=4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [min(lengths[i], 256) for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)
    for batch in batches:
        padded = max(min(lengths[i], 256) for i in batch)
        assert len(batch) == 1 or len(batch) * padded <= 512
        assert len(batch) <= 4
        assert len({padded_length(lengths[i], 256) for i in batch}) == 1  # one bucket


def test_padding_buckets_depend_on_the_input_alone() -> None:
    assert [padded_length(n, 256) for n in (1, 31, 32, 33, 250, 256, 900)] == [
        32, 32, 32, 64, 256, 256, 256]
    assert padded_length(100, 100) == 100


async def test_a_bf16_document_score_does_not_depend_on_its_batch_companions() -> None:
    """Under bf16 the padded length changes the arithmetic; bucketed padding removes it."""
    reranker = create_reranker("biencoder?dtype=bf16&batch_size=4")
    query = "vitamin C and scurvy"
    long_doc = " ".join(TEXTS) + " " + LONG
    alone = _scores(await reranker.rerank(RerankRequest(query=query, documents=TEXTS[:1])))
    await reranker.aclose()  # forget embeddings: the next call embeds again, in a new batch
    mixed = _scores(await reranker.rerank(RerankRequest(
        query=query, documents=[TEXTS[0], long_doc, *TEXTS[5:9], "tiny"])))
    assert alone[0] == mixed[0]


# --------------------------------------------------------------------------- bi-encoder


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
    assert _scores(again) == _scores(first)
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
        a, b = _scores(await fp32.rerank(request)), _scores(await bf16.rerank(request))
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
        a, b = _scores(await fp32.rerank(request)), _scores(await bf16.rerank(request))
        keys = sorted(a)
        assert max(abs(a[i] - b[i]) for i in keys) <= BIENCODER_BF16_TOLERANCE
        assert spearmanr([a[i] for i in keys], [b[i] for i in keys]).statistic >= 0.97
        top_a = set(sorted(keys, key=lambda i: -a[i])[:10])
        top_b = set(sorted(keys, key=lambda i: -b[i])[:10])
        assert len(top_a & top_b) >= 9
