"""The README's "In a notebook" example, run as written, where a notebook runs it: with an
event loop already running in the calling thread (as Jupyter's is)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from rerank_eval import EvaluationResult

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- readme-example: notebook"


def notebook_example() -> str:
    """The fenced ``python`` block right after the README's notebook marker."""
    text = README.read_text(encoding="utf-8")
    assert text.count(MARKER) == 1, f"README.md must hold one {MARKER!r} marker"
    after = text[text.index(MARKER):]
    block = re.match(r"<!--.*?-->\s*```python\n(.*?)\n```", after, re.DOTALL)
    assert block, "the notebook marker must be followed by a ```python block"
    return block.group(1)


def test_the_example_is_found() -> None:
    code = notebook_example()
    assert "rerank_eval.evaluate(" in code and "write_report(" in code


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_readme_notebook_example_runs_as_written(
        shared_datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANK_EVAL_DATASETS", str(shared_datasets))
    monkeypatch.chdir(tmp_path)
    code = compile(notebook_example(), f"{README}:notebook-example", "exec")
    namespace: dict[str, object] = {}

    async def notebook_cell() -> None:
        asyncio.get_running_loop()  # a loop runs here, as in Jupyter: no asyncio.run inside
        exec(code, namespace)

    asyncio.run(notebook_cell())

    result = namespace["result"]
    assert isinstance(result, EvaluationResult)
    summary = result.summary
    assert list(summary["reranker"]) == ["first-stage", "bm25", "biencoder"]
    assert set(summary["dataset"]) == {"scifact"}
    assert list(summary["n_queries"]) == [10, 10, 10]
    assert list(summary["errors"]) == [0, 0, 0]
    assert summary["nDCG@10"].between(0, 1).all()
    assert summary.loc[summary["reranker"] != "first-stage", "latency_p50_ms"].gt(0).all()
    assert len(result.per_query) == 3 * 10
    compared = result.compare()
    assert list(compared["reranker"]) == ["bm25", "biencoder"]
    assert set(compared["baseline"]) == {"first-stage"} and set(compared["measure"]) == {
        "nDCG@10"}
    for name in ("report.md", "report.html"):
        assert (tmp_path / "report" / name).is_file(), name
    assert "biencoder" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert list((tmp_path / "report" / "figures").glob("*.png"))
