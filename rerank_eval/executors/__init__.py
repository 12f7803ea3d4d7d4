"""Where local model inference runs: in this process (the default) or on Ray actors.

- ``base``: the :class:`Executor` protocol, the in-process executor, what a pooled
  reranker reports (:class:`Distributed`) and how the harness records it;
- ``host``: one model replica, built from the spec where it runs;
- ``pool``: replicas, least-busy dispatch and per-replica tallies;
- ``pooled``: the pooled rerankers (the bi-encoder's reuse planned in the driver, so
  results are bit-identical to an in-process run);
- ``replicas``: an executor that runs the model kinds on replicas;
- ``ray_executor``: Ray actors (``--executor ray``); ``threads``: threads (tests).

Importing this package imports neither Ray nor torch.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import TYPE_CHECKING

from rerank_eval.executors.base import (
    EXECUTORS,
    IN_PROCESS,
    RAY,
    Distributed,
    Executor,
    InProcessExecutor,
    execution_record,
)

if TYPE_CHECKING:
    from rerank_eval.suite import Suite

EXECUTOR_ENV_VARS: dict[str, str] = {
    "RAY_ADDRESS": "--executor ray: the Ray cluster to join (e.g. 10.0.0.5:6379, or auto on "
    "a node of it); unset: a local Ray starts for the run",
}
"""Environment variables the executors read (``rerank-eval providers`` lists them)."""

RAY_INSTALL_HINT = "install it with `make setup-ray` or `pip install 'rerank-eval[ray]'`"


def ray_missing() -> str | None:
    """Why ``--executor ray`` cannot run here, or None when Ray is importable."""
    if importlib.util.find_spec("ray") is None:
        return f"--executor ray needs Ray, which is not installed; {RAY_INSTALL_HINT}"
    return None


def make_executor(kind: str = IN_PROCESS, ray_actors: int | None = None, *,
                  sharing: int = 1) -> Executor:
    """The executor a suite asks for (``executor``, ``ray_actors``); ``sharing``: how many
    model rerankers it will build (their Ray actors must all fit at once)."""
    if kind == IN_PROCESS:
        return InProcessExecutor()
    if kind == RAY:
        problem = ray_missing()
        if problem:
            raise RuntimeError(problem)
        from rerank_eval.executors.ray_executor import RayExecutor

        return RayExecutor(ray_actors, sharing=sharing)
    raise ValueError(f"unknown executor {kind!r}; known: {', '.join(EXECUTORS)}")


def executor_for(suite: Suite) -> Executor:
    """The executor of a suite, sized for its local model rerankers."""
    from rerank_eval.rerankers import RerankerSpecError, known_kinds, parse_spec

    models = {k.kind for k in known_kinds() if k.model_inference}
    sharing = 0
    for config in suite.rerankers:
        with contextlib.suppress(RerankerSpecError):  # that reranker's cells report it
            sharing += parse_spec(config.spec, config.options).kind in models
    return make_executor(suite.executor, suite.ray_actors, sharing=max(1, sharing))


__all__ = [
    "EXECUTORS",
    "EXECUTOR_ENV_VARS",
    "IN_PROCESS",
    "RAY",
    "Distributed",
    "Executor",
    "InProcessExecutor",
    "execution_record",
    "executor_for",
    "make_executor",
    "ray_missing",
]
