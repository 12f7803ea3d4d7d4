"""What summary.json records about an executor, read back by old and new readers alike."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rerank_eval.executors import execution_record
from rerank_eval.executors.base import ReplicaInfo, WorkerTally
from rerank_eval.records import ActorRecord, CellSummary, ExecutionRecord
from rerank_eval.report.writer import execution_note
from rerank_eval.store import read_run

OLD_FOLDER = Path(__file__).resolve().parents[2] / "data" / "run-v0-unversioned"


class FakeDistributed:
    executor_kind = "ray"
    address = "cluster"
    in_flight_per_replica = 2

    def __init__(self) -> None:
        self.replicas = [ReplicaInfo("n1/10", "cuda", None), ReplicaInfo("n2/11", "cuda", None)]
        self.now = [WorkerTally(5, 500, 2.0), WorkerTally(4, 400, 1.0)]

    def tallies(self) -> list[WorkerTally]:
        return [WorkerTally(t.requests, t.documents, t.busy_s) for t in self.now]


def test_the_record_counts_only_what_happened_since_the_main_pass_started() -> None:
    reranker = FakeDistributed()
    before = reranker.tallies()
    reranker.now = [WorkerTally(15, 1500, 9.0), WorkerTally(14, 1400, 5.0)]
    record = execution_record(reranker, before, wall_s=10.0, queries=20)
    assert (record.kind, record.address, record.actors, record.in_flight_per_actor) == \
        ("ray", "cluster", 2, 2)
    assert record.queries_per_s == pytest.approx(2.0)
    assert [(a.actor, a.node, a.device, a.requests, a.documents) for a in record.per_actor] == \
        [(0, "n1/10", "cuda", 10, 1000), (1, "n2/11", "cuda", 10, 1000)]
    assert [a.utilisation for a in record.per_actor] == pytest.approx([0.7, 0.4])


def test_summary_json_round_trips_the_execution() -> None:
    execution = ExecutionRecord(kind="ray", address="local", actors=1, in_flight_per_actor=2,
                                wall_s=3.5, queries=7, queries_per_s=2.0,
                                per_actor=[ActorRecord(actor=0, node="h/1", device="cpu",
                                                       threads=2, requests=7, documents=70,
                                                       busy_s=3.0, utilisation=3 / 3.5)])
    cell = CellSummary(dataset="d", reranker="biencoder", executor="ray", execution=execution)
    data = cell.summary_dict()
    assert data["executor"] == "ray" and data["execution"]["per_actor"][0]["threads"] == 2
    assert CellSummary.from_dict(data) == cell


def test_folders_written_before_executors_read_as_in_process() -> None:
    cell = CellSummary.from_dict({"dataset": "d", "reranker": "r"})
    assert (cell.executor, cell.execution) == ("in-process", None)
    assert CellSummary.from_dict({"dataset": "d", "reranker": "r", "executor": None,
                                  "execution": "garbage"}).execution is None
    old = read_run(OLD_FOLDER).summary.results
    assert old and all(c.executor == "in-process" and c.execution is None for c in old)


def test_the_report_names_the_actors_and_their_utilisation() -> None:
    execution = ExecutionRecord(kind="ray", address="local", actors=2, in_flight_per_actor=2,
                                wall_s=16.3, queries=19, queries_per_s=19 / 16.3, per_actor=[
                                    ActorRecord(0, "vm/1", "cpu", 1, 9, 163, 16.0, 0.98),
                                    ActorRecord(1, "vm/2", "cpu", 1, 10, 173, 15.7, 0.96)])
    note = execution_note(SimpleNamespace(name="biencoder", execution=execution))
    assert note == (
        "biencoder: model inference on ray (a local Ray instance), 2 actors, up to 2 calls in "
        "flight each: 19 queries in 16.3 s, 1.17 queries/s; #0 cpu (1 thread) on vm/1: 9 "
        "calls, 163 documents, busy 16.0 s (98%); #1 cpu (1 thread) on vm/2: 10 calls, 173 "
        "documents, busy 15.7 s (96%). Utilisation is an actor's busy seconds over that wall "
        "time.")
    assert execution_note(SimpleNamespace(name="bm25", execution=None)) is None
