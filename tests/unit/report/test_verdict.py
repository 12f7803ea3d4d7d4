"""A verdict per dataset, and the terminal table's Δ and marks; measures follow top-k."""

from __future__ import annotations

from pathlib import Path

from rerank_eval.metrics import default_measures, measures_at_depth
from rerank_eval.report.analysis import analyse
from rerank_eval.report.tables import terminal_table

OLD_RUN = Path(__file__).resolve().parents[2] / "data" / "run-v0-unversioned"


def test_the_verdict_names_the_best_with_deltas_significance_latency_and_cost() -> None:
    analysis = analyse(OLD_RUN, n_resamples=200)
    dataset = analysis.datasets[0]
    best = max((s for s in dataset.systems if not s.is_first_stage and s.n_queries),
               key=lambda s: s.measures["nDCG@10"].mean)
    verdict = dataset.verdict
    assert verdict.startswith(f"{best.name} is best on nDCG@10 ")
    assert "vs the first stage (no reranking) (" in verdict
    assert "vs the runner-up " in verdict
    assert "significant" in verdict and "Holm p" in verdict
    assert "p50 " in verdict and "per 1k queries" in verdict
    assert verdict.count(".") >= 1 and "\n" not in verdict


def test_the_verdict_is_at_the_top_of_each_dataset_section(tmp_path: Path) -> None:
    import shutil

    from rerank_eval.report import write_reports

    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    write_reports(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    section = md.split("## quick\n", 1)[1]
    assert section.lstrip().startswith("**Verdict:** ")
    assert "Verdict:" in (run / "report.html").read_text(encoding="utf-8")


def test_the_terminal_table_has_a_delta_column_with_marks() -> None:
    analysis = analyse(OLD_RUN, n_resamples=200)
    table = terminal_table(analysis, analysis.datasets[0])
    assert "Δ nDCG@10" in table.headers
    first = table.rows[0]
    assert first[0].endswith("(baseline)")
    delta = table.headers.index("Δ nDCG@10")
    assert all(row[delta] == "–" or row[delta][0] in "+-" for row in table.rows)


def test_default_recall_and_ap_follow_the_first_stage_depth() -> None:
    assert default_measures(30) == ["nDCG@10", "RR@10", "R@10", "R@30", "AP@30"]
    assert default_measures(10) == ["nDCG@10", "RR@10", "R@10", "AP@10"]
    assert measures_at_depth(["nDCG@10", "R@50", "AP@50", "R@10"], 50, 30) == \
        ["nDCG@10", "R@30", "AP@30", "R@10"]


def test_top_k_on_the_command_line_renames_the_suites_recall_and_ap() -> None:
    from rerank_eval.cli import build_suite

    suite_file = Path(__file__).resolve().parents[3] / "suites" / "quick.toml"
    suite = build_suite(suite_file, [], [], 30, None, [], None, None)
    assert suite.measures == ["nDCG@10", "RR@10", "R@10", "R@30", "AP@30"]
    assert build_suite(None, ["x"], [], 20, None, [], None, None).measures[-2:] == \
        ["R@20", "AP@20"]
