"""``cache ls`` / ``cache prune`` over every area of the cache root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rerank_eval.artifacts import ArtifactCache, Entry, artifact_key, hold_lock
from rerank_eval.cache_inventory import list_cache, parse_age, prune_cache

DAY = 86400.0
NOW = 1_800_000_000.0


def age(path: Path, days: float) -> None:
    """Set a file's (or folder's) times to ``days`` before NOW."""
    os.utime(path, (NOW - days * DAY, NOW - days * DAY))


def add_artifact(base: Path, kind: str, dataset: str, used_days_ago: float) -> Path:
    cache = ArtifactCache(base / "artifacts")

    def build(folder: Path | None) -> str:
        assert folder is not None
        (folder / "data.bin").write_bytes(b"x" * 1000)
        return "v"

    def load(entry: Entry) -> str:
        return "v"

    fields = {"dataset": dataset}
    cache.fetch(kind, fields, label={"dataset": dataset, "settings": f"{kind} settings"},
                build=build, load=load)
    folder = cache.folder(kind, artifact_key(kind, fields))
    age(folder / "last_used", used_days_ago)
    return folder


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A cache root with something in every area."""
    root = tmp_path / "cache"
    add_artifact(root, "bm25-index", "scifact", used_days_ago=40)
    add_artifact(root, "candidates", "scifact", used_days_ago=2)
    add_artifact(root, "bm25-index", "nfcorpus", used_days_ago=1)
    store = root / "corpora" / "abc123"
    store.mkdir(parents=True)
    (store / "corpus.arrow").write_bytes(b"a" * 500)
    (store / "manifest.json").write_text(json.dumps(
        {"format": 1, "location": "/data/scifact/corpus.jsonl", "rows": 5183,
         "files": {"corpus.arrow": {"size": 500, "sha256": "0" * 64}}}))
    age(store, 50)
    for provider, days in (("cohere", (1, 45, 60)), ("jina", (3,))):
        for i, d in enumerate(days):
            entry = root / "responses" / provider / "ab" / f"ab{i}.json"
            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.write_text('{"v": 1}')
            age(entry, d)
    (root / "responses" / "cohere" / "ab" / "ab0.lock").write_text("")
    download = root / "datasets" / "fiqa"
    download.mkdir(parents=True)
    (download / "corpus.jsonl").write_text("{}\n" * 10)
    age(download, 100)
    (root / "infinity-env-1").mkdir()
    (root / "infinity-env-1" / "bin").write_text("x" * 20)
    return root


def test_ls_lists_every_area(base: Path) -> None:
    items = list_cache(base)
    assert [(i.kind, i.dataset, i.settings, i.count) for i in items] == [
        ("bm25-index", "nfcorpus", "bm25-index settings", 1),
        ("bm25-index", "scifact", "bm25-index settings", 1),
        ("candidates", "scifact", "candidates settings", 1),
        ("corpus", "scifact", "5,183 documents from /data/scifact/corpus.jsonl", 1),
        ("responses", "-", "cohere: 3 responses", 3),
        ("responses", "-", "jina: 1 responses", 1),
        ("dataset", "fiqa", "download", 1),
        ("other", "-", "infinity-env-1", 1),
    ]
    # sizes: every file of an entry (an artifact's data file, manifest and marker)
    for item in items[:4]:
        files = [p for p in item.path.rglob("*") if p.is_file()]
        assert item.size == sum(p.stat().st_size for p in files) > 500
    assert [i.size for i in items[4:]] == [24, 8, 30, 20]
    index = items[1]
    assert index.last_used == pytest.approx(NOW - 40 * DAY)
    assert index.created is not None and index.to_json()["created"].endswith("+00:00")
    assert items[3].created == pytest.approx(NOW - 50 * DAY)  # the store's folder time
    assert items[4].created == pytest.approx(NOW - 60 * DAY)  # oldest response
    assert items[4].last_used == pytest.approx(NOW - 1 * DAY)  # newest


def test_prune_by_age_removes_only_what_was_not_used_since(base: Path) -> None:
    result = prune_cache(base=base, older_than=30 * DAY, now=NOW)
    removed = sorted((i.kind, i.dataset, i.settings) for i in result.removed)
    assert removed == [("bm25-index", "scifact", "bm25-index settings"),
                       ("corpus", "scifact", "5,183 documents from /data/scifact/corpus.jsonl"),
                       ("dataset", "fiqa", "download"),
                       ("responses", "-", "cohere: 2 responses")]
    left = [(i.kind, i.dataset) for i in list_cache(base)]
    assert left == [("bm25-index", "nfcorpus"), ("candidates", "scifact"),
                    ("responses", "-"), ("responses", "-"), ("other", "-")]
    assert (base / "infinity-env-1").exists()  # 'other' only when asked for by kind
    assert result.freed == sum(i.size for i in result.removed) > 0
    assert not list((base / "artifacts").rglob("*.lock"))  # none left by builds or prune


def test_prune_dry_run_removes_nothing(base: Path) -> None:
    before = list_cache(base)
    result = prune_cache(base=base, everything=True, dry_run=True)
    assert len(result.removed) == len(before) - 1  # all but 'other'
    assert list_cache(base) == before


def test_prune_by_kind_and_all(base: Path) -> None:
    prune_cache(base=base, everything=True, kinds=["candidates", "other"])
    kinds = [i.kind for i in list_cache(base)]
    assert "candidates" not in kinds and "other" not in kinds and "bm25-index" in kinds
    prune_cache(base=base, everything=True)
    assert list_cache(base) == []


def test_prune_keeps_an_entry_being_built(base: Path) -> None:
    folder = next(p for p in (base / "artifacts" / "candidates").iterdir() if p.is_dir())
    with hold_lock(folder.parent / f"{folder.name}.lock"):
        result = prune_cache(base=base, everything=True, kinds=["candidates"])
    assert folder.exists()
    assert [reason for _, reason in result.skipped] == ["in use (being built)"]


def test_prune_removes_orphaned_temporary_folders(base: Path) -> None:
    orphan = base / "artifacts" / "bm25-index" / ".tmp-deadbeef-x1"
    orphan.mkdir()
    prune_cache(base=base, older_than=1000 * DAY, now=NOW)
    assert not orphan.exists()


def test_bad_requests_are_refused(base: Path) -> None:
    with pytest.raises(ValueError, match="--older-than AGE or --all"):
        prune_cache(base=base)
    with pytest.raises(ValueError, match="unknown; kinds: bm25-index"):
        prune_cache(base=base, everything=True, kinds=["indexes"])
    assert parse_age("30d") == 30 * DAY and parse_age("12h") == 43200
    assert parse_age("1.5w") == 1.5 * 7 * DAY
    with pytest.raises(ValueError, match=r"e\.g\. 30d"):
        parse_age("30 days")


def test_ls_of_a_missing_root_is_empty(tmp_path: Path) -> None:
    assert list_cache(tmp_path / "nowhere") == []
