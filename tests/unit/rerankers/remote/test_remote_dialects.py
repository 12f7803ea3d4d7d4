"""The dialects as pure functions: request bodies and answer reading, no HTTP at all."""

from __future__ import annotations

import pytest

from rerank_eval.rerankers.remote import dialect as read
from rerank_eval.rerankers.remote.dialect import Answer, MalformedAnswer, Parsed
from rerank_eval.rerankers.remote.providers.cohere import CohereDialect
from rerank_eval.rerankers.remote.providers.compatible import (
    GENERIC,
    PRESETS,
    WIRES,
    CompatibleDialect,
)
from rerank_eval.rerankers.remote.providers.jina import JinaDialect
from rerank_eval.rerankers.remote.providers.mixedbread import MixedbreadDialect
from rerank_eval.rerankers.remote.providers.tei import TeiDialect
from rerank_eval.rerankers.remote.providers.voyage import VoyageDialect
from rerank_eval.rerankers.spec import RerankerSpecError, parse_spec
from rerank_eval.types import Document

DOCS = [Document("a cat"), Document("a dog")]
FIELDS = [Document("a cat", fields={"title": "Cats"}), Document("a dog", fields={"title": "D"})]


def answer(data, **headers: str) -> Answer:
    return Answer(data, headers)


def test_cohere_v2_and_v1_bodies() -> None:
    v2 = CohereDialect.from_spec(parse_spec("cohere:m?max_tokens_per_doc=9&priority=1"))
    assert v2.build_body("q", DOCS, 1) == {"model": "m", "query": "q",
                                          "documents": ["a cat", "a dog"], "top_n": 1,
                                          "max_tokens_per_doc": 9, "priority": 1}
    v1 = CohereDialect.from_spec(parse_spec(
        "cohere:m?api_version=1&rank_fields=title&return_documents=true&max_chunks_per_doc=3"))
    assert v1.build_body("q", FIELDS, None) == {
        "model": "m", "query": "q", "rank_fields": ["title"], "return_documents": True,
        "max_chunks_per_doc": 3,
        "documents": [{"text": "a cat", "title": "Cats"}, {"text": "a dog", "title": "D"}]}
    extra = CohereDialect.from_spec(parse_spec("cohere:m", {"extra_body": {"x": 1}}))
    assert extra.build_body("q", DOCS, None)["x"] == 1


def test_cohere_parse_reads_search_units() -> None:
    d = CohereDialect(model="m")
    parsed = d.parse(answer({"results": [{"index": 1, "relevance_score": 0.5}],
                             "meta": {"billed_units": {"search_units": 2}}}))
    assert parsed == Parsed(pairs=[(1, 0.5)], search_units=2)
    assert d.parse(answer({"results": []})).search_units is None
    with pytest.raises(MalformedAnswer, match="search_units is not a non-negative number"):
        d.parse(answer({"results": [], "meta": {"billed_units": {"search_units": -1}}}))


def test_jina_always_sends_return_documents() -> None:
    assert JinaDialect(model="m").build_body("q", DOCS, 2) == {
        "model": "m", "query": "q", "documents": ["a cat", "a dog"], "top_n": 2,
        "return_documents": False}
    parsed = JinaDialect(model="m").parse(answer(
        {"results": [{"index": 0, "relevance_score": 1}], "usage": {"total_tokens": 7}}))
    assert parsed == Parsed(pairs=[(0, 1)], tokens=7)


def test_voyage_body_and_answer() -> None:
    d = VoyageDialect.from_spec(parse_spec("voyage:m?truncation=false&return_documents=1"))
    assert d.build_body("q", DOCS, 1) == {"query": "q", "documents": ["a cat", "a dog"],
                                         "model": "m", "top_k": 1, "truncation": False,
                                         "return_documents": True}
    with pytest.raises(MalformedAnswer, match="'data' is not a list of results"):
        d.parse(answer({"results": []}))


def test_mixedbread_rank_fields_and_score_key() -> None:
    d = MixedbreadDialect.from_spec(parse_spec("mixedbread:m", {"rank_fields": ["title"]}))
    body = d.build_body("q", FIELDS, 1)
    assert body["input"][0] == {"text": "a cat", "title": "Cats"}
    assert body["rank_fields"] == ["title"] and body["top_k"] == 1
    parsed = d.parse(answer({"data": [{"index": 0, "score": 0.1}],
                             "usage": {"total_tokens": 5}}))
    assert parsed == Parsed(pairs=[(0, 0.1)], tokens=5)  # total_tokens when no prompt_tokens
    with pytest.raises(MalformedAnswer, match="lacks 'index' or 'score'"):
        d.parse(answer({"data": [{"index": 0, "relevance_score": 0.1}]}))


def test_tei_bare_array_and_header_tokens() -> None:
    d = TeiDialect.from_spec(parse_spec("tei:http://x?truncate=true"))
    assert d.sends_top_n is False
    assert d.build_body("q", DOCS, 1) == {"query": "q", "texts": ["a cat", "a dog"],
                                         "truncate": True}
    assert d.parse(answer([{"index": 0, "score": 0.2}], **{"x-compute-tokens": "12"})) == \
        Parsed(pairs=[(0, 0.2)], tokens=12)
    with pytest.raises(MalformedAnswer, match="x-compute-tokens is not an integer: 'lots'"):
        d.parse(answer([], **{"x-compute-tokens": "lots"}))
    with pytest.raises(MalformedAnswer, match="the body is not a list"):
        d.parse(answer({"results": []}))


def test_compatible_generic_fields_and_presets() -> None:
    spec = parse_spec("compatible:m?truncate=true&user=u&max_tokens_per_document=3",
                      {"metadata": {"a": 1}, "extra_body": {"b": 2}})
    d = CompatibleDialect.from_spec(spec, GENERIC)
    assert d.build_body("q", DOCS, None) == {
        "model": "m", "query": "q", "documents": ["a cat", "a dog"], "truncate": "end",
        "max_tokens_per_document": 3, "metadata": {"a": 1}, "user": "u",
        "extra_body": {"b": 2}}
    router = CompatibleDialect.from_spec(parse_spec("searchrouter:c/m"), PRESETS["searchrouter"])
    assert router.build_body("q", DOCS, None)["return_documents"] is False
    parsed = router.parse(answer({"results": [], "usage": {
        "total_tokens": 0, "search_units": 1, "cost": 0.002}}))
    assert (parsed.tokens, parsed.search_units, parsed.cost_usd) == (0, 1, 0.002)
    quiet = CompatibleDialect(wire=WIRES["onerouter"], model="m")
    assert quiet.parse(answer({"results": [], "usage": {"total_tokens": 9}})).tokens is None
    with pytest.raises(RerankerSpecError, match="slugs"):
        CompatibleDialect.from_spec(parse_spec("searchrouter:m"), PRESETS["searchrouter"])


def test_shared_readers() -> None:
    assert read.items({"results": [1]}, "results") == [1]
    assert read.number(None, "x") is None and read.number(3, "x") == 3
    for bad in (True, "3", -1):
        with pytest.raises(MalformedAnswer, match="x is not a non-negative number"):
            read.number(bad, "x")
    assert read.usage_tokens({"usage": {"prompt_tokens": 4, "total_tokens": 5}},
                             "prompt_tokens", "total_tokens") == 4
    assert read.usage_tokens({"no": "usage"}, "total_tokens") is None
    with pytest.raises(MalformedAnswer, match="result 0 lacks 'index'"):
        read.pairs([{"relevance_score": 1}], "relevance_score")
    error = MalformedAnswer("why")
    assert error.reason == "why" and str(error) == "why"


def test_dialects_are_frozen_values() -> None:
    d = JinaDialect(model="m")
    with pytest.raises(AttributeError):
        d.model = "other"  # type: ignore[misc]
    assert d == JinaDialect.from_spec(parse_spec("jina:m"))
