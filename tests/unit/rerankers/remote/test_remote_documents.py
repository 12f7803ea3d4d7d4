"""Documents with fields become YAML strings (or objects for providers that take them)."""

from __future__ import annotations

import pytest
import yaml

from rerank_eval.rerankers.remote.documents import as_object, as_yaml, encode
from rerank_eval.types import Document

DOC = Document(text="Washington, D.C. is the capital.", id="d4",
               fields={"Title": "Washington D.C.", "year": 1790})


def test_plain_document_is_its_text() -> None:
    assert as_yaml(Document("just text", id="x")) == "just text"


def test_fields_become_yaml_fields_first_text_last_no_id() -> None:
    text = as_yaml(DOC)
    assert yaml.safe_load(text) == {"Title": "Washington D.C.", "year": 1790,
                                    "text": "Washington, D.C. is the capital."}
    assert text.splitlines()[0].startswith("Title:")
    assert "d4" not in text


def test_rank_fields_restrict_yaml() -> None:
    assert yaml.safe_load(as_yaml(DOC, ["Title"])) == {"Title": "Washington D.C."}
    with pytest.raises(ValueError):
        as_yaml(DOC, ["nope"])


def test_unicode_and_long_text_stay_on_one_value() -> None:
    doc = Document(text="é" * 3000, fields={"t": "ü"})
    assert yaml.safe_load(as_yaml(doc)) == {"t": "ü", "text": "é" * 3000}


def test_object_style() -> None:
    assert as_object(DOC) == {"text": DOC.text, "Title": "Washington D.C.", "year": 1790}
    assert encode([Document("a"), Document("b")], "object") == ["a", "b"]
    assert encode([DOC], "object") == [as_object(DOC)]
    assert encode([DOC, Document("b")], "string")[1] == "b"
    with pytest.raises(ValueError):
        encode([DOC], "xml")
