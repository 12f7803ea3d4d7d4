"""``run_blocking``: a coroutine's result from synchronous code, with or without a running
event loop in the calling thread, and an interrupt that stops the work cleanly."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rerank_eval import blocking
from rerank_eval.blocking import run_blocking


async def where_am_i() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


async def fail() -> None:
    await asyncio.sleep(0)
    raise LookupError("the coroutine's own error")


def test_without_a_running_loop_it_runs_here() -> None:
    assert run_blocking(where_am_i()) == threading.current_thread().name


def test_inside_a_running_loop_it_runs_on_a_loop_of_its_own() -> None:
    async def notebook_cell() -> tuple[str, asyncio.AbstractEventLoop]:
        return run_blocking(where_am_i()), asyncio.get_running_loop()

    name, _ = asyncio.run(notebook_cell())
    assert name == "rerank-eval-loop"
    assert not [t for t in threading.enumerate() if t.name == "rerank-eval-loop"]


@pytest.mark.parametrize("in_a_loop", [False, True], ids=["plain", "in-a-running-loop"])
def test_the_coroutines_error_is_raised_to_the_caller(in_a_loop: bool) -> None:
    async def notebook_cell() -> None:
        run_blocking(fail())

    with pytest.raises(LookupError, match="own error"):
        asyncio.run(notebook_cell()) if in_a_loop else run_blocking(fail())


def test_an_interrupt_while_waiting_cancels_the_work_and_lets_it_clean_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started, cleaned = threading.Event(), threading.Event()

    async def long_work() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    real_join = threading.Thread.join
    interrupted: list[bool] = []

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        if not interrupted:  # the first wait is interrupted (Ctrl-C in a notebook)
            interrupted.append(True)
            assert started.wait(10)
            raise KeyboardInterrupt
        real_join(self, timeout)

    monkeypatch.setattr(blocking._LoopThread, "join", join)

    async def notebook_cell() -> None:
        run_blocking(long_work())

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(notebook_cell())
    assert cleaned.is_set()
    assert not [t for t in threading.enumerate() if t.name == "rerank-eval-loop"]


def test_a_cancel_before_the_loop_starts_never_runs_the_coroutine() -> None:
    ran = []

    async def work() -> None:
        ran.append(True)

    worker = blocking._LoopThread(work())
    worker.cancel()
    worker.start()
    worker.join()
    with pytest.raises(asyncio.CancelledError):
        worker.outcome()
    assert not ran
