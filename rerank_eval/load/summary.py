"""From a finished (or interrupted) sweep to the :class:`LoadReport` written as load.json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rerank_eval.load.cost import cost_per_1k
from rerank_eval.load.knee import find_knee, p95_budget, saturation_rps
from rerank_eval.load.records import LoadReport, LoadSettings
from rerank_eval.load.sweep import SweepPlan, SweepState
from rerank_eval.load.workload import Workload


def build_report(*, reranker: str, plan: SweepPlan, state: SweepState, workload: Workload,
                 cache_bust: bool, retries: int, max_p95_ms: float | None,
                 gpu_hour_usd: float | None, price: dict[str, Any] | None = None,
                 device: str | None = None, notes: list[str] | None = None,
                 environment: dict[str, Any] | None = None,
                 created: str | None = None) -> LoadReport:
    levels = state.levels
    budget = p95_budget(levels, max_p95_ms)
    knee = find_knee(levels, budget)
    settings = LoadSettings(
        levels=[int(x) if plan.mode == "closed" else float(x) for x in plan.levels],
        requests_per_level=plan.requests_per_level, duration_s=plan.duration_s,
        warmup=plan.warmup, cache_bust=cache_bust, retries=retries,
        max_requests=plan.max_requests, max_p95_ms=budget.max_p95_ms,
        max_p95_source=budget.source, seed=plan.seed, gpu_hour_usd=gpu_hour_usd,
        max_in_flight=plan.max_in_flight if plan.mode == "open" else None,
        drain_s=plan.drain_bound_s if plan.mode == "open" else None)
    if environment is None:
        from rerank_eval.environment import describe_environment

        environment = describe_environment()
    return LoadReport(
        created=created or datetime.now(UTC).isoformat(timespec="seconds"),
        reranker=reranker, mode=plan.mode, dataset=workload.dataset, top_k=workload.top_k,
        queries=len(workload.items), documents_per_request=workload.documents_per_request(),
        settings=settings, levels=list(levels), knee=knee, saturation_rps=saturation_rps(levels),
        cost_per_1k_queries=cost_per_1k(knee, list(levels), gpu_hour_usd=gpu_hour_usd,
                                        price=price, device=device),
        interrupted=state.interrupted, environment=environment,
        notes=[*(notes or []), *state.notes])
