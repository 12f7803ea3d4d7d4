"""The load engine against the in-process fake server with a capacity model, on a virtual
clock: exact times, no real time spent.

The fake serves ``workers`` requests at once, each for ``service_s``; the rest queue. Its
true capacity is workers / service_s requests a second, which the sweep must find.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support.providers import FAKE_KEY, prepare

from rerank_eval.load.loops import LevelLog, RequestBudget, open_loop
from rerank_eval.load.summary import build_report
from rerank_eval.load.sweep import SweepPlan, SweepState, run_sweep
from rerank_eval.load.target import LoadTarget, RemoteRefusedError, build_target
from rerank_eval.load.workload import RequestSource, WorkItem, Workload
from rerank_eval.testing.fakes import Capacity, FakeServer, Fault
from rerank_eval.types import Document

WORKERS, SERVICE_S = 4, 0.05
CAPACITY_RPS = WORKERS / SERVICE_S  # 80 requests a second


def workload(queries: int = 50, docs: int = 10) -> Workload:
    items = tuple(WorkItem(f"q{i}", f"what is topic {i}?",
                           tuple(Document(f"document {j} on topic {(i + j) % 17}", id=f"d{j}")
                                 for j in range(docs)))
                  for i in range(queries))
    return Workload("synthetic", docs, items)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeServer:
    server = prepare(monkeypatch, tmp_path)
    server.state("cohere").capacity = Capacity(WORKERS, SERVICE_S)
    server.state("tei").capacity = Capacity(WORKERS, SERVICE_S)
    monkeypatch.setenv("COHERE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("COHERE_BASE_URL", server.url("cohere"))
    return server


def target(server: FakeServer, spec: str = "cohere:rerank-v3.5", *, cap: int = 256,
           allow_remote: bool = True, retries: int | None = None) -> LoadTarget:
    # the in-process server's host is not loopback: the tests allow it explicitly
    return build_target(spec, client_concurrency=cap, retries=retries,
                        allow_remote=allow_remote, clock=server.clock,
                        transport=server.transport())


async def sweep(server: FakeServer, plan: SweepPlan, *, cache_bust: bool = False,
                spec: str = "cohere:rerank-v3.5", retries: int | None = None,
                queries: int = 50):
    chosen = target(server, spec, retries=retries)
    work = workload(queries)
    try:
        state = await run_sweep(chosen.reranker, RequestSource(work, cache_bust=cache_bust),
                                plan, server.clock)
    finally:
        await chosen.aclose()
    return build_report(reranker=chosen.spec, plan=plan, state=state, workload=work,
                        cache_bust=cache_bust, retries=chosen.retries, max_p95_ms=None,
                        gpu_hour_usd=None, price=chosen.price(), environment={})


async def test_closed_loop_sweep_finds_the_servers_capacity(server: FakeServer) -> None:
    plan = SweepPlan("closed", (1, 2, 4, 8, 16), requests_per_level=120, warmup=4)
    report = await sweep(server, plan)
    by_c = {level.concurrency: level for level in report.levels}
    assert list(by_c) == [1, 2, 4, 8, 16]
    assert by_c[1].throughput_rps == pytest.approx(1 / SERVICE_S, rel=0.01)  # 20 rps
    assert report.saturation_rps == pytest.approx(CAPACITY_RPS, rel=0.15)
    assert all(level.error_count == 0 and level.ok == 120 for level in report.levels)
    assert by_c[1].latency_ms["p95"] == pytest.approx(SERVICE_S * 1000, rel=0.01)
    # beyond the knee requests queue: p95 grows with concurrency, throughput does not
    knee = report.knee
    assert knee.found and knee.concurrency in (4, 8)
    assert by_c[16].latency_ms["p95"] > by_c[8].latency_ms["p95"] > by_c[4].latency_ms["p95"]
    assert by_c[16].latency_ms["p95"] == pytest.approx(16 / CAPACITY_RPS * 1000, rel=0.05)
    assert by_c[16].throughput_rps == pytest.approx(by_c[8].throughput_rps, rel=0.05)
    # every request reached the server (warm-up included), none was retried
    assert len(server.state("cohere").requests) == 5 * (120 + 4)
    assert server.state("cohere").max_in_flight == 16
    assert report.queries == 50 and report.documents_per_request["mean"] == 10
    # the usage cost of the dated price is recorded per level and priced at the knee
    assert report.cost_per_1k_queries is not None
    assert report.cost_per_1k_queries.basis == "usage"
    assert report.cost_per_1k_queries.price is not None


@pytest.mark.slow
async def test_open_loop_achieves_the_offered_load_below_capacity_only(
        server: FakeServer) -> None:
    plan = SweepPlan("open", (20.0, 40.0, 160.0), duration_s=10.0, warmup=2, seed=7,
                     drain_s=60.0)
    report = await sweep(server, plan, cache_bust=True)
    below, near, above = report.levels
    for level in (below, near):
        assert level.throughput_rps == pytest.approx(level.offered_qps, rel=0.15)
        assert level.latency_ms["p50"] == pytest.approx(SERVICE_S * 1000, rel=0.2)
    assert above.throughput_rps == pytest.approx(CAPACITY_RPS, rel=0.1)
    # twice the capacity for 10 s: a queue builds (~800 requests), latency explodes
    assert above.latency_ms["p95"] > 20 * below.latency_ms["p95"]
    assert above.latency_ms["p95"] > 5000
    assert all(level.error_count == 0 and level.dropped == 0 for level in report.levels)
    assert report.knee.found and report.knee.offered_qps in (20.0, 40.0)
    assert report.saturation_rps == pytest.approx(CAPACITY_RPS, rel=0.1)


async def test_open_loop_arrivals_are_seeded(server: FakeServer) -> None:
    plan = SweepPlan("open", (30.0,), duration_s=5.0, seed=3)
    first = await sweep(server, plan)
    server.reset()
    server.state("cohere").capacity = Capacity(WORKERS, SERVICE_S)
    second = await sweep(server, plan)
    assert first.levels[0].requests == second.levels[0].requests
    assert first.levels[0].latency_ms == second.levels[0].latency_ms


async def test_the_drain_bound_drops_what_is_still_unanswered(server: FakeServer) -> None:
    plan = SweepPlan("open", (200.0,), duration_s=5.0, drain_s=1.0)
    report = await sweep(server, plan, cache_bust=True)
    level = report.levels[0]
    # 5 s at 200/s = ~1000 arrivals; 6 s at 80/s answers ~480; the rest are dropped
    assert level.dropped > 300 and level.ok + level.dropped == level.requests
    assert level.ok == pytest.approx(6 * CAPACITY_RPS, rel=0.1)
    assert level.duration_s == pytest.approx(6.0, rel=0.05)
    assert not report.knee.found


async def test_identical_requests_in_flight_each_reach_the_endpoint(
        server: FakeServer) -> None:
    plan = SweepPlan("closed", (16,), requests_per_level=64)
    report = await sweep(server, plan, queries=4)  # 4 distinct requests, 16 at a time
    level = report.levels[0]
    assert level.shared_in_flight == 0 and level.ok == 64
    assert len(server.state("cohere").requests) == 64 + plan.warmup
    assert server.state("cohere").max_in_flight == 16
    assert level.throughput_rps == pytest.approx(CAPACITY_RPS, rel=0.05)


async def test_rate_limits_without_retries_are_counted_not_hidden(server: FakeServer) -> None:
    server.state("cohere").fail(*[Fault(status=429, headers={"Retry-After": "1"})] * 5)
    plan = SweepPlan("closed", (1,), requests_per_level=20)
    report = await sweep(server, plan)
    level = report.levels[0]
    assert level.errors["rate_limited"] == 5 and level.ok == 15 and level.retries == 0
    assert len(server.state("cohere").requests) == 20  # none retried
    assert any("429" in message for message in level.error_messages)
    assert not report.knee.found  # 25% errors: no level to run at


async def test_with_retries_the_same_429s_become_retries(server: FakeServer) -> None:
    server.state("cohere").fail(*[Fault(status=429, headers={"Retry-After": "0.1"})] * 2)
    plan = SweepPlan("closed", (1,), requests_per_level=20)
    report = await sweep(server, plan, retries=2)
    level = report.levels[0]
    assert level.ok == 20 and level.error_count == 0 and level.retries == 2
    assert len(server.state("cohere").requests) == 22


async def test_an_overloaded_server_answers_429_and_the_sweep_counts_them(
        server: FakeServer) -> None:
    server.state("cohere").capacity = Capacity(WORKERS, SERVICE_S, max_concurrent=6)
    plan = SweepPlan("closed", (2, 16), requests_per_level=64)
    report = await sweep(server, plan, cache_bust=True)
    low, high = report.levels
    assert low.error_count == 0
    assert high.errors["rate_limited"] > 0 and high.ok + high.error_count == 64
    assert report.knee.concurrency == 2


async def test_server_timing_from_tei_headers(server: FakeServer) -> None:
    plan = SweepPlan("closed", (1, 8), requests_per_level=40)
    spec = f"tei:{server.url('tei')}"
    report = await sweep(server, plan, spec=spec, cache_bust=True)
    low, high = report.levels
    assert low.server_ms["inference"]["p50"] == pytest.approx(SERVICE_S * 1000, abs=1)
    assert low.server_ms["queue"]["p50"] == pytest.approx(0, abs=1)
    assert high.server_ms["queue"]["p50"] == pytest.approx(50, abs=2)  # 8 in, 4 served
    assert report.cost_per_1k_queries is None  # no price, no --gpu-hour-usd


async def test_the_total_cap_stops_the_sweep(server: FakeServer) -> None:
    plan = SweepPlan("closed", (1, 2, 4), requests_per_level=30, warmup=2, max_requests=50)
    report = await sweep(server, plan)
    assert [level.requests for level in report.levels] == [30, 16]
    assert [level.stopped_early for level in report.levels] == [False, True]
    assert len(server.state("cohere").requests) == 50
    assert any("--max-requests 50 reached during concurrency 2" in n and "concurrency 4" in n
               for n in report.notes)


async def test_ctrl_c_keeps_the_finished_levels(server: FakeServer) -> None:
    chosen = target(server)
    plan = SweepPlan("closed", (1, 2, 4), requests_per_level=100)
    state = SweepState()
    task = asyncio.ensure_future(run_sweep(chosen.reranker, RequestSource(workload()), plan,
                                           server.clock, state))
    await server.clock.sleep(6.25)  # level 1 takes 5 s, level 2 2.5 s: it is half way
    task.cancel()
    returned = await task
    await chosen.aclose()
    assert returned is state and state.interrupted
    first, partial = state.levels
    assert first.concurrency == 1 and first.ok == 100 and not first.stopped_early
    assert partial.concurrency == 2 and partial.stopped_early
    assert 45 <= partial.ok <= 55 and partial.error_count == 0 and partial.dropped == 0
    assert partial.throughput_rps == pytest.approx(40, rel=0.05)
    report = build_report(reranker=chosen.spec, plan=plan, state=state, workload=workload(),
                          cache_bust=False, retries=0, max_p95_ms=None, gpu_hour_usd=None,
                          environment={})
    assert report.interrupted and report.to_dict()["interrupted"] is True


async def test_ctrl_c_in_the_open_loop_cancels_what_is_in_flight(server: FakeServer) -> None:
    chosen = target(server)
    plan = SweepPlan("open", (20.0, 200.0), duration_s=5.0, seed=1)
    state = SweepState()
    task = asyncio.ensure_future(run_sweep(chosen.reranker, RequestSource(workload(),
                                                                          cache_bust=True),
                                           plan, server.clock, state))
    await server.clock.sleep(7.0)  # the first level, then 2 s of arrivals beyond capacity
    task.cancel()
    await task
    await chosen.aclose()
    assert state.interrupted and len(state.levels) == 2 and state.levels[1].stopped_early
    partial = state.levels[1]
    assert partial.ok == pytest.approx(2 * CAPACITY_RPS, rel=0.1) and partial.dropped == 0
    assert server.state("cohere").in_flight == 0  # nothing left running in the server


async def test_a_remote_host_is_refused_before_anything_is_sent(server: FakeServer) -> None:
    with pytest.raises(RemoteRefusedError, match=r"fake-rerank\.test"):
        target(server, allow_remote=False)
    assert server.state("cohere").requests == []


async def test_open_loop_latency_counts_the_wait_for_a_slot(server: FakeServer) -> None:
    """At most 1 in flight, arrivals every ~10 ms, 50 ms each: the client queue grows and
    latency (from each arrival) shows it, instead of measuring 50 ms service times."""
    chosen = target(server, cap=1)
    log = LevelLog(server.clock.monotonic())
    dropped = await open_loop(chosen.reranker, RequestSource(workload()), server.clock, log,
                              qps=100.0, duration_s=1.0, requests=None,
                              rng=__import__("random").Random(0), max_in_flight=1,
                              drain_s=30.0, budget=RequestBudget(10_000))
    await chosen.aclose()
    latencies = sorted(o.latency_s for o in log.outcomes)
    assert dropped == 0 and len(latencies) == log.issued
    assert latencies[0] == pytest.approx(SERVICE_S)
    assert latencies[-1] > 3.0  # ~100 arrivals served one by one at 20/s
    assert server.state("cohere").max_in_flight == 1


async def test_a_level_where_everything_failed_ends_the_sweep(server: FakeServer) -> None:
    server.state("cohere").api_key = "another key"  # every request: 401
    plan = SweepPlan("closed", (1, 2, 4), requests_per_level=10)
    report = await sweep(server, plan)
    assert len(report.levels) == 1 and report.levels[0].errors["client_error"] == 10
    assert any("not run: concurrency 2, concurrency 4" in n for n in report.notes)
    assert not report.knee.found and report.cost_per_1k_queries is None
    assert FAKE_KEY not in str(report.to_dict())
