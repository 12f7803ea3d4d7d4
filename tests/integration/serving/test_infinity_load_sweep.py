"""`rerank-eval load` against a real Infinity server: a short closed-loop sweep through the
installed command, every request answered, a knee found, the files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rerank_eval.testing.infinity import InfinityServer

LEVELS = [1, 2, 4]
REQUESTS = 12


def rerank_eval_command() -> list[str]:
    script = Path(sys.executable).with_name("rerank-eval")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rerank_eval.cli"]


@pytest.mark.slow
def test_a_closed_loop_sweep_against_infinity_finds_a_knee(infinity_server: InfinityServer,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "load"
    spec = f"infinity:{infinity_server.model_id}?base_url={infinity_server.base_url}"
    result = subprocess.run(
        [*rerank_eval_command(), "load", spec, "--concurrency", ",".join(map(str, LEVELS)),
         "--requests-per-level", str(REQUESTS), "--warmup", "2", "--top-k", "10",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "load.json").read_text())
    assert data["mode"] == "closed" and data["reranker"] == spec
    assert data["documents_per_request"]["max"] == 10
    assert [level["concurrency"] for level in data["levels"]] == LEVELS
    for level in data["levels"]:
        assert level["requests"] == level["ok"] == REQUESTS, level
        assert not any(level["errors"].values()), level["errors"]
        assert level["throughput_rps"] > 0 and level["latency_ms"]["p95"] > 0
    assert data["knee"]["found"], data["knee"]
    assert data["knee"]["concurrency"] in LEVELS
    assert data["saturation_rps"] == pytest.approx(
        max(level["throughput_rps"] for level in data["levels"]), rel=1e-3)
    assert (out / "load.html").is_file()
