"""The dataset a run folder recorded, loaded again: what ``check --recheck`` and ``pool``
need when the folder itself does not hold enough (requests to rebuild, deeper texts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rerank_eval.records import DatasetSummary

if TYPE_CHECKING:
    from rerank_eval.datasets import Dataset


def reload_dataset(summary: DatasetSummary, path: str | None = None
                   ) -> tuple[Dataset, str | None]:
    """(the dataset, None), or (the dataset, how its fingerprint differs from the run's).

    From ``path``, else from where the run loaded it (``source``, with the ``--qrels`` file
    it recorded, which the fingerprint covers too), never downloaded. Raises
    :class:`~rerank_eval.datasets.DatasetError` (or ``OSError``/``ValueError``) when it
    cannot be loaded; whether a different fingerprint is an error is the caller's call."""
    from rerank_eval.datasets import load_dataset

    where = path or summary.source or summary.name
    dataset = load_dataset(where, split=summary.split or "test", download=False,
                           qrels=summary.qrels_source or None)
    if summary.fingerprint and dataset.fingerprint != summary.fingerprint:
        return dataset, (f"{where!r} has fingerprint {dataset.fingerprint[:12]}, the run "
                         f"recorded {summary.fingerprint[:12]}")
    return dataset, None
