"""The glossary: every measure the brief names, two sentences each, and RBO's top weight."""

from __future__ import annotations

import math

import pytest

from rerank_eval.report.glossary import GLOSSARY, rbo_top_weight


def test_rbo_top_ten_weight_at_p_09_is_86_percent() -> None:
    assert rbo_top_weight(0.9, 10) == pytest.approx(0.8556, abs=1e-4)
    assert "86%" in next(t.what for t in GLOSSARY if t.name == "RBO")


@pytest.mark.parametrize(("p", "d"), [(0.9, 10), (0.8, 5), (0.95, 20)])
def test_rbo_top_weight_equals_the_sum_of_the_per_rank_weights(p: float, d: int) -> None:
    # RBO weighs the agreement at depth k by (1 - p) p^(k-1) / k summed over depths >= k
    # (the paper's Eq. 20); the share of the first d ranks is the sum of those weights.
    def rank_weight(rank: int) -> float:
        return (1 - p) / p * sum(p ** k / k for k in range(rank, 2000))

    assert rbo_top_weight(p, d) == pytest.approx(sum(rank_weight(r) for r in
                                                     range(1, d + 1)), abs=1e-9)
    assert math.isclose(sum(rank_weight(r) for r in range(1, 2000)), 1.0, abs_tol=1e-6)


def test_the_glossary_names_every_measure_with_what_and_when() -> None:
    assert [t.name for t in GLOSSARY] == ["nDCG@k", "RR@k", "R@k", "AP", "P@k", "Judged@k",
                                         "RBO"]
    for term in GLOSSARY:
        assert term.what.endswith(".") and term.when.endswith("."), term.name
        assert term.when.startswith(("Prefer", "Read")), term.name
