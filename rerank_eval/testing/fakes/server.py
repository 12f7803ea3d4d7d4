"""A fake rerank server that speaks every dialect, under one prefix each.

``/cohere/v2/rerank``, ``/jina/v1/rerank``, ``/voyage/v1/rerank``,
``/mixedbread/v1/reranking``, ``/tei/rerank``, ``/compatible/v1/rerank``, ``/vllm/...``.

Each dialect has a :class:`DialectState`: the expected API key, a queue of injected
:class:`Fault` s (one consumed per request), a constant delay, a per-request document
maximum, an optional :class:`~.capacity.Capacity` (workers and service time: beyond it
requests queue), and a log of every request received (with its queue wait and service
time, which the TEI fake reports in its ``x-*-time`` headers as real TEI does).

The server is a Starlette ``app``. In-process (the usual way in tests): give a client
``httpx.ASGITransport(app=server.app)`` (:meth:`FakeServer.transport`) and the base URL
``server.url(name)``; delays then wait on the server's ``clock`` (a virtual clock in
tests). Over a real socket (:meth:`FakeServer.start`: uvicorn in a daemon thread) for the
SDK parity tests, end-to-end runs through the CLI, and the benchmarks.

starlette and uvicorn (the ``fakes`` extra) are imported only when a server is built.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.remote.http.clock import SYSTEM_CLOCK, Clock
from rerank_eval.testing.fakes.capacity import Capacity, Slots

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request
    from starlette.responses import Response

FAKE_KEY = "sk-fake-SECRET-5d1e9b7c"
"""A recognisable key: tests grep for it in every message and cache file."""


@dataclass
class Fault:
    """One injected misbehaviour, consumed by the next request to the dialect.

    status: answer with this HTTP status and the dialect's own error body;
    headers: extra response headers (``Retry-After`` ...);
    delay_s: wait first, on the server's clock (past the client's timeout, for timeouts);
    malformed: answer 200 with a body that is not JSON;
    mutate: answer 200 with a broken ranking: ``duplicate_index``, ``out_of_range``,
    ``drop_result``, ``nan_score``, ``string_score``, ``no_results``, ``echo_key``.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    delay_s: float = 0.0
    malformed: bool = False
    mutate: str | None = None


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    """When it arrived, on the server's clock (``monotonic()``)."""
    queue_s: float = 0.0
    """How long it waited for a worker (:attr:`DialectState.capacity`), server's clock."""
    service_s: float = 0.0
    """How long it held a worker, on the server's clock."""
    answered_at: float | None = None
    """When its answer (or error) was ready, on the server's clock; None while running."""


@dataclass(frozen=True)
class Timing:
    """How the server spent one answered request's time, on its clock (seconds)."""

    total_s: float
    """From arrival to answer: delays, the queue and the service."""
    queue_s: float
    service_s: float


class Reject(Exception):
    """Raised by a dialect handler: answer ``status`` with the dialect's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class DialectState:
    default_api_key: str | None = FAKE_KEY
    api_key: str | None = FAKE_KEY
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    delay_s: float = 0.0
    max_documents: int | None = None
    degrade: float = 0.0
    """A share of queries (0..1), chosen by hashing the query text, answered with the
    ranking reversed: a provider whose model got worse on part of the queries."""
    capacity: Capacity | None = None
    """Workers and service time; None: every request answered at once (after ``delay_s``)."""
    in_flight: int = 0
    """Requests in the server now: delayed, queued or served."""
    max_in_flight: int = 0
    busy: int = 0
    """Requests holding a worker now (with a capacity)."""
    max_busy: int = 0
    _slots: tuple[asyncio.AbstractEventLoop, int, Slots] | None = field(
        default=None, repr=False, compare=False)

    def slots(self) -> Slots | None:
        """The worker queue of :attr:`capacity`, made on the running loop when first used
        (and again for a new loop or a new number of workers)."""
        if self.capacity is None:
            return None
        loop = asyncio.get_running_loop()
        workers = self.capacity.workers
        if self._slots is None or self._slots[0] is not loop or self._slots[1] != workers:
            self._slots = (loop, workers, Slots(workers))
        return self._slots[2]

    def reset(self) -> None:
        self.api_key = self.default_api_key
        self.faults.clear()
        self.requests.clear()
        self.delay_s = 0.0
        self.max_documents = None
        self.degrade = 0.0
        self.capacity = None
        self._slots = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.busy = 0
        self.max_busy = 0

    def fail(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]


class Dialect:
    """A provider's wire format. Subclasses implement ``handle`` and ``error_body``."""

    name = "dialect"
    paths: tuple[str, ...] = ()

    def error_body(self, status: int, message: str) -> Any:
        """The provider's error JSON (or ``bytes`` for a raw body, ``None`` for empty)."""
        return {"message": message}

    def auth_failure(self, given: str | None, path: str) -> tuple[int, str] | None:
        return bearer_auth_failure(given, self.state.api_key)

    def handle(self, path: str, body: Any) -> tuple[Any, dict[str, str]]:
        raise NotImplementedError

    def document_count(self, body: dict[str, Any]) -> int:
        """How many documents a (valid) request carries, for the service time."""
        for key in ("documents", "texts", "input"):
            value = body.get(key)
            if isinstance(value, list):
                return len(value)
        return 0

    def timing_headers(self, timing: Timing) -> dict[str, str]:
        """Headers reporting the server's timing on an answer (none unless overridden)."""
        return {}

    def rank(self, query: str, texts: list[str]) -> list[tuple[int, float]]:
        """(index, score), best first; reversed for the queries ``state.degrade`` picks."""
        from rerank_eval.testing.fakes.scoring import degraded_ranking

        return degraded_ranking(query, texts, self.state.degrade)

    def mutate(self, payload: Any, how: str) -> Any:
        """Break the ranking in ``payload`` (results under 'results' by default)."""
        return mutate_results(payload, "results", "relevance_score", how)

    def default_message(self, status: int) -> str:
        return {429: "rate limit exceeded", 500: "internal server error",
                503: "service unavailable"}.get(status, f"error {status}")

    requires_key = True

    def __init__(self) -> None:
        self.state = self.new_state()

    def new_state(self) -> DialectState:
        key = FAKE_KEY if self.requires_key else None
        return DialectState(default_api_key=key, api_key=key)


def bearer_auth_failure(given: str | None, expected: str | None) -> tuple[int, str] | None:
    if expected is None:
        return None
    if not given:
        return 401, "no api key supplied"
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or token != expected:
        return 401, "invalid api token"
    return None


def mutate_results(payload: Any, list_key: str | None, score_key: str, how: str) -> Any:
    items = payload if list_key is None else payload[list_key]
    if how == "duplicate_index" and len(items) >= 2:
        items[1]["index"] = items[0]["index"]
    elif how == "out_of_range":
        items[0]["index"] = 10_000
    elif how == "drop_result":
        items.pop()
    elif how == "nan_score":
        items[0][score_key] = float("nan")
    elif how == "string_score":
        items[0][score_key] = "high"
    elif how == "no_results" and list_key is not None:
        payload.pop(list_key)
    elif how == "echo_key":
        pass  # handled by the server: the error message echoes the Authorization header
    else:
        raise ValueError(f"unknown or inapplicable mutation {how!r}")
    return payload


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, allow_nan=True).encode("utf-8")


IN_PROCESS_HOST = "http://fake-rerank.test"
"""The base of :meth:`FakeServer.url` before :meth:`FakeServer.start` (any host will do
for an ASGI transport)."""


class FakeServer:
    def __init__(self, dialects: list[Dialect], *, clock: Clock | None = None) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.dialects = {d.name: d for d in dialects}
        self.clock = clock or SYSTEM_CLOCK
        routes = []
        for dialect in dialects:
            for path in dialect.paths:
                routes.append(Route(f"/{dialect.name}{path}", self._endpoint(dialect, path),
                                    methods=["POST"]))
        self.app = Starlette(routes=routes)
        self._server: Any = None  # uvicorn.Server
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    def url(self, name: str) -> str:
        """The base URL of dialect ``name``: on the socket once started, else in-process."""
        if self.port is None:
            return f"{IN_PROCESS_HOST}/{name}"
        return f"http://127.0.0.1:{self.port}/{name}"

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport to this server (no socket, no thread)."""
        import httpx

        return httpx.ASGITransport(app=self.app)

    def state(self, name: str) -> DialectState:
        return self.dialects[name].state

    def reset(self) -> None:
        """Fresh state for every dialect (requests still running from an earlier test
        keep updating the state they started with, not the new one)."""
        for dialect in self.dialects.values():
            dialect.state = dialect.new_state()

    def _endpoint(self, dialect: Dialect, path: str):
        async def endpoint(request: Request) -> Response:
            state = dialect.state
            raw = await request.body()
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = None
            recorded = Recorded(path, {k.lower(): v for k, v in request.headers.items()},
                                parsed, self.clock.monotonic())
            state.requests.append(recorded)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                return await self._answer(dialect, state, path, request, parsed, recorded)
            finally:
                state.in_flight -= 1
                recorded.answered_at = self.clock.monotonic()
        return endpoint

    @contextlib.asynccontextmanager
    async def _worker(self, state: DialectState, recorded: Recorded,
                      documents: int) -> AsyncIterator[list[bool]]:
        """Wait for a worker (FIFO) and hold it while the request is handled, then until
        its service time is up: the fake's own work (reading the body, ranking) is part of
        the service time, as a real server's is, so the true capacity stays workers /
        service time on a real clock too. The caller clears the yielded flag for a request
        it refuses (answered at once). Nothing to do without a capacity."""
        capacity, slots = state.capacity, state.slots()
        served = [True]
        if capacity is None or slots is None:
            yield served
            return
        queued = self.clock.monotonic()
        await slots.acquire()
        try:
            started = self.clock.monotonic()
            recorded.queue_s = started - queued
            state.busy += 1
            state.max_busy = max(state.max_busy, state.busy)
            try:
                yield served
                left = capacity.service_time(documents) - (self.clock.monotonic() - started)
                if served[0] and left > 0:
                    await self.clock.sleep(left)
            finally:
                state.busy -= 1
                recorded.service_s = self.clock.monotonic() - started
        finally:
            slots.release()

    async def _answer(self, dialect: Dialect, state: DialectState, path: str,
                      request: Request, parsed: Any, recorded: Recorded) -> Response:
        fault = state.faults.popleft() if state.faults else None
        delay = state.delay_s + (fault.delay_s if fault else 0.0)
        if delay:
            await self.clock.sleep(delay)
        failure = dialect.auth_failure(request.headers.get("authorization"), path)
        if failure is not None:
            return self._error(dialect, failure[0], failure[1])
        if fault is not None and fault.mutate == "echo_key":
            given = request.headers.get("authorization", "")
            return self._error(dialect, 400, f"bad request; you sent Authorization: {given}")
        if fault is not None and fault.status is not None:
            return self._error(dialect, fault.status,
                               fault.message or dialect.default_message(fault.status),
                               fault.headers)
        from starlette.responses import Response

        if fault is not None and fault.malformed:
            return Response(b'{"results": [{"index": 0, "relevance', status_code=200,
                            media_type="application/json")
        if parsed is None or not isinstance(parsed, dict):
            return self._error(dialect, 400, "invalid request: body must be a JSON object")
        capacity = state.capacity
        if capacity is not None and capacity.max_concurrent is not None \
                and state.in_flight > capacity.max_concurrent:
            return self._error(dialect, 429, dialect.default_message(429))
        async with self._worker(state, recorded, dialect.document_count(parsed)) as served:
            try:
                payload, headers = dialect.handle(path, parsed)
            except Reject as reject:
                served[0] = False
                return self._error(dialect, reject.status, reject.message)
            if fault is not None and fault.mutate:
                payload = dialect.mutate(payload, fault.mutate)
            content = json_bytes(payload)
        timing = Timing(total_s=self.clock.monotonic() - recorded.at,
                        queue_s=recorded.queue_s, service_s=recorded.service_s)
        extra = dict(fault.headers) if fault else {}
        return Response(content, status_code=200, media_type="application/json",
                        headers={**headers, **dialect.timing_headers(timing), **extra})

    def _error(self, dialect: Dialect, status: int, message: str,
               headers: dict[str, str] | None = None) -> Response:
        from starlette.responses import Response

        body = dialect.error_body(status, message)
        if body is None:
            content = b""
        elif isinstance(body, bytes):
            content = body
        else:
            content = json_bytes(body)
        return Response(content, status_code=status, headers=headers or {},
                        media_type="application/json" if content else None)

    # -- lifecycle --------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeServer:
        """Serve on a real socket on 127.0.0.1 (``port``; 0: a free one), uvicorn in a
        daemon thread."""
        import uvicorn

        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="off", access_log=False, timeout_graceful_shutdown=1,
                                backlog=512, limit_concurrency=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-rerank-server",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        return self

    @property
    def running(self) -> bool:
        """Serving on a socket (started, and its thread not ended)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)


_shared: FakeServer | None = None
_lock = threading.Lock()


def all_dialects_server(*, clock: Clock | None = None) -> FakeServer:
    """A new, in-process server with every dialect."""
    from rerank_eval.testing.fakes.dialects import all_dialects

    return FakeServer(all_dialects(), clock=clock)


def shared_server() -> FakeServer:
    """One real-socket server with every dialect for the whole process (stopped at exit)."""
    global _shared
    with _lock:
        if _shared is None:
            from rerank_eval.testing.fakes.dialects import all_dialects

            _shared = FakeServer(all_dialects()).start()
            atexit.register(_shared.stop)
        return _shared
