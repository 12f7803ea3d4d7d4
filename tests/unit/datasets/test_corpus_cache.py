"""Corpus stores in the cache: built once, reused without reading corpus.jsonl, rebuilt
when the source changes or the store is damaged, and the same fingerprints throughout."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from support.sample_beir import CORPUS, isolate_datasets, jsonl, write_sample_beir

from rerank_eval.datasets import (
    ArrowCorpus,
    MemoryCorpus,
    corpus_cache,
    default_store_dir,
    load_beir_folder,
)
from rerank_eval.datasets.corpus_cache import MANIFEST, store_key

HOUR_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


def settled(folder: Path) -> Path:
    """Date corpus.jsonl an hour back: older than the racy window, so its size and mtime
    alone vouch for it."""
    corpus = folder / "corpus.jsonl"
    stat = corpus.stat()
    os.utime(corpus, ns=(stat.st_atime_ns, stat.st_mtime_ns - HOUR_NS))
    return folder


def store_of(folder: Path) -> Path:
    return default_store_dir() / store_key(str((folder / "corpus.jsonl").resolve()))


def rewrite_keeping_stat(path: Path, text: str) -> None:
    """Other bytes, same size, same mtime, same inode: what size + mtime cannot see."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    with path.open("r+b") as handle:
        handle.write(text.encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_ino == before.st_ino


def test_the_second_load_maps_the_store_without_reading_the_jsonl(tmp_path: Path) -> None:
    folder = settled(write_sample_beir(tmp_path / "c"))
    first = load_beir_folder(folder)
    assert isinstance(first.corpus, ArrowCorpus) and first.corpus.folder == store_of(folder)

    # Same size and mtime, other bytes (not even JSON): only a load that reads the file
    # could notice, and it would fail.
    corpus = folder / "corpus.jsonl"
    rewrite_keeping_stat(corpus, "#" * corpus.stat().st_size)
    second = load_beir_folder(folder)

    assert dict(second.corpus.items()) == dict(first.corpus.items())
    assert second.fingerprint == first.fingerprint


def test_a_changed_corpus_is_rebuilt(tmp_path: Path) -> None:
    folder = settled(write_sample_beir(tmp_path / "c"))
    before = load_beir_folder(folder)
    (folder / "corpus.jsonl").write_text(jsonl(CORPUS).replace("first document", "new words"))

    after = load_beir_folder(folder)

    assert after.corpus["d1"].text == "new words"
    assert after.fingerprint != before.fingerprint
    fresh = load_beir_folder(folder, store_dir=tmp_path / "other-store")
    assert after.fingerprint == fresh.fingerprint


def test_a_touched_corpus_is_hashed_not_rebuilt(tmp_path: Path) -> None:
    folder = settled(write_sample_beir(tmp_path / "c"))
    load_beir_folder(folder)
    arrow = store_of(folder) / "corpus.arrow"
    built = arrow.stat().st_ino
    os.utime(folder / "corpus.jsonl", ns=(0, (folder / "corpus.jsonl").stat().st_mtime_ns
                                          - HOUR_NS))

    again = load_beir_folder(folder)

    assert again.corpus["d1"].text == "first document"
    assert arrow.stat().st_ino == built  # same bytes: the store was kept
    manifest = json.loads((store_of(folder) / MANIFEST).read_text())
    assert manifest["identity"]["mtime_ns"] == (folder / "corpus.jsonl").stat().st_mtime_ns


def test_a_fresh_source_is_checked_by_hash_when_its_mtime_is_racy(tmp_path: Path) -> None:
    """Written just before the store was built: a same-size rewrite within the file
    system's clock tick keeps size and mtime, so size + mtime are not trusted yet."""
    folder = write_sample_beir(tmp_path / "c")  # just written: inside the racy window
    load_beir_folder(folder)
    corpus = folder / "corpus.jsonl"
    rewrite_keeping_stat(corpus, corpus.read_text().replace("first document",
                                                            "FIRST DOCUMENT"))

    assert load_beir_folder(folder).corpus["d1"].text == "FIRST DOCUMENT"


@pytest.mark.parametrize("damage", ["flip-byte", "truncate-index", "delete-file",
                                    "bad-manifest"])
def test_a_damaged_store_is_rebuilt_with_a_warning(tmp_path: Path, damage: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    folder = settled(write_sample_beir(tmp_path / "c"))
    expected = dict(load_beir_folder(folder).corpus.items())
    store = store_of(folder)
    if damage == "flip-byte":
        data = bytearray((store / "corpus.arrow").read_bytes())
        data[data.index(b"first document")] = ord("F")  # same size, still valid Arrow
        (store / "corpus.arrow").write_bytes(bytes(data))
    elif damage == "truncate-index":
        (store / "id_keys.npy").write_bytes((store / "id_keys.npy").read_bytes()[:-8])
    elif damage == "delete-file":
        (store / "id_rows.npy").unlink()
    else:
        (store / MANIFEST).write_text("{not json")

    with caplog.at_level(logging.WARNING, logger="rerank_eval.datasets"):
        reloaded = load_beir_folder(folder)

    assert dict(reloaded.corpus.items()) == expected
    assert any(str(store) in r.getMessage() and "rebuild" in r.getMessage()
               for r in caplog.records)
    assert load_beir_folder(folder).corpus.folder == store  # and the rebuilt one is sound
    assert not [p for p in store.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_another_split_gets_the_same_fingerprint_as_a_fresh_load(tmp_path: Path) -> None:
    folder = settled(write_sample_beir(tmp_path / "c"))
    load_beir_folder(folder, split="test")  # builds the store, remembers test's fingerprint

    cached = load_beir_folder(folder, split="train")  # a split the store has not seen
    fresh = load_beir_folder(folder, split="train", store_dir=tmp_path / "other-store")

    assert isinstance(cached.corpus, ArrowCorpus)
    assert cached.fingerprint == fresh.fingerprint
    manifest = json.loads((store_of(folder) / MANIFEST).read_text())
    assert sorted(manifest["fingerprints"].values()) == sorted(
        [fresh.fingerprint, load_beir_folder(folder, split="test").fingerprint])


def test_a_stale_store_found_while_fingerprinting_is_rebuilt(tmp_path: Path) -> None:
    """Size and mtime vouch for a changed corpus; hashing it for a split's fingerprint
    shows the store is not this corpus's: it is thrown away and built again."""
    folder = settled(write_sample_beir(tmp_path / "c"))
    load_beir_folder(folder, split="test")
    corpus = folder / "corpus.jsonl"
    rewrite_keeping_stat(corpus, corpus.read_text().replace("first document",
                                                            "FIRST DOCUMENT"))

    dataset = load_beir_folder(folder, split="train")

    assert dataset.corpus["d1"].text == "FIRST DOCUMENT"
    fresh = load_beir_folder(folder, split="train", store_dir=tmp_path / "other-store")
    assert dataset.fingerprint == fresh.fingerprint


def test_a_zip_gets_its_own_store_and_the_folders_fingerprint(tmp_path: Path) -> None:
    from support.sample_beir import zip_folder

    folder = write_sample_beir(tmp_path / "c")
    archive = tmp_path / "c.zip"
    archive.write_bytes(zip_folder(folder, top="c"))

    for _ in range(2):
        from_zip = load_beir_folder(archive)
        assert isinstance(from_zip.corpus, ArrowCorpus)
        assert from_zip.fingerprint == load_beir_folder(folder).fingerprint
    assert len(list(default_store_dir().iterdir())) == 2


def test_a_failed_load_leaves_no_store_behind(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "c", corpus=jsonl(CORPUS) + "{oops\n")
    with pytest.raises(Exception, match="line 5: invalid JSON"):
        load_beir_folder(folder)
    assert not default_store_dir().exists() or not list(default_store_dir().iterdir())


def test_a_cache_that_cannot_be_written_keeps_the_corpus_in_memory(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder would go")
    with caplog.at_level(logging.WARNING, logger="rerank_eval.datasets"):
        dataset = load_beir_folder(write_sample_beir(tmp_path / "c"), store_dir=blocker)

    assert isinstance(dataset.corpus, MemoryCorpus)
    assert dataset.corpus["d1"].text == "first document"
    assert dataset.fingerprint == load_beir_folder(tmp_path / "c").fingerprint
    assert any("keeping the corpus in memory" in r.getMessage() for r in caplog.records)


def test_a_failing_store_write_falls_back_after_reading_part_of_the_corpus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus_cache.StoreWriter, "write", full_disk)
    folder = write_sample_beir(tmp_path / "c")
    dataset = load_beir_folder(folder)

    assert isinstance(dataset.corpus, MemoryCorpus) and len(dataset.corpus) == 4
    assert not list(default_store_dir().iterdir())  # the temporary folder is gone


def test_a_killed_builds_leftovers_are_swept_once_old(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "c")
    store = store_of(folder)
    store.parent.mkdir(parents=True)
    old, young = store.parent / f".{store.name}.killed", store.parent / f".{store.name}.busy"
    for leftover in (old, young):
        leftover.mkdir()
        (leftover / "corpus.arrow").write_bytes(b"partial")
    os.utime(old, (0, 0))

    load_beir_folder(folder)

    assert not old.exists() and young.exists()  # young: maybe another process's build


def test_stores_are_listed_and_removed_for_cache_commands(tmp_path: Path) -> None:
    folder = write_sample_beir(tmp_path / "c")
    dataset = load_beir_folder(folder)
    (default_store_dir() / ".abc.killed").mkdir()

    [info] = corpus_cache.list_stores()
    assert info.folder == store_of(folder) and info.rows == 4
    assert info.location == str((folder / "corpus.jsonl").resolve())
    assert info.size == sum(p.stat().st_size for p in info.folder.iterdir()
                            if p.name not in (MANIFEST, "last_used"))
    assert corpus_cache.leftovers() == [default_store_dir() / ".abc.killed"]

    corpus_cache.remove_store(info.folder)

    assert corpus_cache.list_stores() == [] and not info.folder.exists()
    assert dataset.corpus["d1"].text == "first document"  # still mapped
    assert load_beir_folder(folder).corpus["d1"].text == "first document"  # rebuilt
