"""Provider drift's pure parts (sampling, comparing two rankings) and the fakes' ``degrade``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.providers import make, prepare, runtime_for

from rerank_eval.drift import DRIFT, STABLE, DriftResult, RerankerDrift, compare_rankings, sample
from rerank_eval.testing.fakes.scoring import degraded_ranking, is_degraded, ranking
from rerank_eval.types import RerankRequest


def test_sample_takes_every_kth_sorted_id_deterministically() -> None:
    ids = [f"q{i:02d}" for i in range(40)]
    assert sample(list(reversed(ids)), 10) == ids[::4]
    assert sample(ids, 3) == ["q00", "q13", "q26"]
    assert sample(ids, 100) == ids
    assert sample([], 5) == []


def test_the_same_ranking_is_unchanged_and_a_reversed_one_is_named() -> None:
    old = {f"d{i}": float(20 - i) for i in range(20)}
    same = compare_rankings("q1", old, dict(old))
    assert (same.tau, same.overlap, same.changed) == (1.0, 1.0, False)
    reversed_ = compare_rankings("q1", old, {d: -s for d, s in old.items()})
    assert reversed_.tau == pytest.approx(-1.0)
    assert reversed_.overlap == 0.0 and reversed_.changed
    # other scores, same order: unchanged
    scaled = compare_rankings("q1", old, {d: s / 100 for d, s in old.items()})
    assert scaled.tau == pytest.approx(1.0) and not scaled.changed
    # two documents inside the top-10 swapped: changed, the same set
    swapped = dict(old, d0=old["d1"] - 0.5)
    found = compare_rankings("q1", old, swapped)
    assert found.changed and found.overlap == 1.0 and found.tau < 1.0


def test_drift_fails_only_when_enforced() -> None:
    cell = RerankerDrift(dataset="d", reranker="cohere:m", spec="cohere:m", verdict=DRIFT)
    assert not DriftResult(cells=[cell]).failed
    assert DriftResult(cells=[cell]).warnings == [cell]
    assert DriftResult(cells=[cell], enforce=True).failed
    assert DriftResult(cells=[cell], strict=True).failed
    stable = RerankerDrift(dataset="d", reranker="cohere:m", spec="cohere:m", verdict=STABLE)
    assert not DriftResult(cells=[stable], enforce=True, strict=True).failed


def test_degrade_picks_a_deterministic_share_of_queries_by_their_text() -> None:
    queries = [f"query number {i}" for i in range(2000)]
    picked = [q for q in queries if is_degraded(q, 0.3)]
    assert 0.25 < len(picked) / len(queries) < 0.35
    assert picked == [q for q in queries if is_degraded(q, 0.3)]
    assert set(picked) <= {q for q in queries if is_degraded(q, 0.6)}
    assert not any(is_degraded(q, 0.0) for q in queries)
    assert all(is_degraded(q, 1.0) for q in queries)
    docs = ["alpha beta", "alpha", "gamma", "alpha beta gamma"]
    assert degraded_ranking("alpha beta", docs, 0.0) == ranking("alpha beta", docs)
    worse = [i for i, _ in degraded_ranking("alpha beta", docs, 1.0)]
    assert worse == [i for i, _ in ranking("alpha beta", docs)][::-1]


def test_a_degraded_fake_cohere_reverses_the_chosen_queries(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    server = prepare(monkeypatch, tmp_path)
    docs = ["alpha beta", "alpha", "gamma", "alpha beta gamma"]
    queries = [f"alpha beta {i}" for i in range(12)]

    async def orders() -> list[list[int]]:
        reranker = make(server, "cohere:rerank-v3.5",
                        runtime=runtime_for(server, response_cache=False))
        try:
            out = []
            for q in queries:
                response = await reranker.rerank(RerankRequest(query=q, documents=docs))
                out.append([r.index for r in response.results])
            return out
        finally:
            await reranker.aclose()

    before = asyncio.run(orders())
    server.state("cohere").degrade = 0.5
    after = asyncio.run(orders())
    for q, old, new in zip(queries, before, after, strict=True):
        assert new == (old[::-1] if is_degraded(q, 0.5) else old)
    assert any(is_degraded(q, 0.5) for q in queries)
    assert not all(is_degraded(q, 0.5) for q in queries)
