"""Wall time and peak RSS per stage of one ``rerank-eval`` command, measured from inside it.

    python benchmarks/stage_probe.py OUT.json [--interval S] [--rule STAGE=PATH:REGEX] \\
        -- run --dataset DIR --reranker bm25 ...

Runs the real command line (``rerank_eval.cli:app``, what the ``rerank-eval`` script
calls) in this process, with a sampling thread beside it. Every ``--interval`` seconds
(default 10 ms) the thread looks at the Python stack of every other thread and names the
stage the program is in (:data:`RULES`: load, index, first_stage, rerank, metrics,
report; ``other`` for start-up and anything no rule names). When the stage changes, the
wall and CPU time (``time.process_time``: all threads) since the last change go to the
old stage, and so does the process's peak RSS
since then: ``VmHWM`` from ``/proc/self/status``, which is then reset (writing ``5`` to
``/proc/self/clear_refs``), so every stage gets the true peak of its own periods (where
the reset is refused, the largest ``VmRSS`` sampled instead). Writes OUT.json (see
:func:`main`) and exits with the command's exit status.

Nothing in the harness is patched: the stages are read off the stacks, so the probe
keeps working as the code moves, as long as :data:`RULES` still names the functions
(``--rule`` adds rules in front of them without editing this file). Timing resolution is
the interval; a stage shorter than that may be missed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

STAGES = ("load", "index", "first_stage", "rerank", "metrics", "report", "other")


@dataclass(frozen=True)
class Rule:
    """A frame whose file path ends with (or contains, for a folder) ``path`` and whose
    function's qualified name matches ``function`` (``re.search``) is in ``stage``. A
    ``dominant`` rule wins over anything it calls (writing the report runs the metrics
    code: that is still the report)."""

    stage: str
    path: str
    function: str = ""
    dominant: bool = False

    def matches(self, filename: str, qualname: str) -> bool:
        in_path = (self.path in filename) if self.path.endswith("/") else \
            filename.endswith(self.path)
        return in_path and (not self.function or re.search(self.function, qualname) is not None)


RULES: tuple[Rule, ...] = (
    # writing results and reports, whatever they call
    Rule("report", "rerank_eval/store.py", dominant=True),
    Rule("report", "rerank_eval/report/", dominant=True),
    Rule("report", "rerank_eval/cli.py", r"_print_results", dominant=True),
    # reading a dataset (and building whatever the loader keeps of it)
    Rule("load", "rerank_eval/datasets/", r"(^|\.)load\w*$", dominant=True),
    # building (or loading) a BM25 index: the first stage's, or a reranker's own
    Rule("index", "rerank_eval/bm25_build.py"),
    Rule("index", "rerank_eval/corpus_index.py", r"CorpusIndexes|corpus_chunks|of_documents"),
    Rule("index", "rerank_eval/bm25_index.py",
         r"(^|\.)(__init__|_tokenize|from_\w+|build\w*|load\w*|save\w*|open\w*|index\w*)$"),
    Rule("index", "rerank_eval/rerankers/", r"index_corpus"),
    Rule("index", "rerank_eval/harness.py", r"_index_corpus"),
    Rule("metrics", "rerank_eval/metrics.py"),
    Rule("first_stage", "rerank_eval/candidates.py"),
    Rule("first_stage", "rerank_eval/harness.py", r"_candidates"),
    Rule("rerank", "rerank_eval/rerankers/"),
    Rule("rerank", "rerank_eval/executors/"),
    Rule("rerank", "rerank_eval/journal.py"),
    Rule("rerank", "rerank_eval/harness.py",
         r"_run_cell|_rerank_queries|rerank_one|_latency|_summarise|_price"),
)
"""Checked in order for each frame; the first rule that matches names the frame's stage.
An import counts in the stage of the code that imports (a lazy ``import bm25s`` in the
index), whatever the imported modules run; imports outside any stage (start-up, the
command's own imports) are ``other``. Code no rule names (reading corpus documents, the
artifact cache) counts in the stage of the function that called it."""

_IDLE = re.compile(r"(selectors|asyncio/base_events|asyncio/events)\.py$")


def parse_rule(text: str) -> Rule:
    """``STAGE=PATH[:REGEX]`` (a ``!`` after STAGE makes it dominant)."""
    stage, _, rest = text.partition("=")
    dominant = stage.endswith("!")
    stage = stage.rstrip("!")
    path, _, function = rest.partition(":")
    if stage not in STAGES or not path:
        raise ValueError(f"--rule {text!r}: expected STAGE=PATH[:REGEX], STAGE one of "
                         f"{', '.join(STAGES)}")
    return Rule(stage, path, function, dominant)


def stage_of(stack: Sequence[tuple[str, str]], rules: Sequence[Rule] = RULES) -> str | None:
    """The stage of one thread's stack (``(filename, qualname)`` pairs, outermost first),
    looking only at the frames outside any import: the outermost frame a dominant rule
    names, else the innermost frame any rule names, else None."""
    found: str | None = None
    for filename, qualname in stack:
        if filename.startswith("<frozen importlib"):
            break  # an import: it counts in the stage of the code that imports
        rule = next((r for r in rules if r.matches(filename, qualname)), None)
        if rule is None:
            continue
        if rule.dominant:
            return rule.stage
        found = rule.stage
    return found


def _stack(frame: FrameType | None) -> list[tuple[str, str]]:
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append((code.co_filename.replace(os.sep, "/"), code.co_qualname))
        frame = frame.f_back
    frames.reverse()
    return frames


@dataclass
class StageTotals:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    entries: int = 0


@dataclass
class StageSampler:
    """The sampling thread (see the module docstring)."""

    interval: float = 0.01
    rules: Sequence[Rule] = RULES
    totals: dict[str, StageTotals] = field(default_factory=lambda: {s: StageTotals()
                                                                      for s in STAGES})
    timeline: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since start, stage) at every change."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stage-probe", daemon=True)
        self._main = threading.main_thread().ident
        self._hwm_reset = _reset_hwm()
        self.peak_method = ("VmHWM, reset at each stage change" if self._hwm_reset
                            else "largest sampled VmRSS (VmHWM reset refused)")
        self.current = "other"
        self.started = self._since = time.perf_counter()
        self.cpu_started = self._cpu_since = time.process_time()
        self._rss_max = 0

    def start(self) -> None:
        self.timeline.append((0.0, self.current))
        self.totals[self.current].entries += 1
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._close(time.perf_counter())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            stage = self.classify(sys._current_frames())
            if not self._hwm_reset:
                self._rss_max = max(self._rss_max, _status("VmRSS"))
            if stage != self.current:
                now = time.perf_counter()
                self._close(now)
                self.current, self._since = stage, now
                self.totals[stage].entries += 1
                self.timeline.append((round(now - self.started, 4), stage))

    def classify(self, frames: dict[int, FrameType]) -> str:
        """The main thread's stage, else another thread's; when no thread is in a named
        stage and the main thread waits in the event loop (a reranker's call awaited),
        still the current stage; else ``other``."""
        mine = threading.get_ident()
        main_frame = frames.get(self._main) if self._main is not None else None
        stage = stage_of(_stack(main_frame), self.rules)
        if stage is not None:
            return stage
        for ident in sorted(frames):
            if ident not in (mine, self._main):
                stage = stage_of(_stack(frames[ident]), self.rules)
                if stage is not None:
                    return stage
        if main_frame is not None and _IDLE.search(main_frame.f_code.co_filename):
            return self.current
        return "other"

    def _close(self, now: float) -> None:
        totals = self.totals[self.current]
        totals.wall_s += now - self._since
        cpu = time.process_time()
        totals.cpu_s += cpu - self._cpu_since
        self._cpu_since = cpu
        if self._hwm_reset:
            peak = _status("VmHWM")
            _reset_hwm()
        else:
            peak, self._rss_max = self._rss_max, _status("VmRSS")
        totals.peak_rss_bytes = max(totals.peak_rss_bytes, peak)
        self._since = now

    def result(self) -> dict[str, object]:
        stages = {name: {"wall_s": round(t.wall_s, 4), "cpu_s": round(t.cpu_s, 4),
                         "peak_rss_bytes": t.peak_rss_bytes, "entries": t.entries}
                  for name, t in self.totals.items()}
        return {"stages": stages,
                "peak_rss_bytes": max(t.peak_rss_bytes for t in self.totals.values()),
                "peak_method": self.peak_method, "interval_s": self.interval,
                "timeline": self.timeline}


def _status(field_name: str) -> int:
    """A ``/proc/self/status`` memory field in bytes (0 where there is none)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_hwm() -> bool:
    """Reset the process's peak RSS (Linux 4.0+); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _split_args(argv: Sequence[str]) -> tuple[Path, float, list[Rule], list[str]]:
    if "--" not in argv or argv.index("--") < 1:
        raise SystemExit("usage: stage_probe.py OUT.json [--interval S] [--rule R] "
                         "-- RERANK_EVAL_ARGS...")
    split = argv.index("--")
    own, command = list(argv[:split]), list(argv[split + 1:])
    out = Path(own.pop(0))
    interval, rules = 0.01, []
    while own:
        option = own.pop(0)
        if option == "--interval" and own:
            interval = float(own.pop(0))
        elif option == "--rule" and own:
            rules.append(parse_rule(own.pop(0)))
        else:
            raise SystemExit(f"stage_probe.py: unknown option {option!r}")
    return out, interval, rules, command


def main(argv: Iterable[str] | None = None) -> int:
    """Run the command; write OUT.json: ``command``, ``exit_code``, ``wall_s`` and ``cpu_s``
    (this process, all threads, from before importing the CLI), ``stages`` (per stage
    ``wall_s``, ``cpu_s``, ``peak_rss_bytes``, ``entries``), ``peak_rss_bytes``,
    ``peak_method``, ``interval_s`` and ``timeline``."""
    out, interval, extra_rules, command = _split_args(list(sys.argv[1:] if argv is None
                                                          else argv))
    sampler = StageSampler(interval=interval, rules=(*extra_rules, *RULES))
    sampler.start()
    exit_code = 0
    try:
        from rerank_eval.cli import app

        app(args=command, prog_name="rerank-eval")
    except SystemExit as exc:
        exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        exit_code = 1
        raise
    finally:
        sampler.stop()
        result = {"command": ["rerank-eval", *command], "exit_code": exit_code,
                  "wall_s": round(time.perf_counter() - sampler.started, 4),
                  "cpu_s": round(time.process_time() - sampler.cpu_started, 4),
                  **sampler.result()}
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, out)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
