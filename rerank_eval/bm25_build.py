"""Build a bm25s index from a corpus streamed in chunks, in memory bounded by the index.

Why not ``bm25s.BM25.index``: it takes the whole corpus at once as Python lists of token
ids (about 40 bytes a token, 4-5 KB for a 110-word document) and walks them three times
(document lengths, document frequencies, scores). Scores need the corpus-wide average
length and document frequencies before any document can be scored, so bm25s cannot be fed
chunk by chunk. What bm25s lacks is only that driver; everything that decides a score is
bm25s's own code:

- tokens: :class:`bm25s.tokenization.Tokenizer` (same lower-casing, ``\\w\\w+`` splitter,
  stopword list and PyStemmer stemmer as ``bm25s.tokenize``), its vocabulary growing from
  chunk to chunk (``update_vocab=True``; ``allow_empty=False`` so an empty document has no
  tokens, as with ``bm25s.tokenize``);
- IDF, non-occurrence and term-frequency formulas: ``bm25s.scoring``'s functions for the
  configured method, with the same dtypes, so every stored score is the same float32.

Pass 1 tokenizes a chunk, counts each document's distinct terms (term, tf) with numpy,
adds them to the document frequencies and spills them, with the document lengths, to a
temporary file. Pass 2 knows N, the average length and every term's IDF; it reads the
spill back chunk by chunk, scores each (document, term) pair and writes it straight into
its final slot of the CSC matrix (a column's size is its document frequency, known after
pass 1; documents arrive in order, so each column's rows come out ascending). The result
is the arrays ``BM25.index`` builds, byte for byte (a test compares them), installed in a
``bm25s.BM25`` that searches, saves and loads (``mmap=True``) as usual. Peak memory: the
index (8 bytes per (document, term) pair), the vocabulary, and one chunk.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rerank_eval.bm25_index import BM25Config

BUILD_VERSION = 1
"""Bump when a build's output for the same input changes: cached indexes are rebuilt."""

DTYPE = np.float32
"""bm25s's default score dtype (``BM25(dtype="float32")``)."""
INT_DTYPE = np.int32
"""bm25s's default index dtype (``BM25(int_dtype="int32")``)."""

_VECTOR_EXACT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
"""Whether scoring all pairs of a chunk at once gives bm25s's per-document results bit for
bit. bm25s scores one document at a time: ``np.float64`` scalar (the length term) plus a
float32 array (the term frequencies). NumPy 2 (NEP 50) computes that in float64, as the
vectorised form does; NumPy 1's value-based casting computes it in float32. Under NumPy 1
this module calls bm25s's own per-document loop instead."""


@dataclass
class _Chunk:
    """Where pass 1 spilled a chunk: ``n_docs`` lengths, ``n_docs`` pair counts, then
    ``n_pairs`` term ids and ``n_pairs`` term frequencies, all int32."""

    offset: int
    n_docs: int
    n_pairs: int


def build_bm25(chunks: Iterable[Sequence[str]], config: BM25Config, *,
               spill_dir: Path | None = None) -> Any:
    """A ``bm25s.BM25`` over the texts of ``chunks`` (in order: document ``i`` is the
    ``i``-th text), equal to ``bm25s.BM25(...).index(bm25s.tokenize(texts, ...))``.

    ``spill_dir``: where the temporary file of pass 1 goes (default: the system's)."""
    import bm25s
    from bm25s.tokenization import Tokenizer

    tokenizer = Tokenizer(lower=True, stopwords=config.stopwords or [],
                          stemmer=make_stemmer(config.stemmer))
    df = np.zeros(0, dtype=np.int64)
    total_length = 0
    n_docs = 0
    spilled: list[_Chunk] = []
    with tempfile.TemporaryFile(dir=spill_dir, prefix="rerank-eval-bm25-") as spill:
        for chunk in chunks:
            texts = list(chunk)
            if not texts:
                continue
            token_ids = tokenizer.tokenize(texts, update_vocab=True, return_as="ids",
                                           show_progress=False, allow_empty=False)
            lengths, pair_counts, terms, tfs = _distinct_terms(token_ids)
            vocab_size = len(tokenizer.get_vocab_dict())
            if vocab_size > len(df):
                df = np.concatenate([df, np.zeros(vocab_size - len(df), dtype=np.int64)])
            df += np.bincount(terms, minlength=len(df))
            total_length += int(lengths.sum())
            spilled.append(_Chunk(spill.tell(), len(lengths), len(terms)))
            for array in (lengths, pair_counts, terms, tfs):
                array.astype(np.int32).tofile(spill)
            n_docs += len(lengths)
            del token_ids
        vocab_dict = dict(tokenizer.get_vocab_dict())
        del tokenizer
        model = bm25s.BM25(k1=config.k1, b=config.b, method=config.method)
        matrix = _score_matrix(model, spill, spilled, df, n_docs, total_length)
    if vocab_dict:  # what BM25.index(create_empty_token=True) adds
        vocab_dict.setdefault("", max(vocab_dict.values()) + 1)
    model.scores = matrix
    model.vocab_dict = vocab_dict
    model.unique_token_ids_set = set(vocab_dict.values())
    return model


def make_stemmer(language: str | None) -> Any:
    """A PyStemmer ``Stemmer`` for ``language``, or None for no stemming."""
    if not language:
        return None
    import Stemmer

    try:
        return Stemmer.Stemmer(language)
    except KeyError as exc:
        raise ValueError(
            f"unknown stemmer language {language!r}; known: {', '.join(Stemmer.algorithms())}"
        ) from exc


def _distinct_terms(token_ids: list[list[int]]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per document its length and number of distinct terms; then every (document, term)
    pair's term and frequency, by document, then term."""
    lengths = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    flat = np.fromiter(itertools.chain.from_iterable(token_ids), dtype=np.int64,
                       count=int(lengths.sum()))
    docs = np.repeat(np.arange(len(token_ids), dtype=np.int64), lengths)
    pairs, tfs = np.unique((docs << 32) | flat, return_counts=True)
    pair_counts = np.bincount(pairs >> 32, minlength=len(token_ids))
    return lengths, pair_counts, pairs & 0xFFFFFFFF, tfs


def _read_chunk(spill: IO[bytes], chunk: _Chunk) -> tuple[np.ndarray, ...]:
    spill.seek(chunk.offset)
    sizes = (chunk.n_docs, chunk.n_docs, chunk.n_pairs, chunk.n_pairs)
    return tuple(np.fromfile(spill, dtype=np.int32, count=n) for n in sizes)


def _score_matrix(model: Any, spill: IO[bytes], spilled: list[_Chunk], df: np.ndarray,
                  n_docs: int, total_length: int) -> dict[str, Any]:
    """Pass 2: the CSC arrays ``{data, indices, indptr, num_docs}`` of ``model.scores``."""
    from bm25s.scoring import (
        _build_idf_array,
        _build_nonoccurrence_array,
        _select_idf_scorer,
        _select_tfc_scorer,
    )

    # bm25s: np.array(lengths).mean(); exact integer sum in float64, then one division
    avg_length = np.float64(total_length) / n_docs if n_docs else np.float64(0.0)
    doc_frequencies = dict(enumerate(df.tolist()))
    idf = _build_idf_array(doc_frequencies, n_docs=n_docs,
                           compute_idf_fn=_select_idf_scorer(model.idf_method),
                           dtype=model.dtype)
    nonoccurrence = None
    if model.method in model.methods_requiring_nonoccurrence:
        nonoccurrence = _build_nonoccurrence_array(
            doc_frequencies, n_docs=n_docs, compute_idf_fn=_select_idf_scorer(model.idf_method),
            calculate_tfc_fn=_select_tfc_scorer(model.method), l_d=avg_length,
            l_avg=avg_length, k1=model.k1, b=model.b, delta=model.delta, dtype=model.dtype)
    model.nonoccurrence_array = nonoccurrence
    del doc_frequencies

    indptr = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    n_pairs = int(indptr[-1])
    data = np.empty(n_pairs, dtype=DTYPE)
    indices = np.empty(n_pairs, dtype=INT_DTYPE)
    heads = indptr[:-1].copy()
    first_doc = 0
    for chunk in spilled:
        lengths, pair_counts, terms, tfs = _read_chunk(spill, chunk)
        if not chunk.n_pairs:  # only empty documents
            first_doc += chunk.n_docs
            continue
        scores = _chunk_scores(model, lengths, pair_counts, terms, tfs, idf, avg_length,
                               nonoccurrence)
        docs = first_doc + np.repeat(np.arange(chunk.n_docs, dtype=np.int64), pair_counts)
        # Stable by term: within a column, documents stay in ascending order.
        order = np.argsort(terms, kind="stable")
        sorted_terms = terms[order]
        starts = np.flatnonzero(np.r_[True, sorted_terms[1:] != sorted_terms[:-1]])
        runs = np.diff(np.r_[starts, len(sorted_terms)])
        slots = heads[sorted_terms] + (np.arange(len(sorted_terms)) - np.repeat(starts, runs))
        data[slots] = scores[order]
        indices[slots] = docs[order]
        heads[sorted_terms[starts]] += runs
        first_doc += chunk.n_docs
    if not np.array_equal(heads, indptr[1:]):  # pragma: no cover - a bug, not bad input
        raise RuntimeError("BM25 index build: the spilled pairs do not match the counts")
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}


def _chunk_scores(model: Any, lengths: np.ndarray, pair_counts: np.ndarray,
                  terms: np.ndarray, tfs: np.ndarray, idf: np.ndarray,
                  avg_length: np.float64, nonoccurrence: np.ndarray | None) -> np.ndarray:
    """The score of every (document, term) pair of a chunk, as bm25s computes it in
    ``_build_scores_and_indices_for_matrix`` (there one document at a time)."""
    from bm25s.scoring import _select_tfc_scorer

    if not _VECTOR_EXACT:
        return _chunk_scores_per_document(model, lengths, pair_counts, terms, tfs, idf,
                                          avg_length, nonoccurrence)
    tfc = _select_tfc_scorer(model.method)(
        tf_array=tfs.astype(model.dtype), l_d=np.repeat(lengths.astype(np.int64), pair_counts),
        l_avg=avg_length, k1=model.k1, b=model.b, delta=model.delta)
    scores = idf[terms] * tfc
    if nonoccurrence is not None:
        scores -= nonoccurrence[terms]
    return scores.astype(model.dtype)


def _chunk_scores_per_document(model: Any, lengths: np.ndarray, pair_counts: np.ndarray,
                               terms: np.ndarray, tfs: np.ndarray, idf: np.ndarray,
                               avg_length: np.float64,
                               nonoccurrence: np.ndarray | None) -> np.ndarray:
    """bm25s's own per-document loop over the chunk (documents rebuilt from their pairs:
    a score depends on a document's term counts and length, not on token order)."""
    from bm25s.scoring import _build_scores_and_indices_for_matrix

    bounds = np.cumsum(pair_counts)[:-1]
    documents = [np.repeat(t, f).tolist()
                 for t, f in zip(np.split(terms, bounds), np.split(tfs, bounds), strict=True)]
    scores, _, vocab = _build_scores_and_indices_for_matrix(
        documents, idf_array=idf, avg_doc_len=avg_length,
        doc_frequencies={0: len(terms)}, k1=model.k1, b=model.b, delta=model.delta,
        nonoccurrence_array=nonoccurrence, method=model.method, dtype=model.dtype,
        int_dtype=model.int_dtype, show_progress=False)
    # bm25s lists a document's terms in first-occurrence order (Counter); ours are sorted
    order = np.lexsort((vocab, np.repeat(np.arange(len(lengths)), pair_counts)))
    return scores[order]
