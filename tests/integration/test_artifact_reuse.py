"""Built artifacts across runs: the second run of a dataset reuses the first stage's
candidates and index; the ``bm25`` reranker uses the first stage's index; a damaged
entry is rebuilt; ``cache ls``/``prune`` see and free them."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import rerank_eval.bm25_index as bm25_index
from rerank_eval.cli import app
from rerank_eval.harness import Harness
from rerank_eval.store import write_run_dir
from rerank_eval.suite import suite_from_dict
from rerank_eval.testing.synthetic import write_synthetic_beir

runner = CliRunner()


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_beir(tmp_path_factory.mktemp("syn") / "syn", 2000,
                                n_queries=20).folder


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The config of every BM25 index built (corpus, per-query, anywhere)."""
    seen: list[Any] = []
    real = bm25_index.build_bm25

    def counting(chunks: Any, config: Any, **options: Any) -> Any:
        seen.append(config)
        return real(chunks, config, **options)

    monkeypatch.setattr(bm25_index, "build_bm25", counting)
    return seen


def run(collection: Path, out: Path, rerankers: list[str], **first_stage: Any) -> Any:
    suite = suite_from_dict({
        "name": "t", "datasets": [{"name": "syn", "path": str(collection)}],
        "rerankers": [{"spec": r} for r in rerankers],
        "first_stage": {"top_k": 30, **first_stage}})
    result = asyncio.run(Harness(suite, out).run())
    write_run_dir(result, out)
    assert not result.failed
    return result


def trec(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "runs" / "syn").glob("*.trec"))}


def manifests(kind: str) -> list[dict[str, Any]]:
    import os

    root = Path(os.environ["RERANK_EVAL_CACHE"]) / "artifacts" / kind
    return [json.loads(p.read_text()) for p in sorted(root.glob("*/manifest.json"))]


def test_the_bm25_reranker_uses_the_first_stage_index(collection: Path, tmp_path: Path,
                                                      builds: list[Any]) -> None:
    result = run(collection, tmp_path / "a", ["bm25"])
    assert len(builds) == 1  # one corpus index: the first stage's, shared
    # and it reproduces the first stage (corpus IDF): the "no reranking" row
    first = result.datasets[0].summary.first_stage.metrics
    assert result.cells[0].metrics == pytest.approx({m: first[m] for m in result.cells[0].metrics})


@pytest.mark.parametrize("spec", ["bm25", "bm25?stemmer=english"])
def test_the_shared_index_scores_as_an_index_of_its_own(collection: Path, spec: str) -> None:
    """Scores through the dataset's corpus index (SharesCorpusIndex) equal those of the
    reranker indexing the corpus's documents itself (CorpusAware.index_corpus)."""
    from rerank_eval.candidates import bm25_candidates
    from rerank_eval.corpus_index import CorpusIndexes
    from rerank_eval.datasets import load_dataset
    from rerank_eval.rerankers import create_reranker
    from rerank_eval.types import Document, RerankRequest

    dataset = load_dataset(collection)
    indexes = CorpusIndexes(dataset)
    candidates = bm25_candidates(dataset, 30, indexes=indexes)
    shared, own = create_reranker(spec), create_reranker(spec)
    shared.use_corpus_index(indexes)
    own.index_corpus([Document(text=d.full_text, id=i) for i, d in dataset.corpus.items()])
    for query_id, docs in candidates.by_query.items():
        request = RerankRequest(query=dataset.queries[query_id], documents=[
            Document(text=dataset.corpus[d].full_text, id=d) for d, _ in docs])
        a, b = (asyncio.run(r.rerank(request)) for r in (shared, own))
        assert a.results == b.results
    # a candidate whose text is not the indexed one is scored from the candidates alone
    odd = [Document(text="changed " + dataset.corpus[d].full_text, id=d)
           for d, _ in next(iter(candidates.by_query.values()))]
    request = RerankRequest(query=dataset.queries[next(iter(candidates.by_query))],
                            documents=odd)
    assert asyncio.run(shared.rerank(request)).results == \
        asyncio.run(own.rerank(request)).results


def test_a_second_run_into_a_fresh_folder_reuses_candidates_and_index(
        collection: Path, tmp_path: Path, builds: list[Any]) -> None:
    run(collection, tmp_path / "first", ["bm25", "bm25?stemmer=english"])
    assert len(builds) == 2  # the first stage's (shared with bm25) and bm25?stemmer's
    created = [m["created"] for m in manifests("bm25-index") + manifests("candidates")]
    assert len(manifests("candidates")) == 1 and len(manifests("bm25-index")) == 2

    builds.clear()
    run(collection, tmp_path / "second", ["bm25", "bm25?stemmer=english"])
    assert builds == []  # nothing indexed, nothing searched: all from the cache
    assert [m["created"] for m in manifests("bm25-index") + manifests("candidates")] == created
    assert trec(tmp_path / "second") == trec(tmp_path / "first")
    summary = [json.loads((tmp_path / d / "summary.json").read_text())["results"]
               for d in ("first", "second")]
    assert [r["metrics"] for r in summary[0]] == [r["metrics"] for r in summary[1]]


def test_other_settings_are_other_entries(collection: Path, tmp_path: Path,
                                          builds: list[Any]) -> None:
    run(collection, tmp_path / "a", ["bm25"])
    run(collection, tmp_path / "b", ["bm25"], k1=1.2)
    assert len(builds) == 2 and len(manifests("candidates")) == 2
    assert {m["fields"]["bm25"]["k1"] for m in manifests("candidates")} == {1.2, 1.5}


def test_a_damaged_entry_is_rebuilt_with_a_warning(collection: Path, tmp_path: Path,
                                                   builds: list[Any],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    import os

    run(collection, tmp_path / "first", ["bm25"])
    root = Path(os.environ["RERANK_EVAL_CACHE"]) / "artifacts"
    data = next(root.glob("bm25-index/*/data.csc.index.npy"))
    raw = bytearray(data.read_bytes())
    raw[-3] ^= 0x40
    data.write_bytes(bytes(raw))
    candidates = next(root.glob("candidates/*/candidates.json"))
    candidates.write_text(candidates.read_text().replace('"d1', '"d2', 1))
    builds.clear()
    with caplog.at_level(logging.WARNING):
        run(collection, tmp_path / "second", ["bm25"])
    assert caplog.text.count("damaged") == 2
    assert len(builds) == 1  # the index rebuilt once, for the candidates and bm25
    assert trec(tmp_path / "second") == trec(tmp_path / "first")


def test_cache_ls_and_prune_on_the_command_line(collection: Path, tmp_path: Path) -> None:
    run(collection, tmp_path / "a", ["bm25"])
    listing = runner.invoke(app, ["cache", "ls", "--json"])
    assert listing.exit_code == 0, listing.output
    entries = json.loads(listing.stdout)["entries"]
    kinds = sorted(e["kind"] for e in entries)
    assert kinds[:2] == ["bm25-index", "candidates"]
    assert all(e["dataset"] == "syn" for e in entries if e["kind"] != "corpus")
    table = runner.invoke(app, ["cache", "ls"])
    assert table.exit_code == 0 and "bm25-index" in table.stdout and "top-30" in table.stdout

    dry = runner.invoke(app, ["cache", "prune", "--all", "--kind", "candidates", "--dry-run"])
    assert dry.exit_code == 0 and "would remove 1 entries" in dry.stdout
    assert len(manifests("candidates")) == 1
    gone = runner.invoke(app, ["cache", "prune", "--all", "--kind", "candidates",
                               "--kind", "bm25-index"])
    assert gone.exit_code == 0 and "removed 2 entries" in gone.stdout
    assert manifests("candidates") == [] and manifests("bm25-index") == []
    refused = runner.invoke(app, ["cache", "prune", "--older-than", "soon"])
    assert refused.exit_code == 2 and "'soon'" in refused.output
