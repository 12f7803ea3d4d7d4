"""The load test's requests: real queries and candidates, cycled; cache-busting makes every
request of a run, and every run, distinct."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_eval.load.workload import (
    RequestSource,
    WorkItem,
    Workload,
    build_workload,
    resolve_dataset_path,
)
from rerank_eval.types import Document


def workload(sizes: tuple[int, ...] = (3, 5, 4)) -> Workload:
    items = tuple(WorkItem(f"q{i}", f"query {i}", tuple(Document(f"d{i}-{j}")
                                                        for j in range(n)))
                  for i, n in enumerate(sizes))
    return Workload("tiny", 5, items)


def test_requests_cycle_through_the_queries() -> None:
    source = RequestSource(workload())
    queries = [source.next().query for _ in range(7)]
    assert queries == ["query 0", "query 1", "query 2", "query 0", "query 1", "query 2",
                       "query 0"]
    assert source.issued == 7


def test_documents_per_request() -> None:
    assert workload().documents_per_request() == {"mean": 4.0, "min": 3, "max": 5}


def test_cache_bust_makes_each_request_distinct_and_keeps_the_query() -> None:
    source = RequestSource(workload(), cache_bust=True)
    requests = [source.next() for _ in range(9)]
    queries = [r.query for r in requests]
    assert len(set(queries)) == 9
    assert all(q.endswith(f"query {i % 3}") for i, q in enumerate(queries))
    assert [len(r.documents) for r in requests[:3]] == [3, 5, 4]


def test_cache_bust_tokens_differ_between_runs() -> None:
    first = RequestSource(workload(), cache_bust=True).next().query
    second = RequestSource(workload(), cache_bust=True).next().query
    assert first != second
    assert RequestSource(workload(), cache_bust=False).next().query == "query 0"


def test_an_empty_workload_is_refused() -> None:
    with pytest.raises(ValueError, match="no query"):
        Workload("empty", 5, ())


def test_the_default_dataset_is_the_builtin_collection(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("RERANK_EVAL_DATASETS", str(tmp_path))  # nothing named quick there
    monkeypatch.chdir(tmp_path)
    resolved = resolve_dataset_path("quick")
    assert isinstance(resolved, Path) and (resolved / "corpus.jsonl").is_file()
    assert resolve_dataset_path("scifact") == "scifact"


def test_a_workload_from_the_builtin_collection(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("RERANK_EVAL_DATASETS", str(tmp_path))
    built = build_workload("quick", 7)
    assert built.dataset == "quick" and built.top_k == 7
    assert len(built.items) > 10 and built.documents_per_request()["max"] == 7
    assert len(built.corpus) > 100
    first = built.items[0]
    assert first.query and all(d.id and d.text for d in first.documents)
    assert [i.query_id for i in built.items] == sorted(i.query_id for i in built.items)
