"""Length-sorted, token-budget batches for local models, and truncation counting.

Inputs are tokenized once without truncation to learn their true lengths. Sorting by
length (longest first) keeps padding small; the token budget lets batches of short
inputs hold more rows than batches of long ones, for the same memory. Ties in length
are broken by a content key, so the batches a set of inputs falls into do not depend on
the order the caller listed them in.

Every input is padded to a length that depends on its own length alone (its bucket:
the next multiple of ``PAD_MULTIPLE`` on a CPU, ``ACCELERATOR_PAD_MULTIPLE`` on a GPU,
capped at ``max_length``), and a batch holds one bucket.
Why: under bf16 the padded length changes the arithmetic (a 251-token abstract
embedded alone, padded to 251, and next to a longer one, padded to 256, differs by up
to 7e-4 in cosine), so with padding to the longest row a document's score would depend
on which other documents shared its batch: on the query, the candidate order, and on
whether a run was resumed. Bucketed padding removes that part, at a cost of under
``PAD_MULTIPLE`` padding tokens per row. What remains is the batch's row count: matrix
products with another number of rows round differently (up to ~1e-3 in cosine under
bf16, ~3e-8 in fp32), which is why a bi-encoder's latency pass (reuse off, other
batches) is checked against the main pass within ``score_tolerance``, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

PAD_MULTIPLE = 32
"""Bucket width on a CPU, where every padding token costs its share of the work."""

ACCELERATOR_PAD_MULTIPLE = 128
"""Bucket width on a GPU, where padding is nearly free and each batch costs a fixed
launch overhead: narrow buckets split a 100-candidate call into ~16 small batches and made
the cross-encoder slower than ``CrossEncoder.predict`` on an H200 (benchmarks/README.md)."""

ACCELERATOR_ROW_MULTIPLE = 8
"""On a GPU a batch's row count is rounded up to this (filler rows, results dropped), so
the kernels see few distinct shapes: each new shape costs a one-off kernel selection."""

LENGTH_CACHE_ENTRIES = 1_000_000
"""Token counts kept per model (a few tens of MB): candidate lists overlap across queries."""


def token_lengths(tokenizer: Any, texts: Sequence[str],
                  pair_with: Sequence[str] | None = None) -> list[int]:
    """Untruncated token counts, special tokens included; ``pair_with`` gives text pairs.

    Without a text tokenizer (some multimodal models) a count of ~4 characters per token
    stands in; it is only used to sort, and to estimate truncation.
    """
    if not texts:
        return []
    if tokenizer is None or not callable(tokenizer):
        if pair_with is None:
            return [len(t) // 4 + 2 for t in texts]
        return [(len(a) + len(b)) // 4 + 3 for a, b in zip(pair_with, texts, strict=True)]
    kwargs = {"add_special_tokens": True, "truncation": False, "padding": False,
              "return_attention_mask": False, "return_token_type_ids": False, "verbose": False}
    if pair_with is None:
        encoded = tokenizer(list(texts), **kwargs)
    else:
        encoded = tokenizer(list(pair_with), list(texts), **kwargs)
    return [len(ids) for ids in encoded["input_ids"]]


class TokenCounter:
    """Untruncated token counts of single texts, each text tokenized once per model.

    A pair's count is its two texts' counts plus the special tokens the tokenizer adds to
    a pair: a fast tokenizer encodes each sequence of a pair on its own and only then joins
    them with its template, so this equals tokenizing the pair (checked in the tests), and
    a cross-encoder call tokenizes its query once and each candidate once per run instead
    of every (query, candidate) pair again before the batches are tokenized for the model.
    """

    def __init__(self, tokenizer: Any, max_entries: int = LENGTH_CACHE_ENTRIES) -> None:
        self.tokenizer = tokenizer if tokenizer is not None and callable(tokenizer) else None
        self.max_entries = max_entries
        self._counts: dict[str, int] = {}
        specials = getattr(self.tokenizer, "num_special_tokens_to_add", None)
        self._single = specials(pair=False) if specials else 0
        self._pair = specials(pair=True) if specials else 0

    def singles(self, texts: Sequence[str]) -> list[int]:
        """Counts with special tokens, as ``token_lengths(tokenizer, texts)`` gives them."""
        if self.tokenizer is None:
            return token_lengths(None, texts)
        return [n + self._single for n in self._content(texts)]

    def pairs(self, first: str, texts: Sequence[str]) -> list[int]:
        """Counts of ``(first, text)`` pairs, special tokens included."""
        if self.tokenizer is None:
            return token_lengths(None, texts, pair_with=[first] * len(texts))
        (head,) = self._content([first])
        return [head + n + self._pair for n in self._content(texts)]

    def _content(self, texts: Sequence[str]) -> list[int]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._counts))
        fresh: dict[str, int] = {}
        if missing:
            encoded = self.tokenizer(missing, add_special_tokens=False, truncation=False,
                                     padding=False, return_attention_mask=False,
                                     return_token_type_ids=False, verbose=False)
            fresh = dict(zip(missing, (len(ids) for ids in encoded["input_ids"]),
                             strict=True))
        counts = [fresh[t] if t in fresh else self._counts[t] for t in texts]
        self._counts.update(fresh)
        while len(self._counts) > self.max_entries:
            self._counts.pop(next(iter(self._counts)))  # the oldest first
        return counts


def padded_length(length: int, max_length: int, multiple: int = PAD_MULTIPLE) -> int:
    """The length an input of ``length`` tokens is padded to: its bucket's upper bound."""
    length = max(1, min(length, max_length))
    return min(max_length, -(-length // multiple) * multiple)


def plan_batches(lengths: Sequence[int], keys: Sequence[Any], *, max_length: int,
                 token_budget: int, max_rows: int,
                 multiple: int = PAD_MULTIPLE) -> list[list[int]]:
    """Group positions into batches of one padding bucket each, longest bucket first.

    A batch's cost is ``rows x bucket length``. A batch grows while that stays within
    ``token_budget`` and it has at most ``max_rows`` rows; a single row always fits.
    """
    if len(lengths) != len(keys):
        raise ValueError("lengths and keys differ in length")
    if token_budget < 1 or max_rows < 1:
        raise ValueError("token_budget and max_rows must be positive")
    bucket = [padded_length(n, max_length, multiple) for n in lengths]
    order = sorted(range(len(lengths)),
                   key=lambda i: (-bucket[i], -min(lengths[i], max_length), keys[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for position in order:
        if current and (bucket[position] != bucket[current[0]]
                        or (len(current) + 1) * bucket[position] > token_budget
                        or len(current) >= max_rows):
            batches.append(current)
            current = []
        current.append(position)
    if current:
        batches.append(current)
    return batches


def pad_features(features: dict[str, Any], length: int, pad_token_id: int | None,
                 side: str = "right") -> dict[str, Any]:
    """Pad a tokenized batch's (rows, seq) tensors to ``length`` columns.

    ``input_ids`` take the tokenizer's pad id, everything else (attention mask, token
    type ids) zeros, so the model sees ordinary padding. Longer batches are left alone.
    """
    padded = dict(features)
    for key, value in features.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[1] >= length:
            continue
        fill = (pad_token_id or 0) if key == "input_ids" else 0
        extra = value.new_full((value.shape[0], length - value.shape[1]), fill)
        padded[key] = torch.cat([extra, value] if side == "left" else [value, extra], dim=1)
    return padded


def count_truncated(lengths: Sequence[int], max_length: int) -> int:
    """How many inputs are longer than the model reads."""
    return sum(1 for n in lengths if n > max_length)


def pad_rows(features: dict[str, Any], rows: int) -> dict[str, Any]:
    """Repeat a batch's last row until it has ``rows`` rows (filler whose results the
    caller drops). Row-independent models (every transformer encoder without batch
    statistics) give the real rows the same results either way, up to float rounding."""
    have = next((v.shape[0] for v in features.values()
                 if isinstance(v, torch.Tensor) and v.dim() >= 1), rows)
    if have >= rows or have == 0:
        return features
    padded = dict(features)
    for key, value in features.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == have:
            filler = value[-1:].expand(rows - value.shape[0], *value.shape[1:])
            padded[key] = torch.cat([value, filler], dim=0)
    return padded
