"""End to end: ``rerank-eval run`` with every provider spec against its fake.

One run over the built-in quick collection with all remote kinds at once; then checks
that each TREC run holds exactly the scores the fake computed for the documents it was
sent, that summary.json carries the usage the fake reported and the cost from the price
table (or the provider), and that repeating the run — resumed in place, or into a fresh
folder from the response cache — sends no request twice. The CLI builds its own HTTP
clients, so this test uses the shared fake server on a real socket.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest
from support.providers import prepare_socket
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.datasets import load_beir_folder
from rerank_eval.testing.fakes import FAKE_KEY
from rerank_eval.testing.fakes.compatible import GenericDialect
from rerank_eval.testing.fakes.providers import TeiDialect
from rerank_eval.testing.fakes.scoring import count_tokens, overlap_score, tokens
from rerank_eval.text import file_safe

QUICK = Path(__file__).resolve().parents[3] / "suites" / "quick"
N_QUERIES, TOP_K = 4, 8

# spec, fake dialect, env prefix (None: keyless self-hosted), base URL suffix
PROVIDERS = [
    ("cohere:rerank-v3.5", "cohere", "COHERE", ""),
    ("jina:jina-reranker-v2-base-multilingual", "jina", "JINA", ""),
    ("voyage:rerank-2.5", "voyage", "VOYAGE", ""),
    ("mixedbread:mixedbread-ai/mxbai-rerank-large-v2", "mixedbread", "MXBAI", ""),
    ("compatible:my-deployment", "compatible", "RERANK", ""),
    ("mixroute:rerank-v3", "mixroute", "MIXROUTE", ""),
    ("searchrouter:cohere/rerank-v3.5", "searchrouter", "SEARCHROUTER", "/api"),
    ("onerouter:voyage-rerank-2.5", "onerouter", "ONEROUTER", ""),
    ("infron:infron-rerank", "onerouter", "INFRON", ""),
    ("vllm:bge-reranker", "vllm", "VLLM", ""),
    ("infinity:mxbai-rerank", "infinity", "INFINITY", ""),
]


@pytest.fixture
def server(monkeypatch, tmp_path):
    server = prepare_socket(monkeypatch, tmp_path)
    for _, dialect, prefix, suffix in PROVIDERS:
        monkeypatch.setenv(f"{prefix}_BASE_URL", server.url(dialect) + suffix)
        if prefix not in ("VLLM", "INFINITY"):
            monkeypatch.setenv(f"{prefix}_API_KEY", FAKE_KEY)
    return server


def specs(server) -> list[str]:
    return [spec for spec, *_ in PROVIDERS] + [f"tei:{server.url('tei')}"]


def run_cli(server, out: Path, *extra: str):
    args = ["run", "--dataset", str(QUICK), "--top-k", str(TOP_K), "--max-queries",
            str(N_QUERIES), "--out", str(out), *extra]
    for spec in specs(server):
        args += ["--reranker", spec]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    return {r["reranker"]: r for r in summary["results"]}


def read_trec(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        qid, _, doc_id, _, score, _ = line.split()
        run[qid][doc_id] = float(score)
    return run


def fake_score(dialect: str, query: str, doc: str) -> float:
    """What each fake computes, its truncation included."""
    if dialect == "compatible":
        doc = " ".join(tokens(doc)[:GenericDialect.max_document_tokens])
    if dialect == "tei":
        room = TeiDialect.max_input_length - count_tokens(query)
        score = overlap_score(query, " ".join(tokens(doc)[:room]))
        return 1 / (1 + math.exp(-(8 * score - 4)))
    return overlap_score(query, doc)


def requests_by_dialect(server) -> dict[str, int]:
    return {name: len(server.state(name).requests) for name in
            {d for _, d, _, _ in PROVIDERS} | {"tei"}}


@pytest.mark.slow
def test_every_provider_end_to_end(server, tmp_path) -> None:
    out = tmp_path / "run"
    results = run_cli(server, out)
    dataset = load_beir_folder(QUICK)
    text_to_id = {doc.full_text: doc_id for doc_id, doc in dataset.corpus.items()}
    query_to_id = {text: qid for qid, text in dataset.queries.items()}

    for spec in specs(server):
        cell = results[spec]
        assert cell["errors"] == 0, cell
        assert cell["n_queries"] == N_QUERIES
        assert cell["usage"]["requests"] == N_QUERIES
        dialect = next((d for s, d, _, _ in PROVIDERS if s == spec), "tei")
        model = spec.split(":", 1)[1]
        bodies = [b for b in server.state(dialect).bodies
                  if dialect == "tei" or b.get("model", model) == model]
        assert len(bodies) == N_QUERIES
        run = read_trec(out / "runs" / "quick" / f"{file_safe(spec)}.trec")
        for body in bodies:
            docs = body.get("documents") or body.get("input") or body.get("texts")
            qid = query_to_id[body["query"]]
            expected = {text_to_id[d]: fake_score(dialect, body["query"], d) for d in docs}
            assert run[qid] == pytest.approx(expected), spec

    per_doc = {d: [b for b in server.state(d).bodies] for d in ("voyage", "mixedbread")}
    voyage_tokens = sum(count_tokens(b["query"]) * len(b["documents"])
                        + sum(count_tokens(x) for x in b["documents"])
                        for b in per_doc["voyage"])
    mxbai_tokens = sum(count_tokens(b["query"]) + count_tokens(x)
                       for b in per_doc["mixedbread"] for x in b["input"])

    cohere = results["cohere:rerank-v3.5"]
    assert cohere["usage"]["search_units"] == N_QUERIES  # one unit per <=100 documents
    assert cohere["cost_usd"] == pytest.approx(N_QUERIES * 0.002)
    voyage = results["voyage:rerank-2.5"]
    assert voyage["usage"]["tokens"] == voyage_tokens
    assert voyage["cost_usd"] == pytest.approx(voyage_tokens * 0.05 / 1e6)
    mxbai = results["mixedbread:mixedbread-ai/mxbai-rerank-large-v2"]
    assert mxbai["usage"]["tokens"] == mxbai_tokens
    assert mxbai["cost_usd"] == pytest.approx(mxbai_tokens * 0.15 / 1e6)
    sr = results["searchrouter:cohere/rerank-v3.5"]
    assert sr["cost_usd"] == pytest.approx(N_QUERIES * 0.002)  # reported by the router
    for spec in ("jina:jina-reranker-v2-base-multilingual", "compatible:my-deployment",
                 "vllm:bge-reranker", f"tei:{server.url('tei')}"):
        assert results[spec]["usage"]["tokens"] > 0
        assert results[spec]["cost_usd"] is None  # no price known: null, not a guess
    for spec in ("onerouter:voyage-rerank-2.5", "infron:infron-rerank",
                 "infinity:mxbai-rerank"):
        assert results[spec]["usage"]["tokens"] is None  # nothing reported, nothing made up

    # the same run again, resumed in place: no request at all
    sent = requests_by_dialect(server)
    run_cli(server, out)
    assert requests_by_dialect(server) == sent

    # into a fresh folder: every answer comes from the response cache
    again = run_cli(server, tmp_path / "again")
    assert requests_by_dialect(server) == sent
    for spec in specs(server):
        assert again[spec]["usage"]["requests"] == 0
        assert again[spec]["usage"]["cache_hits"] == N_QUERIES
        assert again[spec]["cost_usd"] == results[spec]["cost_usd"]  # what it cost
