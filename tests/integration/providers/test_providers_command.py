"""``rerank-eval providers`` (and ``--json``) is generated from the registry: every kind,
every env var its code reads, its options and prices."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rerank_eval.cli import app
from rerank_eval.rerankers import known_kinds
from rerank_eval.rerankers.registry import SHARED_ENV_VARS


def listing() -> dict:
    result = CliRunner().invoke(app, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_lists_every_kind_with_what_it_reads() -> None:
    data = listing()
    by_kind = {k["kind"]: k for k in data["kinds"]}
    assert set(by_kind) == {k.kind for k in known_kinds()}
    for kind in known_kinds():
        assert by_kind[kind.kind]["env_vars"] == list(kind.env_vars)
        assert by_kind[kind.kind]["cost_basis"] == kind.cost_basis
    # the names that used to be missing from the listing
    assert {"COHERE_API_KEY", "CO_API_KEY"} <= set(by_kind["cohere"]["env_vars"])
    assert {"MXBAI_API_KEY", "MIXEDBREAD_API_KEY", "MXBAI_BASE_URL",
            "MIXEDBREAD_BASE_URL"} <= set(by_kind["mixedbread"]["env_vars"])
    assert by_kind["infron"]["env_vars"] == [
        "INFRON_API_KEY", "ONEROUTER_API_KEY", "RERANK_API_KEY",
        "INFRON_BASE_URL", "ONEROUTER_BASE_URL", "RERANK_BASE_URL"]
    for preset in ("mixroute", "searchrouter", "onerouter", "vllm", "infinity"):
        assert {"RERANK_API_KEY", "RERANK_BASE_URL"} <= set(by_kind[preset]["env_vars"])
    assert data["shared_env_vars"] == SHARED_ENV_VARS
    assert "RERANK_EVAL_NO_CACHE" in data["shared_env_vars"]


def test_json_prices_and_options() -> None:
    by_kind = {k["kind"]: k for k in listing()["kinds"]}
    cohere = by_kind["cohere"]
    assert cohere["cost_basis"] == "usage" and cohere["price_provider"] == "cohere"
    assert any(p["model"] == "rerank-v3.5" and p["unit"] == "search_unit"
               for p in cohere["prices"])
    assert {"api_key", "api_version", "rank_fields"} <= set(cohere["options"])
    assert by_kind["jina"]["prices"] == []  # unconfirmed: no dated price
    assert by_kind["bm25"]["cost_basis"] == "hardware"
    assert {p["device"] for p in by_kind["cross-encoder"]["prices"]} == {"cpu", "gpu"}


def test_table_shows_the_same_env_vars() -> None:
    result = CliRunner().invoke(app, ["providers"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for name in ("CO_API_KEY", "MIXEDBREAD_API_KEY", "ONEROUTER_BASE_URL", "SR_API_KEY",
                 "RERANK_EVAL_NO_CACHE"):
        assert name in result.output
    assert "busy time at $" in result.output
