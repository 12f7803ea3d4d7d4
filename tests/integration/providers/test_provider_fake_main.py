"""``python -m rerank_eval.testing.fakes``: a standalone fake server for examples and
manual load tests; it prints its URLs, answers, and stops cleanly on SIGINT / SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest


@pytest.fixture
def started() -> Iterator[subprocess.Popen[str]]:
    args = [sys.executable, "-m", "rerank_eval.testing.fakes", "--port", "0",
            "--workers", "2", "--service-ms", "20", "--per-document-ms", "1",
            "--dialect", "tei", "--dialect", "cohere"]
    process = subprocess.Popen(args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def post(url: str, body: dict, **headers: str) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, dict(answer.headers), json.loads(answer.read())


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_it_serves_the_chosen_dialects_until_signalled(started: subprocess.Popen[str],
                                                       stop: signal.Signals) -> None:
    assert started.stdout is not None and started.stderr is not None
    urls = [started.stdout.readline().strip() for _ in range(2)]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["cohere", "tei"]
    assert all(u.startswith("http://127.0.0.1:") for u in urls)
    status, headers, data = post(f"{urls[1]}/rerank",
                                 {"query": "deep learning", "texts": ["deep", "cheese"]})
    assert status == 200 and isinstance(data, list) and len(data) == 2
    assert 22 <= int(headers["x-inference-time"]) < 1000  # 20 ms + 2 documents x 1 ms
    assert int(headers["x-queue-time"]) == 0
    from rerank_eval.testing.fakes import FAKE_KEY

    status, _, data = post(f"{urls[0]}/v2/rerank",
                           {"model": "rerank-v3.5", "query": "q", "documents": ["a"]},
                           Authorization=f"Bearer {FAKE_KEY}")
    assert status == 200 and isinstance(data, dict)
    started.send_signal(stop)
    assert started.wait(15) == 0
    assert "serving 2 dialect(s)" in started.stderr.read()
