"""Deterministic synthetic BEIR collections of any size, for scale benchmarks and tests.

No download: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` are generated
from a seed. The text is not English but has the statistics a lexical index cares about:

- **Zipfian vocabulary**: content words are drawn from a (continuous, truncated)
  Zipf-Mandelbrot law over :data:`VOCABULARY` ranks, so the number of distinct terms
  grows with the corpus as in real text (Heaps' law) and posting lists have a realistic
  skew. A rank is spelled as 2 to 4 consonant-vowel syllables (4 to 8 letters), which
  parse uniquely, so two ranks never spell the same word;
- **stopwords**: about a third of the tokens are common English function words (which
  the BM25 tokenizer drops, as it does in real text);
- **lengths**: titles of 5-15 words (mean 10), texts of 40-250 words skewed towards
  shorter (mean 122): 752 bytes of JSON per document, as in the issue's measurements
  (2M documents = 1.5 GB).

Queries are planted so BM25 has real work and real answers: each query has four
mid-frequency key terms; its primary document (grade 2) gets all four written into its
text, zero to two secondary documents (grade 1) get two of them, and two unjudged
distractors get three. Everything else is noise that shares the vocabulary, so a key
term also occurs in many unrelated documents.

Written streaming, in blocks of :data:`BLOCK` documents with numpy (no per-token Python):
memory stays a few tens of MB whatever the size, and 1M documents take about 25 s. Each
block has its own random stream (``seed``, block number), so the same ``n_docs`` and
``seed`` always give byte-identical files, and a larger collection holds the same
documents as a smaller one (but for those that query terms are planted in). Only uniform
doubles are drawn (``Generator.random``), the part of numpy's random API least likely to
change across versions; everything else is arithmetic on them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import numpy as np

GENERATOR_VERSION = 2
"""Bump when the output for a given (n_docs, seed) changes: cached collections are rebuilt."""

BLOCK = 8192
"""Documents generated at once (one random stream per block)."""

VOCABULARY = 1 << 23
"""Content-word ranks the Zipf law draws from (8.4M)."""

ZIPF_EXPONENT = 1.5
ZIPF_OFFSET = 60
"""Zipf-Mandelbrot ``(rank + 61) ** -1.5``: the commonest content word is 0.5% of tokens,
and distinct terms grow as in real text: about 36k at SciFact's 1.1M tokens (SciFact
has 36k), 256k at 100k documents (measured), about 1M at 1M and 3.4M at MS MARCO's 8.8M
(it has about 3M)."""

STOPWORD_SHARE = 0.35
TITLE_WORDS = (5, 15)
TEXT_WORDS = (40, 250)
TEXT_SKEW = 1.4
"""Text length is ``min + span * m ** TEXT_SKEW``, ``m`` the mean of three uniforms: a bell
skewed towards short texts, mean about 110 words."""

KEY_TERMS = 4
KEY_RANKS = (300, 100_000)
"""Key terms of a query are content ranks in this range (log-uniform): rarer than the
common words, common enough to occur by chance in many other documents."""
MAX_SECONDARY = 2
"""Documents judged 1 per query: 0 to this many, each with half the key terms."""
DISTRACTORS = 2
"""Unjudged documents per query given all key terms but the first: BM25 ranks some of them
above the judged ones, so the first stage is good but not perfect."""

MANIFEST = "synthetic.json"

STOPWORDS = (
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "they", "you", "were", "her", "she", "there", "been", "one", "all", "we", "their",
    "has", "would", "when", "if", "so", "no", "what", "its", "more", "will", "can", "some",
    "into",
)

_CONSONANTS = np.frombuffer(b"bcdfghjklmnprstvwxz", dtype=np.uint8)
_VOWELS = np.frombuffer(b"aeiou", dtype=np.uint8)
_SYLLABLES = len(_CONSONANTS) * len(_VOWELS)  # 95
_WIDTH = 8  # letters of the longest word (4 syllables)
_SPACE = ord(" ")


@dataclass(frozen=True)
class SyntheticCollection:
    """A generated collection and what its manifest records."""

    folder: Path
    n_docs: int
    n_queries: int
    seed: int
    split: str
    files: dict[str, dict[str, int | str]]
    """Per file (relative path): ``bytes`` and ``sha256``."""

    @property
    def corpus_bytes(self) -> int:
        return int(self.files["corpus.jsonl"]["bytes"])


def word(rank: int) -> str:
    """The word spelling content rank ``rank`` (0 = most frequent)."""
    return words([rank])[0]


def words(ranks: Sequence[int] | np.ndarray) -> list[str]:
    """The words spelling content ranks."""
    rows, sizes = _spell_ranks(np.asarray(ranks, dtype=np.int64))
    return [rows[i, : sizes[i] - 1].tobytes().decode() for i in range(len(rows))]


def write_synthetic_beir(folder: Path, n_docs: int, *, n_queries: int = 50, seed: int = 0,
                         split: str = "test") -> SyntheticCollection:
    """Write a BEIR folder of ``n_docs`` documents and ``n_queries`` judged queries.

    Each file is written to a temporary name and renamed when complete, and the
    manifest (``synthetic.json``: parameters, sizes, sha256 of every file) last, so a
    folder with a manifest is a complete one.
    """
    if n_docs < 1:
        raise ValueError(f"n_docs must be at least 1, got {n_docs}")
    if not 0 <= n_queries <= n_docs:
        raise ValueError(f"n_queries must be between 0 and n_docs ({n_docs}), got {n_queries}")
    folder = Path(folder)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    plan = _plan_queries(n_docs, n_queries, seed)
    files: dict[str, dict[str, int | str]] = {}
    files["corpus.jsonl"] = _write_atomic(folder / "corpus.jsonl",
                                          _corpus_lines(n_docs, seed, plan.planted))
    files["queries.jsonl"] = _write_atomic(folder / "queries.jsonl", iter([plan.queries_jsonl]))
    qrels = f"qrels/{split}.tsv"
    files[qrels] = _write_atomic(folder / qrels, iter([plan.qrels_tsv]))
    collection = SyntheticCollection(folder=folder, n_docs=n_docs, n_queries=n_queries,
                                     seed=seed, split=split, files=files)
    manifest = {"generator_version": GENERATOR_VERSION, **asdict(collection)}
    manifest["folder"] = folder.name
    _write_atomic(folder / MANIFEST, iter([(json.dumps(manifest, indent=2) + "\n").encode()]))
    return collection


def ensure_synthetic_beir(root: Path, n_docs: int, *, n_queries: int = 50, seed: int = 0,
                          split: str = "test") -> tuple[SyntheticCollection, bool]:
    """The collection under ``root/synthetic-<n_docs>-q<n_queries>-s<seed>``: reused when
    its manifest matches these parameters and every file's size and sha256 still match
    the manifest, else (re)generated. Returns it and whether it was reused."""
    folder = Path(root) / f"synthetic-{n_docs}-q{n_queries}-s{seed}"
    found = read_manifest(folder)
    if (found is not None and (found.n_docs, found.n_queries, found.seed, found.split)
            == (n_docs, n_queries, seed, split) and verify(found)):
        return found, True
    return write_synthetic_beir(folder, n_docs, n_queries=n_queries, seed=seed,
                                split=split), False


def read_manifest(folder: Path) -> SyntheticCollection | None:
    """The collection a folder's manifest describes, or None (none, unreadable, or from
    another generator version)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text())
        if data.get("generator_version") != GENERATOR_VERSION:
            return None
        return SyntheticCollection(folder=Path(folder), n_docs=int(data["n_docs"]),
                                   n_queries=int(data["n_queries"]), seed=int(data["seed"]),
                                   split=str(data["split"]), files=dict(data["files"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def verify(collection: SyntheticCollection) -> bool:
    """Whether every file still has the size and sha256 its manifest records."""
    for rel, expected in collection.files.items():
        path = collection.folder / rel
        try:
            if path.stat().st_size != expected["bytes"]:
                return False
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return False
        if digest != expected["sha256"]:
            return False
    return True


# --- queries and judgments -------------------------------------------------------------


@dataclass(frozen=True)
class _QueryPlan:
    planted: dict[int, np.ndarray]
    """Document index -> content ranks to write into its text."""
    queries_jsonl: bytes
    qrels_tsv: bytes


def _plan_queries(n_docs: int, n_queries: int, seed: int) -> _QueryPlan:
    """Key terms and judged documents of every query, and the terms each judged (or
    distracting) document gets written into its text."""
    rng = np.random.Generator(np.random.PCG64([seed, 0]))
    chosen: set[int] = set()
    low, high = np.log(KEY_RANKS[0]), np.log(KEY_RANKS[1])

    def pick_doc() -> int | None:
        while len(chosen) < n_docs:
            doc = int(rng.random() * n_docs)
            if doc not in chosen:
                chosen.add(doc)
                return doc
        return None

    keys = [np.unique(np.exp(low + (high - low) * rng.random(KEY_TERMS)).astype(np.int64))
            for _ in range(n_queries)]
    primaries = [pick_doc() for _ in range(n_queries)]  # n_queries <= n_docs: all found
    planted: dict[int, np.ndarray] = {}
    query_lines: list[str] = []
    qrel_lines = ["query-id\tcorpus-id\tscore"]
    for q, (terms, primary) in enumerate(zip(keys, primaries, strict=True)):
        assert primary is not None
        planted[primary] = terms
        judged = {primary: 2}
        for _ in range(int(rng.random() * (MAX_SECONDARY + 1))):
            doc = pick_doc()
            if doc is not None:
                planted[doc] = terms[: len(terms) // 2]
                judged[doc] = 1
        for _ in range(DISTRACTORS):
            doc = pick_doc()
            if doc is not None:
                planted[doc] = terms[1:]
        spelled = words(terms)
        stop = [STOPWORDS[int(rng.random() * 10)] for _ in range(2)]
        text = " ".join([spelled[0], stop[0], *spelled[1:-1], stop[1], spelled[-1]])
        query_id = f"q{q}"
        query_lines.append(json.dumps({"_id": query_id, "text": text}))
        qrel_lines.extend(f"{query_id}\t{_doc_id(d)}\t{g}" for d, g in judged.items())
    return _QueryPlan(planted=planted,
                      queries_jsonl="".join(line + "\n" for line in query_lines).encode(),
                      qrels_tsv="".join(line + "\n" for line in qrel_lines).encode())


def _doc_id(index: int) -> str:
    return f"d{index}"


# --- the corpus --------------------------------------------------------------------------


def _corpus_lines(n_docs: int, seed: int, planted: dict[int, np.ndarray]) -> Iterator[bytes]:
    for block, start in enumerate(range(0, n_docs, BLOCK)):
        yield _block(start, min(BLOCK, n_docs - start), seed, block, planted)


def _block(start: int, n: int, seed: int, block: int, planted: dict[int, np.ndarray]) -> bytes:
    """The JSON lines of documents ``start`` .. ``start + n - 1``. A whole block is drawn
    even when fewer documents are wanted, so a document's text does not depend on the
    collection's size (except where query terms are planted)."""
    rng = np.random.Generator(np.random.PCG64([seed, 1, block]))
    wanted, n = n, BLOCK
    title_len = TITLE_WORDS[0] + (rng.random(n) * (TITLE_WORDS[1] - TITLE_WORDS[0] + 1))
    mean3 = rng.random((3, n)).mean(axis=0)
    text_len = TEXT_WORDS[0] + (TEXT_WORDS[1] - TEXT_WORDS[0] + 1) * mean3 ** TEXT_SKEW
    segments = np.empty(2 * n, dtype=np.int64)  # title, text, title, text, ...
    segments[0::2] = title_len.astype(np.int64)
    segments[1::2] = text_len.astype(np.int64)
    n_tokens = int(segments.sum())

    # A token is a stopword (table rows 0 .. len(STOPWORDS) - 1) or a content rank
    # (rows from len(STOPWORDS) on); ranks past the table are spelled apart.
    is_stop = rng.random(n_tokens) < STOPWORD_SHARE
    draw = rng.random(n_tokens)
    tokens = _zipf_ranks(draw) + len(STOPWORDS)
    tokens[is_stop] = _STOP_BINS[(draw[is_stop] * len(_STOP_BINS)).astype(np.int64)]

    seg_end = np.cumsum(segments)
    for doc, keys in planted.items():
        if start <= doc < start + n:
            text = 2 * (doc - start) + 1
            first, length = int(seg_end[text - 1]), int(segments[text])
            where = first + (np.arange(len(keys)) * length) // len(keys)
            tokens[where] = keys + len(STOPWORDS)

    letters, sizes = _letters(tokens)
    flat_end = np.cumsum(sizes)  # each word and its trailing space
    seg_stop = flat_end[seg_end - 1] - 1  # end of a segment's last word
    seg_start = np.concatenate(([0], flat_end[seg_end[:-1] - 1]))
    # Capitalise the first word of each title and text (the tokenizer lower-cases).
    letters[seg_start] -= 32
    data = letters.tobytes()
    bounds = np.stack([seg_start, seg_stop], axis=1).reshape(n, 4)[:wanted].tolist()
    return b"".join(b'{"_id": "d%d", "title": "%s", "text": "%s"}\n'
                    % (start + i, data[t0:t1], data[x0:x1])
                    for i, (t0, t1, x0, x1) in enumerate(bounds))


def _zipf_ranks(uniform: np.ndarray) -> np.ndarray:
    """Content ranks in [0, VOCABULARY) from uniforms: the inverse CDF of the continuous
    Zipf-Mandelbrot law ``(rank + ZIPF_OFFSET + 1) ** -ZIPF_EXPONENT``, floored."""
    e = 1.0 - ZIPF_EXPONENT
    low, high = (ZIPF_OFFSET + 1.0) ** e, (VOCABULARY + ZIPF_OFFSET + 1.0) ** e
    x = (low + uniform * (high - low)) ** (1.0 / e)
    return (x - (ZIPF_OFFSET + 1.0)).astype(np.int64).clip(0, VOCABULARY - 1)


def _stop_bins() -> np.ndarray:
    """Stopword index by uniform bin (1/4096 wide): Zipf-weighted stopwords."""
    weights = 1.0 / np.arange(1, len(STOPWORDS) + 1)
    cdf = np.cumsum(weights) / weights.sum()
    bins = (np.arange(4096) + 0.5) / 4096
    return np.searchsorted(cdf, bins).clip(max=len(STOPWORDS) - 1)


_STOP_BINS = _stop_bins()


def _syllables(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spell spelling indices (see :func:`_spell_ranks`): per index its row of letters,
    then a space, then zero padding (:data:`_WIDTH` + 1 wide), and its size (letters +
    the space).

    An index has ``n`` syllables, ``n`` from 2 to 4 (at least as many as it has base-95
    digits, otherwise picked by a hash of the index), spelled as its ``n``-digit base-95
    number (consonant x vowel per digit; each digit is shifted by its position and the
    digit below it, so leading zeros do not all read alike, and the digits can still be
    recovered from the lowest up). The letter count gives ``n``, and ``n`` digits give
    the index: two indices never spell the same word.
    """
    indices = indices.astype(np.int64)
    digits = 1 + sum((indices >= _SYLLABLES ** k).astype(np.int64) for k in (1, 2, 3))
    hashed = 2 + ((indices * 2654435761) >> 16) % 3
    n_syl = np.maximum(digits, np.where(indices < 100, 2, hashed))
    out = np.zeros((len(indices), _WIDTH + 1), dtype=np.uint8)
    value = indices.copy()
    previous = np.zeros_like(value)
    for position in range(4):  # least significant digit first, right-aligned
        live = position < n_syl
        plain = value % _SYLLABLES
        digit = (plain + 31 * previous + 37 * position + 11) % _SYLLABLES
        previous = plain
        value //= _SYLLABLES
        column = 2 * (n_syl - 1 - position)
        rows = np.flatnonzero(live)
        out[rows, column[rows]] = _CONSONANTS[digit[rows] // len(_VOWELS)]
        out[rows, column[rows] + 1] = _VOWELS[digit[rows] % len(_VOWELS)]
    sizes = 2 * n_syl + 1
    out[np.arange(len(indices)), sizes - 1] = _SPACE
    return out, sizes.astype(np.uint8)


BLOCKED = ("have", "more", "some", "were")
"""Words that a spelling index can make but a content word must not be: the
consonant-vowel words of bm25s's English stopword list (the tokenizer would drop them)."""


def _blocked_indices() -> np.ndarray:
    """Spelling indices that spell a :data:`BLOCKED` word (all are 4 letters, so below
    95 ** 2), sorted."""
    rows, sizes = _syllables(np.arange(_SYLLABLES ** 2))
    blocked = {w.encode() for w in BLOCKED}
    return np.array([i for i in range(len(rows)) if sizes[i] == 5
                     and rows[i, :4].tobytes() in blocked], dtype=np.int64)


_BLOCKED_INDICES = _blocked_indices()


def _spell_ranks(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_syllables` of content ranks: rank ``r`` is the ``r``-th spelling index
    that does not spell a blocked word."""
    shifted = _BLOCKED_INDICES - np.arange(len(_BLOCKED_INDICES))
    ranks = np.asarray(ranks, dtype=np.int64)
    return _syllables(ranks + np.searchsorted(shifted, ranks, side="right"))


def _word_table() -> tuple[np.ndarray, np.ndarray]:
    """Rows and sizes of the stopwords, then of the :data:`_TABLE_RANKS` commonest ranks."""
    rows, sizes = _spell_ranks(np.arange(_TABLE_RANKS))
    stop = np.zeros((len(STOPWORDS), _WIDTH + 1), dtype=np.uint8)
    for i, w in enumerate(STOPWORDS):
        stop[i, : len(w) + 1] = np.frombuffer(w.encode() + b" ", dtype=np.uint8)
    stop_sizes = np.array([len(w) + 1 for w in STOPWORDS], dtype=np.uint8)
    return np.concatenate([stop, rows]), np.concatenate([stop_sizes, sizes])


_TABLE_RANKS = 1 << 20
"""Content ranks spelled once, up front (9 MB); over 99% of content tokens fall there."""

_TABLE: tuple[np.ndarray, np.ndarray] | None = None


def _letters(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens as one flat array of letters, each word followed by a space, and each
    word's size (letters + the space)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _word_table()
    table, table_sizes = _TABLE
    clipped = np.minimum(tokens, len(table) - 1)
    rows, sizes = table[clipped], table_sizes[clipped]
    tail = np.flatnonzero(tokens >= len(table))
    if len(tail):
        rows[tail], sizes[tail] = _spell_ranks(tokens[tail] - len(STOPWORDS))
    keep = np.arange(_WIDTH + 1) < sizes[:, None]
    return rows[keep], sizes.astype(np.int64)


def _write_atomic(path: Path, chunks: Iterator[bytes]) -> dict[str, int | str]:
    """Stream ``chunks`` to a temporary file beside ``path``, then rename it over ``path``;
    return its size and sha256."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    hasher = hashlib.sha256()
    size = 0
    try:
        handle: IO[bytes]
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                hasher.update(chunk)
                size += len(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"bytes": size, "sha256": hasher.hexdigest()}
