"""The per-query drill-down on a real run (SciFact, 10 queries, bm25 + biencoder): what it
shows is checked against the dataset's own files and the run's TREC files, read here
independently of the report's code."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.shared import shared_datasets_dir
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.report import write_reports

runner = CliRunner()
RUN = ["--dataset", "scifact", "--max-queries", "10", "--top-k", "20", "--reranker", "bm25",
       "--reranker", "biencoder", "--latency-sample", "0"]
SYSTEMS = ("first-stage", "bm25", "biencoder")
BLOCK = re.compile(r'<details class="dd-q" id="([^"]+)">(.*?)</details>', re.S)
SUMMARY = re.compile(r'<summary><code>([^<]*)</code>(.*?)<span class="dd-line">', re.S)
COLUMN = re.compile(r'<div class="dd-col"><div class="dd-h">([^<]+?)(?: <span>|</div>)(.*?)'
                    r'</ol></div>', re.S)
ITEM = re.compile(r'<li class="([^"]+)">(?:<span class="dd-m">([^<]*)</span> )?'
                  r'(?:<b>([^<]*)</b> )?<code>([^<]*)</code>'
                  r'(?: <span class="dd-g">([^<]*)</span>)?'
                  r'(?:<br><span class="dd-s">([^<]*)</span>)?</li>')


@pytest.fixture(scope="module")
def data() -> Path:
    return shared_datasets_dir() / "scifact"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    out = tmp_path_factory.mktemp("drilldown") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RERANK_EVAL_DATASETS", str(data.parent))
        patch.setenv("RERANK_EVAL_CACHE", str(tmp_path_factory.mktemp("cache")))
        result = runner.invoke(app, ["run", *RUN, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


# -- the dataset and the run, read without the report's code ------------------------------


def jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def dataset_qrels(data: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in (data / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, grade = line.split("\t")
        qrels.setdefault(query_id, {})[doc_id] = int(grade)
    return qrels


def trec_top(path: Path) -> dict[str, list[str]]:
    """query -> every doc id, by the rank column."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text().splitlines():
        query_id, _, doc_id, rank, _, _ = line.split()
        rows.setdefault(query_id, []).append((int(rank), doc_id))
    return {q: [d for _, d in sorted(r)] for q, r in rows.items()}


def expected_moved(rank: int, first_stage: list[str], doc_id: str) -> str:
    if doc_id not in first_stage:
        return "new"
    before = first_stage.index(doc_id) + 1
    return "=" if before == rank else f"{'↑' if before > rank else '↓'} from {before}"


def shown(report: str) -> dict[str, tuple[str, str, dict[str, list[tuple[str, ...]]]]]:
    """The all-queries list: query id -> (anchor, text, system -> [(css, moved, title, doc id,
    grade, snippet)])."""
    found = {}
    for anchor, body in BLOCK.findall(report):
        query_id, text = SUMMARY.search(body).groups()
        columns = {name.strip(): [tuple(html.unescape(x) for x in item)
                                  for item in ITEM.findall(items)]
                   for name, items in COLUMN.findall(body)}
        if "-q-" in anchor:
            found[html.unescape(query_id)] = (anchor, html.unescape(text).strip(), columns)
    return found


# -- the drill-down against them ----------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_run_folder_keeps_the_judgments_of_its_queries(run_dir: Path, data: Path) -> None:
    qrels = dataset_qrels(data)
    queries = set(trec_top(run_dir / "runs" / "scifact" / "first-stage.trec"))
    assert len(queries) == 10
    lines = (run_dir / "runs" / "scifact" / "qrels.txt").read_text().splitlines()
    assert sorted(lines) == lines
    assert {tuple(line.split()) for line in lines} == {
        (q, "0", d, str(g)) for q in queries for d, g in qrels[q].items()}


@pytest.mark.shared_data
@pytest.mark.slow
def test_every_query_shows_its_text_top_titles_grades_and_rank_changes(
        run_dir: Path, data: Path) -> None:
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    qrels = dataset_qrels(data)
    query_texts = {r["_id"]: r["text"] for r in jsonl(data / "queries.jsonl")}
    rankings = {s: trec_top(run_dir / "runs" / "scifact" / f"{s}.trec") for s in SYSTEMS}
    corpus = {r["_id"]: r for r in jsonl(data / "corpus.jsonl")}
    listed = shown(report)
    assert set(listed) == set(rankings["first-stage"])
    moved_seen = set()
    for query_id, (_, text, columns) in listed.items():
        assert text == query_texts[query_id]
        assert set(columns) == set(SYSTEMS)
        first_stage = rankings["first-stage"][query_id]
        for system, items in columns.items():
            top = rankings[system][query_id][:10]
            assert [item[3] for item in items] == top, (query_id, system)
            for rank, (css, moved, title, doc_id, grade, snippet) in enumerate(items, 1):
                assert title == corpus[doc_id]["title"]
                body = " ".join(corpus[doc_id]["text"].split())
                assert snippet.removesuffix("…") == body[:len(snippet.removesuffix("…"))]
                assert len(snippet.removesuffix("…")) <= 200
                judged = qrels[query_id].get(doc_id)
                assert grade == ("unjudged" if judged is None else f"grade {judged}")
                assert css == ("unj" if judged is None else f"g{min(judged, 3)}")
                if system == "first-stage":
                    assert moved == ""
                else:
                    assert moved == expected_moved(rank, first_stage, doc_id)
                    moved_seen.add(moved[0] if moved else "")
    assert {"=", "↑", "↓"} <= moved_seen  # the biencoder reorders: every kind is checked


@pytest.mark.shared_data
@pytest.mark.slow
def test_wins_and_losses_are_the_largest_differences(run_dir: Path) -> None:
    frame = pd.read_csv(run_dir / "per_query.csv", dtype={"query_id": str})
    values = frame.pivot(index="query_id", columns="reranker", values="nDCG@10")
    deltas = values[["bm25", "biencoder"]].sub(values["first-stage"], axis=0)
    gain, drop = deltas.max(axis=1), deltas.min(axis=1)
    wins = sorted((q for q in gain.index if gain[q] > 0), key=lambda q: (-gain[q], q))
    losses = sorted((q for q in drop.index if drop[q] < 0), key=lambda q: (drop[q], q))
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    featured: dict[str, list[str]] = {"wins": [], "losses": []}
    for anchor, body in BLOCK.findall(report):
        kind = anchor.split("-")[1]
        if kind in featured:
            featured[kind].append(html.unescape(SUMMARY.search(body).group(1)))
    assert featured == {"wins": wins[:10], "losses": losses[:10]}
    assert wins or losses
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "### Per-query drill-down" in md
    section = md[md.index("### Per-query drill-down"):md.index("## Environment")]
    for query_id in featured["losses"][:1] + featured["wins"][:1]:
        line = next(x for x in section.splitlines() if x.split(" ")[1:2] == [f"`{query_id}`"])
        assert "nDCG@10: first-stage" in line
    assert section.count("   - biencoder: 1. ") == len(wins[:10]) + len(losses[:10])


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_report_loads_nothing_from_outside(run_dir: Path) -> None:
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    for target in re.findall(r'\b(?:src|href|action|data)\s*=\s*["\']([^"\']*)', report):
        assert target.startswith(("data:image/png;base64,", "#")), target
    tags = re.findall(r"<(script|link|iframe|object|embed|img)\b([^>]*)>", report, re.I)
    assert [t for t in tags if t[0].lower() == "script"] == [("script", "")]  # inline, once
    assert not [t for t in tags if t[0].lower() in ("link", "iframe", "object", "embed")]
    assert "@import" not in report and "url(" not in report
    assert "The list of all" not in report  # 10 queries fit: nothing is cut


@pytest.mark.shared_data
@pytest.mark.slow
def test_without_texts_the_drilldown_shows_ids_and_says_so(run_dir: Path,
                                                          tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    for name in ("queries.jsonl", "documents.jsonl", "qrels.txt"):
        (old / "runs" / "scifact" / name).unlink()
    write_reports(old)
    report = (old / "report.html").read_text(encoding="utf-8")
    rankings = trec_top(old / "runs" / "scifact" / "biencoder.trec")
    listed = shown(report)
    assert set(listed) == set(rankings)
    for query_id, (_, _, columns) in listed.items():
        items = columns["biencoder"]
        assert [item[3] for item in items] == rankings[query_id][:10]
        assert all(item[2] == "" and item[4] == "" and item[5] == "" for item in items)
    assert "This run folder keeps no texts" in report
    assert "keeps no judgments" in report
    md = (old / "report.md").read_text(encoding="utf-8")
    assert "This run folder keeps no texts" in md



def test_without_labels_the_least_agreed_queries_are_featured(tmp_path: Path) -> None:
    rows = [{"query_id": "q1", "query": "alpha letter",
             "documents": [{"id": "d1", "text": "beta is the second letter"},
                           {"id": "d2", "text": "alpha is the first letter"},
                           {"id": "d3", "text": "gamma rays"}]},
            {"query_id": "q2", "query": "gamma rays",
             "documents": [{"id": "d4", "text": "rays of gamma radiation"},
                           {"id": "d1", "text": "beta is the second letter"}]},
            {"query_id": "q3", "query": "letter",
             "documents": [{"id": "d3", "text": "gamma rays"},
                           {"id": "d2", "text": "alpha is the first letter"}]}]
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--dataset", str(data), "--reranker", "bm25",
                                 "--latency-sample", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.html").read_text(encoding="utf-8")
    order = trec_top(out / "runs" / "mine" / "bm25.trec")
    first = trec_top(out / "runs" / "mine" / "first-stage.trec")
    changed = sorted((q for q in order if order[q] != first[q]),
                     key=lambda q: (sum(a == b for a, b in zip(order[q], first[q], strict=True))
                                    / len(order[q]), q))
    featured = [html.unescape(SUMMARY.search(body).group(1))
                for anchor, body in BLOCK.findall(report) if "-disagree-" in anchor]
    assert featured == changed and changed
    assert "No wins or losses to rank by (the dataset has no judgments" in report
    assert 'class="dd-g"' not in report  # no labels, no grades
    listed = shown(report)
    assert listed["q1"][1] == "alpha letter"
    assert [item[2] for item in listed["q2"][2]["first-stage"]] == ["", ""]  # no titles
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "#### Least agreement" in md
