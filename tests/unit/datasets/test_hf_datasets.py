"""Hugging Face datasets (saved to disk, or JSON files) loaded offline, like a BEIR folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.sample_beir import (
    CORPUS,
    QRELS_TEST,
    QRELS_TRAIN,
    QUERIES,
    isolate_datasets,
    jsonl,
    write_sample_beir,
)

from rerank_eval.datasets import DatasetError, load_beir_folder, load_dataset, load_hf_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


@pytest.fixture
def hf_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def hf_rows(rows: list[tuple[str, str, int]]) -> list[dict]:
    return [{"query-id": q, "corpus-id": d, "score": s} for q, d, s in rows]


def test_hf_saved_to_disk(tmp_path: Path, hf_offline: None) -> None:
    import datasets as hf

    root = tmp_path / "hf-saved"
    corpus = [{"_id": str(r["_id"]), "title": r.get("title", ""), "text": r.get("text", "")}
              for r in CORPUS]
    hf.Dataset.from_list(corpus).save_to_disk(root / "corpus")
    hf.Dataset.from_list([{"_id": str(r["_id"]), "text": r["text"]} for r in QUERIES]
                         ).save_to_disk(root / "queries")
    hf.DatasetDict({"test": hf.Dataset.from_list(hf_rows(QRELS_TEST)),
                    "train": hf.Dataset.from_list(hf_rows(QRELS_TRAIN))}
                   ).save_to_disk(root / "qrels")

    dataset = load_dataset(f"hf:{root}")
    beir = load_beir_folder(write_sample_beir(tmp_path / "beir"))

    assert dataset.corpus == beir.corpus
    assert dataset.queries == beir.queries
    assert dataset.qrels == beir.qrels
    assert dataset.path == root
    assert re.fullmatch(r"[0-9a-f]{64}", dataset.fingerprint)
    assert load_dataset(f"hf:{root}", split="train").qrels == {"q3": {"d1": 1}}
    with pytest.raises(DatasetError, match="no qrels for split 'dev'; splits that exist: test"):
        load_dataset(f"hf:{root}", split="dev")


def test_hf_json_files(tmp_path: Path, hf_offline: None) -> None:
    root = tmp_path / "hf-json"
    for part, text in (("corpus", jsonl(CORPUS)), ("queries", jsonl(QUERIES))):
        (root / part).mkdir(parents=True)
        (root / part / f"{part}.jsonl").write_text(text, "utf-8")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.jsonl").write_text(jsonl(hf_rows(QRELS_TEST)), "utf-8")

    dataset = load_hf_dataset(str(root), cache_dir=tmp_path / "hf-cache")

    assert list(dataset.corpus) == ["d1", "2", "d3", "d4"]
    assert dataset.corpus["d1"].full_text == "Alpha first document"
    assert dataset.queries == {"q1": "query one", "2": "query two"}
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert dataset.name == "hf-json"


def test_hf_missing_local_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(f"hf:{tmp_path / 'nothing-here'}")


def test_hf_bad_rows_are_named(tmp_path: Path, hf_offline: None) -> None:
    import datasets as hf

    root = tmp_path / "hf-bad"
    hf.Dataset.from_list([{"_id": "d1", "text": "x"}, {"_id": "d1", "text": "y"}]
                         ).save_to_disk(root / "corpus")
    hf.Dataset.from_list([{"_id": "q1"}]).save_to_disk(root / "queries")
    hf.DatasetDict({"test": hf.Dataset.from_list(hf_rows([("q1", "d1", 1)]))}
                   ).save_to_disk(root / "qrels")

    with pytest.raises(DatasetError, match=r"corpus row 1: duplicate _id 'd1' \(first at row 0\)"):
        load_hf_dataset(str(root))
    hf.Dataset.from_list([{"_id": "d1", "text": "x"}]).save_to_disk(root / "corpus2")
    (root / "corpus").rename(root / "corpus-dup")
    (root / "corpus2").rename(root / "corpus")
    with pytest.raises(DatasetError, match=r"queries: missing column 'text'"):
        load_hf_dataset(str(root))
