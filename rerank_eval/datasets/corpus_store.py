"""The on-disk corpus store: one Arrow file, memory-mapped, and an id index beside it.

A store folder holds:

- ``corpus.arrow``: an Arrow IPC file (the random-access "Feather v2" format),
  uncompressed so that it maps without a copy; columns ``doc_id``, ``title``, ``text``
  (UTF-8) in corpus order, in record batches of at most :data:`BATCH_ROWS` rows or about
  :data:`BATCH_BYTES` of text.
- ``id_keys.npy`` / ``id_rows.npy``: the 64-bit key (:func:`id_key`) of every id, sorted,
  and the row each one names. A lookup is a binary search over a mapped array and one
  string comparison, so the index costs 12 bytes a document on disk and no Python object
  in memory (a dict of a million ids is ~100 MB of strings). Two ids with the same key
  are told apart by that comparison.
- ``odd_rows.json``: rows holding a lone surrogate (``"\\ud800"`` is valid JSON but not
  valid UTF-8, so Arrow cannot hold it): their exact values, while the Arrow columns keep
  a replaced copy. Usually ``{}``.

Plain pyarrow rather than Hugging Face ``datasets``' Arrow files: the data is mapped the
same way in both, but importing ``datasets`` costs ~140 MB of RSS and ~3 s (pyarrow
alone: ~55 MB, 0.6 s), and its own cache folder and fingerprints would sit beside ours
without the atomic publish and checksums :mod:`~rerank_eval.datasets.corpus_cache` needs.

Verification, atomic publishing and the manifest live in
:mod:`~rerank_eval.datasets.corpus_cache`; this module only writes and reads the files.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
from collections.abc import ItemsView, Iterable, Iterator, Sequence, ValuesView
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc

from rerank_eval.datasets.corpus import (
    DEFAULT_BATCH,
    Corpus,
    check_batch_size,
    is_empty_document,
)
from rerank_eval.datasets.model import CorpusDocument

ARROW_FILE = "corpus.arrow"
KEYS_FILE = "id_keys.npy"
ROWS_FILE = "id_rows.npy"
ODD_FILE = "odd_rows.json"
STORE_FILES = (ARROW_FILE, KEYS_FILE, ROWS_FILE, ODD_FILE)

BATCH_ROWS = 8192
BATCH_BYTES = 32 << 20
SCHEMA = pa.schema([("doc_id", pa.string()), ("title", pa.string()), ("text", pa.string())])


def id_key(doc_id: str) -> int:
    """A stable 64-bit key of an id (blake2b: Python's ``hash`` changes per process)."""
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def id_keys(doc_ids: Sequence[str]) -> np.ndarray:
    return np.fromiter((id_key(d) for d in doc_ids), dtype=np.uint64, count=len(doc_ids))


class StoreWriter:
    """Writes a store folder batch by batch; :meth:`close` writes the index and returns
    each file's size and sha256. Callers pass whole batches (ids, titles, texts, keys)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows = 0
        self._keys: list[np.ndarray] = []
        self._odd: dict[int, list[str]] = {}
        self._sink = pa.OSFile(str(folder / ARROW_FILE), "wb")
        self._writer = pa.ipc.new_file(self._sink, SCHEMA)

    def write(self, ids: list[str], titles: list[str], texts: list[str],
              keys: np.ndarray) -> None:
        try:
            columns = [pa.array(values, pa.string()) for values in (ids, titles, texts)]
        except UnicodeEncodeError:  # a lone surrogate somewhere in this batch
            columns = self._columns_with_odd_rows(ids, titles, texts)
        self._writer.write_batch(pa.record_batch(columns, schema=SCHEMA))
        self._keys.append(keys)
        self.rows += len(ids)

    def _columns_with_odd_rows(self, ids: list[str], titles: list[str],
                               texts: list[str]) -> list[pa.Array]:
        clean: list[list[str]] = [[], [], []]
        for i, row in enumerate(zip(ids, titles, texts, strict=True)):
            if any(_has_surrogate(value) for value in row):
                self._odd[self.rows + i] = list(row)
                row = tuple(_replaced(value) for value in row)
            for column, value in zip(clean, row, strict=True):
                column.append(value)
        return [pa.array(values, pa.string()) for values in clean]

    def close(self) -> dict[str, dict[str, Any]]:
        """Finish the Arrow file, write the index and odd rows, fsync everything; return
        ``{file name: {"size": bytes, "sha256": hex}}``."""
        self._writer.close()
        self._sink.close()
        keys = np.concatenate(self._keys) if self._keys else np.zeros(0, np.uint64)
        self._keys = []
        order = np.argsort(keys, kind="stable")
        row_type = np.uint32 if len(keys) < 2**32 else np.uint64
        np.save(self.folder / KEYS_FILE, keys[order])
        np.save(self.folder / ROWS_FILE, order.astype(row_type))
        del keys, order
        (self.folder / ODD_FILE).write_text(json.dumps({str(r): v for r, v in self._odd.items()}),
                                            "utf-8")
        return {name: {"size": (self.folder / name).stat().st_size,
                       "sha256": file_sha256(self.folder / name, fsync=True)}
                for name in STORE_FILES}

    def abort(self) -> None:
        """Close what is open (the caller removes the folder)."""
        for closing in (self._writer.close, self._sink.close):
            with contextlib.suppress(OSError, pa.ArrowException):
                closing()


def file_sha256(path: Path, *, fsync: bool = False) -> str:
    """sha256 of a file read through the page cache (not mapped: it adds nothing to RSS)."""
    with path.open("rb") as handle:
        if fsync:
            os.fsync(handle.fileno())
        return hashlib.file_digest(handle, "sha256").hexdigest()


class ArrowCorpus(Corpus):
    """A store folder, memory-mapped: documents are read from the mapped pages when asked
    for, so the corpus's text is never held as Python objects all at once."""

    def __init__(self, folder: Path, empty_documents: int | None = None) -> None:
        self.folder = Path(folder)
        self._empty = empty_documents
        self._source = pa.memory_map(str(self.folder / ARROW_FILE), "r")
        self._table = pa.ipc.open_file(self._source).read_all()
        self._ids = self._table.column("doc_id").chunks
        self._titles = self._table.column("title").chunks
        self._texts = self._table.column("text").chunks
        self._starts = [0]
        for chunk in self._ids:
            self._starts.append(self._starts[-1] + len(chunk))
        # plain views of the mapped files (np.memmap's subclass costs ~1 µs an access)
        self._keys = np.asarray(np.load(self.folder / KEYS_FILE, mmap_mode="r"))
        self._rows = np.asarray(np.load(self.folder / ROWS_FILE, mmap_mode="r"))
        odd = json.loads((self.folder / ODD_FILE).read_text("utf-8"))
        self._odd = {int(row): CorpusDocument(*values) for row, values in odd.items()}
        if not (len(self._keys) == len(self._rows) == self._table.num_rows):
            raise ValueError(f"{self.folder}: index and corpus disagree on the row count")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by folder (for worker processes): the mapping is reopened, not copied.
        return (ArrowCorpus, (self.folder, self._empty))

    def __len__(self) -> int:
        return self._table.num_rows

    def __getitem__(self, doc_id: str) -> CorpusDocument:
        row = self._row(doc_id)
        if row is None:
            raise KeyError(doc_id)
        return self._document(row)

    def __contains__(self, doc_id: object) -> bool:
        return self._row(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        if self._odd:
            yield from (doc.doc_id for doc in self._iter_documents())
            return
        for chunk in self._ids:
            yield from chunk.to_pylist()

    def items(self) -> _Items:
        return _Items(self)

    def values(self) -> _Values:
        return _Values(self)

    def row_of(self, doc_id: str) -> int | None:
        """The row (corpus position) of an id, or None."""
        return self._row(doc_id)

    def iter_texts(self, batch_size: int = DEFAULT_BATCH
                   ) -> Iterator[tuple[list[str], list[str]]]:
        check_batch_size(batch_size)
        for start in range(0, len(self), batch_size):
            part = self._table.slice(start, batch_size)
            ids = part.column("doc_id").to_pylist()
            texts = _full_texts(part.column("title"), part.column("text")).to_pylist()
            self._patch(range(start, start + len(ids)), ids, texts)
            yield ids, texts

    def texts(self, doc_ids: Iterable[str]) -> list[str]:
        texts = []
        for doc_id in doc_ids:
            row = self._row(doc_id)
            if row is None:
                raise KeyError(doc_id)
            texts.append(self._document(row).full_text)
        return texts

    def empty_documents(self) -> int:
        if self._empty is None:
            self._empty = sum(1 for doc in self._iter_documents()
                              if is_empty_document(doc.title, doc.text))
        return self._empty

    # ---------------------------------------------------------------- internals

    def _row(self, doc_id: object) -> int | None:
        if not isinstance(doc_id, str):
            return None
        key = np.uint64(id_key(doc_id))
        keys = self._keys
        at = int(keys.searchsorted(key))
        while at < len(keys) and keys[at] == key:
            row = int(self._rows[at])
            if self._id_at(row) == doc_id:
                return row
            at += 1
        return None

    def _locate(self, row: int) -> tuple[int, int]:
        chunk = bisect.bisect_right(self._starts, row) - 1
        return chunk, row - self._starts[chunk]

    def _id_at(self, row: int) -> str:
        if row in self._odd:
            return self._odd[row].doc_id
        chunk, at = self._locate(row)
        return self._ids[chunk][at].as_py()

    def _document(self, row: int) -> CorpusDocument:
        if row in self._odd:
            return self._odd[row]
        chunk, at = self._locate(row)
        return CorpusDocument(self._ids[chunk][at].as_py(), self._titles[chunk][at].as_py(),
                              self._texts[chunk][at].as_py())

    def _iter_documents(self) -> Iterator[CorpusDocument]:
        for chunk, start in enumerate(self._starts[:-1]):
            rows = zip(self._ids[chunk].to_pylist(), self._titles[chunk].to_pylist(),
                       self._texts[chunk].to_pylist(), strict=True)
            for row, (doc_id, title, text) in enumerate(rows, start=start):
                yield self._odd.get(row) or CorpusDocument(doc_id, title, text)

    def _patch(self, rows: Iterable[int], ids: list[str] | None, texts: list[str]) -> None:
        """Put the exact values of odd rows back into lists read from the Arrow columns."""
        if not self._odd:
            return
        for i, row in enumerate(rows):
            doc = self._odd.get(row)
            if doc is not None:
                texts[i] = doc.full_text
                if ids is not None:
                    ids[i] = doc.doc_id


class _Items(ItemsView[str, CorpusDocument]):
    """``corpus.items()`` streaming the batches in order (a Mapping's default view would
    look every id up again)."""

    _mapping: ArrowCorpus

    def __iter__(self) -> Iterator[tuple[str, CorpusDocument]]:
        return ((doc.doc_id, doc) for doc in self._mapping._iter_documents())


class _Values(ValuesView[CorpusDocument]):
    _mapping: ArrowCorpus

    def __iter__(self) -> Iterator[CorpusDocument]:
        return self._mapping._iter_documents()


def _full_texts(titles: pa.ChunkedArray, texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """:attr:`CorpusDocument.full_text` over whole columns: ``title + " " + text``, or just
    the non-empty one."""
    joined = pc.binary_join_element_wise(titles, texts, " ")
    return pc.if_else(pc.equal(titles, ""), texts,
                      pc.if_else(pc.equal(texts, ""), titles, joined))


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _replaced(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")
