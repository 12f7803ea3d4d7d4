"""A generated 20k-document collection through the corpus store: the documents and
order of the JSONL, the fingerprint of the three files' bytes, and a cached load that
allocates no Python object per document."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tracemalloc
from pathlib import Path

import pytest
from support.sample_beir import isolate_datasets

from rerank_eval.datasets import ArrowCorpus, load_beir_folder

N_DOCS = 20_000


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


def write_collection(folder: Path, n_docs: int) -> list[dict]:
    rng = random.Random(12)
    words = [f"w{i}" for i in range(5000)]
    rows = [{"_id": f"doc-{i}", "title": " ".join(rng.choices(words, k=rng.randint(0, 6))),
             "text": " ".join(rng.choices(words, k=rng.randint(20, 120)))}
            for i in range(n_docs)]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "w1 w2"}\n')
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tdoc-7\t1\n")
    return rows


def test_a_20k_collection_round_trips_and_keeps_its_fingerprint(tmp_path: Path) -> None:
    folder = tmp_path / "gen"
    rows = write_collection(folder, N_DOCS)

    dataset = load_beir_folder(folder)

    corpus = dataset.corpus
    assert isinstance(corpus, ArrowCorpus) and len(corpus) == N_DOCS
    assert list(corpus) == [r["_id"] for r in rows]
    for row in random.Random(1).sample(rows, 500):
        doc = corpus[row["_id"]]
        assert (doc.title, doc.text) == (row["title"], row["text"])
    texts = [t for _, chunk in corpus.iter_texts(3000) for t in chunk]
    assert texts == [f"{r['title']} {r['text']}" if r["title"] else r["text"] for r in rows]
    # the fingerprint is still the sha256 of the three files' names and bytes
    hasher = hashlib.sha256()
    for rel in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        hasher.update(rel.encode() + b"\0" + (folder / rel).read_bytes() + b"\0")
    assert dataset.fingerprint == hasher.hexdigest()


def test_a_cached_load_holds_no_python_object_per_document(tmp_path: Path) -> None:
    folder = tmp_path / "gen"
    write_collection(folder, N_DOCS)
    corpus_file = folder / "corpus.jsonl"
    stat = corpus_file.stat()  # an hour old: size and mtime vouch for it (no hashing)
    os.utime(corpus_file, ns=(stat.st_atime_ns, stat.st_mtime_ns - 3600 * 10**9))
    load_beir_folder(folder)  # builds the store
    text_bytes = stat.st_size

    tracemalloc.start()
    try:
        dataset = load_beir_folder(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(dataset.corpus) == N_DOCS
    # the dict it replaces held every document as Python strings: several times the text
    assert peak < text_bytes / 10, f"peak {peak:,} bytes of Python objects"
