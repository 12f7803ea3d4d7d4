"""A sweep's plan: what it refuses, and how many requests it expects to send."""

from __future__ import annotations

import pytest

from rerank_eval.load.sweep import SweepPlan


@pytest.mark.parametrize(("fields", "says"), [
    ({"mode": "burst", "levels": (1,), "requests_per_level": 1}, "mode"),
    ({"mode": "closed", "levels": (), "requests_per_level": 1}, "levels"),
    ({"mode": "closed", "levels": (1.5,), "requests_per_level": 1}, "whole numbers"),
    ({"mode": "open", "levels": (0.0,), "duration_s": 1.0}, "positive"),
    ({"mode": "closed", "levels": (1,)}, "request count per level or a duration"),
    ({"mode": "closed", "levels": (1,), "requests_per_level": 0}, "requests_per_level"),
    ({"mode": "open", "levels": (1.0,), "duration_s": -1.0}, "duration"),
    ({"mode": "open", "levels": (1.0,), "duration_s": 1.0, "max_in_flight": 0},
     "max_in_flight"),
])
def test_bad_plans_are_refused(fields: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        SweepPlan(**fields)


def test_planned_requests_include_the_warmup() -> None:
    closed = SweepPlan("closed", (1, 2, 4), requests_per_level=100, warmup=3)
    assert closed.planned_requests() == 3 * 103
    open_loop = SweepPlan("open", (2.0, 10.0), duration_s=30.0, warmup=1)
    assert open_loop.planned_requests() == 61 + 301
    capped = SweepPlan("open", (10.0,), duration_s=30.0, requests_per_level=50)
    assert capped.planned_requests() == 50
    assert SweepPlan("closed", (1,), duration_s=10.0).planned_requests() is None


def test_the_drain_bound_follows_the_duration_within_limits() -> None:
    assert SweepPlan("open", (1.0,), duration_s=1.0).drain_bound_s == 5.0
    assert SweepPlan("open", (1.0,), duration_s=30.0).drain_bound_s == 30.0
    assert SweepPlan("open", (1.0,), duration_s=600.0).drain_bound_s == 60.0
    assert SweepPlan("open", (1.0,), duration_s=600.0, drain_s=2.0).drain_bound_s == 2.0
