"""Length-sorted token-budget batches and padding buckets (no model is loaded)."""

from __future__ import annotations

import torch

from rerank_eval.rerankers.local.batching import (
    TokenCounter,
    pad_rows,
    padded_length,
    plan_batches,
    token_lengths,
)


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


def test_accelerator_buckets_are_wider() -> None:
    lengths = [40, 90, 130, 200, 300, 510]
    narrow = plan_batches(lengths, [str(i) for i in range(6)], max_length=512,
                          token_budget=64 * 512, max_rows=256)
    wide = plan_batches(lengths, [str(i) for i in range(6)], max_length=512,
                        token_budget=64 * 512, max_rows=256, multiple=128)
    assert len(narrow) == 6  # six buckets of 32
    assert [sorted(b) for b in wide] == [[5], [4], [2, 3], [0, 1]]  # 512, 384, 256, 128


def test_pair_counts_from_single_texts_equal_tokenizing_the_pair() -> None:
    from transformers import AutoTokenizer

    from rerank_eval.rerankers.local.loading import default_biencoder_source

    tokenizer = AutoTokenizer.from_pretrained(default_biencoder_source())
    texts = ["Vitamin D deficiency and bone density in adults (n=1,204).",
             "Über-expression of BRCA1—a “tumour suppressor”—in 𝛼-cells?", "",
             " ".join(["mitochondrial"] * 700), "A short one."]
    query = "does vitamin D affect bone health?"
    counter = TokenCounter(tokenizer, max_entries=3)  # small: entries are evicted and recounted
    for _ in range(2):
        assert counter.pairs(query, texts) == token_lengths(tokenizer, texts,
                                                            pair_with=[query] * len(texts))
        assert counter.singles(texts) == token_lengths(tokenizer, texts)
    assert len(counter._counts) == 3


def test_filler_rows_repeat_the_last_row_and_leave_the_others_alone() -> None:
    features = {"input_ids": torch.tensor([[1, 2, 3], [4, 5, 0]]),
                "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]), "text_keys": ["a"]}
    padded = pad_rows(features, 8)
    assert padded["input_ids"].shape == (8, 3)
    assert torch.equal(padded["input_ids"][:2], features["input_ids"])
    assert torch.equal(padded["attention_mask"][7], torch.tensor([1, 1, 0]))
    assert padded["text_keys"] == ["a"]
    assert pad_rows(features, 2) is features
