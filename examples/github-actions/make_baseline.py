"""Regenerate examples/github-actions/baseline.json against the fake Cohere.

    .venv/bin/python examples/github-actions/make_baseline.py

Runs the workflow's own run step (``rerank-regression.yml``, read from the YAML, not
copied) with the fake Cohere of ``rerank_eval.testing.fakes`` on a local socket, a fresh
response cache and ``REPORT_DIR=reports/pr-gate-baseline``, then ``rerank-eval baseline``.
The fake's scores are deterministic, so the same commands in
``tests/integration/test_github_actions_example.py`` pass against the file this writes.

A real project makes its baseline the same way against the real provider (see README.md):
run the suite with the key set, then ``rerank-eval baseline``.

The helpers here (reading the workflow, the environment of its steps, running one step
with bash) are what the test uses too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKFLOW = HERE / "rerank-regression.yml"
BASELINE = HERE / "baseline.json"
SETUP_COMMAND = "make setup"


def workflow_job(path: Path = WORKFLOW) -> dict[str, Any]:
    """The workflow's one job, as parsed YAML."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jobs = data["jobs"]
    if len(jobs) != 1:
        raise ValueError(f"{path}: expected one job, found {', '.join(jobs)}")
    return next(iter(jobs.values()))


def steps_after_setup(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``run:`` steps after the one that runs ``make setup``, in order."""
    steps = list(job["steps"])
    setup = next(i for i, s in enumerate(steps) if str(s.get("run", "")).strip() == SETUP_COMMAND)
    return [s for s in steps[setup + 1:] if "run" in s]


def step_env(job: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment, the job's ``env`` (values without ``${{ }}``
    expressions), then ``overrides``; ``.venv/bin`` first on PATH."""
    env = dict(os.environ)
    for key, value in (job.get("env") or {}).items():
        if "${{" not in str(value):
            env[key] = str(value)
    env.update(overrides)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_step(step: Mapping[str, Any], env: Mapping[str, str]) -> subprocess.CompletedProcess:
    """One step's ``run:`` with bash as GitHub runs ``shell: bash``, in the repo root."""
    command = str(step["run"])
    if "${{" in command:
        raise ValueError(f"step {step.get('name')!r} uses a ${{{{ }}}} expression in run:; "
                         "pass it through env instead")
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
                          cwd=REPO, env=dict(env), capture_output=True, text=True, check=False)


def fake_cohere_env(server: Any) -> dict[str, str]:
    from rerank_eval.testing.fakes import FAKE_KEY

    return {"COHERE_BASE_URL": server.url("cohere"), "COHERE_API_KEY": FAKE_KEY}


def main() -> int:
    from rerank_eval.testing.fakes import shared_server

    server = shared_server()
    job = workflow_job()
    report_dir = "reports/pr-gate-baseline"
    shutil.rmtree(REPO / report_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = step_env(job, {**fake_cohere_env(server), "REPORT_DIR": report_dir,
                             "RERANK_EVAL_CACHE": str(Path(tmp) / "cache"),
                             "GITHUB_STEP_SUMMARY": str(Path(tmp) / "summary.md")})
        run_steps = [s for s in steps_after_setup(job) if "rerank-eval run" in str(s["run"])]
        for step in run_steps:
            done = run_step(step, env)
            sys.stdout.write(done.stdout)
            sys.stderr.write(done.stderr)
            if done.returncode != 0:
                return done.returncode
        done = subprocess.run([str(REPO / ".venv" / "bin" / "rerank-eval"), "baseline",
                               report_dir, "--out", str(BASELINE.relative_to(REPO))],
                              cwd=REPO, env=env, check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
