"""Splitting big candidate lists into requests and merging the scores back."""

from __future__ import annotations

import pytest

from rerank_eval.rerankers.remote.splitting import merge, slice_top_n, split_ranges
from rerank_eval.types import RankedResult


def test_no_split_when_small_or_unlimited() -> None:
    assert split_ranges(10, 10) == [range(10)]
    assert split_ranges(10, None) == [range(10)]
    assert split_ranges(0, 5) == [range(0)]


def test_even_contiguous_split() -> None:
    parts = split_ranges(10, 4)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert [i for p in parts for i in p] == list(range(10))
    assert all(len(p) <= 1000 for p in split_ranges(1001, 1000))


def test_slice_top_n() -> None:
    assert slice_top_n(None, range(5)) is None
    assert slice_top_n(3, range(5)) == 3
    assert slice_top_n(10, range(5)) == 5


def test_merge_maps_indices_and_sorts() -> None:
    parts = [(range(0, 3), [RankedResult(2, 0.5), RankedResult(0, 0.2), RankedResult(1, 0.1)]),
             (range(3, 5), [RankedResult(1, 0.9), RankedResult(0, 0.3)])]
    merged = merge(parts, None)
    assert [(r.index, r.relevance_score) for r in merged] == [
        (4, 0.9), (2, 0.5), (3, 0.3), (0, 0.2), (1, 0.1)]
    assert [r.index for r in merge(parts, 2)] == [4, 2]


def test_single_part_keeps_provider_order_on_ties() -> None:
    results = [RankedResult(1, 0.5), RankedResult(0, 0.5)]
    assert merge([(range(2), results)], None) == results


def test_bad_maximum() -> None:
    with pytest.raises(ValueError):
        split_ranges(5, 0)
