"""The report's analysis: pure functions on numbers with a known answer, and recorded facts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rerank_eval.report.analysis import analyse, pareto_frontier, project_load

OLD_RUN = Path(__file__).resolve().parents[2] / "data" / "run-v0-unversioned"


def test_pareto_frontier_on_known_points() -> None:
    points = [
        (1.0, 0.50),   # 0 frontier: cheapest with 0.50
        (2.0, 0.70),   # 1 frontier
        (3.0, 0.60),   # 2 dominated by 1 (cheaper and better)
        (2.0, 0.70),   # 3 identical to 1: neither dominates the other
        (0.5, 0.40),   # 4 frontier: the cheapest
        (1.0, 0.45),   # 5 dominated by 0 (same cost, worse)
        (4.0, 0.70),   # 6 dominated by 1 (same quality, dearer)
        (5.0, 0.90),   # 7 frontier: the best
    ]
    assert pareto_frontier(points) == [0, 1, 3, 4, 7]
    assert pareto_frontier([]) == []
    assert pareto_frontier([(1.0, 1.0)]) == [0]


def test_load_projection_on_constructed_numbers() -> None:
    p = project_load(10, cost_per_query_usd=0.002, latency_mean_ms=250.0,
                     latency_p95_ms=1000.0, units_per_query=1.5, unit="search units")
    assert p.queries_per_day == 864_000
    assert p.cost_per_day_usd == pytest.approx(1_728.0)
    assert p.cost_per_month_usd == pytest.approx(51_840.0)
    assert p.units_per_day == pytest.approx(1_296_000)
    assert (p.in_flight_mean, p.in_flight_p95) == (3, 10)  # ceil(2.5), 10 x 1 s
    exact = project_load(4, cost_per_query_usd=None, latency_mean_ms=500.0,
                         latency_p95_ms=None)
    assert exact.in_flight_mean == 2  # exactly 2 in flight, not rounded up to 3
    assert exact.cost_per_day_usd is None and exact.cost_per_month_usd is None
    assert exact.in_flight_p95 is None
    slow = project_load(0.01, cost_per_query_usd=0.0, latency_mean_ms=5.0,
                        latency_p95_ms=5.0)
    assert slow.in_flight_mean == 1 and slow.cost_per_day_usd == 0.0
    with pytest.raises(ValueError):
        project_load(0, cost_per_query_usd=1.0, latency_mean_ms=1.0, latency_p95_ms=1.0)


def test_the_price_shown_is_the_one_recorded_never_looked_up(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    summary = json.loads((run / "summary.json").read_text())
    cohere = summary["results"][2]
    assert cohere["spec"] == "cohere:rerank-v3.5"  # a spec the price table knows
    cohere["price"] = None
    (run / "summary.json").write_text(json.dumps(summary))
    systems = {s.name: s for s in analyse(run, n_resamples=200).datasets[0].systems}
    cost = systems["cohere:rerank-v3.5"].cost
    assert cost.price is None and cost.cost_usd == 0.012
    assert systems["bm25"].cost.price.text == "$0.0816 per cpu hour"


def test_the_prices_used_are_named_each_with_its_own_date() -> None:
    analysis = analyse(OLD_RUN, n_resamples=200)  # no price table recorded: the cells' prices
    text = analysis.price_table
    assert text.startswith("prices used: ")
    assert "cohere:rerank-v3.5: $2 per 1K search units, dated 2026-04" in text
    assert "$0.0816 per cpu hour (estimate), dated 2026-06-17" in text
    assert " to " not in text  # not a span of the table's dates
