"""Turn a :class:`~rerank_eval.types.Document` into what a provider accepts.

Providers that take strings only (Cohere v2, Voyage, TEI, most routers) get structured
documents as YAML strings, as Cohere and the OneRouter/Infron page advise: the fields
first, in the order given, then ``text``. Plain documents (no fields) are sent as their
text unchanged. The document ``id`` is never sent: it is a label, not content.

Providers that take objects and ``rank_fields`` (Cohere v1, Mixedbread, the generic
platform) get ``{"text": ..., **fields}`` objects.

With ``rank_fields`` on a strings-only provider, only those fields go into the YAML
(``text`` included only when listed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from rerank_eval.types import Document


def as_yaml(doc: Document, rank_fields: Sequence[str] | None = None) -> str:
    if not doc.fields and (rank_fields is None or "text" in rank_fields):
        return doc.text
    mapping: dict[str, Any] = {**doc.fields, "text": doc.text}
    if rank_fields is not None:
        missing = [f for f in rank_fields if f not in mapping]
        if len(missing) == len(rank_fields):
            raise ValueError(f"none of rank_fields {list(rank_fields)} is in the document "
                             f"(fields: {sorted(mapping)})")
        mapping = {k: mapping[k] for k in rank_fields if k in mapping}
    return yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True, width=1_000_000,
                          default_flow_style=False).rstrip("\n")


def as_object(doc: Document) -> dict[str, Any]:
    return {"text": doc.text, **{k: v for k, v in doc.fields.items() if k != "text"}}


def encode(docs: Sequence[Document], style: str,
           rank_fields: Sequence[str] | None = None) -> list[Any]:
    """``style``: ``"string"`` (YAML when a document has fields) or ``"object"``.

    ``"object"`` sends plain strings when no document has fields, since every provider
    that takes objects also takes strings.
    """
    if style == "object":
        if rank_fields is None and not any(d.fields for d in docs):
            return [d.text for d in docs]
        return [as_object(d) for d in docs]
    if style == "string":
        return [as_yaml(d, rank_fields) for d in docs]
    raise ValueError(f"unknown document style {style!r}")
