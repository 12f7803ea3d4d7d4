"""Usage in a run is what was sent and billed: failed queries' requests reach the cell
totals, summary.json, the journal (so a resumed cell keeps them) and the report's note."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from support.beir import toy_dataset
from support.providers import FAKE_KEY, prepare, runtime_for

from rerank_eval.harness import Harness
from rerank_eval.report import write_reports
from rerank_eval.store import read_run, write_run_dir
from rerank_eval.suite import suite_from_dict
from rerank_eval.testing.fakes import Fault


@pytest.fixture
def server(monkeypatch, tmp_path):
    return prepare(monkeypatch, tmp_path)


def _suite(data: Path, server) -> object:
    return suite_from_dict({
        "name": "t", "datasets": [{"name": "toy", "path": str(data)}],
        "first_stage": {"top_k": 20},
        "rerankers": [{"spec": "cohere:rerank-v3.5", "label": "cohere",
                       "options": {"base_url": server.url("cohere"), "api_key": FAKE_KEY,
                                   "concurrency": 1, "max_retries": 2, "cache": False}}],
    })


def _run(suite, out: Path, server):
    harness = Harness(suite, out)
    harness.runtime = runtime_for(server)
    result = asyncio.run(harness.run())
    write_run_dir(result, out)
    return result


def test_failed_and_rejected_requests_count_in_the_cell(tmp_path: Path, server) -> None:
    data = toy_dataset(tmp_path / "toy")
    out = tmp_path / "out"
    # query 1: three 500s (fails after 2 retries); query 2: a rejected answer; rest fine
    server.state("cohere").fail(*[Fault(status=500)] * 3, Fault(mutate="out_of_range"))
    cell = _run(_suite(data, server), out, server).cells[0]
    sent = len(server.state("cohere").requests)
    assert cell.errors == 2 and cell.n_queries == 8
    assert cell.usage.requests == sent == 3 + 1 + 8
    assert cell.usage.requests_failed == 4 and cell.usage.requests_rejected == 1
    assert cell.failed_usage.requests == 4 and cell.failed_usage.search_units
    assert cell.usage.retries == 2
    good_units = sum(r.usage.search_units for r in cell.records.values())
    assert cell.usage.search_units == good_units + cell.failed_usage.search_units

    written = json.loads((out / "summary.json").read_text())["results"][0]
    assert written["usage"]["requests"] == sent
    assert written["usage"]["requests_failed"] == 4
    assert written["usage"]["requests_rejected"] == 1
    assert written["failed_usage"]["requests"] == 4
    assert read_run(out).summary.results[0].usage.requests_failed == 4

    write_reports(out)
    report = (out / "report.md").read_text()
    assert "1 answer rejected by validation" in report
    assert "billed by the provider but gave no result" in report

    # a rerun resumes: the two failed queries are sent again, the earlier failures stay
    resumed = _run(_suite(data, server), out, server).cells[0]
    assert resumed.errors == 0 and resumed.n_queries == 10
    assert resumed.failed_usage.requests == 4
    assert resumed.usage.requests == len(server.state("cohere").requests) == sent + 2
