"""The one Jinja environment every report renders with: its templates, escaping and filters."""

from __future__ import annotations

import base64

import jinja2
from markupsafe import Markup, escape

from rerank_eval.report.analysis import BETTER, WORSE


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rerank_eval.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.filters["marks"] = html_marks
    env.filters["data_uri"] = lambda f: "data:image/png;base64," + base64.b64encode(
        f.png).decode("ascii")
    return env


def md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def html_marks(text: str) -> Markup:
    escaped = str(escape(text))
    escaped = escaped.replace(BETTER, f'<span class="better" title="significantly better">'
                                      f'{BETTER}</span>')
    escaped = escaped.replace(WORSE, f'<span class="worse" title="significantly worse">'
                                     f'{WORSE}</span>')
    return Markup(escaped)
