"""Agreement between rerankers in a real run: ``agreement.csv`` and the report's Agreement
section, with labels (after the quality tables) and without (the main comparison, the
quality tables absent, nothing crashing)."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest
from support.beir import toy_dataset
from typer.testing import CliRunner

from rerank_eval.agreement import CSV_COLUMNS
from rerank_eval.cli import app
from rerank_eval.records import FIRST_STAGE
from rerank_eval.report.agreement import NO_LABELS, NOT_QUALITY

runner = CliRunner()
RERANKERS = ["--reranker", "bm25", "--reranker", "bm25?idf=candidates"]
PAIRS = [("bm25", FIRST_STAGE), ("bm25?idf=candidates", FIRST_STAGE),
         ("bm25", "bm25?idf=candidates")]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon"]


def unlabelled_jsonl(path: Path, n_queries: int = 8, n_docs: int = 14) -> Path:
    """A candidates file with no labels: each query's candidates in a fixed, arbitrary order
    (so the rerankers move them), texts sharing words with the query to different degrees."""
    rows = []
    for q in range(n_queries):
        query = [WORDS[(q + j) % len(WORDS)] for j in range(3)]
        documents = []
        for i in range(n_docs):
            words = [WORDS[(q * 3 + i * 7 + j) % len(WORDS)] for j in range(3 + i % 5)]
            words += query[: i % 4]
            documents.append({"id": f"q{q}-d{i:02d}", "text": " ".join(words)})
        rows.append({"query_id": f"q{q}", "query": " ".join(query), "documents": documents})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run(*args: str) -> str:
    result = runner.invoke(app, ["run", *args, *RERANKERS, "--latency-sample", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def read_agreement(out: Path) -> list[dict[str, str]]:
    with (out / "agreement.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


def section(report_html: str, slug: str) -> str:
    match = re.search(rf'<section id="{re.escape(slug)}">(.*?)</section>', report_html, re.S)
    assert match, slug
    return html.unescape(match.group(1))


def assert_sane(rows: list[dict[str, str]], dataset: str, n_queries: int) -> None:
    mine = [r for r in rows if r["dataset"] == dataset]
    assert [(r["a"], r["b"]) for r in mine] == [p for p in PAIRS for _ in range(2)]
    assert {r["measure"] for r in mine} == {"overlap@10", "RBO(p=0.9)"}
    for r in mine:
        low, mean, high = float(r["ci_low"]), float(r["mean"]), float(r["ci_high"])
        assert 0.0 <= low <= mean <= high <= 1.0, r
        assert int(r["n_queries"]) == n_queries


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("agreement-labelled")
    out = base / "run"
    run("--dataset", str(toy_dataset(base / "toy")), "--top-k", "20", "--out", str(out))
    return out


def test_a_labelled_run_writes_agreement_csv_and_a_section(labelled_run: Path) -> None:
    rows = read_agreement(labelled_run)
    assert_sane(rows, "toy", n_queries=10)
    by_pair = {(r["a"], r["b"], r["measure"]): float(r["mean"]) for r in rows}
    # bm25 over the candidates scores them as the BM25 first stage did: the same ranking
    assert by_pair[("bm25", FIRST_STAGE, "RBO(p=0.9)")] == 1.0
    assert by_pair[("bm25?idf=candidates", FIRST_STAGE, "RBO(p=0.9)")] < 1.0

    report = (labelled_run / "report.html").read_text(encoding="utf-8")
    toy = section(report, "toy")
    assert "Agreement between rankings" in toy and NOT_QUALITY in toy
    assert NO_LABELS not in toy
    assert toy.index("Leaderboard") < toy.index("Agreement between rankings")
    assert 'id="table-toy-agreement"' in toy
    assert (labelled_run / "figures" / "toy-agreement.png").is_file()
    assert 'id="figure-toy-agreement"' in toy
    markdown = (labelled_run / "report.md").read_text(encoding="utf-8")
    assert "### Agreement between rankings\n" in markdown and NOT_QUALITY in markdown
    assert "| bm25 | first stage (no reranking) | 10 | 1.0000 |" in markdown


def test_the_report_command_writes_the_same_agreement(labelled_run: Path,
                                                      tmp_path: Path) -> None:
    before = (labelled_run / "agreement.csv").read_bytes()
    (labelled_run / "agreement.csv").unlink()
    result = runner.invoke(app, ["report", str(labelled_run)])
    assert result.exit_code == 0, result.output
    assert (labelled_run / "agreement.csv").read_bytes() == before


def test_an_unlabelled_file_is_compared_by_agreement(tmp_path: Path) -> None:
    data = unlabelled_jsonl(tmp_path / "mine.jsonl")
    out = tmp_path / "run"
    output = run("--dataset", str(data), "--out", str(out))
    assert "No relevance labels were given" in output
    assert "nDCG@10" not in output  # no empty quality columns in the terminal table

    summary = json.loads((out / "summary.json").read_text())
    assert [r["metrics"] for r in summary["results"]] == [{}, {}]
    rows = read_agreement(out)
    assert_sane(rows, "mine", n_queries=8)
    assert any(float(r["mean"]) < 1.0 for r in rows)  # the rerankers did move things

    report = (out / "report.html").read_text(encoding="utf-8")
    mine = section(report, "mine")
    assert "Agreement between rankings (no labels: the main comparison)" in mine
    assert NO_LABELS in mine and NOT_QUALITY in mine
    for absent in ("Leaderboard", "Every measure against", "Quality, latency and cost",
                   "Per-query wins and losses"):
        assert absent not in mine
    assert "<h3>Latency</h3>" in mine and "<h3>Cost</h3>" in mine
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == [
        "mine-agreement.png", "mine-latency-cdf.png"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert NO_LABELS in markdown and "### Leaderboard" not in markdown


def test_a_run_with_and_without_labels_shows_each_its_way(tmp_path: Path) -> None:
    data = unlabelled_jsonl(tmp_path / "mine.jsonl")
    out = tmp_path / "run"
    run("--dataset", str(toy_dataset(tmp_path / "toy")), "--dataset", str(data),
        "--top-k", "20", "--out", str(out))
    rows = read_agreement(out)
    assert_sane(rows, "toy", n_queries=10)
    assert_sane(rows, "mine", n_queries=8)
    report = (out / "report.html").read_text(encoding="utf-8")
    toy, mine = section(report, "toy"), section(report, "mine")
    assert "Leaderboard" in toy and NO_LABELS not in toy
    assert "Leaderboard" not in mine and NO_LABELS in mine
    assert (out / "figures" / "quality-bars.png").is_file()
