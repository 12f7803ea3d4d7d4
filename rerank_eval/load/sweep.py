"""A sweep: each load level in turn, after its warm-up, under one total cap on requests.

Levels run lowest first. Before each, ``warmup`` requests are sent and not counted
(closed loop: at the level's concurrency; open loop: one at a time). ``max_requests``
caps every request the sweep sends, warm-up included: the level it cuts short is
recorded with ``stopped_early`` and the later ones are not run. A level where every
request failed (the endpoint is down, the key is wrong) ends the sweep: higher load
would only fail faster.

Cancellation (Ctrl-C: ``asyncio.run`` cancels the main task) stops the level running
now: its finished requests are kept as a level marked ``stopped_early``, the finished
levels are kept (the requests in flight at that moment are left out), and
:attr:`SweepState.interrupted` is set; :func:`run_sweep` then
returns normally so the caller can write what was measured.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rerank_eval.load.loops import LevelLog, RequestBudget, closed_loop, open_loop
from rerank_eval.load.records import LevelResult
from rerank_eval.load.stats import summarise
from rerank_eval.load.workload import RequestSource
from rerank_eval.rerankers import Reranker
from rerank_eval.rerankers.remote.http.clock import Clock

Mode = Literal["closed", "open"]


@dataclass(frozen=True)
class SweepPlan:
    mode: Mode
    levels: tuple[float, ...]
    """Closed loop: concurrencies (whole numbers); open loop: arrival rates (per s)."""
    requests_per_level: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    max_requests: int = 10_000
    max_in_flight: int = 256
    drain_s: float | None = None
    """Open loop: how long unanswered requests get after the arrivals end (default: the
    level's duration, at least 5 s, at most 60 s)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("closed", "open"):
            raise ValueError(f"mode must be 'closed' or 'open', got {self.mode!r}")
        if not self.levels or any(level <= 0 for level in self.levels):
            raise ValueError("levels must be a non-empty list of positive numbers")
        if self.mode == "closed" and any(int(c) != c for c in self.levels):
            raise ValueError("closed-loop levels are concurrencies: whole numbers")
        if self.requests_per_level is None and self.duration_s is None:
            raise ValueError("give a request count per level or a duration")
        if self.requests_per_level is not None and self.requests_per_level < 1:
            raise ValueError("requests_per_level must be >= 1")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError("duration must be > 0")
        if self.warmup < 0 or self.max_in_flight < 1 or self.max_requests < 1:
            raise ValueError("warmup must be >= 0, max_in_flight and max_requests >= 1")

    @property
    def drain_bound_s(self) -> float:
        if self.drain_s is not None:
            return self.drain_s
        return min(60.0, max(5.0, self.duration_s or 0.0))

    def planned_requests(self) -> int | None:
        """Requests the sweep will send if nothing stops it (open loop: expected)."""
        total = 0
        for level in self.levels:
            if self.mode == "closed":
                if self.requests_per_level is None:
                    return None
                count = self.requests_per_level
            else:
                expected = level * self.duration_s if self.duration_s is not None else None
                counts = [c for c in (expected, self.requests_per_level) if c is not None]
                count = round(min(counts))
            total += count + self.warmup
        return total


class SweepProgress(Protocol):
    """What a sweep tells its onlooker (the command's progress bar)."""

    def level_started(self, label: str, expected: int | None) -> None: ...

    def level_running(self, log: LevelLog, now: float) -> None: ...

    def level_finished(self, level: LevelResult) -> None: ...


@dataclass
class SweepState:
    """What a sweep has measured so far; filled in place, so a caller interrupted before
    :func:`run_sweep` returns still has every finished level."""

    levels: list[LevelResult] = field(default_factory=list)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    requests_sent: int = 0


def level_label(mode: Mode, level: float) -> str:
    return f"concurrency {int(level)}" if mode == "closed" else f"{level:g} qps"


async def run_sweep(reranker: Reranker, source: RequestSource, plan: SweepPlan, clock: Clock,
                    state: SweepState | None = None,
                    progress: SweepProgress | None = None) -> SweepState:
    state = state if state is not None else SweepState()
    budget = RequestBudget(plan.max_requests)
    rng = random.Random(plan.seed)
    for index, level in enumerate(plan.levels):
        label = level_label(plan.mode, level)
        if budget.left <= 0:
            state.notes.append(_cap_note(plan, budget, index, "before"))
            break
        if plan.warmup:
            try:
                await closed_loop(reranker, source, clock, LevelLog(clock.monotonic()),
                                  concurrency=int(level) if plan.mode == "closed" else 1,
                                  requests=plan.warmup, duration_s=None, budget=budget)
            except asyncio.CancelledError:
                _interrupted(state, label, None, progress)
                break
            finally:
                state.requests_sent = budget.used
            if budget.left <= 0:
                state.notes.append(_cap_note(plan, budget, index, "during the warm-up of"))
                break
        log = LevelLog(clock.monotonic(), _live(progress, clock))
        if progress is not None:
            progress.level_started(label, _expected(plan, level))
        try:
            dropped = await _run_level(reranker, source, clock, log, plan, level, rng, budget)
        except asyncio.CancelledError:
            # the requests in flight were cut off by us, not failed by the endpoint: they
            # are left out, not counted as dropped
            _interrupted(state, label, _summary(plan, level, log, clock, 0, True), progress)
            break
        finally:
            state.requests_sent = budget.used
        result = _summary(plan, level, log, clock, dropped, log.cut_by_budget)
        state.levels.append(result)
        if progress is not None:
            progress.level_finished(result)
        if log.cut_by_budget:
            state.notes.append(_cap_note(plan, budget, index, "during"))
            break
        if result.ok == 0 and result.error_count > 0 and index + 1 < len(plan.levels):
            rest = ", ".join(level_label(plan.mode, x) for x in plan.levels[index + 1:])
            state.notes.append(f"every request of {label} failed: the sweep stopped there "
                               f"(not run: {rest})")
            break
    return state


def _interrupted(state: SweepState, label: str, partial: LevelResult | None,
                 progress: SweepProgress | None) -> None:
    """Record a Ctrl-C: the cut level (None: it was warming up) and a note."""
    _uncancel()
    state.interrupted = True
    if partial is not None:
        state.levels.append(partial)
        if progress is not None:
            progress.level_finished(partial)
    state.notes.append(f"interrupted during {label}: the finished levels are kept"
                       + (", this one marked stopped_early" if partial is not None
                          else " (it was warming up)"))


async def _run_level(reranker: Reranker, source: RequestSource, clock: Clock, log: LevelLog,
                     plan: SweepPlan, level: float, rng: random.Random,
                     budget: RequestBudget) -> int:
    if plan.mode == "closed":
        await closed_loop(reranker, source, clock, log, concurrency=int(level),
                          requests=plan.requests_per_level, duration_s=plan.duration_s,
                          budget=budget)
        return 0
    return await open_loop(reranker, source, clock, log, qps=level, duration_s=plan.duration_s,
                           requests=plan.requests_per_level, rng=rng,
                           max_in_flight=plan.max_in_flight, drain_s=plan.drain_bound_s,
                           budget=budget)


def _summary(plan: SweepPlan, level: float, log: LevelLog, clock: Clock, dropped: int,
             stopped_early: bool) -> LevelResult:
    """The level's record; its duration runs from its start to its last answer (open loop:
    at least to the end of its arrivals; cut short: to now)."""
    end = log.last_finished if log.last_finished is not None else log.started
    if plan.mode == "open" and log.arrivals_ended is not None:
        end = max(end, log.arrivals_ended)
    if dropped or (stopped_early and not log.cut_by_budget):
        end = max(end, clock.monotonic())
    return summarise(log.outcomes,
                     concurrency=int(level) if plan.mode == "closed" else None,
                     offered_qps=float(level) if plan.mode == "open" else None,
                     duration_s=end - log.started, dropped=dropped, stopped_early=stopped_early)


def _expected(plan: SweepPlan, level: float) -> int | None:
    if plan.mode == "closed":
        return plan.requests_per_level
    counts = [c for c in (level * plan.duration_s if plan.duration_s else None,
                          plan.requests_per_level) if c is not None]
    return round(min(counts)) if counts else None


def _live(progress: SweepProgress | None, clock: Clock):
    if progress is None:
        return None
    return lambda log: progress.level_running(log, clock.monotonic())


def _cap_note(plan: SweepPlan, budget: RequestBudget, index: int, where: str) -> str:
    skipped = [level_label(plan.mode, x) for x in plan.levels[index + (where == "during"):]]
    rest = f"; not run: {', '.join(skipped)}" if skipped else ""
    return (f"--max-requests {budget.limit} reached {where} "
            f"{level_label(plan.mode, plan.levels[index])}{rest}")


def _uncancel() -> None:
    """Take back the cancellation we handled, so later awaits in this task (closing the
    reranker) are not cancelled again."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
