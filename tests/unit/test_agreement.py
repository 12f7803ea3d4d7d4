"""Top-k overlap, RBO_ext and their bootstrap intervals on cases worked by hand."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import pytest

from rerank_eval.agreement import (
    CSV_COLUMNS,
    overlap_name,
    pairs,
    pairwise_agreement,
    rbo,
    rbo_name,
    top_k_overlap,
    write_agreement_csv,
)
from rerank_eval.records import FIRST_STAGE
from rerank_eval.stats import bootstrap_mean_ci
from rerank_eval.store import write_trec
from rerank_eval.trec import read_rankings

P = 0.9


def rbo_by_definition(a: list[str], b: list[str], p: float, depth: int = 4000) -> float:
    """RBO_ext from its definition, not the closed form: (1-p) Σ_d p^(d-1) A_d summed far
    out, with the agreement A_d extrapolated as the paper says (Webber et al. 2010, §4):
    past the shorter list's end s, its unseen items agree at its rate X_s / s; past the
    longer list's end l, the agreement stays at A_l."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    s, n = len(short), len(long)

    def seen(d: int) -> int:
        return len(set(short[:d]) & set(long[:d]))

    x_s = seen(s)
    agreement = []
    for d in range(1, n + 1):
        extra = x_s * (d - s) / s if d > s else 0.0
        agreement.append((seen(d) + extra) / d)
    total = 0.0
    for d in range(1, depth + 1):
        a_d = agreement[d - 1] if d <= n else agreement[-1]
        total += (1 - p) * p ** (d - 1) * a_d
    return total


def shuffled(items: list[str], seed: int) -> list[str]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


# -- RBO --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 10, 100, 1000])
def test_identical_rankings_have_rbo_one(n: int) -> None:
    ranking = [f"d{i}" for i in range(n)]
    assert rbo(ranking, list(ranking), P) == 1.0


def test_disjoint_rankings_have_rbo_zero() -> None:
    assert rbo(["a", "b", "c"], ["x", "y", "z"], P) == 0.0
    assert rbo(["a", "b"], ["x", "y", "z", "w"], P) == 0.0


def test_the_top_two_swapped_worked_by_hand() -> None:
    # X = 0, 2, 3, so A = 0, 1, 1 (Eq. 30):
    # (1-p)/p (0·p + 1·p² + 1·p³) + 1·p³ = (0.81 + 0.729)/9 + 0.729 = 0.171 + 0.729
    assert rbo(["a", "b", "c"], ["b", "a", "c"], P) == pytest.approx(0.9, abs=1e-12)


def test_a_five_item_reordering_worked_by_hand() -> None:
    # X = 0, 1, 2, 4, 5; A = 0, 1/2, 2/3, 1, 1:
    # (1/9)(0.5·0.81 + (2/3)·0.729 + 0.6561 + 0.59049) + 0.59049 = 0.23751 + 0.59049
    assert rbo(["1", "2", "3", "4", "5"], ["2", "3", "4", "1", "5"], P) == pytest.approx(
        0.828, abs=1e-12)


def test_uneven_lengths_worked_by_hand() -> None:
    # S = [a, b] (s = 2), L = [a, c, b, d] (l = 4): X = 1, 1, 2, 2; X_s = 1, X_l = 2.
    # Σ X_d/d p^d = 0.9 + 0.405 + 0.486 + 0.32805 = 2.11905
    # Σ_{d=3,4} X_s (d-s)/(s d) p^d = 0.1215 + 0.164025 = 0.285525
    # (1/9)(2.404575) + ((2 - 1)/4 + 1/2) p⁴ = 0.267175 + 0.492075 = 0.75925 (Eq. 32)
    assert rbo(["a", "b"], ["a", "c", "b", "d"], P) == pytest.approx(0.75925, abs=1e-12)


def test_a_prefix_of_the_longer_ranking_agrees_fully() -> None:
    assert rbo(["a", "b"], ["a", "b", "c", "d"], P) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_the_closed_form_equals_the_definitions_sum(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"d{i}" for i in range(40)]
    a = rng.sample(pool, rng.randint(1, 25))
    b = rng.sample(pool, rng.randint(1, 25))
    assert rbo(a, b, P) == pytest.approx(rbo_by_definition(a, b, P), abs=1e-10)
    assert rbo(a, b, 0.5) == pytest.approx(rbo_by_definition(a, b, 0.5), abs=1e-10)


@pytest.mark.parametrize("seed", range(20))
def test_rbo_is_symmetric_and_bounded(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"d{i}" for i in range(30)]
    a = rng.sample(pool, rng.randint(0, 30))
    b = rng.sample(pool, rng.randint(0, 30))
    assert rbo(a, b, P) == rbo(b, a, P)
    assert 0.0 <= rbo(a, b, P) <= 1.0


def test_disagreement_at_the_top_costs_more_than_at_the_bottom() -> None:
    ranking = [f"d{i}" for i in range(20)]
    top = ["d1", "d0", *ranking[2:]]
    bottom = [*ranking[:18], "d19", "d18"]
    assert rbo(ranking, top, P) < rbo(ranking, bottom, P) < 1.0


def test_empty_rankings() -> None:
    assert rbo([], [], P) == 1.0
    assert rbo([], ["a"], P) == 0.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="once"):
        rbo(["a", "a"], ["a"], P)
    for p in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="p must be"):
            rbo(["a"], ["a"], p)


def test_the_rbo_package_agrees_where_installed() -> None:
    package = pytest.importorskip("rbo")
    rng = random.Random(7)
    pool = [f"d{i}" for i in range(50)]
    for _ in range(20):
        a = rng.sample(pool, rng.randint(1, 30))
        b = rng.sample(pool, rng.randint(1, 30))
        theirs = package.RankingSimilarity(a, b).rbo_ext(p=P)
        assert rbo(a, b, P) == pytest.approx(theirs, abs=1e-9)


# -- top-k overlap ----------------------------------------------------------------------------


def test_top_k_overlap_counts_the_shared_top_k() -> None:
    a = [f"d{i}" for i in range(20)]
    b = ["x", "y", *a[:8], *a[10:]]  # top 10 of b holds 8 of a's top 10
    assert top_k_overlap(a, b, 10) == pytest.approx(0.8)
    assert top_k_overlap(a, shuffled(a[:10], 1) + a[10:], 10) == 1.0  # order inside ignored
    assert top_k_overlap(a, list(reversed(a)), 10) == 0.0
    assert top_k_overlap(a, b, 10) == top_k_overlap(b, a, 10)


def test_top_k_overlap_of_short_rankings() -> None:
    # both shorter than k: divided by the longer length, so equal sets are 1
    assert top_k_overlap(["a", "b", "c"], ["c", "a", "b"], 10) == 1.0
    # a short list inside a longer one is not full agreement
    assert top_k_overlap(["a", "b"], ["a", "b", "c", "d"], 10) == pytest.approx(0.5)
    assert top_k_overlap([], [], 10) == 1.0
    assert top_k_overlap([], ["a"], 10) == 0.0
    with pytest.raises(ValueError):
        top_k_overlap(["a"], ["a"], 0)


# -- bootstrap intervals ----------------------------------------------------------------------


def test_bootstrap_interval_holds_the_mean_and_is_seeded() -> None:
    rng = random.Random(3)
    values = [rng.random() for _ in range(150)]
    mean = sum(values) / len(values)
    low, high = bootstrap_mean_ci(values, n_resamples=2000, seed=11)
    assert low < mean < high
    assert high - low < 0.2
    assert (low, high) == bootstrap_mean_ci(values, n_resamples=2000, seed=11)
    assert (low, high) != bootstrap_mean_ci(values, n_resamples=2000, seed=12)


def test_bootstrap_interval_of_constant_or_no_values() -> None:
    assert bootstrap_mean_ci([0.7] * 30) == (pytest.approx(0.7), pytest.approx(0.7))
    assert bootstrap_mean_ci([0.4]) == (0.4, 0.4)
    assert all(math.isnan(v) for v in bootstrap_mean_ci([]))


def test_bootstrap_interval_on_many_queries_is_batched() -> None:
    rng = random.Random(5)
    values = [rng.random() for _ in range(50_000)]  # more resampled values than one batch
    low, high = bootstrap_mean_ci(values, n_resamples=200, seed=1)
    assert low < sum(values) / len(values) < high


# -- rankings of a run folder and the pairwise table ----------------------------------------


def test_read_rankings_is_in_trec_eval_order(tmp_path: Path) -> None:
    path = tmp_path / "run.trec"
    run = {"q2": {"a": 1.0, "b": 3.0, "c": 1.0}, "q1": {"x": 0.5, "y": 0.25}}
    write_trec(path, run, tag="t")
    assert read_rankings(path) == {"q1": ["x", "y"], "q2": ["b", "c", "a"]}
    # file order does not matter: ties go by doc id descending, as trec_eval does
    path.write_text("q2 Q0 a 1 1.0 t\nq2 Q0 c 2 1.0 t\nq2 Q0 b 3 3.0 t\n")
    assert read_rankings(path) == {"q2": ["b", "c", "a"]}
    assert read_rankings(tmp_path / "absent.trec") == {}
    path.write_text("q1 Q0 a 1 nan-ish t\n")
    with pytest.raises(ValueError, match=r"run\.trec:1: score"):
        read_rankings(path)


def test_pairs_put_each_reranker_against_the_first_stage_first() -> None:
    assert pairs([FIRST_STAGE, "a", "b", "c"]) == [
        ("a", FIRST_STAGE), ("b", FIRST_STAGE), ("c", FIRST_STAGE),
        ("a", "b"), ("a", "c"), ("b", "c")]
    assert pairs(["a", "b"]) == [("a", "b")]


def test_pairwise_agreement_over_the_queries_both_ranked(tmp_path: Path) -> None:
    docs = [f"d{i}" for i in range(12)]
    first = {f"q{i}": list(docs) for i in range(6)}
    same = {q: list(r) for q, r in first.items()}
    other = {q: shuffled(r, i) for i, (q, r) in enumerate(first.items())}
    del other["q5"]  # a failed query: left out of that reranker's pairs
    other["q4"] = []  # no candidates: left out too
    rows = pairwise_agreement("toy", {FIRST_STAGE: first, "same": same, "other": other},
                              n_resamples=500, seed=3)
    by_key = {(r.a, r.b, r.measure): r for r in rows}
    assert len(rows) == 6
    assert [r.n_queries for r in rows] == [6, 6, 4, 4, 4, 4]
    identical = by_key[("same", FIRST_STAGE, rbo_name(P))]
    assert (identical.mean, identical.ci_low, identical.ci_high) == (1.0, 1.0, 1.0)
    shuffled_rbo = by_key[("other", FIRST_STAGE, rbo_name(P))]
    expected = [rbo(first[q], other[q], P) for q in ("q0", "q1", "q2", "q3")]
    assert shuffled_rbo.mean == pytest.approx(sum(expected) / 4)
    assert shuffled_rbo.ci_low <= shuffled_rbo.mean <= shuffled_rbo.ci_high
    assert by_key[("same", "other", overlap_name(10))].mean == by_key[
        ("other", FIRST_STAGE, overlap_name(10))].mean
    assert rows == pairwise_agreement("toy", {FIRST_STAGE: first, "same": same,
                                              "other": other}, n_resamples=500, seed=3)

    path = tmp_path / "agreement.csv"
    write_agreement_csv(path, rows)
    with path.open() as handle:
        read = list(csv.DictReader(handle))
    assert tuple(read[0]) == CSV_COLUMNS
    assert [(r["a"], r["b"], r["measure"]) for r in read] == [(r.a, r.b, r.measure)
                                                               for r in rows]
    assert float(read[3]["mean"]) == rows[3].mean
    assert not list(tmp_path.glob(".*.tmp"))
