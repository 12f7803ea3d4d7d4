"""How close does a remote reranker get to ideal concurrency?

300 queries against a fake Cohere API (:mod:`rerank_eval.testing.fakes` on a real socket
on 127.0.0.1, in its own process so it does not share the client's GIL) that answers
every request after 50 ms, with the reranker's concurrency set to 16. The ideal wall time is
300 × 0.05 / 16 s; the script prints the measured wall time and the ratio.

    .venv/bin/python benchmarks/remote_concurrency.py [--queries 300] [--delay 0.05]
        [--concurrency 16] [--max-ratio 1.3]

Exit status 1 when the ratio exceeds ``--max-ratio``.

``--through-harness`` runs the same load through the whole harness instead
(``Harness`` on a generated BEIR folder of ``--queries`` queries, BM25 top-20, the
journal, metrics): cold connections included, no warm-up.
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

from rerank_eval.rerankers import create_reranker
from rerank_eval.testing.fakes import FAKE_KEY, FakeServer
from rerank_eval.testing.fakes.cohere import CohereDialect
from rerank_eval.types import RerankRequest


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


async def drive_harness(url: str, queries: int, concurrency: int) -> dict[str, float]:
    """The same load through the harness: BM25 top-20 over a generated collection."""
    from rerank_eval.harness import Harness
    from rerank_eval.suite import suite_from_dict
    from rerank_eval.testing.beir import write_beir

    work = Path(tempfile.mkdtemp(prefix="rerank-eval-bench-"))
    corpus = {f"d{i}": ("", f"passage {i} about the capital of country {i % 50}")
              for i in range(max(20, queries))}
    texts = {f"q{q:04d}": f"capital question {q} country {q % 50}" for q in range(queries)}
    write_beir(work / "data", corpus, texts, {q: {f"d{i}": 1} for i, q in enumerate(texts)})
    suite = suite_from_dict({
        "name": "bench", "datasets": [{"name": "bench", "path": str(work / "data")}],
        "rerankers": [{"spec": "cohere:rerank-v3.5", "options": {
            "api_key": FAKE_KEY, "base_url": url, "concurrency": concurrency,
            "cache": False}}],
        "first_stage": {"top_k": 20}})
    cpu_started = time.process_time()
    result = await Harness(suite, work / "out").run()
    cell = result.cells[0]
    cpu = time.process_time() - cpu_started
    return {"wall": cell.wall_s, "sent": cell.usage.requests,
            "client_cpu_ms_per_request": 1000 * cpu / queries,
            "p50_ms": cell.latency_ms.get("p50", float("nan")),
            "p95_ms": cell.latency_ms.get("p95", float("nan"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-ratio", type=float, default=1.3)
    parser.add_argument("--through-harness", action="store_true",
                        help="run the load through the whole harness, cold connections included")
    args = parser.parse_args()

    os.environ["RERANK_EVAL_CACHE"] = tempfile.mkdtemp(prefix="rerank-eval-bench-")
    ctx = multiprocessing.get_context("spawn")
    port_queue, stop_event = ctx.Queue(), ctx.Event()
    process = ctx.Process(target=serve, args=(args.delay, port_queue, stop_event), daemon=True)
    process.start()
    try:
        port = port_queue.get(timeout=30)
        url = f"http://127.0.0.1:{port}/cohere"
        runner = drive_harness if args.through_harness else drive
        stats = asyncio.run(runner(url, args.queries, args.concurrency))
    finally:
        stop_event.set()
        process.join(timeout=10)
    ideal = args.queries * args.delay / args.concurrency
    wall, sent = stats["wall"], int(stats["sent"])
    ratio = wall / ideal
    print(f"{'harness' if args.through_harness else 'adapter'}: "
          f"queries={args.queries} delay={args.delay * 1000:.0f}ms "
          f"concurrency={args.concurrency} requests_sent={sent} "
          f"cpus={os.cpu_count()} load_avg_1m={os.getloadavg()[0]:.2f}")
    print(f"per call: p50={stats['p50_ms']:.1f}ms p95={stats['p95_ms']:.1f}ms; "
          f"client CPU {stats['client_cpu_ms_per_request']:.2f}ms per request")
    print(f"wall={wall:.3f}s ideal={ideal:.3f}s ratio={ratio:.3f} "
          f"({'within' if ratio <= args.max_ratio else 'OVER'} {args.max_ratio}x)")
    return 0 if ratio <= args.max_ratio and sent == args.queries else 1


if __name__ == "__main__":
    sys.exit(main())
