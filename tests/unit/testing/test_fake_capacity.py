"""The fakes' capacity model: K workers, a FIFO queue, service time on the server's clock."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from support.clock import VirtualClock

from rerank_eval.testing.fakes import Capacity, FakeServer, all_dialects_server
from rerank_eval.testing.fakes.capacity import Slots
from rerank_eval.testing.fakes.compatible import GenericDialect
from rerank_eval.testing.fakes.providers import TeiDialect
from rerank_eval.testing.fakes.server import Timing


def tei_server(capacity: Capacity | None) -> FakeServer:
    server = FakeServer([TeiDialect()], clock=VirtualClock())
    server.state("tei").capacity = capacity
    return server


async def post(server: FakeServer, texts: int = 2, *, at: float = 0.0) -> httpx.Response:
    """One TEI request, sent at virtual time ``at``."""
    clock = server.clock
    if at:
        await clock.sleep(at - clock.monotonic())
    async with httpx.AsyncClient(transport=server.transport()) as client:
        return await client.post(f"{server.url('tei')}/rerank", json={
            "query": "deep learning", "texts": [f"text {i}" for i in range(texts)]})


def test_capacity_arithmetic_and_checks() -> None:
    c = Capacity(workers=4, service_s=0.05, per_document_s=0.001)
    assert c.service_time(20) == pytest.approx(0.07)
    assert c.throughput_rps(20) == pytest.approx(4 / 0.07)
    assert Capacity(workers=1, service_s=0.0).throughput_rps(10) == float("inf")
    for bad in ({"workers": 0, "service_s": 0.1}, {"workers": 1, "service_s": -1.0},
                {"workers": 1, "service_s": float("nan")},
                {"workers": 1, "service_s": 0.1, "per_document_s": -0.1},
                {"workers": 4, "service_s": 0.1, "max_concurrent": 2}):
        with pytest.raises(ValueError):
            Capacity(**bad)


async def test_n_requests_on_k_workers_finish_at_exact_virtual_times() -> None:
    server = tei_server(Capacity(workers=3, service_s=0.1))
    responses = await asyncio.gather(*(post(server) for _ in range(10)))
    assert all(r.status_code == 200 for r in responses)
    state = server.state("tei")
    done = sorted(r.answered_at for r in state.requests)
    assert done == pytest.approx([0.1] * 3 + [0.2] * 3 + [0.3] * 3 + [0.4])
    # first come, first served: the queue waits grow in arrival order
    assert [r.queue_s for r in state.requests] == pytest.approx(
        [0.0] * 3 + [0.1] * 3 + [0.2] * 3 + [0.3])
    assert [r.service_s for r in state.requests] == pytest.approx([0.1] * 10)
    assert state.max_in_flight == 10 and state.max_busy == 3
    assert state.in_flight == 0 and state.busy == 0
    assert server.clock.monotonic() == pytest.approx(0.4)


async def test_service_time_grows_with_documents() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.01, per_document_s=0.002))
    await asyncio.gather(post(server, texts=5), post(server, texts=20))
    small, large = server.state("tei").requests
    assert (small.service_s, large.service_s) == pytest.approx((0.02, 0.05))
    assert (small.answered_at, large.answered_at) == pytest.approx((0.02, 0.07))


async def test_staggered_arrivals_queue_only_while_the_workers_are_busy() -> None:
    """One worker, 100 ms each: arrivals at 0, 50 and 300 ms finish at 100, 200, 400."""
    server = tei_server(Capacity(workers=1, service_s=0.1))
    await asyncio.gather(post(server), post(server, at=0.05), post(server, at=0.3))
    state = server.state("tei")
    assert [r.at for r in state.requests] == pytest.approx([0.0, 0.05, 0.3])
    assert [r.queue_s for r in state.requests] == pytest.approx([0.0, 0.05, 0.0])
    assert [r.answered_at for r in state.requests] == pytest.approx([0.1, 0.2, 0.4])
    assert state.max_in_flight == 2


async def test_tei_fake_reports_its_queue_and_service_time_in_ms() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.05))
    first, second = await asyncio.gather(post(server), post(server))
    timing = [{k: r.headers[k] for k in ("x-total-time", "x-tokenization-time",
                                         "x-queue-time", "x-inference-time")}
              for r in (first, second)]
    assert sorted(timing, key=lambda t: int(t["x-total-time"])) == [
        {"x-total-time": "50", "x-tokenization-time": "0", "x-queue-time": "0",
         "x-inference-time": "50"},
        {"x-total-time": "100", "x-tokenization-time": "0", "x-queue-time": "50",
         "x-inference-time": "50"}]


async def test_without_a_capacity_every_request_is_answered_at_once() -> None:
    server = tei_server(None)
    responses = await asyncio.gather(*(post(server) for _ in range(5)))
    state = server.state("tei")
    assert [r.answered_at for r in state.requests] == [0.0] * 5
    assert state.max_busy == 0
    assert responses[0].headers["x-inference-time"] == "0"


async def test_past_max_concurrent_the_server_answers_429_at_once() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.1, max_concurrent=2))
    responses = await asyncio.gather(*(post(server) for _ in range(3)))
    assert sorted(r.status_code for r in responses) == [200, 200, 429]
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json() == {"error": "Model is overloaded", "error_type": "Overloaded"}
    state = server.state("tei")
    assert sorted(r.answered_at for r in state.requests) == pytest.approx([0.0, 0.1, 0.2])


async def test_rejected_requests_take_no_worker() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.1))
    bad = await post(server, texts=0)  # "`texts` cannot be empty"
    assert bad.status_code == 400
    assert server.state("tei").requests[0].answered_at == 0.0


async def test_every_dialect_honours_its_capacity() -> None:
    server = all_dialects_server(clock=VirtualClock())
    state = server.state("compatible")
    state.capacity = Capacity(workers=2, service_s=0.1)

    async def call() -> int:
        body: dict[str, Any] = {"model": "m", "query": "q", "documents": ["a", "b"]}
        async with httpx.AsyncClient(transport=server.transport()) as client:
            answer = await client.post(f"{server.url('compatible')}/v1/rerank", json=body,
                                       headers={"Authorization": f"Bearer {state.api_key}"})
        return answer.status_code

    assert await asyncio.gather(*(call() for _ in range(4))) == [200] * 4
    assert sorted(r.answered_at for r in state.requests) == pytest.approx([0.1, 0.1, 0.2, 0.2])
    # only TEI reports its timing in headers
    assert GenericDialect().timing_headers(Timing(total_s=0.2, queue_s=0.1,
                                                  service_s=0.1)) == {}


def test_reset_clears_the_capacity() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.1))
    state = server.state("tei")
    state.max_busy = 3
    state.reset()
    assert state.capacity is None and state.max_busy == 0
    server.state("tei").capacity = Capacity(workers=1, service_s=0.1)
    server.reset()
    assert server.state("tei").capacity is None


async def test_a_new_number_of_workers_takes_effect() -> None:
    server = tei_server(Capacity(workers=1, service_s=0.1))
    await asyncio.gather(post(server), post(server))
    server.state("tei").capacity = Capacity(workers=2, service_s=0.1)
    start = server.clock.monotonic()
    await asyncio.gather(post(server), post(server))
    assert server.clock.monotonic() - start == pytest.approx(0.1)


async def test_slots_are_first_come_first_served_and_survive_cancellation() -> None:
    slots = Slots(1)
    order: list[str] = []

    async def worker(name: str) -> None:
        await slots.acquire()
        order.append(name)
        await asyncio.sleep(0)
        slots.release()

    await slots.acquire()  # hold the only slot
    tasks = {name: asyncio.ensure_future(worker(name)) for name in "abcd"}
    await asyncio.sleep(0)
    assert slots.waiting == 4
    tasks["b"].cancel()
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    assert order == ["a", "c", "d"]
    assert slots.free == 1 and slots.waiting == 0


async def test_a_slot_handed_to_a_cancelled_waiter_passes_on() -> None:
    slots = Slots(1)
    await slots.acquire()
    first = asyncio.ensure_future(slots.acquire())
    second = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it runs: `second` gets it
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    assert slots.free == 0 and slots.waiting == 0
