"""``rerank-eval pool RUN_DIR``: the command's body (registered in :mod:`rerank_eval.cli`).

Writes the pool (:mod:`rerank_eval.pooling`) as a file to label
(:mod:`rerank_eval.pool_file`) and prints what each system contributed. Exit 2, with one
line, for a bad option, an unreadable run folder, texts that cannot be found, or an
``--out`` that exists (it may hold someone's labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # imported when the command runs: `rerank-eval --help` stays quick
    from rerank_eval.pooling import Pool

DEFAULT_DEPTH = 10
"""Pool depth when --depth is not given (TREC's usual shallow pool)."""

console = Console(stderr=True)
out_console = Console(width=None if Console().is_terminal else 160)


def pool_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `run`.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="The file to label: CSV, or TSV when it ends in .tsv. Columns: "
        "dataset, query_id, query, doc_id, title, document, label.")],
    depth: Annotated[int, typer.Option(
        min=1, help="Pool each system's top this many documents per query.")] = DEFAULT_DEPTH,
    dataset: Annotated[str | None, typer.Option(
        help="The run's dataset to pool (needed when the run has several).")] = None,
    reranker: Annotated[list[str], typer.Option(
        "--reranker", "-r", help="Pool only this reranker (as the run names it). "
        "Repeatable; default every reranker of the run.")] = [],  # noqa: B006
    include_first_stage: Annotated[bool, typer.Option(
        help="Pool the first stage's own ranking too.")] = True,
    seed: Annotated[int, typer.Option(
        help="Seed of each query's document order (shuffled, so the order does not tell "
        "which reranker found a document).")] = 0,
    qrels: Annotated[Path | None, typer.Option(
        help="Labels already given (an earlier labelled pool file, CSV/TSV with query_id, "
        "doc_id, label, or TREC qrels): pre-filled instead of the judgments the run "
        "used.")] = None,
    skip_judged: Annotated[bool, typer.Option(
        "--skip-judged", help="Leave out documents that already have a label, as TREC "
        "pools only unjudged ones (the file then holds only new judgments: merge it with "
        "the old ones before `run --qrels`).")] = False,
    dataset_path: Annotated[str | None, typer.Option(
        help="Load the dataset from here (for texts deeper than the run folder keeps, and "
        "its judgments) instead of where the run loaded it.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Pool every reranker's top documents per query into a file to label, TREC style.

    Each query's rows hold the union of the pooled rankings' top --depth documents, in a
    seeded random order, with no column saying which reranker found them. A document's
    label is pre-filled when it is already known (the judgments the run used, or --qrels
    FILE); an empty label is a document to judge. Fill in the labels (graded integers,
    0 = not relevant), then evaluate against them with `rerank-eval run ... --qrels FILE`.
    """
    from rerank_eval.pool_file import write_pool
    from rerank_eval.pooling import PoolError, PoolOptions, build_pool

    try:
        if out.is_dir():
            raise PoolError(f"--out {out} is a folder; give a file name, e.g. {out}/pool.csv")
        if out.exists() and not force:
            raise PoolError(f"{out} exists (it may hold labels); pass it as --qrels {out} to "
                            "carry its labels over into a new file, or --force to overwrite")
        known, known_from = (_read_labels(qrels), str(qrels)) if qrels else (None, "")
        pool = build_pool(run_dir, PoolOptions(
            depth=depth, dataset=dataset, rerankers=tuple(reranker),
            include_first_stage=include_first_stage, seed=seed, skip_judged=skip_judged,
            known_labels=known, known_labels_from=known_from, dataset_path=dataset_path))
        write_pool(pool, out)
    except (PoolError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    for warning in pool.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    _print_summary(pool, out)


def _read_labels(path: Path) -> dict[str, dict[str, int]]:
    """Labels from a judgments file, through the reader ``run --qrels`` uses."""
    from rerank_eval.datasets.qrels_file import read_qrels_file
    from rerank_eval.pooling import PoolError

    try:
        judgments = read_qrels_file(path).judgments
    except ValueError as exc:
        raise PoolError(str(exc)) from None
    labels: dict[str, dict[str, int]] = {}
    for _, query_id, doc_id, label in judgments:
        labels.setdefault(query_id, {})[doc_id] = label
    return labels


def _print_summary(pool: Pool, out: Path) -> None:
    n_docs = len(pool.entries)
    to_label = n_docs - pool.n_prefilled
    line = (f"wrote {out}: {pool.dataset}, {pool.n_queries:,} queries, {n_docs:,} pooled "
            f"documents (top {pool.depth} of {', '.join(pool.systems)}); {to_label:,} to "
            "label")
    if pool.n_prefilled:
        line += f", {pool.n_prefilled:,} pre-filled from {pool.labels_from}"
    if pool.skipped_judged:
        line += f"; {pool.skipped_judged:,} already judged left out (--skip-judged)"
    out_console.print(line, highlight=False, markup=False)
    table = Table(title=f"pool contribution (top {pool.depth} per query)",
                  title_justify="left")
    for title, justify in (("system", "left"), ("queries", "right"),
                           (f"top-{pool.depth} documents", "right"),
                           ("found by it alone", "right"), ("share of the pool", "right")):
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    pooled = n_docs + pool.skipped_judged
    for c in pool.contributions:
        table.add_row(c.system, f"{c.queries:,}", f"{c.top:,}", f"{c.unique:,}",
                      f"{c.top / pooled:.0%}" if pooled else "–")
    out_console.print(table)
    out_console.print("Fill in the label column (0 = not relevant, higher = more relevant; "
                      "leave empty to leave unjudged), then: rerank-eval run ... --qrels "
                      f"{out}", highlight=False, markup=False)
