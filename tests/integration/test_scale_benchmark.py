"""benchmarks/scale.py and its stage probe: stage rules on made-up stacks, the size
arithmetic, and one real run of the script on a tiny collection."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


probe = _module("stage_probe")
scale = _module("scale")

CLI = ("/x/rerank_eval/cli.py", "run")
RUN = ("/x/rerank_eval/harness.py", "Harness.run")
IMPORT = ("<frozen importlib._bootstrap>", "_find_and_load")


@pytest.mark.parametrize(("stack", "stage"), [
    ([CLI, RUN, ("/x/rerank_eval/harness.py", "Harness._prepare_dataset"),
      ("/x/rerank_eval/datasets/resolve.py", "load_dataset"),
      ("/x/rerank_eval/datasets/beir.py", "_jsonl_records")], "load"),
    # the innermost named frame: building the index inside the first stage
    ([CLI, RUN, ("/x/rerank_eval/candidates.py", "bm25_candidates"),
      ("/x/rerank_eval/bm25_index.py", "BM25Index.__init__"),
      ("/site/bm25s/tokenization.py", "tokenize")], "index"),
    # searching is the first stage; reading a document is whoever reads it
    ([CLI, RUN, ("/x/rerank_eval/candidates.py", "bm25_candidates"),
      ("/x/rerank_eval/bm25_index.py", "BM25Index.search")], "first_stage"),
    ([CLI, RUN, ("/x/rerank_eval/harness.py", "Harness._run_cell"),
      ("/x/rerank_eval/datasets/model.py", "CorpusDocument.full_text")], "rerank"),
    ([("/x/rerank_eval/rerankers/lexical.py", "BM25Reranker._score"),
      ("/x/rerank_eval/bm25_index.py", "BM25Index.scores")], "rerank"),
    ([("/x/rerank_eval/rerankers/lexical.py", "BM25Reranker.index_corpus.<locals>.<listcomp>")],
     "index"),
    ([CLI, RUN, ("/x/rerank_eval/harness.py", "Harness._summarise"),
      ("/x/rerank_eval/metrics.py", "evaluate")], "metrics"),
    # the report wins over the metrics code it runs
    ([CLI, ("/x/rerank_eval/report/writer.py", "write_reports"),
      ("/x/rerank_eval/metrics.py", "evaluate")], "report"),
    # an import counts in the stage that imports, whatever the imported module runs
    ([CLI, ("/x/rerank_eval/bm25_index.py", "BM25Index.__init__"), IMPORT,
      ("/x/rerank_eval/rerankers/registry.py", "register")], "index"),
    ([CLI, IMPORT, ("/x/rerank_eval/rerankers/registry.py", "register")], None),
    ([CLI, RUN], None),
])
def test_stage_rules(stack: list[tuple[str, str]], stage: str | None) -> None:
    assert probe.stage_of(stack) == stage


def test_extra_rules_parse_and_come_first() -> None:
    rule = probe.parse_rule("index!=rerank_eval/ann.py:build")
    assert (rule.stage, rule.path, rule.function, rule.dominant) == \
        ("index", "rerank_eval/ann.py", "build", True)
    stack = [CLI, RUN, ("/x/rerank_eval/candidates.py", "bm25_candidates"),
             ("/x/rerank_eval/ann.py", "build_graph")]
    assert probe.stage_of(stack, (rule, *probe.RULES)) == "index"
    with pytest.raises(ValueError, match="STAGE=PATH"):
        probe.parse_rule("indexing=x.py")


def test_sizes_and_projection() -> None:
    assert [scale.parse_size(s) for s in ("100k", "1M", "2.5m", "2000")] == \
        [100_000, 1_000_000, 2_500_000, 2_000]
    assert [scale.format_size(n) for n in (100_000, 1_000_000, 2_500_000, 2_000, 1_234)] == \
        ["100k", "1M", "2.5M", "2k", "1234"]
    slope, intercept = scale.fit_line([1e5, 5e5, 1e6], [2e8 + 5e3 * n for n in (1e5, 5e5, 1e6)])
    assert slope == pytest.approx(5e3) and intercept == pytest.approx(2e8)

    def measured(n: int, peak: float) -> dict[str, object]:
        return {"n_docs": n, "runs": {"cold": {"peak_rss_bytes": peak},
                                      "warm": {"peak_rss_bytes": peak / 2}}}

    # nothing measured: the 7 KB a document; one size: proportional; two: the line,
    # never below the largest size's bytes per document
    assert scale.projected_peak([], 1_000_000)[0] == pytest.approx(0.3 * scale.GIB + 7e9)
    assert scale.projected_peak([measured(100_000, 1e9)], 500_000)[0] == pytest.approx(5e9)
    two = [measured(100_000, 1.0e9), measured(500_000, 1.8e9)]
    assert scale.projected_peak(two, 1_000_000)[0] == pytest.approx(3.6e9)
    # sizes too small for the per-document part to show are not projected from
    assert scale.projected_peak([measured(2_000, 3e8)], 1_000_000)[1].startswith("7 KB")


@pytest.mark.slow
def test_scale_runs_the_cli_twice_and_reads_every_stage(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--sizes", "2k",
         "--work", str(tmp_path), "--json", str(results), "--interval", "0.002"],
        capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    data = json.loads(results.read_text())
    (size,) = data["sizes"]
    assert size["n_docs"] == 2_000 and size["identical_results"]
    assert set(size["runs"]) == {"cold", "warm"}
    for kind, run in size["runs"].items():
        stages = run["stages"]
        assert set(stages) == set(scale.STAGES)
        # the harness's stages are all seen, and every moment is in one stage
        for stage in ("load", "index", "first_stage", "rerank", "metrics", "report"):
            assert stages[stage]["wall_s"] > 0, (kind, stage, run["timeline"])
        assert sum(s["wall_s"] for s in stages.values()) == pytest.approx(run["wall_s"],
                                                                         rel=0.01)
        assert run["peak_rss_bytes"] == max(s["peak_rss_bytes"] for s in stages.values())
        assert 50 << 20 < run["peak_rss_bytes"] < 4 << 30
        assert run["exit_code"] == 0 and run["process_wall_s"] >= run["wall_s"]
    assert "| 2k | cold |" in completed.stdout and "| 2k | warm |" in completed.stdout
    assert (tmp_path / "runs" / "2000" / "warm" / "summary.json").is_file()
