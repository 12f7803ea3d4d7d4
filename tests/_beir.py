"""Write small BEIR-layout datasets for tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_beir(folder: Path, corpus: dict[str, tuple[str, str]], queries: dict[str, str],
               qrels: dict[str, dict[str, int]], split: str = "test") -> Path:
    """``corpus`` maps id -> (title, text)."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as handle:
        for doc_id, (title, text) in corpus.items():
            handle.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as handle:
        for query_id, text in queries.items():
            handle.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    with (folder / "qrels" / f"{split}.tsv").open("w") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for query_id, docs in qrels.items():
            for doc_id, grade in docs.items():
                handle.write(f"{query_id}\t{doc_id}\t{grade}\n")
    return folder


TOPICS = {
    "bread": "sourdough bread starter flour yeast proofing oven crust",
    "tax": "income tax return deduction refund filing deadline",
    "database": "postgres index query planner vacuum replication",
    "garden": "tomato seedlings compost watering soil mulch",
    "astronomy": "telescope galaxy nebula orbit planet eclipse",
}


def toy_dataset(folder: Path, docs_per_topic: int = 12) -> Path:
    """Five topics; each query's relevant documents are the first three of its topic."""
    corpus, queries, qrels = {}, {}, {}
    for t, (topic, words) in enumerate(TOPICS.items()):
        vocab = words.split()
        for i in range(docs_per_topic):
            doc_id = f"{topic}-{i:02d}"
            text = " ".join(vocab[(i + j) % len(vocab)] for j in range(4 + i % 5))
            corpus[doc_id] = (f"{topic} note {i}", text)
        for k in range(2):
            query_id = f"q{t}{k}"
            queries[query_id] = " ".join(vocab[k: k + 3])
            qrels[query_id] = {f"{topic}-00": 2, f"{topic}-0{k + 1}": 1, f"{topic}-05": 0}
    return write_beir(folder, corpus, queries, qrels)
