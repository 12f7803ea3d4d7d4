"""Serve the fake rerank APIs on their own, for examples and manual load tests.

    python -m rerank_eval.testing.fakes [--port 0] [--workers 4 --service-ms 50]
        [--per-document-ms X] [--max-concurrent N] [--dialect tei ...]

Binds 127.0.0.1 only. Prints the base URL of every dialect served, one a line (give it
to a reranker: ``tei:URL``, or ``base_url=URL``), then serves until SIGINT or SIGTERM.
With ``--workers``, each dialect has its own :class:`~.capacity.Capacity`: that many
requests served at once, each for ``--service-ms`` (+ ``--per-document-ms`` per
document), the rest queued; without it every request is answered at once. Dialects that
check a key expect :data:`~.server.FAKE_KEY` (said on stderr).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence

from rerank_eval.testing.fakes.capacity import Capacity
from rerank_eval.testing.fakes.dialects import all_dialects
from rerank_eval.testing.fakes.server import FAKE_KEY, FakeServer


def parse_args(argv: Sequence[str] | None, names: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rerank_eval.testing.fakes",
        description="Serve the fake rerank APIs on 127.0.0.1 until SIGINT or SIGTERM.")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument("--workers", type=int, default=None,
                        help="requests served at once per dialect (default: no limit)")
    parser.add_argument("--service-ms", type=float, default=None,
                        help="time a request holds a worker (ms; needs --workers)")
    parser.add_argument("--per-document-ms", type=float, default=None,
                        help="added service time per document (ms; needs --workers)")
    parser.add_argument("--max-concurrent", type=int, default=None,
                        help="requests in a dialect at once, queued or served; one more "
                             "gets 429 (needs --workers; default: no limit)")
    parser.add_argument("--dialect", action="append", choices=names, default=None,
                        help="serve only this dialect (repeatable; default: all)")
    args = parser.parse_args(argv)
    if args.workers is None:
        given = [flag for flag, value in (("--service-ms", args.service_ms),
                                          ("--per-document-ms", args.per_document_ms),
                                          ("--max-concurrent", args.max_concurrent))
                 if value is not None]
        if given:
            parser.error(f"{', '.join(given)} needs --workers")
    else:
        try:
            args.capacity = Capacity(workers=args.workers,
                                     service_s=(args.service_ms or 0.0) / 1000,
                                     per_document_s=(args.per_document_ms or 0.0) / 1000,
                                     max_concurrent=args.max_concurrent)
        except ValueError as exc:
            parser.error(str(exc))
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, got {args.port}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    dialects = all_dialects()
    args = parse_args(argv, [d.name for d in dialects])
    if args.dialect:
        dialects = [d for d in dialects if d.name in set(args.dialect)]
    capacity: Capacity | None = getattr(args, "capacity", None)
    for dialect in dialects:
        dialect.state.capacity = capacity
    stop: list[int] = []  # a signal handler must take no lock (Event.set would deadlock)

    def on_signal(signum: int, frame: object) -> None:
        stop.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server = FakeServer(dialects)
    try:
        server.start(args.port)
    except (RuntimeError, OSError) as exc:
        print(f"error: could not serve on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    for dialect in dialects:
        print(server.url(dialect.name), flush=True)
    print(f"serving {len(dialects)} dialect(s) on 127.0.0.1:{server.port}"
          + (f" with {capacity}" if capacity else "")
          + f"; keyed dialects expect the API key {FAKE_KEY}; stop with Ctrl-C",
          file=sys.stderr, flush=True)
    while not stop:
        if not server.running:
            print("error: the server stopped", file=sys.stderr)
            return 1
        time.sleep(0.1)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
