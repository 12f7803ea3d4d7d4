"""``load_dataset``: from a name or path to a loaded :class:`Dataset`.

Resolution order (fixed by the design): ``hf:<id-or-path>`` → Hugging Face ``datasets``;
an existing path (a candidates file by its suffix, else a BEIR folder or zip);
``$RERANK_EVAL_DATASETS/<name>``; the download cache (:func:`default_cache_dir`); then
BEIR's public zip, verified against the MD5 BEIR publishes (see
:mod:`rerank_eval.datasets.registry`) and extracted into the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from rerank_eval.datasets.beir import load_beir_folder, subdatasets
from rerank_eval.datasets.candidate_files import is_candidates_file, load_candidates_file
from rerank_eval.datasets.corpus_cache import cache_root
from rerank_eval.datasets.download import download_beir
from rerank_eval.datasets.huggingface import HF_PREFIX, load_hf_dataset
from rerank_eval.datasets.model import Dataset, DatasetError, looks_like_path
from rerank_eval.datasets.qrels_file import with_qrels_file
from rerank_eval.datasets.registry import BeirEntry, beir_registry, known_beir_datasets

DATASETS_ENV = "RERANK_EVAL_DATASETS"


def default_cache_dir() -> Path:
    """Where downloaded datasets live: ``$RERANK_EVAL_CACHE/datasets`` or
    ``~/.cache/rerank-eval/datasets`` (corpus stores: ``corpora/`` beside it)."""
    return cache_root() / "datasets"


def load_dataset(name_or_path: str | Path, split: str = "test", *,
                 datasets_dir: Path | None = None, cache_dir: Path | None = None,
                 download: bool = True, verify: bool = True,
                 qrels: str | Path | None = None) -> Dataset:
    """Load a dataset by path or name.

    Resolution order: ``hf:<id-or-path>`` → Hugging Face; an existing path (BEIR folder or
    ``.zip``, or a candidates file: ``.jsonl``, ``.jsonl.gz``, ``.csv``, ``.tsv``);
    ``datasets_dir`` (default ``$RERANK_EVAL_DATASETS``) ``/<name>``; the cache
    (``cache_dir``, default :func:`default_cache_dir`) ``/<name>``; BEIR's public zip,
    downloaded into the cache. ``verify=False`` allows archives without a published MD5.
    Names may address a sub-dataset of an archive, e.g. ``cqadupstack/android``.
    ``qrels``: a qrels file whose judgments replace the dataset's
    (:func:`~rerank_eval.datasets.qrels_file.with_qrels_file`).
    """
    dataset = _resolve(name_or_path, split, datasets_dir, cache_dir, download, verify)
    return dataset if qrels is None else with_qrels_file(dataset, Path(qrels).expanduser())


def _resolve(name_or_path: str | Path, split: str, datasets_dir: Path | None,
             cache_dir: Path | None, download: bool, verify: bool) -> Dataset:
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text.startswith(HF_PREFIX):
        return load_hf_dataset(text[len(HF_PREFIX):], split)
    path = Path(text).expanduser()
    if is_candidates_file(path):
        return load_candidates_file(path, split)
    if path.exists():
        return load_beir_folder(path, split)
    if isinstance(name_or_path, Path) or looks_like_path(text):
        raise DatasetError(f"{path}: no such file or folder")
    name = _check_name(text)

    looked: list[str] = []
    root = datasets_dir if datasets_dir is not None else _env_path(DATASETS_ENV)
    if root is None:
        looked.append(f"${DATASETS_ENV} (not set)")
    else:
        for candidate in (root / name, root / f"{name}.zip"):
            looked.append(str(candidate))
            if candidate.exists():
                return load_beir_folder(candidate, split, name=name)

    cache_root = cache_dir if cache_dir is not None else default_cache_dir()
    cached = cache_root / name
    looked.append(str(cached))
    if cached.is_dir():
        return load_beir_folder(cached, split, name=name)

    archive = name.split("/")[0]
    entry = beir_registry().entries.get(archive)
    if entry is None or not entry.public:
        raise DatasetError(_not_found_message(name, looked, entry))
    if not download:
        raise DatasetError(f"dataset {name!r} is not available locally and downloading is off; "
                           f"looked in: {', '.join(looked)}")
    try:
        download_beir(archive, cache_root, verify=verify)
    except DatasetError as exc:
        # Say where a local copy would have been found: offline users need that more
        # than the transport error.
        raise DatasetError(f"{exc}; dataset {name!r} was not found locally either "
                           f"(looked in: {', '.join(looked)}); pass a BEIR folder or zip, "
                           f"or set ${DATASETS_ENV} to a folder holding {name}/") from exc
    if not cached.is_dir():
        held = ", ".join(subdatasets(cache_root / archive)) or "no sub-datasets"
        raise DatasetError(f"{cache_root / archive}: the {archive!r} archive has no {name!r}; "
                           f"it holds: {held}")
    return load_beir_folder(cached, split, name=name)


def _check_name(text: str) -> str:
    parts = text.split("/")
    if not text or any(part in ("", ".", "..") for part in parts):
        raise DatasetError(f"{text!r} is not a dataset name or an existing path")
    return text


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def _not_found_message(name: str, looked: list[str], entry: BeirEntry | None) -> str:
    if entry is not None:  # known to BEIR but not distributed by it
        return (f"dataset {name!r} is not available locally ({entry.note}); "
                f"looked in: {', '.join(looked)}")
    return (f"unknown dataset {name!r}: not a path, and not found in: {', '.join(looked)}; "
            f"downloadable BEIR datasets: {', '.join(known_beir_datasets())}")
