"""One writer per output folder.

Two runs into the same ``--out`` would append to the same journals and overwrite each
other's summaries. ``hold_run_lock`` takes an exclusive, non-blocking ``flock`` on
``DIR/.lock`` for the life of a run; the operating system releases it if the process
dies, so a crash never leaves a stale lock behind. Where ``fcntl`` does not exist
(Windows) the folder is not locked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RunLockedError(RuntimeError):
    """Another process is writing to the same output folder."""


@contextmanager
def hold_run_lock(out_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ".lock"
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLockedError(
                f"{out_dir} is being written by {holder}; wait for it, or use another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"rerank-eval pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
