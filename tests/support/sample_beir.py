"""The small sample BEIR collection the dataset tests load, and variants of it.

``write_sample_beir`` writes it (any file can be replaced by raw text to make it bad),
``zip_folder`` zips a folder the way BEIR publishes, and ``isolate_datasets`` gives a test
an environment with no datasets folder, its own cache and no network.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from rerank_eval import datasets as ds

CORPUS = [
    {"_id": "d1", "title": "Alpha", "text": "first document"},
    {"_id": 2, "title": "", "text": "second document"},
    {"_id": "d3", "text": "third document", "metadata": {"url": "https://example.org"}},
    {"_id": "d4", "title": "Only a title"},
]
QUERIES = [
    {"_id": "q1", "text": "query one"},
    {"_id": 2, "text": "query two"},
    {"_id": "q3", "text": "judged in train only"},
]
QRELS_TEST = [("q1", "d1", 2), ("q1", "2", 0), ("2", "d3", 1), ("2", "d4", -1)]
QRELS_TRAIN = [("q3", "d1", 1)]


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def tsv(rows: list[tuple[str, str, int]], header: bool = True) -> str:
    lines = ["query-id\tcorpus-id\tscore"] if header else []
    lines += [f"{q}\t{d}\t{s}" for q, d, s in rows]
    return "\n".join(lines) + "\n"


def write_sample_beir(root: Path, *, corpus: str | None = None, queries: str | None = None,
               qrels: dict[str, str] | None = None) -> Path:
    """A small BEIR folder; any file can be replaced by raw text to make it bad."""
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(jsonl(CORPUS) if corpus is None else corpus, "utf-8")
    (root / "queries.jsonl").write_text(jsonl(QUERIES) if queries is None else queries, "utf-8")
    splits = {"test": tsv(QRELS_TEST), "train": tsv(QRELS_TRAIN)} if qrels is None else qrels
    for split, text in splits.items():
        (root / "qrels" / f"{split}.tsv").write_text(text, "utf-8")
    return root


def tiny_with_marker(root: Path, marker: str) -> Path:
    """A BEIR folder whose first document's text tells where it was loaded from."""
    corpus = jsonl([{"_id": "d1", "title": "", "text": marker}, *CORPUS[1:]])
    return write_sample_beir(root, corpus=corpus)


def zip_folder(folder: Path, top: str | None) -> bytes:
    """Zip ``folder`` the way BEIR does: everything under a top-level ``top/`` folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{rel}" if top else rel)
    return buffer.getvalue()


def isolate_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's datasets, cache or network: a download that was not
    meant to happen hits a closed port and fails."""
    monkeypatch.delenv(ds.DATASETS_ENV, raising=False)
    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "default-cache"))
    monkeypatch.setenv(ds.URL_ENV, "http://127.0.0.1:9/closed")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
