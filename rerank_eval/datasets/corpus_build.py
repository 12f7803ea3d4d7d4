"""Streaming a corpus's records into a store with the checks of
:func:`~rerank_eval.datasets.records.build_corpus`, without holding every document (or
every id) as a Python object.

Records are validated one by one and written in batches. Duplicate ids are found through
their 64-bit keys (:func:`~rerank_eval.datasets.corpus_store.id_key`): each written batch's
keys join a few sorted numpy arrays (merged like a binary counter, so there are about
log2(batches) of them, 8 bytes a document), and every new batch is searched in them. A
key seen before is confirmed by the loader's ``first`` (a re-read of the source for the
first position of that id, as the message needs anyway), so a key collision never
refuses a good corpus.

Errors come in file order, as from ``build_corpus``: before any error is raised, the ids
of the batch not yet written are checked against the earlier batches, since a duplicate
among them sits earlier in the file than the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from rerank_eval.datasets.corpus import is_empty_document
from rerank_eval.datasets.corpus_store import BATCH_BYTES, BATCH_ROWS, StoreWriter, id_keys
from rerank_eval.datasets.model import DatasetError
from rerank_eval.datasets.records import Record, corpus_fields, duplicate_error, no_documents

FirstAt = Callable[[str], int | None]


def write_corpus(records: Iterable[Record], where: str, unit: str, first: FirstAt,
                 writer: StoreWriter) -> int:
    """Check and write every record; return how many documents are empty. Raises the
    :class:`DatasetError` that ``build_corpus`` would raise on the same records."""
    seen = _SeenKeys()
    batch = _Batch()
    empty = 0
    try:
        for pos, obj in records:
            doc_id, title, text = corpus_fields(obj, where, unit, pos)
            earlier = batch.positions_by_id.get(doc_id)
            if earlier is not None:
                raise duplicate_error(where, unit, pos, doc_id, earlier)
            empty += is_empty_document(title, text)
            batch.add(pos, doc_id, title, text)
            if batch.full():
                batch.check(seen, where, unit, first)
                batch.write(writer, seen)
                batch = _Batch()
        batch.check(seen, where, unit, first)
        if batch.ids:
            batch.write(writer, seen)
    except DatasetError:
        if not batch.checked:
            earlier_error = batch.duplicate(seen, where, unit, first)
            if earlier_error is not None:
                raise earlier_error from None
        raise
    if writer.rows == 0:
        raise no_documents(where)
    return empty


class _SeenKeys:
    """The keys of every written batch, as sorted arrays of roughly doubling sizes."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def hits(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        for level in self._levels:
            at = np.minimum(np.searchsorted(level, keys), len(level) - 1)
            found |= level[at] == keys
        return found

    def add(self, keys: np.ndarray) -> None:
        self._levels.append(np.sort(keys))
        while len(self._levels) > 1 and len(self._levels[-2]) <= len(self._levels[-1]):
            newer, older = self._levels.pop(), self._levels.pop()
            # two sorted runs: the stable sort (timsort) merges them in linear time
            self._levels.append(np.sort(np.concatenate([older, newer]), kind="stable"))


class _Batch:
    """Documents read but not yet written."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.ids: list[str] = []
        self.titles: list[str] = []
        self.texts: list[str] = []
        self.positions_by_id: dict[str, int] = {}
        self.size = 0
        self.checked = False
        self._keys: np.ndarray | None = None

    def add(self, pos: int, doc_id: str, title: str, text: str) -> None:
        self.positions.append(pos)
        self.ids.append(doc_id)
        self.titles.append(title)
        self.texts.append(text)
        self.positions_by_id[doc_id] = pos
        self.size += len(title) + len(text)

    def full(self) -> bool:
        return len(self.ids) >= BATCH_ROWS or self.size >= BATCH_BYTES

    def keys(self) -> np.ndarray:
        if self._keys is None:
            self._keys = id_keys(self.ids)
        return self._keys

    def duplicate(self, seen: _SeenKeys, where: str, unit: str,
                  first: FirstAt) -> DatasetError | None:
        """The first document of this batch whose id an earlier batch holds, as an error."""
        self.checked = True
        for i in np.flatnonzero(seen.hits(self.keys())):
            doc_id, pos = self.ids[i], self.positions[i]
            earlier = first(doc_id)
            if earlier is not None and earlier < pos:  # else two ids share a key
                return duplicate_error(where, unit, pos, doc_id, earlier)
        return None

    def check(self, seen: _SeenKeys, where: str, unit: str, first: FirstAt) -> None:
        error = self.duplicate(seen, where, unit, first)
        if error is not None:
            raise error

    def write(self, writer: StoreWriter, seen: _SeenKeys) -> None:
        keys = self.keys()
        writer.write(self.ids, self.titles, self.texts, keys)
        seen.add(keys)
