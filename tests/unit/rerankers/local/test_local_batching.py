"""Length-sorted token-budget batches and padding buckets (no model is loaded)."""

from __future__ import annotations

from rerank_eval.rerankers.local.batching import padded_length, plan_batches


def test_batches_are_length_sorted_within_the_token_budget() -> None:
    lengths = [5, 300, 40, 300, 12, 256, 7]
    batches = plan_batches(lengths, [str(i) for i in range(len(lengths))],
                           max_length=256, token_budget=512, max_rows=4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [min(lengths[i], 256) for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)
    for batch in batches:
        padded = max(min(lengths[i], 256) for i in batch)
        assert len(batch) == 1 or len(batch) * padded <= 512
        assert len(batch) <= 4
        assert len({padded_length(lengths[i], 256) for i in batch}) == 1  # one bucket


def test_padding_buckets_depend_on_the_input_alone() -> None:
    assert [padded_length(n, 256) for n in (1, 31, 32, 33, 250, 256, 900)] == [
        32, 32, 32, 64, 256, 256, 256]
    assert padded_length(100, 100) == 100
