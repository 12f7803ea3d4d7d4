"""How much report.html weighs, and how much of it the per-query drill-down takes.

    python benchmarks/report_size.py                      # SciFact x bm25, biencoder, bm25?k1=0.9
    python benchmarks/report_size.py --top-k 100 --reranker bm25 --reranker biencoder
    python benchmarks/report_size.py --run-dir DIR        # render an existing run folder again

Runs ``rerank-eval run`` (the real command line, in this process) on every query of the
dataset (``$RERANK_EVAL_DATASETS/<name>``, else ``../shared/datasets/<name>``) into
``--out`` (a temporary folder by default; its response and artifact caches go there too,
unless ``$RERANK_EVAL_CACHE`` is set), then prints the size of report.html, of its inline
figures, of the drill-down (featured queries and all-queries list), the notes where the
list was cut, and the time each step took. The report must stay under 5 MB
(:data:`rerank_eval.report.drilldown.REPORT_BYTES` is what it aims for).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RERANKERS = ["bm25", "biencoder", "bm25?k1=0.9"]
LIMIT = 5_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--reranker", action="append", dest="rerankers")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--run-dir", type=Path, help="render this run folder, run nothing")
    args = parser.parse_args(argv)
    os.environ.setdefault("RERANK_EVAL_DATASETS", str(REPO.parent / "shared" / "datasets"))

    from typer.testing import CliRunner

    from rerank_eval.cli import app
    from rerank_eval.report import write_reports

    run_dir = args.run_dir
    if run_dir is None:
        work = Path(tempfile.mkdtemp(prefix="report-size-"))
        os.environ.setdefault("RERANK_EVAL_CACHE", str(work / "cache"))
        run_dir = args.out or work / "run"
        command = ["run", "--dataset", args.dataset, "--top-k", str(args.top_k),
                   "--latency-sample", "0", "--out", str(run_dir)]
        for spec in args.rerankers or DEFAULT_RERANKERS:
            command += ["--reranker", spec]
        started = time.perf_counter()
        result = CliRunner().invoke(app, command)
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return result.exit_code
        print(f"run: {' '.join(command)} ({time.perf_counter() - started:.0f} s)")
    started = time.perf_counter()
    write_reports(run_dir)
    took = time.perf_counter() - started
    report = (run_dir / "report.html").read_bytes()
    text = report.decode("utf-8")
    figures = sum(len(m) for m in re.findall(rb"data:image/png;base64,[A-Za-z0-9+/=]+", report))
    drill = sum(len(m.encode("utf-8")) for m in re.findall(
        r'<h3 id="[^"]*-queries">Per-query drill-down</h3>.*?(?=</section>)', text, re.S))
    listed = sum(len(m.encode("utf-8")) for m in re.findall(
        r'<div class="dd-list".*?(?=</section>)', text, re.S))
    print(f"report.html: {len(report):,} bytes ({len(report) / 1e6:.2f} MB; limit "
          f"{LIMIT / 1e6:.0f} MB) rendered in {took:.1f} s")
    print(f"  inline figures: {figures:,} bytes")
    print(f"  drill-down: {drill:,} bytes, of which the all-queries list {listed:,}")
    for note in re.findall(r"<li>(The list of all[^<]*)</li>", text):
        print(f"  cut: {note.replace('&#39;', chr(39))}")
    return 0 if len(report) < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
