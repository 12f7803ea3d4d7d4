"""Reports of a real run: a self-contained HTML with every figure and table, byte-stable
Markdown, costs and prices as the run recorded them."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support.beir import toy_dataset
from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.money import usd
from rerank_eval.report import write_reports

runner = CliRunner()
MEASURES = ["nDCG@10", "RR@10", "R@10"]
RERANKERS = ["bm25", "bm25-candidate-idf"]
DATA_URI = re.compile(r'data:image/png;base64,([A-Za-z0-9+/=]+)')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real harness on the toy dataset with two rerankers (bm25, bm25?idf=candidates)."""
    base = tmp_path_factory.mktemp("report")
    data = toy_dataset(base / "toy")
    suite = base / "suite.toml"
    suite.write_text(
        'name = "report-test"\n'
        f"measures = {json.dumps(MEASURES)}\n"
        "[first_stage]\ntop_k = 20\n"
        f'[[datasets]]\nname = "toy"\npath = "{data}"\n'
        '[[rerankers]]\nspec = "bm25"\n'
        '[[rerankers]]\nspec = "bm25?idf=candidates"\nlabel = "bm25-candidate-idf"\n')
    out = base / "run"
    result = runner.invoke(app, ["run", str(suite), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def without_data_uris(html: str) -> str:
    return DATA_URI.sub("data:image/png;base64,…", html)


# -- self-contained HTML with every figure and table ---------------------------------------


def test_html_is_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    text = without_data_uris(html).lower()
    for forbidden in ("http://", "https://", "//cdn", 'src="http', "src='http", "url(",
                      "@import", "<link", "<script ", "@font-face"):
        assert forbidden not in text, forbidden
    assert text.count("<script>") <= 1  # the drill-down's one inline script, no src
    for src in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert src.startswith(("data:image/png;base64,", "#")), src


def test_html_holds_every_figure_and_table(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    figures = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert figures == ["quality-bars.png", "toy-agreement.png", "toy-latency-cdf.png",
                       "toy-per-query.png", "toy-quality-cost.png", "toy-quality-latency.png"]
    embedded = DATA_URI.findall(html)
    assert len(embedded) == len(figures) == html.count('<img src="data:image/png;base64,')
    on_disk = {(run_dir / "figures" / name).read_bytes() for name in figures}
    assert {base64.b64decode(b) for b in embedded} == on_disk
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in on_disk)
    for table in ("toy-quality", "toy-comparison", "toy-latency", "toy-cost", "datasets",
                  "packages"):
        assert f'id="table-{table}"' in html, table
    for name in ("toy", *RERANKERS, *MEASURES, "first stage: bm25 top-20 (baseline)",
                 "95% CI of Δ", "W/T/L", "cold ms", "retries (wait s)", "$ / 1k queries",
                 "seed 20261121", "prices used"):
        assert name in html, name
    fingerprint = json.loads((run_dir / "summary.json").read_text())["datasets"][0]["fingerprint"]
    assert fingerprint in html


def test_markdown_links_every_figure_and_names_every_table(run_dir: Path) -> None:
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert sorted(linked) == sorted(f"figures/{p.name}"
                                    for p in (run_dir / "figures").glob("*.png"))
    assert all((run_dir / link).is_file() for link in linked)
    assert "| bm25 |" in md and "| bm25-candidate-idf |" in md
    header = next(line for line in md.splitlines() if line.startswith("| reranker | queries |"))
    for measure in MEASURES:
        assert f" {measure} |" in header
    assert "significantly better / worse than the baseline" in md


def without_cost(run_dir: Path, tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A copy of the run whose ``names`` have no price, as an unpriced model would."""
    run = copy_run(run_dir, tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    for cell in summary["results"]:
        if cell["reranker"] in names:
            cell["cost_usd"], cell["price"] = None, None
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_local_rerankers_are_priced_by_busy_time_and_traced(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    for cell in summary["results"]:
        assert cell["price"]["unit"] == "cpu_hour" and cell["price"]["date"]
        expected = cell["usage"]["compute_s"] / 3600 * cell["price"]["usd"]
        assert cell["cost_usd"] == pytest.approx(expected)
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "per cpu hour" in md


def test_unknown_cost_is_shown_as_such_not_dropped(run_dir: Path, tmp_path: Path) -> None:
    run = without_cost(run_dir, tmp_path, RERANKERS)
    write_reports(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "No reranker on this dataset has a known cost" in md
    note = next(line for line in md.splitlines() if line.startswith("- Cost unknown"))
    assert "bm25 (local" in note and "bm25-candidate-idf (local" in note
    assert "--qps N" in md  # no projection without a load


def test_cost_from_the_summary_reaches_the_tables_and_the_cost_plot(run_dir: Path,
                                                                     tmp_path: Path) -> None:
    run = without_cost(run_dir, tmp_path, ("bm25",))
    summary = json.loads((run / "summary.json").read_text())
    cell = next(c for c in summary["results"] if c["reranker"] == "bm25-candidate-idf")
    cell["price"] = None
    cell["cost_usd"] = 0.02  # as a provider's reported usage would give
    cell["usage"]["search_units"] = 10.0
    (run / "summary.json").write_text(json.dumps(summary))
    write_reports(run, qps=2)
    md = (run / "report.md").read_text(encoding="utf-8")
    n = cell["n_queries"]
    per_1k = usd(0.02 / n * 1000)
    assert f"| bm25-candidate-idf | $0.02 | {per_1k} |" in md
    assert (run / "figures" / "toy-quality-cost.png").is_file()
    assert "Cost unknown, so not on the cost plot: bm25 (local" in md
    day = 0.02 / n * 2 * 86_400
    row = next(line for line in md.splitlines()
               if line.startswith("| bm25-candidate-idf | 172,800 |"))
    assert f"| {usd(day)} | {usd(day * 30)} |" in row


# -- options -------------------------------------------------------------------------------


def test_report_command_takes_qps_and_a_baseline_reranker(run_dir: Path, tmp_path: Path) -> None:
    run = copy_run(run_dir, tmp_path)
    result = runner.invoke(app, ["report", str(run), "--qps", "2.5",
                                 "--baseline-reranker", "bm25"])
    assert result.exit_code == 0, result.output
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "#### Projection at 2.5 queries per second" in md
    assert "| bm25 (baseline) |" in md
    assert "### Every measure against bm25" in md
    assert runner.invoke(app, ["report", str(run), "--qps", "0"]).exit_code != 0


# -- determinism ---------------------------------------------------------------------------


def test_same_run_folder_gives_the_same_bytes(run_dir: Path, tmp_path: Path) -> None:
    run = copy_run(run_dir, tmp_path)
    write_reports(run)
    first = {p.relative_to(run): p.read_bytes() for p in
             [run / "report.md", run / "report.html", *sorted((run / "figures").glob("*"))]}
    (run / "report.md").unlink()
    shutil.rmtree(run / "figures")
    write_reports(run)
    second = {p.relative_to(run): p.read_bytes() for p in
              [run / "report.md", run / "report.html", *sorted((run / "figures").glob("*"))]}
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    # and the run itself rendered the same thing
    assert (run_dir / "report.md").read_bytes() == second[Path("report.md")]


# -- headless Chromium ---------------------------------------------------------------------


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        where = ("CI is set, but no browser is installed on this runner (apt is not "
                 "guaranteed there)" if os.environ.get("CI") else "not installed here")
        pytest.skip(f"no chromium, chromium-browser or google-chrome on PATH ({where}); "
                    "install Debian's `chromium` to run this check")
    shot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2400",
         (run_dir / "report.html").as_uri()],
        check=False, capture_output=True, timeout=90,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    from PIL import Image

    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, "the screenshot is (nearly) blank"
