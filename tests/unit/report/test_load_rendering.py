"""load.html and the Markdown Load section, from stored and constructed load.json data."""

from __future__ import annotations

import base64
import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from rerank_eval.report.load import levels_table, load_markdown, write_load_report
from rerank_eval.report.load_figures import KNEE_COLOR, draw_latency, draw_throughput

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "load-sample" / "load.json"
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
NO_ERRORS = {"rate_limited": 0, "server_error": 0, "timeout": 0, "transport": 0,
             "client_error": 0, "malformed": 0, "other": 0}
NO_LATENCY = {"mean": None, "p50": None, "p90": None, "p95": None, "p99": None, "max": None}


def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def open_loop() -> dict[str, Any]:
    """The sample as an open-loop test: offered 10 to 80 qps, the knee at 40 qps."""
    data = sample()
    data["mode"] = "open"
    data["settings"].update(levels=[10, 20, 40, 60, 80], requests_per_level=None,
                            duration_s=30.0)
    for level, qps, achieved in zip(data["levels"], (10, 20, 40, 60, 80),
                                    (10.1, 19.8, 39.7, 52.3, 55.0), strict=True):
        level.update(concurrency=None, offered_qps=qps, throughput_rps=achieved,
                     docs_per_s=achieved * 20)
    data["knee"].update(concurrency=None, offered_qps=40, throughput_rps=39.7)
    data["saturation_rps"] = 55.0
    return data


def no_knee() -> dict[str, Any]:
    data = sample()
    data["knee"] = {"found": False, "index": None, "concurrency": None, "offered_qps": None,
                    "throughput_rps": None, "p95_ms": None, "max_p95_ms": 50.0,
                    "reason": "no level with p95 <= 50 ms"}
    data["settings"].update(max_p95_ms=50.0, max_p95_source="--max-p95-ms")
    data["cost_per_1k_queries"] = None
    return data


def single_level() -> dict[str, Any]:
    data = sample()
    data["levels"] = data["levels"][:1]
    data["settings"]["levels"] = [1]
    data["knee"].update(index=0, concurrency=1, throughput_rps=18.9, p95_ms=60.0)
    data["saturation_rps"] = 18.9
    return data


def all_failed_at_the_top() -> dict[str, Any]:
    """The sample with every request at concurrency 16 refused (429) or timed out."""
    data = sample()
    top = data["levels"][4]
    top.update(ok=0, errors={**NO_ERRORS, "rate_limited": 180, "timeout": 20},
               throughput_rps=0.0, docs_per_s=0.0, latency_ms=NO_LATENCY, server_ms={})
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = write_load_report(tmp_path, data)
    assert path == tmp_path / "load.html"
    return path.read_text(encoding="utf-8")


class Tables(HTMLParser):
    """Each table's rows, as the text of their cells, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def assert_self_contained(html: str) -> None:
    text = DATA_URI.sub("", html).lower()
    for forbidden in ("<script", "<link", "url(", "@import", "@font-face", "<iframe"):
        assert forbidden not in text, forbidden
    for target in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert target.startswith(("data:image/png;base64,", "#")), target
    for png in DATA_URI.findall(html):
        assert base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n")


# -- the stored sample: closed loop, five levels, a knee, 429s and timeouts ----------------


def test_sample_page_is_self_contained_with_both_figures(tmp_path: Path) -> None:
    html = write(tmp_path, sample())
    assert_self_contained(html)
    assert html.count('<img src="data:image/png;base64,') == 2
    assert 'id="figure-load-throughput"' in html and 'id="figure-load-latency"' in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.html"]  # no temporary left


def test_sample_headline_names_the_knee_saturation_cost_and_retries(tmp_path: Path) -> None:
    html = write(tmp_path, sample())
    assert "<h1>rerank-eval load: tei:http://127.0.0.1:8080</h1>" in html
    assert "closed loop" in html and "dataset quick (top-20, 50 distinct queries)" in html
    assert "20 documents per request" in html
    assert ("<strong>Holds 64.5 rps at p95 88.7 ms (concurrency 4): the highest level within "
            "the 120 ms p95 budget (2x p95 at the lowest level).</strong>") in html
    assert "Saturation throughput: 80.1 rps (at concurrency 16)" in html
    # $2 an hour at 64.5 requests a second: 2 / 3600 / 64.5 * 1000
    assert "Cost per 1,000 queries at the knee: $0.0086 (estimate: $2 per GPU hour" in html
    assert "Retries: off" in html


def test_sample_errors_are_shown_prominently(tmp_path: Path) -> None:
    html = write(tmp_path, sample())
    box = re.search(r"<div class=\"errors-box\" role=\"alert\">\n<p>([^<]*)</p>", html)
    assert box is not None
    assert box.group(1) == ("Errors: 29 of 1,000 requests failed at concurrency 16: 21 rate "
                            "limited (429), 8 timeouts. Percentiles are over successful "
                            "requests only.")
    assert '<tr class="failing">' in html and '<tr class="knee">' in html


def test_sample_levels_table_holds_every_level(tmp_path: Path) -> None:
    rows = tables_of(write(tmp_path, sample()))["table-load-levels"]
    header = rows[0]
    assert header[:9] == ["concurrency", "requests", "ok", "errors", "429", "timeouts",
                          "retries", "rps", "docs/s"]
    assert header[9:14] == ["p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms"]
    assert header[14:18] == ["srv queue ms", "srv tokenization ms", "srv inference ms",
                             "srv total ms"]
    assert header[-1] == "stopped early"
    assert [r[0] for r in rows[1:]] == ["1", "2", "4 (knee)", "8", "16"]
    assert rows[5][:14] == ["16", "200", "171", "29", "21", "8", "0", "80.1", "1,602", "190",
                            "260", "302", "402", "998"]
    assert rows[1][9:14] == ["52.1", "56.4", "60.0", "66.2", "71.5"]
    assert rows[3][16] == "47.1 / 56.5"  # inference p50 / p95 at the knee
    assert all(r[-1] == "no" for r in rows[1:])


def test_sample_settings_and_environment_are_listed(tmp_path: Path) -> None:
    html = write(tmp_path, sample())
    settings = dict(map(tuple, tables_of(html)["table-load-settings"][1:]))
    assert settings["levels (concurrency)"] == "1, 2, 4, 8, 16"
    assert settings["requests per level"] == "200"
    assert settings["retries"] == "0 (off)"
    assert settings["p95 budget"] == "120 ms (2x p95 at the lowest level)"
    assert settings["GPU hour"] == "$2"
    assert "AMD EPYC 7R13 Processor (16 cores, 125.7 GiB)" in html
    assert "--concurrency 1,2,4,8,16" in html
    assert ["httpx", "0.28.1"] in tables_of(html)["table-load-packages"]


def test_the_same_data_gives_the_same_bytes(tmp_path: Path) -> None:
    first = write(tmp_path / "a", sample())
    second = write(tmp_path / "b", sample())
    assert first == second


# -- the figures mark the knee -------------------------------------------------------------


def knee_lines(fig: Figure) -> list[Any]:
    ax = fig.axes[0]
    return [line for line in ax.lines
            if line.get_color() == KNEE_COLOR and len(set(line.get_xdata())) == 1]


def legend_texts(fig: Figure) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [t.get_text() for legend in legends if legend for t in legend.get_texts()]


@pytest.mark.parametrize("draw", [draw_throughput, draw_latency])
def test_both_figures_mark_the_knee_and_use_a_log2_concurrency_axis(draw) -> None:
    fig = draw(sample())
    (line,) = knee_lines(fig)
    assert set(line.get_xdata()) == {4.0}
    assert "knee: concurrency 4, 64.5 rps at p95 88.7 ms" in legend_texts(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    assert list(ax.get_xticks()) == [1, 2, 4, 8, 16]


def test_latency_figure_draws_the_percentiles_and_the_budget() -> None:
    fig = draw_latency(sample())
    ax = fig.axes[0]
    texts = legend_texts(fig)
    assert texts[:4] == ["p50", "p90", "p95", "p99"]
    assert "p95 budget: 120 ms" in texts
    p95 = next(line for line, label in zip(ax.lines, texts, strict=False) if label == "p95")
    assert list(p95.get_ydata()) == [60.0, 64.8, 88.7, 142.6, 301.5]
    budget = [line for line in ax.lines if set(line.get_ydata()) == {120.0}]
    assert len(budget) == 1


def test_throughput_figure_marks_levels_with_errors() -> None:
    texts = legend_texts(draw_throughput(sample()))
    assert "level with errors: 16 (29 failed)" in texts
    assert "saturation: 80.1 rps" in texts


# -- open loop, no knee, one level, failed levels ------------------------------------------


def test_open_loop_uses_offered_qps_and_the_y_equals_x_line(tmp_path: Path) -> None:
    data = open_loop()
    html = write(tmp_path, data)
    assert_self_contained(html)
    assert "open loop (Poisson arrivals" in html
    assert "Holds 39.7 rps at p95 88.7 ms (offered 40 qps)" in html
    assert "failed at offered qps 80" in html
    rows = tables_of(html)["table-load-levels"]
    assert rows[0][0] == "offered qps"
    assert [r[0] for r in rows[1:]] == ["10", "20", "40 (knee)", "60", "80"]
    fig = draw_throughput(data)
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    reference = [line for line in ax.lines
                 if list(line.get_xdata()) == list(line.get_ydata())
                 and line.get_xdata()[0] == 0]
    assert len(reference) == 1
    assert "achieved = offered (y = x)" in legend_texts(fig)
    assert set(knee_lines(fig)[0].get_xdata()) == {40.0}
    assert "knee: offered 40 qps, 39.7 rps at p95 88.7 ms" in legend_texts(draw_latency(data))


def test_no_knee_renders_and_says_so(tmp_path: Path) -> None:
    data = no_knee()
    html = write(tmp_path, data)
    assert_self_contained(html)
    assert ("No knee: no level kept its p95 within the 50.0 ms p95 budget (--max-p95-ms)."
            in html)
    assert "Cost per 1,000 queries at the knee: unknown" in html
    assert 'class="knee' not in html
    assert html.count('<img src="data:image/png;base64,') == 2
    for draw in (draw_throughput, draw_latency):
        assert knee_lines(draw(data)) == []
    md = load_markdown(data)
    assert "- **No knee: no level kept its p95 within" in md


def test_a_single_level_renders(tmp_path: Path) -> None:
    data = single_level()
    html = write(tmp_path, data)
    assert_self_contained(html)
    rows = tables_of(html)["table-load-levels"]
    assert len(rows) == 2 and rows[1][0] == "1 (knee)"
    assert 'class="errors-box"' not in html  # the only level had no error
    ax = draw_throughput(data).axes[0]
    low, high = ax.get_xlim()
    assert low < 1 < high


def test_a_level_where_every_request_failed_shows_dashes(tmp_path: Path) -> None:
    data = all_failed_at_the_top()
    html = write(tmp_path, data)
    assert_self_contained(html)
    row = tables_of(html)["table-load-levels"][5]
    assert row[:6] == ["16", "200", "0", "200", "180", "20"]
    assert row[9:14] == ["–"] * 5
    assert "No successful request, so no latency (“–”), at: concurrency 16." in html
    assert "Errors: 200 of 1,000 requests failed at concurrency 16" in html
    texts = legend_texts(draw_latency(data))
    assert "no successful request: 16" in texts


def test_every_level_failing_leaves_only_the_throughput_figure(tmp_path: Path) -> None:
    data = sample()
    for level in data["levels"]:
        level.update(ok=0, errors={**NO_ERRORS, "transport": level["requests"]},
                     throughput_rps=0.0, docs_per_s=0.0, latency_ms={}, server_ms={})
    data["knee"] = {"found": False, "reason": "no successful request"}
    data["saturation_rps"] = 0.0
    html = write(tmp_path, data)
    assert_self_contained(html)
    assert 'id="figure-load-throughput"' in html and 'id="figure-load-latency"' not in html
    assert "1,000 transport errors" in html
    assert "No knee: no level kept its p95 within the 120 ms p95 budget (2x p95 at the lowest " \
        "level); no successful request." in html


def test_an_interruption_before_the_first_level_finished_renders(tmp_path: Path) -> None:
    data = sample()
    data.update(levels=[], interrupted=True, saturation_rps=None, cost_per_1k_queries=None,
                knee={"found": False, "reason": "no level finished"})
    html = write(tmp_path, data)
    assert_self_contained(html)
    assert "<img" not in html and "No figure: no level finished." in html
    assert "Saturation throughput: –." in html and "Interrupted (Ctrl-C)" in html
    assert tables_of(html)["table-load-levels"] == [levels_table(data).headers]
    assert "## Load" in load_markdown(data, figures_dir="figures")


def test_an_interrupted_run_with_a_cut_level_says_so(tmp_path: Path) -> None:
    data = sample()
    data["levels"] = data["levels"][:3]
    data["levels"][2]["stopped_early"] = True
    data["interrupted"] = True
    html = write(tmp_path, data)
    assert "Interrupted (Ctrl-C)" in html
    assert tables_of(html)["table-load-levels"][3][-1] == "yes"
    assert "Stopped early (Ctrl-C or the --max-requests cap): concurrency 4" in html


def test_retries_and_reported_tokens_and_cost_are_shown(tmp_path: Path) -> None:
    data = sample()
    data["settings"]["retries"] = 2
    for level in data["levels"]:
        level.update(retries=3, tokens=12_000, cost_usd=0.0012)
    data["cost_per_1k_queries"] = {
        "usd": 0.006, "basis": "usage", "gpu_hour_usd": None, "note": None,
        "price": {"usd": 0.05, "per": 1_000_000, "unit": "token", "date": "2026-11-01",
                  "source": "https://example.com/pricing"}}
    table = levels_table(data)
    assert table.headers[-3:] == ["tokens", "cost", "stopped early"]
    assert table.rows[0][-3:-1] == ["12,000", "$0.0012"]
    html = write(tmp_path, data)
    assert "Retries: up to 2 per request; 15 made in all" in html
    assert ("$0.006 (usage the server reported × $0.05 per 1M tokens (price dated 2026-11-01; "
            "source: https://example.com/pricing))") in html


def test_a_local_model_is_priced_by_its_dated_hardware_rate(tmp_path: Path) -> None:
    data = sample()
    data["cost_per_1k_queries"] = {
        "usd": 0.0035, "basis": "hardware_hour", "gpu_hour_usd": None, "note": "",
        "price": {"usd": 0.8, "per": 1, "unit": "gpu_hour", "date": "2026-10-01",
                  "source": "https://example.com/ec2", "instance": "g6.xlarge",
                  "device": "cuda"}}
    html = write(tmp_path, data)
    assert ("Cost per 1,000 queries at the knee: $0.0035 (estimate: $0.8 per gpu hour "
            "(g6.xlarge) ÷ the knee&#39;s throughput; rate dated 2026-10-01; source: "
            "https://example.com/ec2).") in html


def test_the_engines_extra_fields_are_shown(tmp_path: Path) -> None:
    """Beyond the contract: dropped arrivals, merged requests, error messages, notes."""
    data = open_loop()
    top = data["levels"][4]
    top.update(dropped=4, shared_in_flight=2,
               error_messages=["HTTP 429: too many requests", "timed out after 10 s"])
    data["settings"].update(max_in_flight=256, drain_s=10.0)
    data["notes"] = ["tei: x-inference-time headers read as server time"]
    html = write(tmp_path, data)
    rows = tables_of(html)["table-load-levels"]
    assert rows[0][4:8] == ["429", "timeouts", "dropped", "merged"]
    assert rows[5][4:8] == ["21", "8", "4", "2"] and rows[1][6:8] == ["0", "0"]
    box = html[html.index('<div class="errors-box"'):html.index("</div>", html.index(
        '<div class="errors-box"'))]
    assert ("<li>at offered 80 qps: HTTP 429: too many requests; timed out after 10 s</li>"
            in box)
    assert "<li>tei: x-inference-time headers read as server time</li>" in html
    assert "dropped: arrivals still unanswered" in html and "merged: requests" in html
    settings = dict(map(tuple, tables_of(html)["table-load-settings"][1:]))
    assert settings["max in flight"] == "256"
    assert settings["drain after the arrivals (s)"] == "10"
    md = load_markdown(data)
    assert "- error messages at offered 80 qps: HTTP 429: too many requests;" in md


# -- Markdown ------------------------------------------------------------------------------


def test_markdown_section_holds_the_headline_table_and_errors() -> None:
    md = load_markdown(sample())
    assert md.startswith("## Load\n")
    assert "- **Holds 64.5 rps at p95 88.7 ms (concurrency 4)" in md
    assert "**Errors: 29 of 1,000 requests failed at concurrency 16" in md
    assert "| 4 (knee) | 200 | 200 | 0 | 0 | 0 | 0 | 64.5 | 1,290 | 60.3 |" in md
    assert "](figures/" not in md  # no figures unless told where they are
    assert "[load.html](load.html)" in md
    assert "### Settings" not in md


def test_markdown_links_the_figures_and_can_carry_everything() -> None:
    md = load_markdown(sample(), figures_dir="figures", full=True)
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md) == ["figures/load-throughput.png",
                                                         "figures/load-latency.png"]
    assert "### Settings" in md and "| levels (concurrency) | 1, 2, 4, 8, 16 |" in md
    assert "### Environment" in md


def test_rendering_does_not_change_the_data(tmp_path: Path) -> None:
    data = sample()
    before = copy.deepcopy(data)
    write(tmp_path, data)
    load_markdown(data, figures_dir="figures")
    assert data == before
