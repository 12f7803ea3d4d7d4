"""The price table: every entry dated and sourced; costs only from reported usage."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rerank_eval import pricing
from rerank_eval.pricing import Price, find_price, override_price, price_table

TABLE = Path(pricing.__file__).with_name("pricing.toml")


def test_every_entry_has_price_unit_date_and_source() -> None:
    entries = tomllib.loads(TABLE.read_text())["price"]
    assert entries
    for entry in entries:
        assert set(entry) == {"provider", "model", "usd", "per", "unit", "date", "source",
                              "confidence"}
        assert entry["unit"] in ("token", "search_unit")
        assert entry["date"][:4].isdigit() and len(entry["source"]) > 20
        assert entry["confidence"] in ("primary", "secondary")


def test_lookups() -> None:
    assert find_price("cohere", "rerank-v3.5").usd == 2.0
    assert find_price("voyage", "rerank-2-lite").usd == 0.02
    assert find_price("mixedbread", "mixedbread-ai/mxbai-rerank-base-v1").unit == "token"
    # unconfirmed or conflicting: no entry, so no cost
    assert find_price("jina", "jina-reranker-v2-base-multilingual") is None
    assert find_price("cohere", "rerank-v4.0-pro") is None
    assert find_price("cohere", None) is None


def test_cost_needs_reported_usage() -> None:
    per_search = find_price("cohere", "rerank-v3.5")
    assert per_search.cost(tokens=None, search_units=3) == pytest.approx(0.006)
    assert per_search.cost(tokens=1000, search_units=None) is None
    per_token = find_price("voyage", "rerank-2.5")
    assert per_token.cost(tokens=2_000_000, search_units=None) == pytest.approx(0.10)
    assert per_token.cost(tokens=None, search_units=1) is None


def test_user_price_file_wins(monkeypatch, tmp_path) -> None:
    extra = tmp_path / "prices.toml"
    extra.write_text('[[price]]\nprovider = "jina"\nmodel = "jina-*"\nusd = 0.02\n'
                     'per = 1_000_000\nunit = "token"\ndate = "2026-01"\nsource = "our contract"\n')
    monkeypatch.setenv("RERANK_EVAL_PRICES", str(extra))
    assert find_price("jina", "jina-reranker-v3").source == "our contract"
    assert len(price_table()) == len(pricing._read(TABLE)) + 1


def test_overrides() -> None:
    assert override_price("x", "m", per_1m_tokens=1.0).cost(tokens=500_000,
                                                            search_units=None) == 0.5
    assert override_price("x", "m") is None
    with pytest.raises(ValueError):
        override_price("x", "m", per_1m_tokens=1.0, per_1k_search_units=1.0)
    with pytest.raises(ValueError):
        Price("x", "m", 1.0, 1000, "request", "d", "s")


def test_describe() -> None:
    assert find_price("cohere", "rerank-v3.5").describe().startswith("$2 per 1K search units")
