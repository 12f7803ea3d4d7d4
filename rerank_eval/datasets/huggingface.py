"""Datasets loaded with Hugging Face ``datasets`` (names ``hf:<id-or-path>``).

The parts are BEIR's (corpus, queries, qrels) with BEIR's columns; the rows go through
the same checks as BEIR files (:mod:`rerank_eval.datasets.records`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rerank_eval.datasets.corpus_cache import (
    CorpusSource,
    Hasher,
    StaleStore,
    discard_store,
    open_corpus,
)
from rerank_eval.datasets.model import Dataset, DatasetError, looks_like_path
from rerank_eval.datasets.records import Judgment, Record, assemble, build_queries, check_id

HF_PREFIX = "hf:"


def load_hf_dataset(path_or_id: str, split: str = "test", *, name: str | None = None,
                    revision: str | None = None, qrels: str | None = None,
                    cache_dir: Path | None = None, store_dir: Path | None = None) -> Dataset:
    """Load a BEIR-format dataset with Hugging Face ``datasets``.

    ``path_or_id`` is either a local folder or a hub id. A local folder holds ``corpus/``,
    ``queries/`` and ``qrels/`` sub-folders, each saved with ``save_to_disk`` or holding
    data files (``qrels/<split>.jsonl`` etc., split taken from the file name). Otherwise
    the configs ``corpus`` and ``queries`` are loaded from it, and the qrels from the
    ``qrels`` argument, else its ``qrels`` or ``default`` config, else ``<id>-qrels``
    (BeIR's hub layout). Columns: ``_id``/``title``/``text``, ``_id``/``text``,
    ``query-id``/``corpus-id``/``score``.

    ``fingerprint`` is a sha256 over the rows as loaded (there are no source files to
    hash on the hub). The corpus is copied into a memory-mapped store in ``store_dir``
    (default ``$RERANK_EVAL_CACHE/corpora``), reused while the ``datasets`` fingerprint of
    the corpus is the same.
    """
    import datasets as hf  # heavy import: only paid by those who load from HF

    label = f"{HF_PREFIX}{path_or_id}"
    local = Path(path_or_id).expanduser()
    if not local.exists() and looks_like_path(path_or_id):
        raise DatasetError(f"{label}: no such folder")
    options = {"revision": revision, "cache_dir": str(cache_dir) if cache_dir else None}
    if local.is_dir() and (local / "corpus").is_dir():
        parts = {part: _hf_load_folder(hf, local / part, label, options) for part in
                 ("corpus", "queries", "qrels")}
    else:
        source = str(local) if local.is_dir() else path_or_id
        parts = {"corpus": _hf_call(hf.load_dataset, label, "corpus", source, "corpus",
                                    **options),
                 "queries": _hf_call(hf.load_dataset, label, "queries", source, "queries",
                                     **options),
                 "qrels": _hf_load_qrels(hf, source, qrels, label, options)}

    corpus_ds = _hf_pick(parts["corpus"], "corpus", label)
    queries_ds = _hf_pick(parts["queries"], "queries", label)
    qrels_ds = _hf_pick(parts["qrels"], split, label, is_split=True)
    where = f"{label} qrels[{split}]"
    corpus_where = f"{label} corpus"
    hf_fingerprint = getattr(corpus_ds, "_fingerprint", None)
    location = f"{HF_PREFIX}{local.resolve() if local.exists() else path_or_id}@{revision}"
    corpus_source = CorpusSource(
        where=corpus_where, location=location, unit="row",
        records=lambda hasher: _hf_records(corpus_ds, "corpus", corpus_where, ("_id",), hasher),
        rehash=lambda hasher: _drain(_hf_records(corpus_ds, "corpus", corpus_where, ("_id",),
                                                 hasher)),
        first=lambda doc_id: _hf_first_row(corpus_ds, doc_id),
        # the dataset's own content fingerprint, when ``datasets`` keeps one
        identity=({"hf_fingerprint": hf_fingerprint, "rows": corpus_ds.num_rows}
                  if isinstance(hf_fingerprint, str) else None))

    def load() -> Dataset:
        loaded = open_corpus(corpus_source, store_dir)
        queries = build_queries(_hf_records(queries_ds, "queries", f"{label} queries",
                                             ("_id", "text"), loaded.rest),
                                 f"{label} queries", "row",
                                 lambda i: _hf_first_row(queries_ds, i))
        judgments = _hf_judgments(qrels_ds, where, loaded.rest)

        def refeed_rest(hasher: Hasher) -> None:
            _drain(_hf_records(queries_ds, "queries", f"{label} queries", ("_id", "text"),
                               hasher))
            _drain(_hf_judgments(qrels_ds, where, hasher))

        return assemble(name or local.name or path_or_id, split, loaded.corpus, queries,
                         judgments, where, "row", local if local.exists() else None,
                         lambda: loaded.fingerprint(refeed_rest))

    try:
        return load()
    except StaleStore:
        discard_store(corpus_source, store_dir)
        return load()


def _drain(rows: Iterator[Any]) -> None:
    for _ in rows:
        pass


def _hf_call(function: Callable[..., Any], label: str, what: str, *args: Any,
             **kwargs: Any) -> Any:
    try:
        return function(*args, **{k: v for k, v in kwargs.items() if v is not None})
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{label}: cannot load {what}: {type(exc).__name__}: {exc}") from exc


def _hf_load_folder(hf: Any, folder: Path, label: str, options: dict[str, Any]) -> Any:
    """A part saved with ``save_to_disk``, or a folder of data files (json, csv, parquet)."""
    if not folder.is_dir():
        raise DatasetError(f"{label}: no {folder.name}/ folder in {folder.parent}")
    if (folder / "dataset_dict.json").is_file() or (folder / "dataset_info.json").is_file():
        return _hf_call(hf.load_from_disk, label, folder.name, str(folder))
    return _hf_call(hf.load_dataset, label, folder.name, str(folder),
                    cache_dir=options["cache_dir"])


def _hf_load_qrels(hf: Any, source: str, qrels: str | None, label: str,
                   options: dict[str, Any]) -> Any:
    if qrels is not None:
        return _hf_call(hf.load_dataset, label, "qrels", qrels, **options)
    errors = []
    for args in ((source, "qrels"), (source, "default"), (f"{source}-qrels",)):
        try:
            return hf.load_dataset(*args, **{k: v for k, v in options.items() if v is not None})
        except (ValueError, OSError) as exc:
            errors.append(f"{'/'.join(args)}: {type(exc).__name__}")
    raise DatasetError(f"{label}: cannot find qrels (tried {', '.join(errors)}); "
                       "pass qrels=<id-or-path>")


def _hf_pick(loaded: Any, wanted: str, label: str, is_split: bool = False) -> Any:
    """One ``Dataset`` out of what ``datasets`` returned (a ``DatasetDict`` or a ``Dataset``)."""
    if not hasattr(loaded, "keys"):  # already a single Dataset
        return loaded
    splits = list(loaded.keys())
    if wanted in splits:
        return loaded[wanted]
    if not is_split and len(splits) == 1:
        return loaded[splits[0]]
    what = "qrels for split" if is_split else "split"
    raise DatasetError(f"{label}: no {what} {wanted!r}; splits that exist: {', '.join(splits)}")


def _hf_records(ds: Any, part: str, where: str, required: tuple[str, ...],
                hasher: Any) -> Iterator[Record]:
    """Rows of one part, hashed by content (not by where they came from)."""
    missing = [c for c in required if c not in ds.column_names]
    if missing:
        raise DatasetError(f"{where}: missing column {missing[0]!r} "
                           f"(columns: {', '.join(ds.column_names)})")
    hasher.update(part.encode() + b"\0")
    for row_no, row in enumerate(ds):
        hasher.update(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
        yield row_no, row


def _hf_first_row(ds: Any, wanted: str) -> int | None:
    return next((i for i, value in enumerate(ds["_id"]) if str(value) == wanted), None)


def _hf_judgments(ds: Any, where: str, hasher: Any) -> Iterator[Judgment]:
    for row_no, row in _hf_records(ds, "qrels", where, ("query-id", "corpus-id", "score"),
                                          hasher):
        query_id, doc_id, score = row["query-id"], row["corpus-id"], row["score"]
        if query_id is None or doc_id is None or str(query_id) == "" or str(doc_id) == "":
            raise DatasetError(f"{where} row {row_no}: empty query-id or corpus-id")
        check_id(str(query_id), where, "row", row_no, "query-id")
        check_id(str(doc_id), where, "row", row_no, "corpus-id")
        yield row_no, str(query_id), str(doc_id), _hf_score(score, where, row_no)


def _hf_score(value: Any, where: str, row_no: int) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise DatasetError(f"{where} row {row_no}: field 'score': {value!r} is not an "
                           "integer") from None
