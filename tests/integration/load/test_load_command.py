"""`rerank-eval load` end to end: options checked first (exit 2 naming the option), a
sweep over a real socket against the fake TEI server, the files it writes, and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.providers import prepare_socket
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.testing.fakes import Capacity, FakeServer

REPO = Path(__file__).resolve().parents[3]


def invoke(*args: str):
    return CliRunner().invoke(app, ["load", *args])


@pytest.mark.parametrize(("args", "says"), [
    (["bm25"], "exactly one of --concurrency"),
    (["bm25", "--concurrency", "1,2", "--qps", "5"], "exactly one of --concurrency"),
    (["bm25", "--concurrency", "0,2"], "--concurrency"),
    (["bm25", "--concurrency", "one"], "--concurrency"),
    (["bm25", "--qps", "-3"], "--qps"),
    (["bm25", "--qps", "5", "--duration", "soon"], "--duration"),
    (["bm25", "--concurrency", "1", "--requests-per-level", "0"], "--requests-per-level"),
    (["bm25", "--concurrency", "1", "--retries", "-1"], "--retries"),
    (["bm25", "--concurrency", "1", "--max-in-flight", "0"], "--max-in-flight"),
    (["nosuchkind", "--concurrency", "1"], "unknown reranker kind"),
    (["tei:http://10.1.2.3:8080", "--concurrency", "1"], "--allow-remote"),
])
def test_bad_input_exits_2_naming_the_option(args: list[str], says: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())  # rich may wrap the line
    assert "Traceback" not in result.output


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = invoke("bm25", "--concurrency", "1", "--out", str(tmp_path / "file"))
    assert result.exit_code == 2 and "--out" in result.output


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    """The shared real-socket fake (127.0.0.1), TEI with 2 workers of 20 ms: 100 rps."""
    server = prepare_socket(monkeypatch, tmp_path)
    server.state("tei").capacity = Capacity(2, 0.02)
    yield server
    server.reset()


@pytest.mark.slow
def test_a_closed_loop_sweep_writes_load_json_and_html(server: FakeServer,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "load"
    result = invoke(f"tei:{server.url('tei')}", "--concurrency", "1,4", "--requests-per-level",
                    "15", "--warmup", "1", "--top-k", "5", "--out", str(out),
                    "--gpu-hour-usd", "1.5")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "retries: off (a load test does not retry; --retries N to change)" in text
    assert "knee:" in text and "saturation:" in text
    data = json.loads((out / "load.json").read_text())
    assert data["schema_version"] == 1 and data["kind"] == "load" and data["mode"] == "closed"
    assert data["reranker"] == f"tei:{server.url('tei')}" and data["dataset"] == "quick"
    assert data["documents_per_request"]["max"] == 5 and data["settings"]["retries"] == 0
    assert [level["concurrency"] for level in data["levels"]] == [1, 4]
    assert all(level["ok"] == 15 and level["requests"] == 15 for level in data["levels"])
    assert data["levels"][0]["server_ms"]["inference"]["p50"] == pytest.approx(20, abs=2)
    assert data["cost_per_1k_queries"]["basis"] == "gpu_hour"
    assert data["interrupted"] is False and data["environment"]["python"]
    assert len(server.state("tei").requests) == 2 * (15 + 1)
    assert (out / "load.html").is_file()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_levels_and_exits_130(server: FakeServer,
                                                        tmp_path: Path) -> None:
    server.state("tei").capacity = Capacity(1, 0.02)
    out = tmp_path / "load"
    command = [sys.executable, "-m", "rerank_eval.cli", "load", f"tei:{server.url('tei')}",
               "--concurrency", "1,2", "--requests-per-level", "20", "--warmup", "0",
               "--top-k", "5", "--out", str(out), "--max-requests", "100000"]
    # SIGINT back to its default in the child: a shell that starts a job in the background
    # (as CI runners may) leaves SIGINT ignored, and Python then never raises
    # KeyboardInterrupt for it
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        # the first level (20 requests) is done and the second is under way
        while len(server.state("tei").requests) < 30:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.05)
        # from now on answers take 5 s, so the second level cannot end before the signal
        # lands, however slow this machine is
        server.state("tei").delay_s = 5.0
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output
    data = json.loads((out / "load.json").read_text())
    assert data["interrupted"] is True
    first, partial = data["levels"]
    assert first["ok"] == 20 and not first["stopped_early"]
    assert partial["stopped_early"] and partial["ok"] >= 5
    assert "interrupted" in output


@pytest.mark.slow
def test_a_local_reranker_is_loaded_in_process_and_priced_by_its_hardware(
        tmp_path: Path) -> None:
    out = tmp_path / "bm25"
    result = invoke("bm25", "--concurrency", "1,2", "--requests-per-level", "10", "--top-k",
                    "5", "--cache-bust", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "retries: off" not in result.output  # nothing to retry in-process
    data = json.loads((out / "load.json").read_text())
    assert [level["ok"] for level in data["levels"]] == [10, 10]
    assert data["settings"]["cache_bust"] is True
    cost = data["cost_per_1k_queries"]
    assert cost["basis"] == "hardware_hour" and cost["price"]["unit"] == "cpu_hour"


@pytest.mark.slow
def test_nothing_listening_exits_1_with_the_errors_counted(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "down"
    result = invoke(f"tei:http://127.0.0.1:{port}", "--concurrency", "1,2",
                    "--requests-per-level", "3", "--warmup", "0", "--top-k", "3",
                    "--out", str(out))
    assert result.exit_code == 1, result.output
    data = json.loads((out / "load.json").read_text())
    assert [level["errors"]["transport"] for level in data["levels"]] == [3]
    assert "no request succeeded" in result.output
