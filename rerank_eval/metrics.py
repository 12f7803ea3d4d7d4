"""Quality metrics through ir-measures, with trec_eval semantics.

Why there is any code here at all: ir-measures serves ``RR@k`` from its msmarco
provider, which breaks score ties by doc id *ascending*, while trec_eval (and
pytrec_eval) break them by doc id *descending*. So a measure the pytrec_eval provider
supports goes to pytrec_eval directly; a cut-off measure it does not support (``RR@k``)
is computed by pytrec_eval's uncut measure (``recip_rank``) on the run cut to its
top ``k`` in trec_eval order. Every number therefore equals what ``trec_eval`` or
pytrec_eval gives on the TREC run file we write.

Averages follow trec_eval's default: the mean over queries that are in both the run
and the qrels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ir_measures
from ir_measures.measures import Measure

DEFAULT_MEASURES: tuple[str, ...] = ("nDCG@10", "RR@10", "R@10", "R@100", "AP@100")
"""The default measures at the default first-stage depth (100); see :func:`default_measures`."""


def default_measures(top_k: int) -> list[str]:
    """The default measures for a first stage of ``top_k`` candidates: recall and AP at
    that depth (``R@30``, ``AP@30`` for top-30), the others at 10."""
    return list(dict.fromkeys(["nDCG@10", "RR@10", "R@10", f"R@{top_k}", f"AP@{top_k}"]))


JUDGED_MEASURE = "Judged@10"
"""Share of a ranking's top 10 that has a judgment (any label, 0 included). Computed for
every ranking beside the suite's measures, outside the headline tables: when it is low,
the top documents were never labelled and count as not relevant, so the pool of
judgments is too shallow for these rankings (``rerank-eval pool`` extends it)."""


def measures_at_depth(measures: list[str], old_k: int, new_k: int) -> list[str]:
    """``measures`` with recall and AP at the old first-stage depth renamed to the new one
    (a suite's ``R@50`` becomes ``R@30`` under ``--top-k 30``); the rest unchanged."""
    moved = [f"{m.split('@')[0]}@{new_k}" if m in (f"R@{old_k}", f"AP@{old_k}") else m
             for m in measures]
    return list(dict.fromkeys(moved))

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


class MeasureError(ValueError):
    """A measure name ir-measures cannot parse or no provider can compute."""


@dataclass(frozen=True)
class Evaluation:
    """Mean value per measure, and the value of every query (for significance tests)."""

    aggregate: dict[str, float]
    per_query: dict[str, dict[str, float]]
    """measure name -> query id -> value."""


def parse_measures(names: Iterable[str]) -> list[Measure]:
    measures = []
    for name in names:
        try:
            measures.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, SyntaxError, TypeError, AttributeError) as exc:
            raise MeasureError(f"unknown measure {name!r} (ir-measures syntax, e.g. nDCG@10, "
                               f"RR@10, R@100, P(rel=2)@5): {exc}") from exc
    return measures


def trec_eval_order(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Documents as trec_eval ranks them: score descending, ties by doc id descending."""
    return sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)


def cut_run(run: Run, k: int) -> dict[str, dict[str, float]]:
    return {qid: dict(trec_eval_order(docs)[:k]) for qid, docs in run.items()}


def evaluate(qrels: Qrels, run: Run, measures: Sequence[str] = DEFAULT_MEASURES) -> Evaluation:
    """Evaluate ``run`` against ``qrels``; per-query values and means, trec_eval semantics."""
    parsed = parse_measures(measures)
    run = {qid: {doc: float(score) for doc, score in docs.items()} for qid, docs in run.items()}
    # ir-measures scores qrels queries missing from the run as 0 (trec_eval -c); trec_eval's
    # default, and pytrec_eval, average over the queries in both.
    qrels = {qid: dict(docs) for qid, docs in qrels.items() if qid in run}
    per_query: dict[str, dict[str, float]] = {str(m): {} for m in parsed}

    direct = [m for m in parsed if ir_measures.pytrec_eval.supports(m)]
    if direct:
        _collect(ir_measures.pytrec_eval.iter_calc(direct, qrels, run), per_query)

    for measure in parsed:
        if measure in direct:
            continue
        uncut = _uncut_pytrec_eval_measure(measure)
        if uncut is not None:
            cutoff = measure["cutoff"]
            values = ir_measures.pytrec_eval.iter_calc([uncut], qrels, cut_run(run, cutoff))
            per_query[str(measure)] = {v.query_id: float(v.value) for v in values}
        else:
            # Judged@k counts the top k, which its provider picks with ties by doc id
            # ascending: hand it trec_eval's top k instead.
            cut = cut_run(run, measure["cutoff"]) if _is_judged_at_k(measure) else run
            try:
                values = ir_measures.iter_calc([measure], qrels, cut)
                per_query[str(measure)] = {v.query_id: float(v.value) for v in values}
            except (ValueError, RuntimeError) as exc:
                raise MeasureError(f"no ir-measures provider can compute {measure}: {exc}") from exc

    # Summed in query-id order so the same values always give the same last bit.
    aggregate = {
        name: (sum(values[q] for q in sorted(values)) / len(values) if values else float("nan"))
        for name, values in per_query.items()
    }
    return Evaluation(aggregate=aggregate, per_query=per_query)


def _collect(values: Iterable, per_query: dict[str, dict[str, float]]) -> None:
    for value in values:
        per_query[str(value.measure)][value.query_id] = float(value.value)


def _is_judged_at_k(measure: Measure) -> bool:
    return measure.NAME == "Judged" and isinstance(dict(measure.params).get("cutoff"), int)


def _uncut_pytrec_eval_measure(measure: Measure) -> Measure | None:
    """For ``M@k`` that pytrec_eval lacks, ``M`` without cutoff if pytrec_eval has that."""
    params = dict(measure.params)
    if params.get("cutoff") is None:
        return None
    params.pop("cutoff")
    uncut = type(measure)(**params)
    return uncut if ir_measures.pytrec_eval.supports(uncut) else None
