"""Length-sorted, token-budget batches for local models, and truncation counting.

Inputs are tokenized once without truncation to learn their true lengths. Sorting by
length (longest first) keeps padding small; the token budget lets batches of short
inputs hold more rows than batches of long ones, for the same memory. Ties in length
are broken by a content key, so the batches a set of inputs falls into do not depend on
the order the caller listed them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


def plan_batches(lengths: Sequence[int], keys: Sequence[Any], *, max_length: int,
                 token_budget: int, max_rows: int) -> list[list[int]]:
    """Group positions into batches, longest first.

    A batch's cost is ``rows x longest row`` (rows are padded to the longest, which is
    capped at ``max_length``). A batch grows while that stays within ``token_budget``
    and it has at most ``max_rows`` rows; a single row always fits.
    """
    if len(lengths) != len(keys):
        raise ValueError("lengths and keys differ in length")
    if token_budget < 1 or max_rows < 1:
        raise ValueError("token_budget and max_rows must be positive")
    order = sorted(range(len(lengths)),
                   key=lambda i: (-min(lengths[i], max_length), keys[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    padded = 0
    for position in order:
        length = max(1, min(lengths[position], max_length))
        if current and ((len(current) + 1) * padded > token_budget or len(current) >= max_rows):
            batches.append(current)
            current = []
        if not current:
            padded = length  # longest first: the first row sets the batch's padded length
        current.append(position)
    if current:
        batches.append(current)
    return batches


def count_truncated(lengths: Sequence[int], max_length: int) -> int:
    """How many inputs are longer than the model reads."""
    return sum(1 for n in lengths if n > max_length)
