"""A small toy BEIR collection for tests: five topics, judged queries, known answers."""

from __future__ import annotations

from pathlib import Path

from rerank_eval.testing.beir import write_beir

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
