"""Suite files: which datasets, which first stage, which rerankers, which measures.

A suite is TOML validated by pydantic; an unknown key is an error that names it and
the file, so a typo never silently falls back to a default. Relative paths in a suite
resolve against the suite file's folder.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rerank_eval.metrics import default_measures, parse_measures


class SuiteError(ValueError):
    """A suite file is missing, is not TOML, or does not fit the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirstStageConfig(_Strict):
    method: Literal["bm25", "run"] = "bm25"
    top_k: int = Field(100, ge=1)
    stemmer: str | None = None
    """Snowball language for BM25 (e.g. "english"); None reproduces the reference BM25."""
    stopwords: str | None = "en"
    k1: float = 1.5
    b: float = 0.75

    @field_validator("stemmer")
    @classmethod
    def _known_stemmer(cls, value: str | None) -> str | None:
        if value:
            import Stemmer

            known = sorted(Stemmer.algorithms())
            if value not in known:
                raise ValueError(f"unknown stemmer {value!r}{did_you_mean(value, known)}; "
                                 f"known: {', '.join(known)}")
        return value


class DatasetConfig(_Strict):
    name: str
    path: str | None = None
    """A BEIR folder or zip, or a candidates file (``.jsonl``, ``.jsonl.gz``, ``.csv``,
    ``.tsv``); relative to the suite file. Without it, ``name`` is resolved under
    $RERANK_EVAL_DATASETS, the cache, then downloaded."""
    split: str = "test"
    run_file: str | None = None
    """A TREC run giving this dataset's candidates (first stage ``run``)."""
    qrels: str | None = None
    """A qrels file (a table with query_id, doc_id, label, or TREC qrels) whose judgments
    replace the dataset's; relative to the suite file."""


Scalar = str | int | float | bool
OptionValue = Scalar | list[Scalar] | dict[str, Any]


class RerankerConfig(_Strict):
    spec: str
    options: dict[str, OptionValue] = Field(default_factory=dict)
    """Spec options; provider knobs may be lists (``rank_fields``) or tables
    (``extra_body``, ``metadata``)."""
    label: str | None = None
    """Name to show in results instead of the spec (e.g. two option sets of one model)."""


class CostConfig(_Strict):
    """Hourly hardware prices for local rerankers; unset = the dated defaults in pricing.toml."""

    cpu_hour_usd: float | None = Field(None, ge=0)
    gpu_hour_usd: float | None = Field(None, ge=0)


class Suite(_Strict):
    name: str
    description: str = ""
    datasets: list[DatasetConfig] = Field(min_length=1)
    rerankers: list[RerankerConfig] = Field(min_length=1)
    first_stage: FirstStageConfig = FirstStageConfig()
    costs: CostConfig = CostConfig()
    measures: list[str] = Field(default_factory=list)
    """Empty or unset: :func:`~rerank_eval.metrics.default_measures` of the first stage's
    top-k (recall and AP at that depth)."""
    max_queries: int | None = Field(None, ge=1)
    latency_sample: int = Field(50, ge=0)
    """Queries measured in the latency pass of a reranker that reuses work across queries
    (every k-th in run order); 0 turns the pass off, a number >= the queries takes all."""
    latency_warmup: int = Field(3, ge=0)
    """Warm-up calls before the latency pass's measured ones, reported apart."""
    executor: Literal["in-process", "ray"] = "in-process"
    """Where local model inference runs (the biencoder and cross-encoder kinds): in this
    process, or on Ray actors (RAY_ADDRESS joins a cluster, else a local Ray starts)."""
    ray_actors: int | None = Field(None, ge=1)
    """Actors per local model reranker with ``executor = "ray"``; unset: one per GPU, or
    1 CPU actor (2 from 4 CPUs up)."""
    base_dir: Path | None = Field(None, exclude=True)

    @field_validator("measures")
    @classmethod
    def _known_measures(cls, value: list[str]) -> list[str]:
        parse_measures(value)
        return value

    @model_validator(mode="after")
    def _ray_actors_need_ray(self) -> Suite:
        if self.ray_actors is not None and self.executor != "ray":
            raise ValueError(f"ray_actors = {self.ray_actors} applies to executor = \"ray\" "
                             f"(this suite's executor is {self.executor!r})")
        return self

    @model_validator(mode="after")
    def _default_measures(self) -> Suite:
        if not self.measures:  # frozen: set once, while validating
            object.__setattr__(self, "measures", default_measures(self.first_stage.top_k))
        return self

    def resolve(self, relative: str | None) -> str | None:
        """A path from the suite, made absolute against the suite's folder."""
        if relative is None or self.base_dir is None or Path(relative).is_absolute():
            return relative
        candidate = self.base_dir / relative
        return str(candidate) if candidate.exists() else relative


def load_suite(path: Path) -> Suite:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"suite file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None
    return suite_from_dict(data, source=str(path), base_dir=path.parent)


def suite_from_dict(data: dict[str, Any], source: str = "<suite>",
                    base_dir: Path | None = None) -> Suite:
    try:
        return Suite.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise SuiteError(f"{source}: {problems}") from None


def _describe(error: dict[str, Any]) -> str:
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    where = where or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{where}'"
    return f"'{where}': {error['msg']}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest known name, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_rerankers(suite: Suite) -> None:
    """Check every reranker spec before any data is loaded: well-formed, a known kind, and
    (for kinds that list theirs) known option names; the nearest known name is suggested.
    Errors that need the reranker built (a bad option value, a missing key) stay per cell."""
    from rerank_eval.rerankers.registry import known_kinds
    from rerank_eval.rerankers.spec import RerankerSpecError, parse_spec
    from rerank_eval.secrets import redact

    kinds = {k.kind: k for k in known_kinds()}
    problems = []
    for config in suite.rerankers:
        try:
            spec = parse_spec(config.spec, config.options)
        except RerankerSpecError as exc:
            problems.append(redact(str(exc)))
            continue
        entry = kinds.get(spec.kind)
        if entry is None:
            problems.append(f"reranker {redact(config.spec)!r}: unknown kind {spec.kind!r}"
                            f"{did_you_mean(spec.kind, kinds)}; known kinds: "
                            f"{', '.join(kinds)}")
            continue
        if not entry.options:
            continue
        for name in sorted(set(spec.options) - set(entry.options)):
            problems.append(f"reranker {redact(config.spec)!r}: unknown option {name!r} for kind "
                            f"{spec.kind!r}{did_you_mean(name, entry.options)}; options: "
                            f"{', '.join(entry.options)}")
    if problems:
        raise SuiteError("; ".join(problems))


def check_baseline(baseline: str, labels: Iterable[str], where: str) -> None:
    """``baseline`` must be ``first-stage`` or one of ``labels`` (the rerankers of the run)."""
    from rerank_eval.records import FIRST_STAGE

    known = [FIRST_STAGE, *labels]
    if baseline not in known:
        raise SuiteError(f"--baseline-reranker {baseline!r} is not a reranker {where}"
                         f"{did_you_mean(baseline, known)}; choose one of: "
                         f"{', '.join(repr(k) for k in known)}")
