"""The readers of the output contract depend on the contract, never on the runner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rerank_eval"
READERS = sorted([*PACKAGE.glob("report/*.py"), PACKAGE / "regression.py",
                  PACKAGE / "comparison.py", PACKAGE / "baseline.py", PACKAGE / "store.py",
                  PACKAGE / "records.py", PACKAGE / "journal.py",
                  PACKAGE / "evaluation_result.py", PACKAGE / "agreement.py",
                  PACKAGE / "trec.py", PACKAGE / "run_texts.py", PACKAGE / "run_qrels.py"])
FORBIDDEN = ("rerank_eval.harness", "rerank_eval.rerankers")


def imported_modules(source: str, package: str) -> list[str]:
    """Every module ``source`` imports, at the top or in a function; relative ones resolved."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return names


def forbidden(names: list[str]) -> list[str]:
    return [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("path", READERS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_readers_import_neither_the_harness_nor_a_reranker(path: Path) -> None:
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    bad = forbidden(imported_modules(path.read_text(encoding="utf-8"), package))
    assert not bad, f"{path.name} imports {bad}"


def test_the_check_sees_late_and_relative_imports() -> None:
    source = ("import json\n"
              "def f():\n    from rerank_eval.rerankers.base import Reranker\n"
              "from ..harness import Harness\n"
              "from .. import rerankers\n")
    assert set(forbidden(imported_modules(source, "rerank_eval.report"))) == {
        "rerank_eval.rerankers.base", "rerank_eval.rerankers.base.Reranker",
        "rerank_eval.harness", "rerank_eval.harness.Harness", "rerank_eval.rerankers"}
