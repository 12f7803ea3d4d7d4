"""Runs for the executor tests: a small bi-encoder run of the quick collection, in process
(the reference) or on an executor, written to a run folder like the CLI writes it."""

from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rerank_eval.harness import Harness
from rerank_eval.records import RunResult
from rerank_eval.store import run_path, write_run_dir
from rerank_eval.suite import Suite, suite_from_dict

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "suites" / "quick"
BIENCODER_FP32 = "biencoder?dtype=fp32"


def quick_suite(spec: str = BIENCODER_FP32, *, queries: int = 16, top_k: int = 20,
                latency_sample: int = 4) -> Suite:
    return suite_from_dict({
        "name": "executor", "datasets": [{"name": "quick", "path": str(QUICK)}],
        "rerankers": [{"spec": spec}], "first_stage": {"top_k": top_k},
        "max_queries": queries, "latency_sample": latency_sample, "latency_warmup": 1,
    })


def run_into(suite: Suite, out: Path, executor: Any = None) -> RunResult:
    harness = Harness(suite, out, executor=executor,
                      on_cell_done=lambda partial: write_run_dir(partial, out))
    result = asyncio.run(harness.run())
    write_run_dir(result, out)
    return result


def trec_bytes(out: Path, spec: str = BIENCODER_FP32) -> bytes:
    return run_path(out, "quick", spec).read_bytes()


def cell_summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())["results"][0]


@contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` for a while: a CPU's float results depend on
    them, and a Ray actor with one CPU runs one."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
