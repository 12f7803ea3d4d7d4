"""``rerank-eval cache ls|prune``: show and free what is kept under ``$RERANK_EVAL_CACHE``
(the listing and removal are :mod:`rerank_eval.cache_inventory`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rerank_eval.artifacts import cache_base
from rerank_eval.cache_inventory import (
    KINDS,
    CacheItem,
    iso,
    list_cache,
    parse_age,
    prune_cache,
)

cache_app = typer.Typer(
    help="Show and free what rerank-eval keeps under $RERANK_EVAL_CACHE (BM25 indexes, "
    "first-stage candidates, corpus stores, provider responses, downloaded datasets).",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
_err = Console(stderr=True)
_out = Console(width=None if Console().is_terminal else 160)


@cache_app.command("ls")
def ls_command(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the entries as JSON (sizes in bytes, times in ISO 8601 UTC).")]
    = False,
) -> None:
    """List the cache: kind, dataset, settings, size, created, last used."""
    items = list_cache()
    if as_json:
        typer.echo(json.dumps({"root": str(cache_base()), "entries": [i.to_json() for i in items],
                               "size": sum(i.size for i in items)}, indent=2,
                              ensure_ascii=False))
        return
    _out.print(_table(items, f"{cache_base()}"))


@cache_app.command("prune")
def prune_command(
    older_than: Annotated[str | None, typer.Option(
        "--older-than", help="Remove entries last used (else created) longer ago than this: "
        "30d, 12h, 90m, 2w.")] = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help=f"Only this kind (repeatable): {', '.join(KINDS)}. Default: every "
        "kind but 'other'.")] = None,
    everything: Annotated[bool, typer.Option(
        "--all", help="Remove every entry of the kinds, whatever its age.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be removed; remove nothing.")] = False,
) -> None:
    """Remove cache entries by age and kind. An entry a running process is building is
    kept; anything removed is rebuilt (or fetched again) when next needed."""
    try:
        age = parse_age(older_than) if older_than is not None else None
        result = prune_cache(older_than=age, kinds=kind or (), everything=everything,
                             dry_run=dry_run)
    except ValueError as exc:
        _err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    verb = "would remove" if dry_run else "removed"
    if result.removed:
        _out.print(_table(result.removed, f"{verb}:"))
    for item, reason in result.skipped:
        _err.print(f"kept {item.path}: {reason}", highlight=False)
    _out.print(f"{verb} {len(result.removed)} entries, {human_size(result.freed)}",
               highlight=False)


def _table(items: list[CacheItem], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("kind", "dataset", "settings", "size", "created", "last used"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for item in items:
        table.add_row(item.kind, item.dataset, item.settings, human_size(item.size),
                      _when(item.created), _when(item.last_used))
    table.caption = f"{len(items)} entries, {human_size(sum(i.size for i in items))}"
    return table


def _when(seconds: float | None) -> str:
    text = iso(seconds)
    return "-" if text is None else text[:16].replace("T", " ")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns
