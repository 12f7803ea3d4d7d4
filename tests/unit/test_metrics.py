"""Metric parity with pytrec_eval (trec_eval semantics), ties included."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.trec import pytrec_reference, read_trec

from rerank_eval.metrics import MeasureError, evaluate
from rerank_eval.store import write_trec


def test_hand_built_case_with_ties_matches_trec_eval_by_hand() -> None:
    # All three documents tie; trec_eval ranks ties by doc id descending: c, b, a.
    qrels = {"q1": {"a": 1, "b": 2}}
    run = {"q1": {"a": 0.5, "b": 0.5, "c": 0.5}}
    result = evaluate(qrels, run)
    assert result.aggregate["RR@10"] == pytest.approx(0.5)  # b at rank 2
    idcg = 2 + 1 / 1.584962500721156
    dcg = 2 / 1.584962500721156 + 1 / 2
    assert result.aggregate["nDCG@10"] == pytest.approx(dcg / idcg)
    assert result.aggregate["R@10"] == pytest.approx(1.0)


def test_rr_at_10_ignores_a_relevant_document_beyond_rank_10() -> None:
    qrels = {"q": {"d11": 1}}
    run = {"q": {f"d{i:02d}": 100.0 - i for i in range(1, 20)}}
    assert evaluate(qrels, run).aggregate["RR@10"] == 0.0
    assert evaluate(qrels, run, ["RR"]).aggregate["RR"] == pytest.approx(1 / 11)


def test_tie_at_the_rank_10_boundary_is_cut_in_trec_eval_order() -> None:
    # Nine clear winners, then a tie between 'a' (relevant) and 'z' for rank 10:
    # trec_eval puts 'z' (descending id) at rank 10, so RR@10 is 0.
    run = {"q": {**{f"top{i}": 10.0 + i for i in range(9)}, "a": 1.0, "z": 1.0}}
    qrels = {"q": {"a": 1}}
    assert evaluate(qrels, run).aggregate["RR@10"] == 0.0
    assert pytrec_reference(qrels, run)["RR@10"]["q"] == 0.0


def test_random_runs_with_many_ties_equal_pytrec_eval_on_the_written_file(tmp_path: Path) -> None:
    rng = random.Random(7)
    qrels, run = {}, {}
    for q in range(60):
        docs = [f"d{rng.randrange(500)}" for _ in range(120)]
        run[f"q{q}"] = {d: float(rng.choice([0.0, 0.25, 0.5, 1.0, rng.random()])) for d in docs}
        judged = [*rng.sample(sorted(run[f"q{q}"]), 8), f"unretrieved{q}"]
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 2, 3]) for d in judged}
    path = tmp_path / "run.trec"
    write_trec(path, run, tag="test")
    from_file = read_trec(path)
    ours = evaluate(qrels, from_file)
    reference = pytrec_reference(qrels, from_file)
    for measure, per_query in reference.items():
        for qid, value in per_query.items():
            assert ours.per_query[measure][qid] == pytest.approx(value, abs=1e-9), (measure, qid)
        mean = sum(per_query.values()) / len(per_query)
        assert ours.aggregate[measure] == pytest.approx(mean, abs=1e-9)
    # In-memory scores and the file round-trip exactly.
    assert evaluate(qrels, run).aggregate == ours.aggregate


def test_average_is_over_queries_in_both_run_and_qrels() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 1.0}, "q3": {"b": 1.0}}
    result = evaluate(qrels, run)
    assert set(result.per_query["nDCG@10"]) == {"q1"}
    assert result.aggregate["nDCG@10"] == 1.0


def test_unknown_measure_is_a_clear_error() -> None:
    with pytest.raises(MeasureError, match="nDCG@ten"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["nDCG@ten"])


def test_judged_at_10_counts_trec_eval_top_10() -> None:
    """Judged@k: the share of the top k with a label (0 included), the top k as trec_eval
    orders it (ties by doc id descending; ir-measures' own provider breaks them ascending)."""
    qrels = {"q1": {"b": 0, "x": 1}}
    run = {"q1": {"a": 1.0, "b": 1.0, "c": 0.5}}
    result = evaluate(qrels, run, ["Judged@1", "Judged@10"])
    assert result.per_query["Judged@1"] == {"q1": 1.0}  # b before a
    assert result.per_query["Judged@10"] == {"q1": 1 / 3}  # of the 3 ranked
    full = {"q1": {f"d{i}": float(i) for i in range(20)}}
    assert evaluate({"q1": {"d19": 1, "d18": 0, "d0": 1}}, full,
                    ["Judged@10"]).aggregate["Judged@10"] == 0.2
