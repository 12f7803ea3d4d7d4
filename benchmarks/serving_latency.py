"""Serving latency of a reranker that reuses work across queries (the bi-encoder).

Runs ``rerank-eval run`` on a dataset and compares, by call order, the median latency of
the first and the last third of:

- the main pass (cross-query reuse on: each document is embedded once per run, so calls
  get cheaper as the run goes on; this is evaluation throughput, not serving latency);
- the latency pass (reuse off, a sample spread across the run, after warm-up calls):
  the figures the report and summary.json give as latency.

Issue 9's target: the latency pass's first/last-third ratio within 2x (0.5 to 2).

    RERANK_EVAL_DATASETS=../shared/datasets .venv/bin/python benchmarks/serving_latency.py \
        --dataset scifact --top-k 100 --max-queries 150 --latency-sample 30
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rerank_eval.store import read_run


def third_ratio(latencies_ms: list[float]) -> float:
    """Median of the first third over the median of the last third (input in call order)."""
    third = max(1, len(latencies_ms) // 3)
    return statistics.median(latencies_ms[:third]) / statistics.median(latencies_ms[-third:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--reranker", default="biencoder")
    parser.add_argument("--top-k", type=int, default=100)
    parser.add_argument("--max-queries", type=int, default=150)
    parser.add_argument("--latency-sample", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "rerank_eval.cli", "run", "--dataset", args.dataset,
                   "-r", args.reranker, "--top-k", str(args.top_k), "--max-queries",
                   str(args.max_queries), "--latency-sample", str(args.latency_sample),
                   "--out", str(out)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        folder = read_run(out)
        cell = folder.summary.results[0]
        journal = folder.journal(cell.dataset, cell.reranker)
        assert journal is not None
        main_pass = [r.latency_s * 1000 for r in
                     sorted(journal.records.values(), key=lambda r: r.order)]
        latency_pass = [r.latency_s * 1000 for r in
                        sorted(journal.latency.values(), key=lambda r: r.order)]
    print(f"{args.dataset}, {args.reranker}, top-{args.top_k}, {len(main_pass)} queries; "
          f"nDCG@10 {cell.metrics.get('nDCG@10', float('nan')):.4f}")
    print(f"method: {cell.latency_method}")
    print(f"main pass (reuse on):     p50 {statistics.median(main_pass):8.1f} ms, "
          f"first/last third {third_ratio(main_pass):6.2f}x, wall {cell.wall_s:.1f} s")
    if latency_pass:
        ratio = third_ratio(latency_pass)
        print(f"latency pass (reuse off): p50 {statistics.median(latency_pass):8.1f} ms, "
              f"first/last third {ratio:6.2f}x, wall {cell.latency_wall_s:.1f} s "
              f"({len(latency_pass)} calls) -> {'within' if 0.5 <= ratio <= 2 else 'OUTSIDE'} 2x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
