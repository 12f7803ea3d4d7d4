"""`rerank-eval report RUN_DIR` with a load.json: a Load section in report.html and report.md,
and load.html beside them; without one, the reports are what they were."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rerank_eval.report
from rerank_eval.cli import app
from rerank_eval.records import SchemaError
from rerank_eval.report import write_reports

DATA = Path(__file__).resolve().parents[1] / "data"
RUN = DATA / "run-v0-unversioned"
LOAD = DATA / "load-sample" / "load.json"
REPORTS = ("report.md", "report.html")
LOAD_FIGURES = ("load-latency.png", "load-throughput.png")
runner = CliRunner()


def snapshot(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in REPORTS} | {
        f"figures/{p.name}": p.read_bytes() for p in sorted((run / "figures").glob("*.png"))}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The stored run rendered without a load.json, with one, then without it again."""
    run = tmp_path_factory.mktemp("load-section") / "run"
    shutil.copytree(RUN, run)
    before = write_reports(run)
    plain = snapshot(run)
    shutil.copy(LOAD, run / "load.json")
    with_load = write_reports(run)
    loaded = snapshot(run)
    load_html = (run / "load.html").read_text(encoding="utf-8")
    (run / "load.json").unlink()
    (run / "load.html").unlink()
    write_reports(run)
    return {"run": run, "before": before, "with_load": with_load, "plain": plain,
            "loaded": loaded, "load_html": load_html, "after": snapshot(run)}


@pytest.mark.slow
def test_no_load_json_no_load_section(renders: dict) -> None:
    run = renders["run"]
    assert renders["before"] == [run / "report.md", run / "report.html"]
    html = renders["plain"]["report.html"].decode()
    md = renders["plain"]["report.md"].decode()
    assert 'id="load-test"' not in html and "load.html" not in html
    assert "## Load" not in md
    assert not any(name.endswith(LOAD_FIGURES) for name in renders["plain"])


@pytest.mark.slow
def test_the_reports_are_unchanged_once_the_load_json_is_gone(renders: dict) -> None:
    assert renders["after"] == renders["plain"]  # the load figures went with it, too


@pytest.mark.slow
def test_a_load_json_adds_the_section_its_figures_and_load_html(renders: dict) -> None:
    run = renders["run"]
    assert renders["with_load"] == [run / "report.md", run / "report.html", run / "load.html"]
    html = renders["loaded"]["report.html"].decode()
    section = html[html.index('<section id="load-test">'):]
    section = section[:section.index("</section>")]
    assert '<a href="#load-test">Load</a>' in html
    assert "Holds 64.5 rps at p95 88.7 ms (concurrency 4)" in section
    assert "Errors: 29 of 1,000 requests failed at concurrency 16" in section
    assert 'id="figure-load-throughput"' in section and 'id="figure-load-latency"' in section
    assert section.count('<img src="data:image/png;base64,') == 2
    assert 'id="table-load-levels"' in section and "4 (knee)" in section
    assert '<a href="load.html">load.html</a>' in section
    assert "tr.knee td" in html  # the load styles come with the section
    for name in LOAD_FIGURES:
        assert f"figures/{name}" in renders["loaded"]
    # every link is an anchor, an embedded figure or the load page beside it
    for target in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert target.startswith(("data:image/png;base64,", "#")) or target == "load.html"
    # the rest of the report is what it was
    start = html.index('<section id="load-test">')
    end = html.index("</section>\n", start) + len("</section>\n")
    css = (Path(rerank_eval.report.__file__).parent / "templates" / "_load.css").read_text()
    rest = (html[:start] + html[end:]).replace('<a href="#load-test">Load</a>', "", 1)
    assert rest.replace(css, "", 1) == renders["plain"]["report.html"].decode()


@pytest.mark.slow
def test_the_markdown_section_links_figures_that_exist(renders: dict) -> None:
    run = renders["run"]
    md = renders["loaded"]["report.md"].decode()
    section = md[md.index("## Load\n"):md.index("## Environment and method")]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", section)
    assert links == ["figures/load-throughput.png", "figures/load-latency.png"]
    assert all(f"figures/{Path(link).name}" in renders["loaded"] for link in links)
    assert "| 16 | 200 | 171 | 29 | 21 | 8 | 0 | 80.1 | 1,602 |" in section
    assert "[load.html](load.html)" in section
    assert (run / "figures").is_dir()


@pytest.mark.slow
def test_load_html_written_beside_the_reports_is_self_contained(renders: dict) -> None:
    html = renders["load_html"]
    assert "<h1>rerank-eval load: tei:http://127.0.0.1:8080</h1>" in html
    for target in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert target.startswith(("data:image/png;base64,", "#")), target


def test_a_folder_with_only_a_load_json_gets_load_html(tmp_path: Path) -> None:
    shutil.copy(LOAD, tmp_path / "load.json")
    assert write_reports(tmp_path) == [tmp_path / "load.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.html", "load.json"]
    (tmp_path / "load.html").unlink()
    result = runner.invoke(app, ["report", str(tmp_path)])  # `load --out DIR`'s folder
    assert result.exit_code == 0, result.output
    assert (tmp_path / "load.html").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["report", str(empty)])
    assert result.exit_code == 2 and "not found" in result.output


def test_a_newer_load_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    data = json.loads(LOAD.read_text(encoding="utf-8"))
    data["schema_version"] = 2
    (run / "load.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SchemaError, match="schema_version") as caught:
        write_reports(run)
    assert str(run / "load.json") in str(caught.value)
    assert not (run / "report.html").exists()
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 2
    assert "load.json" in result.output and "newer rerank-eval" in result.output


@pytest.mark.slow
def test_the_report_command_writes_the_load_page(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    shutil.copy(LOAD, run / "load.json")
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "load.html" in result.output
    assert (run / "load.html").is_file()
    assert 'id="load-test"' in (run / "report.html").read_text(encoding="utf-8")


# -- headless Chromium ---------------------------------------------------------------------


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_load_html_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium, chromium-browser or google-chrome on PATH")
    shutil.copy(LOAD, tmp_path / "load.json")
    page = write_reports(tmp_path)[0]
    shot = tmp_path / "shot.png"
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        check=False, capture_output=True, text=True, timeout=90,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert shot.is_file(), "chromium wrote no screenshot"
    from PIL import Image

    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1280, 2400)
    assert len(image.getcolors(maxcolors=1_000_000) or []) > 50, "the page is (nearly) blank"
