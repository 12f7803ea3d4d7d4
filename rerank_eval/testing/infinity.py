"""A real Infinity rerank server (``infinity-emb``) on loopback, in a virtual env of its own.

Infinity pins what this package cannot share (sentence-transformers < 4, numpy < 2, an
older transformers), so it lives in a separate virtual environment, built once and reused:

- :func:`ensure_env` builds or reuses it at ``$RERANK_EVAL_INFINITY_ENV``, else
  ``~/.cache/rerank-eval/infinity-env-<hash of REQUIREMENTS>`` (``$XDG_CACHE_HOME`` is
  honoured). The build holds an flock, so two processes never build at once; it writes
  into the final folder and marks it complete last, so a build cut short is thrown away
  and redone (a venv cannot be renamed after it is built: its scripts name their folder).
  A folder it did not make is never removed.
  pip's output goes to ``<env>.log`` beside it.
- :class:`InfinityServer` starts ``infinity_emb v2`` on 127.0.0.1 on a free port with the
  torch engine on the CPU, waits for ``/health``, and stops the process group on exit.

torch is installed first, pinned to the release whose CPU wheel lies on this machine's
disk: left to itself pip would take a CUDA build of several GB.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

TORCH_REQUIREMENT = "torch==2.13.0"
REQUIREMENTS: tuple[str, ...] = (
    "infinity-emb[server,torch]==0.0.78",
    # What 0.0.78 resolved to when it last served here, pinned so that a new release of
    # any of them cannot change how the model is loaded, tokenized or served.
    "sentence-transformers==3.4.1",
    "transformers==4.57.6",
    "tokenizers==0.22.2",
    "huggingface-hub==0.36.2",
    "safetensors==0.8.0",
    "numpy==1.26.4",
    "fastapi==0.165.0",
    "starlette==1.10.0",
    "uvicorn[standard]==0.32.1",
    "pydantic==2.14.4",
    "typer==0.12.5",
    "click==8.1.8",
    "orjson==3.13.0",
)
"""Installed after torch, with torch pinned again so nothing moves it."""

ENV_VARIABLE = "RERANK_EVAL_INFINITY_ENV"
COMPLETE_MARKER = ".rerank-eval-complete"
BUILDING_MARKER = ".rerank-eval-building"
PIP_TIMEOUT_S = 1800.0
_NOISE = "is ignored: it is neither a file nor a directory"
"""pip's warning for every package about an absent local index: dropped from log tails."""


class InfinityUnavailable(RuntimeError):
    """The Infinity environment could not be built, or the server would not start."""


def requirement_lines() -> list[str]:
    """Everything that decides what the environment holds, in install order."""
    return [TORCH_REQUIREMENT, *REQUIREMENTS]


def env_hash() -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    text = "\n".join([version, *requirement_lines()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_env_dir() -> Path:
    configured = os.environ.get(ENV_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rerank-eval" / f"infinity-env-{env_hash()}"


def base_python() -> str:
    """The interpreter the env is made from: this one's base (not a venv's shim)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def server_executable(env: Path) -> Path:
    return env / "bin" / "infinity_emb"


def ensure_env(env: Path | None = None) -> Path:
    """The Infinity environment, built first if it is not there (minutes; then instant)."""
    env = env or default_env_dir()
    env.parent.mkdir(parents=True, exist_ok=True)
    log = env.with_name(env.name + ".log")
    lock = env.with_name(env.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits while another process builds
        if _complete(env):
            return env
        if env.exists():
            _discard(env)
        env.mkdir()
        (env / BUILDING_MARKER).write_text(f"{os.getpid()}\n")
        with log.open("w") as out:
            out.write(f"building {env} with {base_python()}\n")
        try:
            _run([base_python(), "-m", "venv", str(env)], log)
            pip = [str(env / "bin" / "python"), "-m", "pip", "install",
                   "--disable-pip-version-check"]
            _run([*pip, TORCH_REQUIREMENT], log)
            _run([*pip, TORCH_REQUIREMENT, *REQUIREMENTS], log)
            _run([str(env / "bin" / "python"), "-c", "import infinity_emb.infinity_server"],
                 log)
        except (OSError, subprocess.SubprocessError) as error:
            shutil.rmtree(env, ignore_errors=True)
            raise InfinityUnavailable(f"could not build the Infinity environment at {env}: "
                                      f"{error}\n--- {log} (tail) ---\n{log_tail(log)}"
                                      ) from error
        (env / COMPLETE_MARKER).write_text("\n".join(requirement_lines()) + "\n")
        (env / BUILDING_MARKER).unlink()
    return env


def _discard(env: Path) -> None:
    """Remove an env this module built (cut short, or for other requirements); refuse to
    remove a folder it did not make (``$RERANK_EVAL_INFINITY_ENV`` pointed elsewhere)."""
    ours = (env / BUILDING_MARKER).is_file() or (env / COMPLETE_MARKER).is_file()
    if env.is_dir() and (ours or not any(env.iterdir())):
        shutil.rmtree(env)
        return
    raise InfinityUnavailable(f"{env} exists and is not an Infinity environment built by "
                              f"rerank-eval; remove it or set {ENV_VARIABLE} to another folder")


def _complete(env: Path) -> bool:
    marker = env / COMPLETE_MARKER
    return (marker.is_file() and server_executable(env).is_file()
            and marker.read_text().split() == requirement_lines())


def _run(command: Sequence[str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=True, timeout=PIP_TIMEOUT_S, env=_clean_environment())


def _clean_environment() -> dict[str, str]:
    """Ours, without what would point the other env's Python at this one's packages."""
    environment = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"):
        environment.pop(name, None)
    return environment


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if _NOISE not in line]
    return "\n".join(kept[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class InfinityServer:
    """``infinity_emb v2`` serving one model folder on 127.0.0.1, as a context manager.

    Settings, and why: the torch engine in float32 on the CPU (what the local
    ``cross-encoder:DIR?dtype=fp32`` computes, so scores can be compared); no
    BetterTransformer (it needs optimum, absent, and changes the kernels); no
    ``torch.compile`` (minutes of compiling on the CPU); no vector disk cache (a cached
    answer would hide the model's cost from a load test); no warm-up batches unless asked
    (seconds at start; a load test warms up itself); no telemetry; the hub offline.
    """

    def __init__(self, model_dir: Path, *, env: Path | None = None,
                 model_id: str = "rerank-eval-minilm-ce", batch_size: int = 32,
                 log_path: Path | None = None, startup_timeout_s: float = 180.0,
                 warmup: bool = False, extra_args: Sequence[str] = ()) -> None:
        self.model_dir = Path(model_dir).resolve()
        self.env = env
        self.model_id = model_id
        self.batch_size = batch_size
        self.log_path = log_path or self.model_dir.with_name(self.model_dir.name
                                                              + ".infinity.log")
        self.startup_timeout_s = startup_timeout_s
        self.warmup = warmup
        self.extra_args = tuple(extra_args)
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Infinity server is not started")
        return f"http://127.0.0.1:{self.port}"

    def command(self, env: Path, port: int) -> list[str]:
        return [str(server_executable(env)), "v2", "--model-id", str(self.model_dir),
                "--served-model-name", self.model_id, "--host", "127.0.0.1",
                "--port", str(port), "--device", "cpu", "--engine", "torch",
                "--dtype", "float32", "--batch-size", str(self.batch_size),
                "--no-bettertransformer", "--no-compile", "--no-vector-disk-cache",
                "--model-warmup" if self.warmup else "--no-model-warmup",
                "--log-level", "info", *self.extra_args]

    def start(self) -> InfinityServer:
        env = self.env or ensure_env()
        environment = _clean_environment()
        environment.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1",
                           INFINITY_ANONYMOUS_USAGE_STATS="0", TOKENIZERS_PARALLELISM="false")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        code: int | None = None
        for attempt in range(3):  # the free port can be taken before the server binds it
            self.port = free_port()
            with self.log_path.open("w") as log:
                self.process = process = subprocess.Popen(
                    self.command(env, self.port), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=environment, start_new_session=True)
            if self._wait_healthy(process):
                return self
            code = process.poll()
            self.stop()
            port_taken = "address already in use" in log_tail(self.log_path).lower()
            if not port_taken or attempt == 2:
                break
        what = (f"exited with code {code}" if code is not None
                else f"was not healthy within {self.startup_timeout_s:.0f}s")
        raise InfinityUnavailable(f"Infinity on {self.base_url} {what}\n--- {self.log_path} "
                                  f"(tail) ---\n{log_tail(self.log_path)}")

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> bool:
        import httpx

        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/health").status_code == 200:
                        return True
                time.sleep(0.25)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> InfinityServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

