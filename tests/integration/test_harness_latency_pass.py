"""Serving latency: a reranker that reuses work across queries is timed in a separate
pass, reuse off, over queries sampled across the run (issue 9, item 1)."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from support.beir import toy_dataset

from rerank_eval.harness import Harness, latency_sample
from rerank_eval.journal import journal_path
from rerank_eval.records import LATENCY_EVERY_CALL
from rerank_eval.rerankers import RerankerKind, RerankerSpec, Runtime, register
from rerank_eval.rerankers.base import ReusesWork
from rerank_eval.rerankers.registry import unregister
from rerank_eval.store import read_run, write_run_dir
from rerank_eval.suite import suite_from_dict
from rerank_eval.types import RankedResult, RerankRequest, RerankResponse, Usage

REPO = Path(__file__).resolve().parents[2]
KIND = "test-reuse"


class ReuseReranker:
    """Keeps 'embeddings' of documents it has seen, like the bi-encoder.

    Its reported latency is 1 ms per document it had to 'embed', so with reuse the calls
    get cheaper through the run and without reuse they do not. ``skew`` makes a call with
    reuse off change the scores (a reuse bug the harness must catch).
    """

    max_concurrency = 1
    score_tolerance = 0.0
    calls: ClassVar[list[tuple[str, bool]]] = []
    skew: ClassVar[float] = 0.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.cross_query_reuse = True
        self._seen: set[str] = set()

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        ReuseReranker.calls.append((request.query, self.cross_query_reuse))
        texts = list(dict.fromkeys(d.text for d in request.documents))
        reused = [t for t in texts if t in self._seen] if self.cross_query_reuse else []
        if self.cross_query_reuse:
            self._seen.update(texts)
        embedded = len(texts) - len(reused)
        skew = 0.0 if self.cross_query_reuse else ReuseReranker.skew
        results = [RankedResult(i, 1.0 / (1 + len(d.text)) + skew)
                   for i, d in enumerate(request.documents)]
        results.sort(key=lambda r: (-r.relevance_score, r.index))
        await asyncio.sleep(0)
        return RerankResponse(results=results, latency_s=0.001 * embedded,
                              usage=Usage(requests=1, reused_documents=len(reused)))

    async def aclose(self) -> None:
        pass


def create_reuse(spec: RerankerSpec, runtime: Runtime) -> ReuseReranker:
    return ReuseReranker(spec.text)


@pytest.fixture(autouse=True)
def _reuse_reranker() -> Iterator[None]:
    ReuseReranker.calls, ReuseReranker.skew = [], 0.0
    register(RerankerKind(kind=KIND, factory_path=f"{__name__}:create_reuse",
                          summary="test reranker that reuses work across queries"))
    try:
        yield
    finally:
        unregister(KIND)
        ReuseReranker.calls, ReuseReranker.skew = [], 0.0


def make_suite(dataset: Path, rerankers: list[str], **extra: object):
    return suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(dataset)}],
        "rerankers": [{"spec": r} for r in rerankers], "first_stage": {"top_k": 20}, **extra,
    })


def run_harness(suite, out: Path):
    result = asyncio.run(Harness(suite, out).run())
    write_run_dir(result, out)
    return result


def reuse_off_calls() -> list[str]:
    return [q for q, reuse in ReuseReranker.calls if not reuse]


def test_the_protocol_part_is_declared_by_the_bi_encoder_only() -> None:
    from rerank_eval.rerankers.lexical import BM25Reranker
    from rerank_eval.rerankers.local.models import BiEncoderReranker, CrossEncoderReranker

    assert isinstance(ReuseReranker("x"), ReusesWork)
    for cls in (CrossEncoderReranker, BM25Reranker):
        assert "cross_query_reuse" not in vars(cls) and "score_tolerance" not in vars(cls)
    assert "score_tolerance" in vars(BiEncoderReranker)


def test_the_sample_is_spread_across_the_run() -> None:
    ids = [f"q{i:02d}" for i in range(10)]
    assert latency_sample(ids, 0) == []
    assert latency_sample(ids, 5) == ["q00", "q02", "q04", "q06", "q08"]
    assert latency_sample(ids, 3) == ["q00", "q03", "q06"]
    assert latency_sample(ids, 10) == ids and latency_sample(ids, 99) == ids


def test_a_reranker_that_reuses_work_is_timed_in_a_pass_with_reuse_off(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    result = run_harness(make_suite(data, [KIND], latency_sample=5, latency_warmup=2), out)
    cell = result.cells[0]
    assert not cell.failed, cell.error_messages
    # main pass with reuse, then 2 warm-up + 5 measured calls with reuse off
    assert [reuse for _, reuse in ReuseReranker.calls] == [True] * 10 + [False] * 7
    assert cell.usage.reused_documents > 0 and cell.usage.requests == 10
    assert cell.latency_usage.reused_documents == 0 and cell.latency_usage.requests == 7
    assert cell.latency_method == "separate pass, reuse off, 5 sampled queries after 2 " \
                                  "warm-up calls"
    assert len(cell.latency_warmup_ms) == 2 and cell.latency_wall_s > 0
    assert cell.latency_score_max_diff == 0.0
    measured = sorted(r.latency_s * 1000 for r in cell.latency_records.values())
    assert cell.latency_ms["p50"] == pytest.approx(statistics.median(measured))
    assert cell.latency_ms["cold"] == pytest.approx(cell.latency_warmup_ms[0])

    summary = json.loads((out / "summary.json").read_text())["results"][0]
    assert summary["latency_method"] == cell.latency_method
    assert summary["usage"]["reused_documents"] == cell.usage.reused_documents
    assert summary["latency_usage"]["reused_documents"] == 0

    frame = pd.read_csv(out / "per_query.csv", dtype={"query_id": str})
    assert "order" in frame.columns
    mine = frame[frame["reranker"] == KIND]
    timed = mine.dropna(subset=["latency_ms"])
    assert len(timed) == 5 and len(mine) == 10  # the others: blank latency
    assert (timed["order"] >= 10 + 2).all()  # after the main pass and the warm-up
    assert mine["order"].notna().all()
    first_stage = frame[frame["reranker"] == "first-stage"]
    assert first_stage["order"].isna().all()

    run = read_run(out)
    assert "order" in run.key_columns and "order" not in run.measures
    assert sorted(ms for _, ms in run.latencies("toy", KIND)) == pytest.approx(measured)
    assert run.summary.results[0].has_latency_pass
    report = (out / "report.md")
    from rerank_eval.report import write_reports
    write_reports(out)
    assert "separate pass, reuse off, 5 sampled queries" in report.read_text()


def test_sampled_latencies_do_not_fall_through_the_run(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    result = run_harness(make_suite(data, [KIND], latency_sample=99, latency_warmup=1),
                         tmp_path / "out")
    cell = result.cells[0]
    main = [r.latency_s for r in sorted(cell.records.values(), key=lambda r: r.order)]
    timed = [r.latency_s for r in sorted(cell.latency_records.values(), key=lambda r: r.order)]
    assert len(timed) == 10
    assert main[0] > 2 * main[-1]  # with reuse the run gets cheaper ...
    assert max(timed) <= 2 * min(timed)  # ... without it, it does not


def test_the_latency_pass_leaves_scores_and_run_files_unchanged(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    with_pass = run_harness(make_suite(data, [KIND], latency_sample=4), tmp_path / "a")
    without = run_harness(make_suite(data, [KIND], latency_sample=0), tmp_path / "b")
    trec = Path("runs") / "toy" / f"{KIND}.trec"
    assert (tmp_path / "a" / trec).read_bytes() == (tmp_path / "b" / trec).read_bytes()
    assert with_pass.cells[0].metrics == without.cells[0].metrics
    cell = without.cells[0]
    assert cell.latency_method == f"{LATENCY_EVERY_CALL}, with cross-query reuse " \
                                  "(latency pass off)"
    assert not cell.latency_records and cell.latency_usage == Usage()
    for record in with_pass.cells[0].latency_records.values():
        assert record.scores == with_pass.cells[0].records[record.query_id].scores


def test_scores_that_differ_in_the_latency_pass_are_an_error_on_the_cell(
        tmp_path: Path) -> None:
    ReuseReranker.skew = 0.5
    data = toy_dataset(tmp_path / "toy")
    result = run_harness(make_suite(data, [KIND], latency_sample=3, latency_warmup=0),
                         tmp_path / "out")
    cell = result.cells[0]
    assert cell.errors == 3 and cell.latency_score_max_diff == pytest.approx(0.5)
    assert all("scores differ from the main pass" in m for m in cell.error_messages)


def test_a_resumed_run_does_not_redo_finished_latency_calls(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    suite = make_suite(data, [KIND], latency_sample=6, latency_warmup=2)
    first = run_harness(suite, out)
    assert len(reuse_off_calls()) == 8

    ReuseReranker.calls = []
    again = run_harness(suite, out)
    assert ReuseReranker.calls == []  # nothing left to measure
    assert again.cells[0].latency_ms == first.cells[0].latency_ms

    # a run killed in the latency pass: the journal ends after 2 of its 6 measured calls
    path = journal_path(out, "toy", KIND)
    lines = path.read_text().splitlines()
    cut = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "latency"][2]
    path.write_text("\n".join(lines[:cut]) + "\n")
    kept = {json.loads(line)["query_id"] for line in lines[:cut]
            if json.loads(line)["type"] == "latency"}
    ReuseReranker.calls = []
    resumed = run_harness(suite, out)
    cell = resumed.cells[0]
    assert [reuse for _, reuse in ReuseReranker.calls] == [False] * (2 + 4)  # warm-up + rest
    measured_again = reuse_off_calls()[2:]
    texts = {r.query_id for r in cell.latency_records.values()}
    assert len(texts) == 6 and len(measured_again) == 4
    assert not cell.failed and cell.resumed_queries == 10
    orders = [r.order for r in (*cell.records.values(), *cell.latency_warmup,
                                *cell.latency_records.values())]
    assert len(orders) == len(set(orders))  # every call has its own place in the sequence
    assert kept <= texts


def test_a_reranker_without_reuse_is_timed_on_every_call_the_cold_one_apart(
        tmp_path: Path) -> None:
    from support.rerankers import length_reranker_registered

    data = toy_dataset(tmp_path / "toy")
    with length_reranker_registered():
        result = run_harness(make_suite(data, ["test-length"]), tmp_path / "out")
    cell = result.cells[0]
    assert cell.latency_method == LATENCY_EVERY_CALL and not cell.latency_records
    ordered = sorted(cell.records.values(), key=lambda r: r.order)
    assert cell.latency_warmup_ms == [ordered[0].latency_s * 1000]
    warm = [r.latency_s * 1000 for r in ordered[1:]]
    assert cell.latency_ms["max"] == pytest.approx(max(warm))
    frame = pd.read_csv(tmp_path / "out" / "per_query.csv")
    assert frame[frame["reranker"] == "test-length"]["latency_ms"].notna().all()


@pytest.mark.slow
def test_bi_encoder_latency_pass_on_the_quick_collection(tmp_path: Path) -> None:
    """The real bi-encoder: reuse really off in the pass (every sampled call embeds all of its
    documents again), on in the main pass. How flat the pass's latencies are across the run is
    a timing figure: benchmarks/serving_latency.py measures it, no test asserts a time."""
    suite = suite_from_dict({
        "name": "q", "datasets": [{"name": "quick", "path": str(REPO / "suites" / "quick")}],
        "rerankers": [{"spec": "biencoder"}], "first_stage": {"top_k": 20},
        "latency_sample": 18, "latency_warmup": 2,
    })
    result = run_harness(suite, tmp_path / "out")
    cell = result.cells[0]
    assert not cell.failed, cell.error_messages
    assert cell.usage.reused_documents > 0 and cell.latency_usage.reused_documents == 0
    assert cell.latency_usage.tokens > 0  # the pass really embedded its documents
    assert len(cell.latency_records) == 18
    # Each sampled call re-embedded its query and its 20 candidates: the pass's tokens are at
    # least what the main pass spent on those queries' documents the first time.
    assert cell.latency_usage.tokens >= sum(
        r.n_candidates for r in cell.latency_records.values())
