"""Arguments of ``python -m rerank_eval.testing.fakes`` (no socket: parsing only)."""

from __future__ import annotations

import pytest

from rerank_eval.testing.fakes.__main__ import parse_args
from rerank_eval.testing.fakes.capacity import Capacity

NAMES = ["cohere", "tei"]


def test_workers_and_times_make_a_capacity() -> None:
    args = parse_args(["--workers", "4", "--service-ms", "50", "--per-document-ms", "2",
                       "--max-concurrent", "8", "--dialect", "tei"], NAMES)
    assert args.capacity == Capacity(workers=4, service_s=0.05, per_document_s=0.002,
                                     max_concurrent=8)
    assert args.dialect == ["tei"] and args.port == 0
    assert not hasattr(parse_args([], NAMES), "capacity")


@pytest.mark.parametrize(("argv", "message"), [
    (["--service-ms", "50"], "--service-ms needs --workers"),
    (["--per-document-ms", "1"], "--per-document-ms needs --workers"),
    (["--workers", "0"], "workers must be an integer >= 1"),
    (["--workers", "2", "--service-ms", "-5"], "service_s must be a finite number"),
    (["--port", "70000"], "--port must be 0..65535"),
    (["--dialect", "acme"], "invalid choice: 'acme'"),
])
def test_bad_arguments_are_usage_errors(argv: list[str], message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_args(argv, NAMES)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
