"""How close does a remote reranker get to ideal concurrency?

300 queries against a fake Cohere API (a real HTTP server on 127.0.0.1, in its own
process so it does not share the client's GIL) that answers every request after
50 ms, with the reranker's concurrency set to 16. The ideal wall time is
300 × 0.05 / 16 s; the script prints the measured wall time and the ratio.

    .venv/bin/python benchmarks/remote_concurrency.py [--queries 300] [--delay 0.05]
        [--concurrency 16] [--max-ratio 1.3]

Exit status 1 when the ratio exceeds ``--max-ratio``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.cohere import CohereDialect  # noqa: E402
from fakes.server import FAKE_KEY, FakeServer  # noqa: E402

from rerank_eval.rerankers import create_reranker  # noqa: E402
from rerank_eval.types import RerankRequest  # noqa: E402


def serve(delay_s: float, port_queue, stop_event) -> None:
    """The fake provider, in its own process (uvloop + httptools when installed, so the
    server's own CPU cost stays small next to the client's: in real use it is remote)."""
    dialect = CohereDialect()
    dialect.state.delay_s = delay_s
    dialect.new_state = lambda: dialect.state  # keep the delay
    server = FakeServer([dialect]).start()
    port_queue.put(server.port)
    stop_event.wait()
    server.stop()


async def drive(url: str, queries: int, concurrency: int) -> dict[str, float]:
    reranker = create_reranker("cohere:rerank-v3.5", {
        "api_key": FAKE_KEY, "base_url": url, "concurrency": str(concurrency),
        "cache": "false"})
    docs = [f"passage {i} about the capital of a country" for i in range(20)]
    requests = [RerankRequest(query=f"capital question {q}", documents=docs)
                for q in range(queries)]
    # warm the connection pool outside the timed part, as a long run would be
    await asyncio.gather(*(reranker.rerank(RerankRequest(query=f"warm {i}", documents=docs))
                           for i in range(concurrency)))
    gate = asyncio.Semaphore(reranker.max_concurrency)  # what the harness does

    async def one(request: RerankRequest):
        async with gate:
            return await reranker.rerank(request)

    cpu_started, started = time.process_time(), time.perf_counter()
    responses = await asyncio.gather(*(one(r) for r in requests))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    await reranker.aclose()
    latencies = sorted(r.latency_s for r in responses)
    return {"wall": wall, "sent": sum(r.usage.requests for r in responses),
            "client_cpu_ms_per_request": 1000 * cpu / queries,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ratio", type=float, default=1.3)
    args = parser.parse_args()

    os.environ["RERANK_EVAL_CACHE"] = tempfile.mkdtemp(prefix="rerank-eval-bench-")
    ctx = multiprocessing.get_context("spawn")
    port_queue, stop_event = ctx.Queue(), ctx.Event()
    process = ctx.Process(target=serve, args=(args.delay, port_queue, stop_event), daemon=True)
    process.start()
    try:
        port = port_queue.get(timeout=30)
        url = f"http://127.0.0.1:{port}/cohere"
        stats = asyncio.run(drive(url, args.queries, args.concurrency))
    finally:
        stop_event.set()
        process.join(timeout=10)
    ideal = args.queries * args.delay / args.concurrency
    wall, sent = stats["wall"], int(stats["sent"])
    ratio = wall / ideal
    print(f"queries={args.queries} delay={args.delay * 1000:.0f}ms "
          f"concurrency={args.concurrency} requests_sent={sent} "
          f"cpus={os.cpu_count()} load_avg_1m={os.getloadavg()[0]:.2f}")
    print(f"per call: p50={stats['p50_ms']:.1f}ms p95={stats['p95_ms']:.1f}ms; "
          f"client CPU {stats['client_cpu_ms_per_request']:.2f}ms per request")
    print(f"wall={wall:.3f}s ideal={ideal:.3f}s ratio={ratio:.3f} "
          f"({'within' if ratio <= args.max_ratio else 'OVER'} {args.max_ratio}x)")
    return 0 if ratio <= args.max_ratio and sent == args.queries else 1


if __name__ == "__main__":
    sys.exit(main())
