"""A BM25 index (bm25s) shared by the first stage and the ``bm25`` reranker.

Defaults reproduce the reference BM25 in ``shared/datasets/README.md``: bm25s's Lucene
variant (k1=1.5, b=0.75), lower-cased ``\\w\\w+`` tokens, bm25s's English stopword list,
**no stemming** (SciFact top-100 nDCG@10 0.662). ``stemmer="english"`` (Snowball via
PyStemmer) is available and scores higher on SciFact (0.686, the MTEB bm25s baseline);
it is an explicit choice, recorded with the results, not a silent default.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rerank_eval.bm25_build import build_bm25, make_stemmer

CHUNK_SIZE = 10_000
"""Documents tokenized at once when indexing (a few tens of MB of Python lists)."""


@dataclass(frozen=True)
class BM25Config:
    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    stopwords: str | None = "en"
    stemmer: str | None = None
    """A Snowball language for PyStemmer (e.g. ``english``), or None for no stemming."""

    def describe(self) -> dict[str, object]:
        return asdict(self)


class BM25Index:
    """Lexical index over texts in order (position ``i`` is the ``i``-th text); scores are
    bm25s float32 values.

    Built streaming (:mod:`rerank_eval.bm25_build`: the corpus in chunks, memory bounded
    by the index), saved in bm25s's format and loaded memory-mapped, so a cached index of
    a large corpus costs little resident memory."""

    def __init__(self, texts: Iterable[str] = (), config: BM25Config | None = None) -> None:
        """Index ``texts``, consumed :data:`CHUNK_SIZE` at a time."""
        config = config or BM25Config()
        self._setup(build_bm25(chunked(texts, CHUNK_SIZE), config), config)

    @classmethod
    def from_chunks(cls, chunks: Iterable[Sequence[str]], config: BM25Config | None = None,
                    *, spill_dir: Path | None = None) -> BM25Index:
        """Index the texts of ``chunks`` in order, one chunk in memory at a time."""
        config = config or BM25Config()
        index = cls.__new__(cls)
        index._setup(build_bm25(chunks, config, spill_dir=spill_dir), config)
        return index

    @classmethod
    def load(cls, folder: Path, config: BM25Config, *, mmap: bool = True) -> BM25Index:
        """An index :meth:`save` wrote (``config`` is what it was built with: bm25s's files
        record k1, b and the method, not the tokenizer's stopwords and stemmer)."""
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=mmap)
        index = cls.__new__(cls)
        index._setup(model, config)
        return index

    def _setup(self, model: Any, config: BM25Config) -> None:
        self.config = config
        self._model = model
        self._stemmer = make_stemmer(config.stemmer)
        self.size = int(model.scores["num_docs"])
        self._postings_sorted: bool | None = None

    def save(self, folder: Path) -> None:
        """Write the index in bm25s's format (``BM25.save``) into ``folder``."""
        self._model.save(str(folder))  # no corpus: nothing to show progress for

    def _query_tokens(self, queries: Sequence[str]) -> list[list[str]]:
        import bm25s

        return bm25s.tokenize(list(queries), stopwords=self.config.stopwords or [],
                              stemmer=self._stemmer, show_progress=False, return_ids=False)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Top-``k`` (position, score) per query, best first. A query with no token at all
        (blank, punctuation or stopwords only) has nothing to search for and gets []; any
        other gets ``k`` documents (fewer only when the corpus is smaller)."""
        k = min(k, self.size)
        hits: list[list[tuple[int, float]]] = []
        for query_tokens in self._query_tokens(queries):
            if not query_tokens:
                hits.append([])
                continue
            hits.append(_top_k(self._token_scores(query_tokens), k))
        return hits

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for one query."""
        return self._token_scores(self._query_tokens([query])[0])

    def scores_at(self, query: str, positions: Sequence[int]) -> np.ndarray:
        """BM25 scores of the texts at ``positions`` for one query: bit for bit what
        :meth:`scores` gives there, in time that grows with the positions and the query's
        postings lookups, not with the corpus (a reranker scores 100 candidates, not 8.8M).

        bm25s adds each query token's score to a document in float32, token by token; this
        adds the same numbers in the same order, found by binary search in each token's
        posting list (its documents in ascending order, as bm25s and ``bm25_build`` write
        them; an index whose lists are not sorted is scored the long way)."""
        wanted = np.asarray(positions, dtype=np.int64)
        query_tokens = self._query_tokens([query])[0]
        if not self._sorted_postings():
            return self._token_scores(query_tokens)[wanted]
        token_ids = self._model.get_tokens_ids(query_tokens)
        out = np.zeros(len(wanted), dtype=np.dtype(self._model.dtype))
        if not token_ids or not len(wanted):
            return out
        data = self._model.scores["data"]
        indices = self._model.scores["indices"]
        indptr = self._model.scores["indptr"]
        for token_id in token_ids:
            start, end = int(indptr[token_id]), int(indptr[token_id + 1])
            if start == end:
                continue
            documents = indices[start:end]
            at = np.minimum(np.searchsorted(documents, wanted), end - start - 1)
            hit = documents[at] == wanted
            if hit.any():
                out[hit] += data[start + at[hit]]
        if self._model.nonoccurrence_array is not None:  # BM25L / BM25+ (as bm25s adds it)
            ids = np.asarray(token_ids, dtype=np.dtype(self._model.int_dtype))
            out += self._model.nonoccurrence_array[ids].sum()
        return out

    def _sorted_postings(self) -> bool:
        if self._postings_sorted is None:
            self._postings_sorted = postings_sorted(self._model.scores["indices"],
                                                    self._model.scores["indptr"])
        return self._postings_sorted

    def _token_scores(self, query_tokens: list[str]) -> np.ndarray:
        """bm25s's ``get_scores``; tokens the index does not hold score nothing, and a query
        with none it holds scores 0 everywhere (bm25s raises on an empty list)."""
        token_ids = self._model.get_tokens_ids(query_tokens)
        if not token_ids:
            return np.zeros(self.size, dtype=np.float32)
        return self._model.get_scores_from_ids(token_ids)


def postings_sorted(indices: np.ndarray, indptr: np.ndarray, chunk: int = 1 << 23) -> bool:
    """Whether every posting list (a CSC column: ``indices[indptr[t]:indptr[t + 1]]``)
    lists its documents in strictly ascending order. Checked in chunks, so that a
    memory-mapped index of a large corpus is not copied into memory to check it."""
    n = len(indices)
    starts = np.asarray(indptr)
    for a in range(0, max(n - 1, 0), chunk):
        b = min(a + chunk, n - 1)
        ascending = indices[a + 1:b + 1] > indices[a:b]
        # a list starting at p (a < p <= b) is not compared with the one before it
        first = int(np.searchsorted(starts, a + 1, side="left"))
        last = int(np.searchsorted(starts, b, side="right"))
        ascending[starts[first:last] - 1 - a] = True
        if not ascending.all():
            return False
    return True


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Highest scores first; equal scores in ascending position order (deterministic).

    Documents with score 0 share no term with the query; they are still candidates
    (as in bm25s.retrieve), so a reranker always sees ``k`` documents when the corpus
    has that many.
    """
    if k <= 0:
        return []
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        # Widen to every position tied with the k-th score so the cut is deterministic.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
    else:
        part = np.arange(len(scores))
    order = part[np.lexsort((part, -scores[part]))][:k]
    return [(int(i), float(scores[i])) for i in order]
