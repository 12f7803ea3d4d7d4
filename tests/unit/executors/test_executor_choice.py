"""Choosing an executor: suite and command-line options, Ray missing, actor planning,
and the environment variables the executors read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rerank_eval.executors
from rerank_eval.cli import app, build_suite
from rerank_eval.executors import (
    EXECUTOR_ENV_VARS,
    Distributed,
    InProcessExecutor,
    executor_for,
    make_executor,
    ray_missing,
)
from rerank_eval.executors.ray_executor import RayExecutor, plan_actors
from rerank_eval.executors.replicas import ReplicaError
from rerank_eval.executors.threads import ThreadExecutor
from rerank_eval.rerankers import Runtime, known_kinds
from rerank_eval.suite import SuiteError, suite_from_dict

PACKAGE = Path(rerank_eval.executors.__file__).parent


def _suite(**extra: object):
    return suite_from_dict({"name": "s", "datasets": [{"name": "d"}],
                            "rerankers": [{"spec": "biencoder"}], **extra}, source="s.toml")


def test_a_suite_runs_in_process_unless_it_says_ray() -> None:
    assert _suite().executor == "in-process" and _suite().ray_actors is None
    suite = _suite(executor="ray", ray_actors=3)
    assert (suite.executor, suite.ray_actors) == ("ray", 3)
    with pytest.raises(SuiteError, match=r"s\.toml: 'executor': Input should be"):
        _suite(executor="dask")
    with pytest.raises(SuiteError, match="ray_actors = 2 applies to executor = \"ray\""):
        _suite(ray_actors=2)
    with pytest.raises(SuiteError, match="ray_actors"):
        _suite(executor="ray", ray_actors=0)


def test_command_line_options_win_over_the_suite(tmp_path: Path) -> None:
    suite_file = tmp_path / "s.toml"
    suite_file.write_text('name = "s"\nexecutor = "ray"\nray_actors = 4\n'
                          '[[datasets]]\nname = "d"\n[[rerankers]]\nspec = "biencoder"\n')
    suite = build_suite(suite_file, [], [], None, None, [], None, None)
    assert (suite.executor, suite.ray_actors) == ("ray", 4)
    suite = build_suite(suite_file, [], [], None, None, [], None, None, ray_actors=2)
    assert (suite.executor, suite.ray_actors) == ("ray", 2)
    # --executor in-process drops the suite's actor count instead of failing on it
    suite = build_suite(suite_file, [], [], None, None, [], None, None, executor="in-process")
    assert (suite.executor, suite.ray_actors) == ("in-process", None)


def test_without_ray_the_run_stops_before_loading_anything(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(rerank_eval.executors.importlib.util, "find_spec",
                        lambda name: None if name == "ray" else object())
    assert "make setup-ray" in (ray_missing() or "")
    with pytest.raises(RuntimeError, match="needs Ray"):
        make_executor("ray")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "-d", "nowhere", "-r", "biencoder",
                                      "--ray-actors", "2", "--out", str(out)])
    assert result.exit_code == 2
    assert "needs Ray" in result.output and "rerank-eval[ray]" in result.output
    assert not out.exists()


def test_the_default_executor_is_this_process() -> None:
    assert isinstance(make_executor(), InProcessExecutor)
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        make_executor("dask")


def test_only_local_model_kinds_run_on_replicas() -> None:
    pooled = sorted(k.kind for k in known_kinds() if k.model_inference)
    assert pooled == ["biencoder", "cross-encoder"]


@pytest.mark.parametrize(("requested", "cpus", "gpus", "node", "on_gpu", "sharing", "expected"), [
    (None, 2, 0, 2, False, 1, (1, 2.0, 0.0, 2)),       # a 2-core box: one actor, both cores
    (2, 2, 0, 2, False, 1, (2, 1.0, 0.0, 1)),          # --ray-actors 2: a core each
    (None, 16, 0, 16, False, 1, (2, 8.0, 0.0, 8)),
    (None, 64, 0, 8, False, 1, (2, 8.0, 0.0, 8)),      # at most one node's worth
    (3, 2, 0, 2, False, 1, (3, 0.66, 0.0, 1)),         # more actors than cores: a share each
    (None, 2, 0, 2, False, 2, (1, 1.0, 0.0, 2)),       # two model rerankers reserve half each
    (None, 16, 4, 8, True, 1, (4, 1.0, 1.0, 1)),       # one actor per GPU
    (8, 16, 4, 8, True, 1, (8, 1.0, 0.5, 1)),          # two actors share a GPU
    (None, 16, 1, 16, True, 2, (1, 1.0, 0.5, 1)),      # two model rerankers, one GPU
])
def test_actor_planning(requested: int | None, cpus: float, gpus: float, node: float,
                        on_gpu: bool, sharing: int,
                        expected: tuple[int, float, float, int]) -> None:
    plan = plan_actors(requested, cpus, gpus, node, on_gpu=on_gpu, sharing=sharing)
    assert (plan.count, plan.cpus, plan.gpus, plan.threads) == expected


def test_the_suite_s_model_rerankers_share_the_cluster() -> None:
    pytest.importorskip("ray", reason="Ray is not installed")
    suite = suite_from_dict({"name": "s", "datasets": [{"name": "d"}], "executor": "ray",
                             "rerankers": [{"spec": "bm25"}, {"spec": "biencoder"},
                                           {"spec": "cross-encoder:m"}, {"spec": ""}]})
    executor = executor_for(suite)
    assert isinstance(executor, RayExecutor) and executor.sharing == 2


def test_asking_for_a_gpu_on_a_cluster_without_one_is_an_error() -> None:
    with pytest.raises(ReplicaError, match="cross-encoder:m asks for a GPU"):
        plan_actors(None, 8, 0, 8, on_gpu=True, what="cross-encoder:m")


def _env_reads(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            on_environ = isinstance(node.func.value, ast.Attribute) and \
                node.func.value.attr == "environ"
            if node.func.attr == "getenv" or (on_environ and node.func.attr in ("get", "pop")):
                target = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "environ":
            target = node.slice
        if target is not None:
            assert isinstance(target, ast.Constant), f"{path.name}: a name not written out"
            names.append(target.value)
    return names


def test_every_env_var_an_executor_reads_is_declared() -> None:
    read = {name for path in PACKAGE.rglob("*.py") for name in _env_reads(path)}
    assert read == {"RAY_ADDRESS"}
    assert read <= set(EXECUTOR_ENV_VARS)


def test_providers_lists_the_executor_env_vars() -> None:
    result = CliRunner().invoke(app, ["providers"])
    assert result.exit_code == 0 and "RAY_ADDRESS" in result.output


def test_a_replica_that_cannot_build_its_model_says_why(tmp_path: Path) -> None:
    executor = ThreadExecutor(replicas=2)
    missing = tmp_path / "no-such-model"
    with pytest.raises(ReplicaError, match=r"RerankerSpecError: model folder .*no-such-model "
                                           r"does not exist \(replica 0 on "):
        executor.create(f"cross-encoder:{missing}", {}, Runtime())
    assert not isinstance(executor.create("bm25", {}, Runtime()), Distributed)
