"""The Infinity environment: reused when complete, rebuilt when half-built, and a build or a
start that fails says why (the log's tail), so a skipped or failed serving test is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerank_eval.testing import infinity
from rerank_eval.testing.infinity import (
    BUILDING_MARKER,
    COMPLETE_MARKER,
    InfinityServer,
    InfinityUnavailable,
    ensure_env,
    requirement_lines,
)


@pytest.fixture
def no_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Any build now fails at its first step: the base interpreter does not exist."""
    missing = tmp_path / "no-such-python3.11"
    monkeypatch.setattr(infinity, "base_python", lambda: str(missing))
    return missing


def test_a_build_that_fails_says_why_and_leaves_nothing_half_built(
        no_interpreter: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)  # a build cut short earlier: not marked complete
    (env / BUILDING_MARKER).write_text("123\n")
    for _ in range(2):  # the lock is released after a failure: the second call fails too
        with pytest.raises(InfinityUnavailable) as raised:
            ensure_env(env)
        message = str(raised.value)
        assert f"could not build the Infinity environment at {env}" in message
        assert str(no_interpreter) in message  # the log's tail: the command that failed
        assert not env.exists()
    assert str(no_interpreter) in (tmp_path / "env.log").read_text()


def test_a_complete_env_is_reused_without_building(no_interpreter: Path,
                                                   tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "infinity_emb").write_text("#!/bin/sh\n")
    (env / COMPLETE_MARKER).write_text("\n".join(requirement_lines()) + "\n")
    assert ensure_env(env) == env


def test_an_env_built_for_other_requirements_is_rebuilt(no_interpreter: Path,
                                                        tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "infinity_emb").write_text("#!/bin/sh\n")
    (env / COMPLETE_MARKER).write_text("infinity-emb==0.0.1\n")
    with pytest.raises(InfinityUnavailable):
        ensure_env(env)


def test_a_folder_it_did_not_build_is_never_removed(no_interpreter: Path,
                                                    tmp_path: Path) -> None:
    env = tmp_path / "someone-elses-venv"
    (env / "bin").mkdir(parents=True)
    with pytest.raises(InfinityUnavailable, match="not an Infinity environment built by"):
        ensure_env(env)
    assert (env / "bin").is_dir()


def test_the_env_is_found_by_the_variable_or_by_the_requirements_hash(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(infinity.ENV_VARIABLE, str(tmp_path / "mine"))
    assert infinity.default_env_dir() == tmp_path / "mine"
    monkeypatch.delenv(infinity.ENV_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    found = infinity.default_env_dir()
    assert found == tmp_path / "cache" / "rerank-eval" / f"infinity-env-{infinity.env_hash()}"
    monkeypatch.setattr(infinity, "REQUIREMENTS", (*infinity.REQUIREMENTS, "extra==1"))
    assert infinity.default_env_dir() != found


@pytest.mark.slow
def test_a_server_that_cannot_start_says_why(infinity_env: Path, tmp_path: Path) -> None:
    server = InfinityServer(tmp_path / "no-model", env=infinity_env,
                            log_path=tmp_path / "server.log", startup_timeout_s=120)
    with pytest.raises(InfinityUnavailable) as raised:
        server.start()
    message = str(raised.value)
    assert "exited with code" in message and str(tmp_path / "server.log") in message
    assert "no-model" in message.split("(tail) ---", 1)[1]  # Infinity's own words about it
    assert server.process is None
