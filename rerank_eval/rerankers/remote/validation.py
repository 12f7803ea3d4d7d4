"""A remote answer's ranking, checked with the one ranking validation
(:func:`rerank_eval.ranking.validate_ranking`); a failure is a
:class:`~.dialect.MalformedAnswer`."""

from __future__ import annotations

from typing import Any

from rerank_eval.ranking import validate_ranking
from rerank_eval.rerankers.remote.dialect import MalformedAnswer
from rerank_eval.types import RankedResult


def check_ranking(pairs: list[tuple[Any, Any]], n_docs: int,
                  top_n: int | None) -> list[RankedResult]:
    """The part's results best first, or :class:`MalformedAnswer` saying what is wrong."""
    return validate_ranking(pairs, n_docs, top_n, MalformedAnswer)
