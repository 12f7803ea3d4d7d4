"""Durations and level lists of `rerank-eval load`: accepted forms, and errors that name
the option."""

from __future__ import annotations

import pytest

from rerank_eval.load.parsing import (
    OptionError,
    parse_concurrency_levels,
    parse_duration,
    parse_qps_levels,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), ("500ms", 0.5), ("45", 45.0),
    ("2.5", 2.5), (" 10S ", 10.0), ("1.5m", 90.0), (".5", 0.5),
])
def test_durations_in_every_accepted_form(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1", "0", "0s", "3 weeks", "10x", "1e3", "s"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(OptionError, match="--duration"):
        parse_duration(text)


def test_concurrency_levels_are_sorted_and_distinct() -> None:
    assert parse_concurrency_levels("8,1, 4,2,4") == [1, 2, 4, 8]


@pytest.mark.parametrize("text", ["", "1,,2", "1,two", "0,1", "1.5", "-2"])
def test_bad_concurrency_levels_name_the_option(text: str) -> None:
    with pytest.raises(OptionError, match="--concurrency"):
        parse_concurrency_levels(text)


def test_qps_levels_take_fractions() -> None:
    assert parse_qps_levels("10,2.5,5,5") == [2.5, 5.0, 10.0]


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "fast", "1;2"])
def test_bad_qps_levels_name_the_option(text: str) -> None:
    with pytest.raises(OptionError, match="--qps"):
        parse_qps_levels(text)
