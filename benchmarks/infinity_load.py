"""Capacity of a real Infinity server on this machine: a `rerank-eval load` sweep against it.

Builds (first time, minutes; then reused) Infinity's own virtual env, writes the MiniLM-L6
cross-encoder (``rerank_eval.testing.models``: ms-marco-MiniLM-L6-v2's shape, random head)
unless ``--model`` names a folder, starts ``infinity_emb v2`` on 127.0.0.1 (torch engine,
float32, CPU), runs the closed-loop sweep through the installed command and prints its
table, the knee and the saturation throughput. Options the script does not know are passed
to ``rerank-eval load`` as they are (``--max-p95-ms 400``, ``--cache-bust``, ...).

    .venv/bin/python benchmarks/infinity_load.py
    .venv/bin/python benchmarks/infinity_load.py --concurrency 1,2,4,8,16 \\
        --requests-per-level 60 --top-k 20 --batch-size 32 --out reports/load-infinity
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,2,4,8,16",
                        help="closed-loop levels (default 1,2,4,8,16)")
    parser.add_argument("--requests-per-level", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--top-k", type=int, default=20, help="documents per request")
    parser.add_argument("--dataset", default="quick",
                        help="queries and BM25 candidates (default: the built-in collection)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="Infinity's --batch-size: pairs it runs through the model at once")
    parser.add_argument("--model", default=None,
                        help="a cross-encoder folder to serve (default: build MiniLM-L6)")
    parser.add_argument("--out", default="reports/load-infinity")
    return parser.parse_known_args(argv)


def main() -> int:
    from rerank_eval.testing.infinity import InfinityServer, ensure_env
    from rerank_eval.testing.models import build_cross_encoder

    args, passed_on = parse_args()
    started = time.perf_counter()
    env = ensure_env()
    print(f"Infinity env {env} ready in {time.perf_counter() - started:.0f}s", flush=True)
    with tempfile.TemporaryDirectory(prefix="infinity-load-") as scratch:
        model = Path(args.model) if args.model else build_cross_encoder(
            Path(scratch) / "minilm-ce")
        log = Path(args.out).resolve().with_name(Path(args.out).name + ".infinity.log")
        started = time.perf_counter()
        with InfinityServer(model, env=env, batch_size=args.batch_size,
                            log_path=log) as server:
            print(f"serving {model} as {server.model_id} on {server.base_url} (batch size "
                  f"{args.batch_size}; started in {time.perf_counter() - started:.0f}s; "
                  f"log {log})", flush=True)
            spec = f"infinity:{server.model_id}?base_url={server.base_url}"
            command = [str(Path(sys.executable).with_name("rerank-eval")), "load", spec,
                       "--dataset", args.dataset, "--top-k", str(args.top_k),
                       "--concurrency", args.concurrency,
                       "--requests-per-level", str(args.requests_per_level),
                       "--warmup", str(args.warmup), "--out", args.out, *passed_on]
            print("$ " + " ".join(command), flush=True)
            code = subprocess.run(command, stdin=subprocess.DEVNULL).returncode
    if code != 0:
        return code
    data = json.loads((Path(args.out) / "load.json").read_text())
    print()
    print(f"{'concurrency':>11} {'rps':>7} {'docs/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}")
    for level in data["levels"]:
        latency = level["latency_ms"]
        print(f"{level['concurrency']:>11} {level['throughput_rps']:>7.1f} "
              f"{level['docs_per_s']:>8.0f} {latency['p50']:>8.0f} {latency['p95']:>8.0f} "
              f"{latency['p99']:>8.0f} {sum(level['errors'].values()):>6}")
    knee = data["knee"]
    if knee["found"]:
        print(f"knee: concurrency {knee['concurrency']}, {knee['throughput_rps']:.1f} rps at "
              f"p95 {knee['p95_ms']:.0f} ms (budget {knee['max_p95_ms']:.0f} ms)")
    else:
        print(f"knee: none ({knee['reason']})")
    print(f"saturation: {data['saturation_rps']:.1f} rps; load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
