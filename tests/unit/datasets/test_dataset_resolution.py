"""Which copy of a named dataset loads: a path, $RERANK_EVAL_DATASETS, the cache; the BEIR
registry and its checksums. Offline: nothing is downloaded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.sample_beir import isolate_datasets, tiny_with_marker

from rerank_eval import datasets as ds
from rerank_eval.datasets import DatasetError, beir_registry, known_beir_datasets, load_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


def test_datasets_env_wins_over_the_cache(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_with_marker(tmp_path / "shared" / "tiny", "from shared")
    tiny_with_marker(tmp_path / "cache" / "tiny", "from cache")
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))

    dataset = load_dataset("tiny", cache_dir=tmp_path / "cache", download=False)

    assert dataset.corpus["d1"].text == "from shared"
    assert dataset.name == "tiny"
    assert dataset.path == tmp_path / "shared" / "tiny"


def test_datasets_dir_argument_overrides_the_env(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_with_marker(tmp_path / "env" / "tiny", "from env")
    tiny_with_marker(tmp_path / "arg" / "tiny", "from argument")
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "env"))

    dataset = load_dataset("tiny", datasets_dir=tmp_path / "arg", download=False)

    assert dataset.corpus["d1"].text == "from argument"


def test_cache_is_used_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared").mkdir()  # set, but without this dataset
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))
    tiny_with_marker(tmp_path / "cache" / "tiny", "from cache")
    tiny_with_marker(tmp_path / "default-cache" / "datasets" / "tiny", "from default cache")

    assert load_dataset("tiny", cache_dir=tmp_path / "cache").corpus["d1"].text == "from cache"
    assert load_dataset("tiny").corpus["d1"].text == "from default cache"  # $RERANK_EVAL_CACHE


def test_unknown_name_lists_where_it_looked_and_known_names(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))
    with pytest.raises(DatasetError) as caught:
        load_dataset("no-such-set", cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert "unknown dataset 'no-such-set'" in message
    assert str(tmp_path / "shared" / "no-such-set") in message
    assert str(tmp_path / "cache" / "no-such-set") in message
    assert "scifact" in message and "nfcorpus" in message


def test_names_that_cannot_be_fetched(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="BEIR does not distribute bioasq"):
        load_dataset("bioasq", cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetError, match="downloading is off"):
        load_dataset("scifact", cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_dataset("./not-here")
    with pytest.raises(DatasetError, match="not a dataset name"):
        load_dataset("a/../b")


def test_registry_has_the_published_checksums() -> None:
    registry = beir_registry()
    assert registry.base_url == "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"
    assert registry.entries["scifact"].md5 == "5f7d1de60b170fc8027bb7898e2efca1"
    assert registry.entries["nfcorpus"].md5 == "a89dba18a62ef92f7d323ec890a0d38d"
    for name in known_beir_datasets():
        assert re.fullmatch(r"[0-9a-f]{32}", registry.entries[name].md5 or ""), name
    assert "bioasq" not in known_beir_datasets()
    assert len(known_beir_datasets()) == 15
