"""Render ``report.md`` and ``report.html`` (jinja2) for a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from rerank_eval import atomic
from rerank_eval.report.tables import format_value, leaderboard
from rerank_eval.store import load_summary


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rerank_eval.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["fmt"] = format_value
    return env


def render(summary: dict[str, Any], template: str) -> str:
    return _environment().get_template(template).render(
        summary=summary, tables=leaderboard(summary))


def write_reports(run_dir: Path) -> list[Path]:
    run_dir = Path(run_dir)
    summary = load_summary(run_dir)
    written = []
    for template, name in (("report.md.j2", "report.md"), ("report.html.j2", "report.html")):
        path = run_dir / name
        atomic.write_text(path, render(summary, template))
        written.append(path)
    return written
