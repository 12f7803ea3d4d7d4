"""The ``cross-encoder`` kind through the registry, on a tiny random-weight model built offline."""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from support.texts import LONG, TEXTS, scores_by_index
from support.tiny_cross_encoder import build_tiny_cross_encoder

from rerank_eval.rerankers import RerankerSpecError, create_reranker
from rerank_eval.rerankers.base import PricedByHardware
from rerank_eval.types import Document, RerankRequest

LOGGER = "rerank_eval.rerankers.local"


@pytest.fixture(scope="module")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


async def test_cross_encoder_scores_do_not_depend_on_order_or_batch_size(tiny_ce: Path) -> None:
    docs = [*TEXTS, LONG]
    query = "what causes scurvy"
    base = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&batch_size=4")
    reference = scores_by_index(await base.rerank(RerankRequest(query=query, documents=docs)))
    assert sorted(reference) == list(range(len(docs)))

    order = list(range(len(docs)))
    random.Random(7).shuffle(order)
    shuffled = await base.rerank(RerankRequest(query=query, documents=[docs[i] for i in order]))
    for position, score in scores_by_index(shuffled).items():
        assert score == pytest.approx(reference[order[position]], abs=1e-5)

    for batch_size in (1, 3, 64):
        other = create_reranker(f"cross-encoder:{tiny_ce}?dtype=fp32&batch_size={batch_size}")
        scores = scores_by_index(await other.rerank(RerankRequest(query=query, documents=docs)))
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
    assert isinstance(reranker, PricedByHardware)  # its busy time is priced by the CPU hour
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
    logits = scores_by_index(full)
    for index, score in scores_by_index(response).items():
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
