"""Throughput of the local rerankers against the naive sentence-transformers way, in one run.

On the same model, documents and machine, over SciFact BM25 top-k candidates:

(a) naive: what a user would write - ``SentenceTransformer(path).encode`` of each query
    and its candidates, scored with ``model.similarity`` (or ``CrossEncoder(path).predict``
    of the pairs with ``--cross-encoder``), all defaults;
(b) ours: ``create_reranker("biencoder:PATH")`` (or ``cross-encoder:PATH``) through
    ``rerank()``, one call per query, as the harness makes them.

The two are interleaved query by query (alternating which goes first), so both see the
same background load on a shared machine. Prints docs/s of each, the ratio, nDCG@10 of
each (ir-measures) and the peak RSS of the process.

    .venv/bin/python benchmarks/local_throughput.py --max-queries 100
    .venv/bin/python benchmarks/local_throughput.py --build-cross-encoder /tmp/minilm-ce \\
        --max-queries 10

``--naive-queries N`` times the naive path on N of the queries only (spread evenly),
since it is the slow one; its docs/s does not depend on how many queries it sees (it
keeps no state), but its nDCG@10 is then over those N, and is compared with ours on the
same N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
"""Where ``../shared/datasets`` is looked for; ``rerank_eval`` itself is the installed package."""

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-queries", type=int, default=100,
                        help="judged SciFact test queries to rerank (default 100; 300 is all)")
    parser.add_argument("--naive-queries", type=int, default=25,
                        help="time the naive path on this many of them, spread evenly "
                             "(default 25; 0: all)")
    parser.add_argument("--top-k", type=int, default=100, help="BM25 candidates per query")
    parser.add_argument("--model", default=None,
                        help="bi-encoder folder or HF id (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--cross-encoder", metavar="PATH", default=None,
                        help="compare a cross-encoder (CrossEncoder.predict vs ours) instead")
    parser.add_argument("--build-cross-encoder", metavar="DIR", default=None,
                        help="write a MiniLM-L6 cross-encoder (bundled MiniLM weights, random "
                             "head: real speed, meaningless quality) to DIR and compare it")
    parser.add_argument("--options", default="",
                        help="options for ours, as in a spec: 'dtype=fp32&batch_size=16'")
    parser.add_argument("--dataset", default=None,
                        help="BEIR folder (default: $RERANK_EVAL_DATASETS/scifact, else "
                             "../shared/datasets/scifact)")
    return parser.parse_args(argv)


def dataset_folder(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    root = os.environ.get("RERANK_EVAL_DATASETS")
    return (Path(root) if root else REPO.parent / "shared" / "datasets") / "scifact"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def spread(n_total: int, n_pick: int) -> set[int]:
    if n_pick <= 0 or n_pick >= n_total:
        return set(range(n_total))
    return {round(i * (n_total - 1) / (n_pick - 1)) if n_pick > 1 else 0
            for i in range(n_pick)}


def ndcg10(qrels: dict, run: dict) -> float:
    from rerank_eval.metrics import evaluate

    judged = {q: qrels[q] for q in run}
    return evaluate(judged, run, ["nDCG@10"]).aggregate["nDCG@10"]


async def main(args: argparse.Namespace) -> None:
    import torch

    from rerank_eval.bm25_index import BM25Config, BM25Index
    from rerank_eval.datasets import load_dataset
    from rerank_eval.rerankers import create_reranker
    from rerank_eval.rerankers.local.loading import default_biencoder_source
    from rerank_eval.testing.models import build_cross_encoder
    from rerank_eval.types import RerankRequest

    cross_path = args.cross_encoder
    if args.build_cross_encoder:
        cross_path = str(build_cross_encoder(Path(args.build_cross_encoder)))
    kind = "cross-encoder" if cross_path else "biencoder"
    model_path = cross_path or args.model or default_biencoder_source()

    started = time.perf_counter()
    dataset = load_dataset(dataset_folder(args.dataset))
    doc_ids = list(dataset.corpus)
    index = BM25Index([dataset.corpus[d].full_text for d in doc_ids],
                      BM25Config(stopwords="en", stemmer="english"))
    query_ids = [q for q in dataset.qrels if q in dataset.queries][: args.max_queries]
    hits = index.search([dataset.queries[q] for q in query_ids], k=args.top_k)
    candidates = [[doc_ids[position] for position, _ in row] for row in hits]
    distinct = len({d for row in candidates for d in row})
    print(f"{dataset.name}: {len(query_ids)} queries x top-{args.top_k} BM25 = "
          f"{sum(map(len, candidates))} pairs, {distinct} distinct documents "
          f"(loaded + indexed in {time.perf_counter() - started:.1f}s)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, cuda={torch.cuda.is_available()}; model {model_path}")

    spec = f"{kind}:{model_path}" + (f"?{args.options}" if args.options else "")
    t0 = time.perf_counter()
    ours = create_reranker(spec)
    ours_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    if kind == "biencoder":
        from sentence_transformers import SentenceTransformer

        naive = SentenceTransformer(model_path)

        def naive_scores(query: str, docs: list[str]) -> list[float]:
            return naive.similarity(naive.encode(query), naive.encode(docs))[0].tolist()
    else:
        from sentence_transformers import CrossEncoder

        naive = CrossEncoder(model_path)

        def naive_scores(query: str, docs: list[str]) -> list[float]:
            return naive.predict([(query, d) for d in docs]).tolist()
    naive_load = time.perf_counter() - t0
    print(f"ours: {spec} -> {ours.describe()} (built in {ours_load:.1f}s); "
          f"naive loaded in {naive_load:.1f}s")

    # Warm both paths the same way (kernel set-up), on text outside the timed work.
    warm = ["A short warm-up passage about nothing in particular."] * 8
    naive_scores("warm-up", warm)
    await ours.rerank(RerankRequest(query="warm-up", documents=warm))
    encoded_before = getattr(ours, "encoded_documents", 0)

    naive_set = spread(len(query_ids), args.naive_queries)
    naive_s = ours_s = compute_s = 0.0
    naive_docs = ours_docs = truncated = 0
    naive_run: dict[str, dict[str, float]] = {}
    ours_run: dict[str, dict[str, float]] = {}
    for n, (query_id, docs) in enumerate(zip(query_ids, candidates, strict=True)):
        query = dataset.queries[query_id]
        texts = [dataset.corpus[d].full_text for d in docs]

        def run_naive(query_id=query_id, query=query, docs=docs, texts=texts) -> float:
            t = time.perf_counter()
            scores = naive_scores(query, texts)
            elapsed = time.perf_counter() - t
            naive_run[query_id] = dict(zip(docs, scores, strict=True))
            return elapsed

        order = ("naive", "ours") if n % 2 == 0 else ("ours", "naive")
        for which in order:
            if which == "naive" and n in naive_set:
                naive_s += run_naive()
                naive_docs += len(docs)
            elif which == "ours":
                t = time.perf_counter()
                response = await ours.rerank(RerankRequest(query=query, documents=texts))
                ours_s += time.perf_counter() - t
                ours_docs += len(docs)
                compute_s += response.usage.compute_s or 0.0
                truncated += response.usage.truncated_documents
                ours_run[query_id] = {docs[r.index]: r.relevance_score
                                      for r in response.results}
        if (n + 1) % 10 == 0:
            print(f"  {n + 1}/{len(query_ids)} queries: naive {naive_docs / max(naive_s, 1e-9):.1f}"
                  f" docs/s, ours {ours_docs / max(ours_s, 1e-9):.1f} docs/s", flush=True)

    naive_rate = naive_docs / naive_s
    ours_rate = ours_docs / ours_s
    bm25_run = {q: {doc_ids[p]: float(s) for p, s in row}
                for q, row in zip(query_ids, hits, strict=True)}
    common = {q: ours_run[q] for q in naive_run}
    encoded = (ours.encoded_documents - encoded_before if hasattr(ours, "encoded_documents")
               else ours_docs)
    unit = "pairs/s" if kind == "cross-encoder" else "docs/s"
    print()
    print(f"naive  {naive_rate:8.1f} {unit}  ({naive_docs} docs in {naive_s:.1f}s, "
          f"{len(naive_run)} queries)")
    print(f"ours   {ours_rate:8.1f} {unit}  ({ours_docs} docs in {ours_s:.1f}s; model busy "
          f"{compute_s:.1f}s; {encoded} documents run through the model; "
          f"{truncated} truncated at {ours.max_length} tokens)")
    print(f"ratio  {ours_rate / naive_rate:8.2f}x")
    print(f"nDCG@10 naive {ndcg10(dataset.qrels, naive_run):.4f}   "
          f"ours {ndcg10(dataset.qrels, common):.4f}   (on the {len(naive_run)} naive queries)")
    if len(common) != len(ours_run):
        print(f"nDCG@10 ours on all {len(ours_run)} queries: "
              f"{ndcg10(dataset.qrels, ours_run):.4f}")
    print(f"nDCG@10 BM25 top-{args.top_k} (reference): {ndcg10(dataset.qrels, bm25_run):.4f}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB (whole process: both models, corpus, BM25 index)")
    print(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
