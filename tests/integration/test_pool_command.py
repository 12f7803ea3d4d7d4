"""`rerank-eval pool` on a small run folder: what is pooled, how it is written, and errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from support.beir import toy_dataset
from support.rerankers import length_reranker_registered
from support.trec import read_trec
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.datasets import load_dataset
from rerank_eval.datasets.qrels_file import read_qrels_file
from rerank_eval.metrics import trec_eval_order

runner = CliRunner()
COLUMNS = ["dataset", "query_id", "query", "doc_id", "title", "document", "label"]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the toy dataset, a run folder of it: bm25 and test-length over BM25 top-30)."""
    root = tmp_path_factory.mktemp("pool")
    data = toy_dataset(root / "toy")
    out = root / "run"
    with length_reranker_registered():
        result = runner.invoke(app, ["run", "--dataset", str(data), "-r", "bm25",
                                     "-r", "test-length", "--top-k", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return data, out


def pool(run_dir: Path, out: Path, *args: str) -> list[dict[str, str]]:
    result = runner.invoke(app, ["pool", str(run_dir), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    delimiter = "\t" if out.suffix == ".tsv" else ","
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def tops(run_dir: Path, systems: list[str], depth: int) -> dict[str, set[str]]:
    union: dict[str, set[str]] = {}
    for name in systems:
        for query_id, scores in read_trec(run_dir / "runs" / "toy" / f"{name}.trec").items():
            union.setdefault(query_id, set()).update(
                d for d, _ in trec_eval_order(scores)[:depth])
    return union


def test_the_pool_is_the_union_of_every_top_depth(toy_run: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    data, run_dir = toy_run
    rows = pool(run_dir, tmp_path / "judge.csv", "--depth", "5")
    expected = tops(run_dir, ["first-stage", "bm25", "test-length"], 5)
    got: dict[str, set[str]] = {}
    for row in rows:
        got.setdefault(row["query_id"], set()).add(row["doc_id"])
    assert got == expected
    assert len(rows) == sum(len(d) for d in expected.values())  # each document once
    # rows grouped by query, queries in order
    order = [r["query_id"] for r in rows]
    assert order == sorted(order)
    dataset = load_dataset(data)
    for row in rows:
        assert row["dataset"] == "toy"
        assert row["query"] == dataset.queries[row["query_id"]]
        document = dataset.corpus[row["doc_id"]]
        assert (row["title"], row["document"]) == (document.title, document.text)
        # the label is the dataset's judgment where there is one, else empty (to label)
        known = dataset.qrels[row["query_id"]].get(row["doc_id"])
        assert row["label"] == ("" if known is None else str(known))


def test_the_order_hides_which_reranker_found_a_document(toy_run: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    _, run_dir = toy_run
    first = pool(run_dir, tmp_path / "a.csv", "--depth", "10")
    again = pool(run_dir, tmp_path / "b.csv", "--depth", "10")
    other = pool(run_dir, tmp_path / "c.csv", "--depth", "10", "--seed", "7")
    assert first == again  # seeded: the same file again
    assert [r["doc_id"] for r in first] != [r["doc_id"] for r in other]
    assert sorted(map(str, first)) == sorted(map(str, other))  # the same rows
    # neither sorted by id nor in a ranking's order
    bm25 = read_trec(run_dir / "runs" / "toy" / "bm25.trec")
    queries = sorted({r["query_id"] for r in first})
    by_id = by_rank = 0
    for query_id in queries:
        ids = [r["doc_id"] for r in first if r["query_id"] == query_id]
        by_id += ids == sorted(ids)
        by_rank += ids == [d for d, _ in trec_eval_order(bm25[query_id]) if d in ids]
    assert by_id == 0 and by_rank == 0


def test_restricting_the_systems_and_skipping_judged_documents(toy_run: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    data, run_dir = toy_run
    rows = pool(run_dir, tmp_path / "judge.csv", "--depth", "5", "--reranker", "test-length",
                "--no-include-first-stage", "--skip-judged")
    expected = tops(run_dir, ["test-length"], 5)
    qrels = load_dataset(data).qrels
    unjudged = {q: {d for d in docs if d not in qrels[q]} for q, docs in expected.items()}
    got: dict[str, set[str]] = {}
    for row in rows:
        got.setdefault(row["query_id"], set()).add(row["doc_id"])
        assert row["label"] == ""
    assert got == {q: docs for q, docs in unjudged.items() if docs}


def test_a_labelled_file_reads_back_and_carries_its_labels_over(toy_run: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    _, run_dir = toy_run
    first = tmp_path / "judge.tsv"
    rows = pool(run_dir, first, "--depth", "3")
    # a person labels every empty row 0, and one document 3
    for row in rows:
        row["label"] = row["label"] or "0"
    rows[0]["label"] = "3"
    with first.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    read = read_qrels_file(first)  # what `run --qrels` reads
    assert read.layout == "table" and read.unlabelled == 0
    assert {(q, d, label) for _, q, d, label in read.judgments} == {
        (r["query_id"], r["doc_id"], int(r["label"])) for r in rows}

    deeper = pool(run_dir, tmp_path / "deeper.csv", "--depth", "6", "--qrels", str(first))
    labels = {(r["query_id"], r["doc_id"]): r["label"] for r in rows}
    for row in deeper:
        key = (row["query_id"], row["doc_id"])
        assert row["label"] == labels.get(key, "")  # the earlier labels, the rest empty
    assert sum(r["label"] == "" for r in deeper) == len(deeper) - len(rows)


def test_an_unlabelled_pool_file_is_read_back_as_no_judgments(toy_run: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    _, run_dir = toy_run
    out = tmp_path / "judge.csv"
    rows = pool(run_dir, out, "--depth", "4", "--qrels", str(_empty_qrels(tmp_path)))
    assert all(r["label"] == "" for r in rows)
    assert read_qrels_file(out).unlabelled == len(rows)
    assert read_qrels_file(out).judgments == []


def _empty_qrels(tmp_path: Path) -> Path:
    path = tmp_path / "none.csv"
    path.write_text("query_id,doc_id,label\n", encoding="utf-8")
    return path


def test_texts_the_folder_lacks_come_from_the_dataset(toy_run: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    """Deeper than the kept texts (here: a folder keeping a few), or an older folder with
    none: the dataset is loaded again from summary.json's source."""
    data, run_dir = toy_run
    dataset = load_dataset(data)
    expected = pool(run_dir, tmp_path / "kept.csv", "--depth", "25")
    for row in expected:
        assert row["document"] == dataset.corpus[row["doc_id"]].text

    shallow, older = tmp_path / "shallow", tmp_path / "older"
    shutil.copytree(run_dir, shallow)
    documents = shallow / "runs" / "toy" / "documents.jsonl"
    documents.write_text("".join(documents.read_text().splitlines(keepends=True)[:5]))
    assert pool(shallow, tmp_path / "shallow.csv", "--depth", "25") == expected

    shutil.copytree(run_dir, older)
    for name in ("queries.jsonl", "documents.jsonl", "qrels.txt"):
        (older / "runs" / "toy" / name).unlink(missing_ok=True)
    assert pool(older, tmp_path / "older.csv", "--depth", "25") == expected


def test_a_dataset_that_moved_needs_dataset_path(toy_run: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    data, run_dir = toy_run
    older = tmp_path / "older"
    shutil.copytree(run_dir, older)
    for name in ("queries.jsonl", "documents.jsonl"):
        (older / "runs" / "toy" / name).unlink()
    summary = json.loads((older / "summary.json").read_text())
    summary["datasets"][0]["source"] = str(tmp_path / "gone")
    (older / "summary.json").write_text(json.dumps(summary))
    result = runner.invoke(app, ["pool", str(older), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "keeps no texts" in result.output and "--dataset-path" in result.output
    assert not (tmp_path / "x.csv").exists()
    rows = pool(older, tmp_path / "y.csv", "--dataset-path", str(data))
    assert rows and all(r["document"] for r in rows)


def test_usage_errors_exit_2_naming_the_fix(toy_run: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    _, run_dir = toy_run
    out = tmp_path / "judge.csv"

    def fails(*args: str) -> str:
        result = runner.invoke(app, ["pool", str(run_dir), "--out", str(out), *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return " ".join(result.output.split())

    assert "did you mean 'bm25'" in fails("--reranker", "bm2")
    assert "it holds: toy" in fails("--dataset", "toys")
    result = runner.invoke(app, ["pool", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 2 and "run folder" in " ".join(result.output.split())
    out.write_text("dataset,query_id,query,doc_id,title,document,label\n")
    message = fails()
    assert "exists" in message and "--qrels" in message and "--force" in message
    assert out.read_text().count("\n") == 1  # untouched
    result = runner.invoke(app, ["pool", str(run_dir), "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output


def test_a_run_of_several_datasets_is_pooled_one_at_a_time(tmp_path: Path) -> None:
    one, two = toy_dataset(tmp_path / "one"), toy_dataset(tmp_path / "two")
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", "--dataset", str(one), "--dataset", str(two),
                                 "-r", "bm25", "--top-k", "10", "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["pool", str(run_dir), "--out", str(tmp_path / "j.csv")])
    assert result.exit_code == 2
    assert "--dataset" in result.output and "one" in result.output
    rows = pool(run_dir, tmp_path / "j.csv", "--dataset", "two")
    assert {r["dataset"] for r in rows} == {"two"}


def test_the_summary_names_each_systems_contribution(toy_run: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    _, run_dir = toy_run
    result = runner.invoke(app, ["pool", str(run_dir), "--out", str(tmp_path / "j.csv"),
                                 "--depth", "5"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "10 queries" in text and "pool contribution" in text
    for name in ("first-stage", "bm25", "test-length"):
        assert name in text


# -- judged@10 in the results, the report and check -----------------------------------------


def test_judged_at_10_is_recorded_and_reported(toy_run: tuple[Path, Path]) -> None:
    data, run_dir = toy_run
    summary = json.loads((run_dir / "summary.json").read_text())
    qrels = load_dataset(data).qrels
    for row in summary["results"]:
        run = read_trec(run_dir / "runs" / "toy" / f"{row['reranker']}.trec")
        shares = [sum(d in qrels[q] for d, _ in trec_eval_order(run[q])[:10]) / 10
                  for q in sorted(run)]
        assert row["metrics"]["Judged@10"] == pytest.approx(sum(shares) / len(shares))
    assert "Judged@10" in summary["datasets"][0]["first_stage"]["metrics"]
    header = (run_dir / "per_query.csv").read_text().splitlines()[0]
    assert "Judged@10" not in header  # not a headline measure
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    leaderboard = next(line for line in md.splitlines() if line.startswith("| reranker |"))
    assert leaderboard.rstrip(" |").endswith("judged@10")
    assert "Pool too shallow?" in md and "rerank-eval pool" in md  # 3 judged per query


def test_check_against_a_baseline_without_judged_at_10(toy_run: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    _, run_dir = toy_run
    baseline = tmp_path / "baseline.json"
    assert runner.invoke(app, ["baseline", str(run_dir), "--out", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    for cell in data["cells"]:
        cell["measures"].pop("Judged@10", None)
    baseline.write_text(json.dumps(data))
    summary = json.loads((run_dir / "summary.json").read_text())
    for row in summary["results"]:
        row["metrics"].pop("Judged@10")
    old_summary = tmp_path / "summary.json"
    old_summary.write_text(json.dumps(summary))
    for old in (baseline, old_summary):
        result = runner.invoke(app, ["check", str(run_dir), "--baseline", str(old)])
        assert result.exit_code == 0, result.output


def test_pool_label_and_evaluate_with_the_labels(toy_run: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    """run -> pool -> label -> run --qrels: the numbers are those of the labels."""
    data, run_dir = toy_run
    judge = tmp_path / "judge.csv"
    rows = pool(run_dir, judge, "--depth", "10")
    grades = load_dataset(data).qrels
    for row in rows:
        row["label"] = str(grades[row["query_id"]].get(row["doc_id"], 0))
    with judge.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "labelled"
    with length_reranker_registered():
        result = runner.invoke(app, ["run", "--dataset", str(data), "-r", "bm25",
                                     "-r", "test-length", "--top-k", "30", "--qrels",
                                     str(judge), "--out", str(out)])
    assert result.exit_code == 0, result.output
    labels: dict[str, dict[str, int]] = {}
    for row in rows:
        labels.setdefault(row["query_id"], {})[row["doc_id"]] = int(row["label"])
    summary = json.loads((out / "summary.json").read_text())
    for row in summary["results"]:
        trec = out / "runs" / "toy" / f"{row['reranker']}.trec"
        assert row["metrics"] == pytest.approx(evaluate_directly(labels, trec,
                                                                 list(row["metrics"])))
        assert row["metrics"]["Judged@10"] == 1.0  # every top 10 is in the pool
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Pool too shallow?" not in md
    # Deeper than the texts the folder keeps: the dataset is reloaded with its --qrels
    # file (recorded beside the source), so the fingerprint matches and labels carry over.
    recorded = summary["datasets"][0]
    assert recorded["qrels_source"] == str(judge.resolve())
    deeper = pool(out, tmp_path / "deeper.csv", "--depth", "25")
    assert len(deeper) > len(rows)
    known = {(r["query_id"], r["doc_id"]): r["label"] for r in rows}
    assert all(r["label"] == known[(r["query_id"], r["doc_id"])]
               for r in deeper if (r["query_id"], r["doc_id"]) in known)


def evaluate_directly(qrels: dict[str, dict[str, int]], trec: Path,
                      measures: list[str]) -> dict[str, float]:
    """ir-measures itself on a TREC run file, each document scored by minus its rank, so
    no provider breaks a tie its own way: the file's order is trec_eval's."""
    import ir_measures

    run: dict[str, dict[str, float]] = {}
    for line in trec.read_text().splitlines():
        query_id, _, doc_id, rank, _, _ = line.split()
        if query_id in qrels:
            run.setdefault(query_id, {})[doc_id] = -float(rank)
    parsed = [ir_measures.parse_measure(m) for m in measures]
    return {str(m): v for m, v in ir_measures.calc_aggregate(parsed, qrels, run).items()}
