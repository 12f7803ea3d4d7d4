"""How wall time and peak memory grow with the corpus: synthetic BEIR collections of
100k to 2M documents through the real ``rerank-eval run``, per stage, first and cached run.

    .venv/bin/python benchmarks/scale.py                          # 100k and 500k
    .venv/bin/python benchmarks/scale.py --sizes 1M               # adds 1M to the same results
    .venv/bin/python benchmarks/scale.py --sizes 100k --code /tmp/before   # another checkout

For each size: generate the collection (``rerank_eval.testing.synthetic``: deterministic,
cached under ``--work`` and checksum-verified before reuse), then run
``rerank-eval run --dataset DIR --top-k 100 --reranker bm25 --max-queries 50`` twice with
``$RERANK_EVAL_CACHE`` at a folder emptied before the first run: **cold** (nothing built
yet) and **warm** (the same cache, a fresh ``--out``). Each run goes through
``benchmarks/stage_probe.py``, which reads wall time and peak RSS per stage (load, index,
first stage, rerank, metrics, report, other) off the running program's stacks. The TREC
files of the two runs must be identical.

Before each size the peak RSS is projected from the sizes measured so far (a least-squares
line; from one size, proportional; from none, the issue's 7 KB a document): a size whose
projection exceeds ``--max-rss-gib`` or the memory available now is skipped, not run.

Prints wall time, CPU time (all threads: a machine shared with other work inflates it
less than wall time) and peak RSS per stage, then the fitted growth per document (least
squares over the sizes) and the projection to MS MARCO (8.8M passages).
Results go to ``--json`` (default ``WORK/scale-results.json``); sizes measured earlier
with the same settings are kept there, so sizes can be run one invocation at a time.
``--`` passes further options to ``rerank-eval run``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rerank_eval.atomic import write_json
from rerank_eval.testing.synthetic import ensure_synthetic_beir

MSMARCO_DOCS = 8_841_823
STAGES = ("load", "index", "first_stage", "rerank", "metrics", "report", "other")
RUNS = ("cold", "warm")
PRIOR_BYTES_PER_DOC = 7_000
"""Peak RSS a document cost before issue 12 (2M documents, 13.8 GB): the projection
when no size has been measured yet."""
GIB = 1 << 30
PROBE = Path(__file__).resolve().parent / "stage_probe.py"


def parse_size(text: str) -> int:
    """``100k``, ``1M``, ``2000`` -> a document count."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 100k, 1M)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return value


def format_size(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    passed_on: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, passed_on = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,500k",
                        help="comma-separated document counts (default 100k,500k)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rerank-eval-scale"),
                        help="collections, caches, run folders and results")
    parser.add_argument("--json", type=Path, default=None,
                        help="results file (default WORK/scale-results.json)")
    parser.add_argument("--fresh", action="store_true",
                        help="drop sizes measured earlier from the results file")
    parser.add_argument("--queries", type=int, default=50, help="queries (--max-queries)")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--reranker", action="append", default=None,
                        help="reranker spec, repeatable (default bm25)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cold-only", action="store_true",
                        help="skip the second (warm) run: for a code state with no cache, "
                             "where it would only repeat the first")
    parser.add_argument("--max-rss-gib", type=float, default=12.0,
                        help="skip a size whose projected peak RSS exceeds this (default 12)")
    parser.add_argument("--code", type=Path, default=None,
                        help="measure the rerank_eval package in this folder (put first on "
                             "PYTHONPATH of the runs), e.g. an export of an older commit")
    parser.add_argument("--interval", type=float, default=0.01,
                        help="stage sampling interval in seconds (default 0.01)")
    parser.add_argument("--rule", action="append", default=[],
                        help="extra stage rule for the probe, STAGE=PATH[:REGEX]")
    args = parser.parse_args(argv)
    args.sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    args.reranker = args.reranker or ["bm25"]
    args.json = args.json or args.work / "scale-results.json"
    return args, passed_on


def settings_of(args: argparse.Namespace, passed_on: list[str]) -> dict[str, Any]:
    """What must match for results of two invocations to belong to one table."""
    return {"queries": args.queries, "top_k": args.top_k, "rerankers": args.reranker,
            "seed": args.seed, "passed_on": passed_on,
            "code": str(args.code.resolve()) if args.code else "installed"}


# --- running one size -------------------------------------------------------------------


def run_probe(args: argparse.Namespace, passed_on: list[str], dataset: Path, cache: Path,
              out: Path, result_file: Path) -> dict[str, Any]:
    """One ``rerank-eval run`` under the stage probe; its result, plus the process's wall
    time seen from here."""
    shutil.rmtree(out, ignore_errors=True)
    result_file.unlink(missing_ok=True)
    command = ["run", "--dataset", str(dataset), "--top-k", str(args.top_k),
               "--max-queries", str(args.queries), "--out", str(out)]
    for spec in args.reranker:
        command += ["--reranker", spec]
    probe = [sys.executable, str(PROBE), str(result_file), "--interval", str(args.interval)]
    for rule in args.rule:
        probe += ["--rule", rule]
    env = dict(os.environ, RERANK_EVAL_CACHE=str(cache), HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if args.code is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(args.code.resolve()), *filter(None, [env.get("PYTHONPATH")])])
    log = out.with_name(out.name + ".log")
    started = time.perf_counter()
    with log.open("w") as handle:
        completed = subprocess.run([*probe, "--", *command, *passed_on], env=env,
                                   stdout=handle, stderr=subprocess.STDOUT, check=False)
    process_wall = time.perf_counter() - started
    if not result_file.is_file():
        raise RuntimeError(f"the probe wrote no result (exit {completed.returncode}); "
                           f"see {log}:\n{_tail(log)}")
    result = json.loads(result_file.read_text())
    result["process_wall_s"] = round(process_wall, 3)
    result["log"] = str(log)
    if completed.returncode != 0:
        raise RuntimeError(f"rerank-eval run exited {completed.returncode}; see {log}:\n"
                           f"{_tail(log)}")
    return result


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def trec_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("runs/*.trec"))}


def measure_size(args: argparse.Namespace, passed_on: list[str], n_docs: int) -> dict[str, Any]:
    work = args.work
    started = time.perf_counter()
    collection, reused = ensure_synthetic_beir(work / "collections", n_docs,
                                               n_queries=args.queries, seed=args.seed)
    generate_s = time.perf_counter() - started
    print(f"{format_size(n_docs)}: collection {collection.folder} "
          f"({collection.corpus_bytes / 1e6:,.0f} MB, "
          f"{'verified and reused' if reused else 'generated'} in {generate_s:.1f} s)",
          flush=True)
    cache = work / "cache" / str(n_docs)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    runs_dir = work / "runs" / str(n_docs)
    runs_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    for kind in RUNS[:1] if args.cold_only else RUNS:
        result = run_probe(args, passed_on, collection.folder, cache, runs_dir / kind,
                           runs_dir / f"{kind}.probe.json")
        runs[kind] = result
        print(f"  {kind}: {result['wall_s']:.1f} s, peak RSS "
              f"{result['peak_rss_bytes'] / GIB:.2f} GiB", flush=True)
    result = {"n_docs": n_docs, "corpus_bytes": collection.corpus_bytes,
              "generate_s": round(generate_s, 3), "collection_reused": reused, "runs": runs}
    if "warm" in runs:
        identical = trec_files(runs_dir / "cold") == trec_files(runs_dir / "warm")
        if not identical:
            print("  WARNING: the warm run's TREC files differ from the cold run's",
                  flush=True)
        result["identical_results"] = identical
        result["warm_over_cold"] = round(runs["warm"]["wall_s"] / runs["cold"]["wall_s"], 4)
    return result


# --- projection and fit -------------------------------------------------------------------


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``y = intercept + slope * x``: (slope, intercept). From one point, the
    line through the origin."""
    if len(xs) == 1:
        return ys[0] / xs[0], 0.0
    slope, intercept = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(slope), float(intercept)


def projected_peak(measured: Sequence[dict[str, Any]], n_docs: int) -> tuple[float, str]:
    """Projected peak RSS (bytes) of ``n_docs`` from the sizes measured (of at least 50k
    documents, where the per-document part dominates), and how it was projected."""
    points = [(m["n_docs"], max(r["peak_rss_bytes"] for r in m["runs"].values()))
              for m in measured if m["n_docs"] >= 50_000]
    if not points:
        return 0.3 * GIB + PRIOR_BYTES_PER_DOC * n_docs, "7 KB/document (the issue's figure)"
    slope, intercept = fit_line([p[0] for p in points], [p[1] for p in points])
    # a line through two close points can slope too little; never project below the
    # largest measured size's bytes per document
    largest = max(points)
    proportional = largest[1] / largest[0] * n_docs if n_docs > largest[0] else 0.0
    how = f"fit over {', '.join(format_size(p[0]) for p in points)}"
    return max(intercept + slope * n_docs, proportional), how


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def growth(measured: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per run kind: least-squares wall time, CPU time and peak RSS per document (in
    total and per stage), and their projection to MS MARCO."""
    ordered = sorted(measured, key=lambda m: m["n_docs"])
    fits: dict[str, Any] = {"sizes": [m["n_docs"] for m in ordered]}
    for kind in RUNS:
        xs = [m["n_docs"] for m in ordered if kind in m["runs"]]
        runs = [m["runs"][kind] for m in ordered if kind in m["runs"]]
        if not runs:
            continue
        entry: dict[str, Any] = {"sizes": xs}
        for name in ("wall_s", "cpu_s", "peak_rss_bytes"):
            values = [r[name] for r in runs]
            slope, intercept = fit_line(xs, values)
            entry[name] = {"per_doc": slope, "intercept": intercept,
                           "msmarco": intercept + slope * MSMARCO_DOCS}
        for name in ("wall_s", "cpu_s", "peak_rss_bytes"):
            entry[f"stages_{name}"] = {}
            for stage in STAGES:
                values = [r["stages"][stage][name] for r in runs]
                slope, intercept = fit_line(xs, values)
                entry[f"stages_{name}"][stage] = {"per_doc": slope, "intercept": intercept,
                                                  "msmarco": intercept + slope * MSMARCO_DOCS}
        fits[kind] = entry
    return fits


# --- tables -------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    if value >= 120:
        return f"{int(value // 60)}m{value % 60:02.0f}s"
    return f"{value:.1f} s" if value >= 0.95 else f"{value:.2f} s"


def _stage_table(measured: Sequence[dict[str, Any]], key: str, total: str,
                 cell: Any) -> list[str]:
    header = f"| documents | run | {total} | " + " | ".join(STAGES).replace("_", " ") + " |"
    lines = [header, "| --- " * (3 + len(STAGES)) + "|"]
    for m in sorted(measured, key=lambda m: m["n_docs"]):
        for kind in RUNS:
            if kind not in m["runs"]:
                continue
            run = m["runs"][kind]
            lines.append(f"| {format_size(m['n_docs'])} | {kind} | **{cell(run[key])}** | "
                         + " | ".join(cell(run["stages"][s][key]) for s in STAGES) + " |")
    return lines


def _gib(value: float) -> str:
    return f"{value / GIB:.2f}"


def tables(measured: Sequence[dict[str, Any]], fits: dict[str, Any]) -> str:
    """Markdown: wall time, CPU time and peak RSS per stage; growth and projection."""
    lines = ["Wall time per stage:", "",
             *_stage_table(measured, "wall_s", "total", _seconds), "",
             "CPU time per stage (all threads; what a busy machine inflates less):", "",
             *_stage_table(measured, "cpu_s", "total", _seconds), "",
             "Peak RSS per stage (GiB):", "",
             *_stage_table(measured, "peak_rss_bytes", "peak", _gib), ""]
    fitted = [kind for kind in RUNS if len(fits.get(kind, {}).get("sizes", [])) >= 2]
    if fitted:
        lines += ["Growth (least squares over the sizes measured) and MS MARCO "
                  f"({MSMARCO_DOCS:,} documents) by projection:", "",
                  "| run | sizes | wall per 1M docs | projected wall | CPU per 1M docs | "
                  "projected CPU | RSS per doc | projected peak RSS |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for kind in fitted:
            w, c, r = (fits[kind][k] for k in ("wall_s", "cpu_s", "peak_rss_bytes"))
            sizes = ", ".join(format_size(n) for n in fits[kind]["sizes"])
            lines.append(f"| {kind} | {sizes} | {_seconds(w['per_doc'] * 1e6)} | "
                         f"{_seconds(w['msmarco'])} | {_seconds(c['per_doc'] * 1e6)} | "
                         f"{_seconds(c['msmarco'])} | {r['per_doc'] / 1e3:.2f} KB | "
                         f"{r['msmarco'] / GIB:.1f} GiB |")
        lines.append("")
    ratios = ", ".join(f"{format_size(m['n_docs'])} {m['warm_over_cold']:.0%}"
                       for m in sorted(measured, key=lambda m: m["n_docs"])
                       if "warm_over_cold" in m)
    if ratios:
        lines += [f"Warm run / cold run wall time: {ratios}.", ""]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


def load_previous(path: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if data.get("settings") != settings:
        print(f"{path}: measured with other settings; not merged", flush=True)
        return []
    return list(data.get("sizes", []))


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "memory_bytes": _meminfo_total(),
            "cpu": _cpu_model()}


def _meminfo_total() -> int:
    try:
        with open("/proc/meminfo") as handle:
            return int(handle.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: Sequence[str] | None = None) -> int:
    args, passed_on = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    settings = settings_of(args, passed_on)
    measured = [] if args.fresh else load_previous(args.json, settings)
    skipped: dict[str, str] = {}
    for n_docs in args.sizes:
        smaller = [m for m in measured if m["n_docs"] < n_docs]
        projection, how = projected_peak(smaller, n_docs)
        available = available_memory()
        if projection > args.max_rss_gib * GIB or projection > available - GIB:
            reason = (f"projected peak RSS {projection / GIB:.1f} GiB ({how}) exceeds "
                      f"--max-rss-gib {args.max_rss_gib:g} or the memory available now "
                      f"less 1 GiB ({available / GIB:.1f} GiB)")
            print(f"{format_size(n_docs)}: skipped: {reason}", flush=True)
            skipped[str(n_docs)] = reason
            continue
        print(f"{format_size(n_docs)}: projected peak RSS {projection / GIB:.1f} GiB ({how})",
              flush=True)
        result = measure_size(args, passed_on, n_docs)
        measured = [m for m in measured if m["n_docs"] != n_docs] + [result]
        measured.sort(key=lambda m: m["n_docs"])
        fits = growth(measured)
        write_json(args.json, {"settings": settings, "machine": machine(), "sizes": measured,
                               "growth": fits, "skipped": skipped,
                               "msmarco_docs": MSMARCO_DOCS})
    if not measured:
        print("nothing measured", flush=True)
        return 1
    fits = growth(measured)
    write_json(args.json, {"settings": settings, "machine": machine(), "sizes": measured,
                           "growth": fits, "skipped": skipped, "msmarco_docs": MSMARCO_DOCS})
    print()
    print(tables(measured, fits))
    print(f"results: {args.json}")
    failed = [m["n_docs"] for m in measured if not m.get("identical_results", True)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
