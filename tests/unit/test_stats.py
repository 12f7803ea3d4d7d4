"""Paired statistics on constructed cases with known answers."""

from __future__ import annotations

import random

import pytest

from rerank_eval.stats import holm, paired_comparison


def test_identical_systems_have_p_one_and_a_ci_containing_zero() -> None:
    values = {f"q{i}": random.Random(i).random() for i in range(50)}
    result = paired_comparison(values, dict(values))
    assert result.p_value == 1.0
    assert result.ci_low <= 0.0 <= result.ci_high
    assert (result.wins, result.ties, result.losses) == (0, 50, 0)


def test_a_system_better_on_every_query_has_a_small_p_and_a_positive_ci() -> None:
    rng = random.Random(3)
    baseline = {f"q{i}": rng.random() * 0.8 for i in range(40)}
    system = {q: v + 0.05 + rng.random() * 0.1 for q, v in baseline.items()}
    result = paired_comparison(system, baseline)
    assert result.p_value < 0.001
    assert 0.05 < result.ci_low < result.delta < result.ci_high < 0.15
    assert result.wins == 40 and result.losses == 0


def test_noise_around_zero_is_not_significant() -> None:
    rng = random.Random(11)
    baseline = {f"q{i}": rng.random() for i in range(200)}
    system = {q: v + rng.choice([-0.1, 0.1]) for q, v in baseline.items()}
    result = paired_comparison(system, baseline)
    assert result.p_value > 0.05
    assert result.ci_low < 0.0 < result.ci_high


def test_the_same_inputs_give_the_same_numbers() -> None:
    rng = random.Random(5)
    baseline = {f"q{i}": rng.random() for i in range(60)}
    system = {q: v + rng.gauss(0.02, 0.1) for q, v in baseline.items()}
    assert paired_comparison(system, baseline) == paired_comparison(system, baseline)
    assert paired_comparison(system, baseline, seed=1) != paired_comparison(system, baseline,
                                                                            seed=2)


def test_only_shared_queries_are_paired() -> None:
    result = paired_comparison({"a": 1.0, "b": 0.0, "c": 1.0}, {"a": 0.0, "b": 0.0, "z": 1.0})
    assert result.n_queries == 2 and result.wins == 1 and result.ties == 1


def test_holm_matches_the_textbook_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 x 0.8 caps at 1
    assert holm([]) == []
