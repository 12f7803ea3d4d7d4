"""A Hugging Face corpus goes through the same store as a BEIR file: built once (keyed by
the ``datasets`` fingerprint of the corpus), then mapped; the fingerprint is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sample_beir import CORPUS, QRELS_TEST, QRELS_TRAIN, QUERIES, isolate_datasets

from rerank_eval.datasets import ArrowCorpus, default_store_dir, load_hf_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def save(root: Path, corpus: list[dict]) -> None:
    import datasets as hf

    hf.Dataset.from_list(corpus).save_to_disk(root / "corpus")
    hf.Dataset.from_list([{"_id": str(r["_id"]), "text": r["text"]} for r in QUERIES]
                         ).save_to_disk(root / "queries")
    rows = {split: [{"query-id": q, "corpus-id": d, "score": s} for q, d, s in qrels]
            for split, qrels in (("test", QRELS_TEST), ("train", QRELS_TRAIN))}
    hf.DatasetDict({split: hf.Dataset.from_list(r) for split, r in rows.items()}
                   ).save_to_disk(root / "qrels")


def test_hf_corpus_is_stored_once_and_reused(tmp_path: Path) -> None:
    root = tmp_path / "hf"
    save(root, [{"_id": str(r["_id"]), "title": r.get("title", ""), "text": r.get("text", "")}
                for r in CORPUS])

    first = load_hf_dataset(str(root))
    assert isinstance(first.corpus, ArrowCorpus)
    arrow = first.corpus.folder / "corpus.arrow"
    built = arrow.stat().st_ino
    second = load_hf_dataset(str(root))
    train = load_hf_dataset(str(root), split="train")  # a split the store has not seen
    fresh = load_hf_dataset(str(root), split="train", store_dir=tmp_path / "other")

    assert arrow.stat().st_ino == built
    assert dict(second.corpus.items()) == dict(first.corpus.items())
    assert second.corpus["d1"].full_text == "Alpha first document"
    assert second.fingerprint == first.fingerprint
    assert train.fingerprint == fresh.fingerprint != first.fingerprint
    assert len(list(default_store_dir().iterdir())) == 1
