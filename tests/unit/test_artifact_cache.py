"""The artifact cache: build once, reuse verified, rebuild what is damaged, one build
across concurrent users, nothing at all when turned off."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from rerank_eval.artifacts import (
    LAST_USED,
    MANIFEST,
    ArtifactCache,
    Entry,
    artifact_key,
    hold_lock,
)

FIELDS = {"dataset": "abc", "bm25": {"k1": 1.5}}
LABEL = {"dataset": "toy", "settings": "k1=1.5"}


class Builder:
    """Writes two files and counts how often it ran."""

    def __init__(self, payload: str = "hello", delay: float = 0.0) -> None:
        self.payload, self.delay, self.calls = payload, delay, 0

    def build(self, folder: Path | None) -> str:
        self.calls += 1
        time.sleep(self.delay)
        if folder is not None:
            (folder / "value.txt").write_text(self.payload)
            (folder / "sub").mkdir()
            (folder / "sub" / "more.bin").write_bytes(b"\x00\x01" * 100)
        return self.payload

    @staticmethod
    def load(entry: Entry) -> str:
        return entry.file("value.txt").read_text()


def fetch(cache: ArtifactCache, builder: Builder, fields: dict = FIELDS):
    return cache.fetch("thing", fields, label=LABEL, build=builder.build, load=builder.load)


def test_built_once_then_reused_with_a_manifest(tmp_path: Path) -> None:
    cache, builder = ArtifactCache(tmp_path), Builder()
    first = fetch(cache, builder)
    assert (first.value, first.reused, builder.calls) == ("hello", False, 1)
    assert not list(tmp_path.rglob("*.lock"))  # the builder removed its lock when done
    folder = cache.folder("thing", artifact_key("thing", FIELDS))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["kind"] == "thing" and manifest["dataset"] == "toy"
    assert manifest["settings"] == "k1=1.5" and manifest["fields"] == FIELDS
    assert set(manifest["files"]) == {"value.txt", "sub/more.bin"}
    assert manifest["files"]["value.txt"]["size"] == 5 and manifest["size"] == 205
    assert len(manifest["files"]["value.txt"]["sha256"]) == 64 and manifest["created"]

    used_before = (folder / LAST_USED).stat().st_mtime_ns
    time.sleep(0.01)
    second = fetch(ArtifactCache(tmp_path), builder)
    assert (second.value, second.reused, builder.calls) == ("hello", True, 1)
    assert (folder / LAST_USED).stat().st_mtime_ns > used_before
    other = fetch(cache, builder, {**FIELDS, "bm25": {"k1": 1.2}})
    assert not other.reused and builder.calls == 2  # other settings, other entry


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "delete a file",
                                    "break the manifest", "no manifest"])
def test_a_damaged_entry_is_removed_with_a_warning_and_rebuilt(
        tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    cache, builder = ArtifactCache(tmp_path), Builder()
    fetch(cache, builder)
    folder = cache.folder("thing", artifact_key("thing", FIELDS))
    target = folder / "sub" / "more.bin"
    if damage == "flip a byte":
        data = bytearray(target.read_bytes())
        data[7] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-1])
    elif damage == "delete a file":
        target.unlink()
    elif damage == "break the manifest":
        (folder / MANIFEST).write_text("{not json")
    else:
        (folder / MANIFEST).unlink()
    with caplog.at_level(logging.WARNING, logger="rerank_eval.artifacts"):
        again = fetch(cache, builder)
    assert not again.reused and builder.calls == 2
    assert "damaged" in caplog.text and str(folder) in caplog.text
    assert fetch(cache, builder).reused  # the rebuilt entry checks out


def test_an_entry_that_cannot_be_loaded_is_rebuilt(tmp_path: Path) -> None:
    cache, builder = ArtifactCache(tmp_path), Builder()
    fetch(cache, builder)

    def broken(entry: Entry) -> str:
        raise ValueError("old layout")

    again = cache.fetch("thing", FIELDS, label=LABEL, build=builder.build, load=broken)
    assert not again.reused and builder.calls == 2


def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path)

    def fail(folder: Path | None) -> str:
        assert folder is not None
        (folder / "half.txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.fetch("thing", FIELDS, label=LABEL, build=fail, load=Builder.load)
    assert list((tmp_path / "thing").iterdir()) == []


def test_an_orphaned_temporary_folder_is_removed_by_the_next_build(tmp_path: Path) -> None:
    cache, builder = ArtifactCache(tmp_path), Builder()
    key = artifact_key("thing", FIELDS)
    orphan = tmp_path / "thing" / f".tmp-{key}-killed"
    orphan.mkdir(parents=True)
    (orphan / "value.txt").write_text("half")
    fetch(cache, builder)
    assert not orphan.exists()


def test_concurrent_users_build_once(tmp_path: Path) -> None:
    """Two users of the same key (threads here: flock locks open files, so they exclude
    each other as processes do): the second waits for the first's build and reuses it."""
    builder = Builder(delay=0.3)
    results = []

    def use() -> None:
        results.append(fetch(ArtifactCache(tmp_path), builder))

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builder.calls == 1
    assert sorted(r.reused for r in results) == [False, True]


def test_off_switch_builds_every_time_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANK_EVAL_NO_ARTIFACT_CACHE", "1")
    cache, builder = ArtifactCache(tmp_path), Builder()
    assert not cache.enabled
    assert fetch(cache, builder).value == "hello" and fetch(cache, builder).value == "hello"
    assert builder.calls == 2 and cache.builds == {"thing": 2}
    assert not tmp_path.joinpath("thing").exists()


def test_a_lock_removed_by_its_holder_is_taken_afresh(tmp_path: Path) -> None:
    lock = tmp_path / "k.lock"
    with hold_lock(lock) as held:
        assert held
        with hold_lock(lock, blocking=False) as second:
            assert not second  # held elsewhere
        lock.unlink()  # what prune does while holding it
    with hold_lock(lock, blocking=False) as again:
        assert again and lock.exists()


def test_a_cache_that_cannot_be_written_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    builder = Builder()
    with caplog.at_level(logging.WARNING, logger="rerank_eval.artifacts"):
        fetched = fetch(ArtifactCache(blocked), builder)
    assert (fetched.value, fetched.reused, builder.calls) == ("hello", False, 1)
    assert "cannot be written" in caplog.text


def test_a_full_disk_during_a_build_falls_back_to_memory(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import errno

    calls = []

    def build(folder: Path | None) -> str:
        calls.append(folder)
        if folder is not None:
            raise OSError(errno.ENOSPC, "No space left on device")
        return "value"

    cache = ArtifactCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="rerank_eval.artifacts"):
        fetched = cache.fetch("thing", FIELDS, label=LABEL, build=build, load=Builder.load)
    assert fetched.value == "value" and calls[-1] is None and len(calls) == 2
    assert "No space left" in caplog.text
    assert list((tmp_path / "thing").iterdir()) == []
