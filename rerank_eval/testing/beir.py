"""Write a small BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) from dicts:
generated collections for tests and benchmarks."""

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
