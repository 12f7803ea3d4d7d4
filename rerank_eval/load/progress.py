"""The progress of a sweep in the terminal: one rich bar per level, with live throughput
(successful requests per second so far) and p95 latency."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from rich.progress import Progress

from rerank_eval.load.loops import LevelLog
from rerank_eval.load.records import LevelResult


class RichSweepProgress:
    """One bar per level; live throughput and p95, refreshed at most 4 times a second."""

    REFRESH_S = 0.25

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self._last = 0.0

    def level_started(self, label: str, expected: int | None) -> None:
        self.task = self.progress.add_task(label, total=expected, live="")
        self._last = 0.0

    def level_running(self, log: LevelLog, now: float) -> None:
        if self.task is None:
            return
        self.progress.update(self.task, completed=len(log.outcomes))
        wall = time.monotonic()
        if wall - self._last < self.REFRESH_S:
            return
        self._last = wall
        ok = [o.latency_s for o in log.outcomes if o.ok and not o.shared]
        elapsed = now - log.started
        rps = len(ok) / elapsed if elapsed > 0 else 0.0
        errors = sum(1 for o in log.outcomes if not o.ok)
        live = f"{rps:.1f} rps"
        if ok:
            live += f"  p95 {float(np.percentile(ok, 95)) * 1000:.0f} ms"
        if errors:
            live += f"  [red]{errors} errors[/red]"
        self.progress.update(self.task, live=live)

    def level_finished(self, level: LevelResult) -> None:
        if self.task is None:
            return
        p95 = level.p95_ms
        live = f"{level.throughput_rps:.1f} rps" + (f"  p95 {p95:.0f} ms" if p95 else "")
        if level.error_count:
            live += f"  [red]{level.error_count} errors[/red]"
        state = " [yellow]stopped early[/yellow]" if level.stopped_early else " [green]done"
        self.progress.update(self.task, completed=level.requests, total=level.requests,
                             live=live, description=f"{level.label}{state}")
        self.task = None
