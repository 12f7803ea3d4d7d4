"""Run a coroutine to completion from synchronous code, even inside a running event loop.

A notebook (Jupyter, IPython) already runs an event loop in its main thread, so
``asyncio.run`` refuses to start there, and ``loop.run_until_complete`` on that loop
would deadlock it. :func:`run_blocking` uses ``asyncio.run`` when no loop is running in
this thread, and otherwise runs the coroutine on its own loop in a worker thread and
waits for it: no ``nest_asyncio`` and no patching of the caller's loop. Ctrl-C (a
notebook's "interrupt") while waiting cancels the coroutine, so its ``finally`` blocks
(closing rerankers, releasing the run folder's lock) run before the interrupt is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """The coroutine's result (or its exception), whether or not a loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    worker = _LoopThread(coro)
    worker.start()
    try:
        worker.join()
    except BaseException:  # KeyboardInterrupt while waiting: stop the work, then re-raise
        worker.cancel()
        worker.join()
        raise
    return worker.outcome()


class _LoopThread(threading.Thread, Generic[T]):
    """A thread that runs one coroutine on a fresh event loop and keeps its outcome."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        super().__init__(name="rerank-eval-loop", daemon=True)
        self._coro = coro
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._result: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._result = asyncio.run(self._main())
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc

    async def _main(self) -> T:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            if self._cancelled:
                self._coro.close()
                raise asyncio.CancelledError
        return await self._coro

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._loop is not None and self._task is not None:
                # RuntimeError: the loop has just finished and closed, nothing left to stop
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._task.cancel)

    def outcome(self) -> T:
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]
