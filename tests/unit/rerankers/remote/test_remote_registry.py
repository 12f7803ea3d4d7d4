"""Every remote kind is registered, builds from its env vars, and fits the one interface;
every env var read under rerank_eval/rerankers/ is declared by a kind; listing kinds
imports neither torch nor httpx."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from support.providers import prepare

import rerank_eval.rerankers
from rerank_eval.rerankers import (
    Reranker,
    RerankerKind,
    Runtime,
    UnknownRerankerError,
    create_reranker,
    known_kinds,
    register,
)
from rerank_eval.rerankers.base import PricedByUsage
from rerank_eval.rerankers.registry import SHARED_ENV_VARS, unregister
from rerank_eval.rerankers.remote.http.errors import MissingAPIKeyError

REMOTE = {
    "cohere": "rerank-v3.5", "jina": "jina-reranker-v2-base-multilingual",
    "voyage": "rerank-2.5", "mixedbread": "mixedbread-ai/mxbai-rerank-large-v2",
    "tei": None, "compatible": "my-model", "mixroute": "rerank-v3",
    "searchrouter": "cohere/rerank-v3.5", "onerouter": "voyage-rerank-2.5",
    "infron": "voyage-rerank-2.5", "vllm": "bge", "infinity": "bge",
}
KEYLESS = {"tei", "vllm", "infinity"}
PACKAGE = Path(rerank_eval.rerankers.__file__).parent


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    prepare(monkeypatch, tmp_path)


@pytest.mark.parametrize("kind", sorted(REMOTE))
async def test_kind_builds_from_its_declared_env_vars(kind, monkeypatch) -> None:
    entry = {k.kind: k for k in known_kinds()}[kind]
    assert entry.cost_basis == "usage"
    key_vars = [v for v in entry.env_vars if v.endswith("_API_KEY")]
    url_vars = [v for v in entry.env_vars if v.endswith("_BASE_URL")]
    assert key_vars and url_vars, entry.env_vars
    spec = kind if REMOTE[kind] is None else f"{kind}:{REMOTE[kind]}"
    monkeypatch.setenv(url_vars[0], "https://provider.example/")
    if kind not in KEYLESS:
        with pytest.raises(MissingAPIKeyError, match=key_vars[0]):
            create_reranker(spec)
    monkeypatch.setenv(key_vars[0], "test-key-123456")
    reranker = create_reranker(spec)
    assert isinstance(reranker, Reranker)
    assert isinstance(reranker, PricedByUsage)
    assert reranker.url.startswith("https://provider.example/")
    assert reranker.name.startswith(kind)
    assert reranker.max_concurrency == 8
    assert "test-key-123456" not in repr(reranker)
    await reranker.aclose()
    await reranker.aclose()  # idempotent


@pytest.mark.parametrize("kind", sorted(REMOTE))
def test_every_declared_fallback_env_var_is_read(kind, monkeypatch) -> None:
    """The last key and URL env vars a kind declares (the fallbacks) really are used."""
    entry = {k.kind: k for k in known_kinds()}[kind]
    spec = kind if REMOTE[kind] is None else f"{kind}:{REMOTE[kind]}"
    key_var = [v for v in entry.env_vars if v.endswith("_API_KEY")][-1]
    url_var = [v for v in entry.env_vars if v.endswith("_BASE_URL")][-1]
    monkeypatch.setenv(key_var, "fallback-key-123")
    monkeypatch.setenv(url_var, "https://fallback.example/")
    reranker = create_reranker(spec)
    assert reranker.url.startswith("https://fallback.example/")
    assert reranker.http._api_key.reveal() == "fallback-key-123"


def test_local_kinds_are_priced_by_hardware() -> None:
    kinds = {k.kind: k for k in known_kinds()}
    for name in ("bm25", "biencoder", "cross-encoder"):
        assert kinds[name].cost_basis == "hardware"
    assert set(REMOTE) <= set(kinds)
    assert kinds["cohere"].price_provider == "cohere"
    assert "api_version" in kinds["cohere"].options and "api_key" in kinds["cohere"].options


def _env_reads(path: Path) -> list[tuple[int, ast.expr]]:
    """(line, name expression) of every os.environ / os.getenv read in a module."""
    reads = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func = node.func
            on_environ = isinstance(func.value, ast.Attribute) and func.value.attr == "environ"
            if func.attr == "getenv" or (on_environ and func.attr in ("get", "pop")):
                target = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "environ":
            target = node.slice
        if target is not None:
            reads.append((node.lineno, target))
    return reads


def test_every_env_var_read_is_declared() -> None:
    declared = {name for kind in known_kinds() for name in kind.env_vars} | set(SHARED_ENV_VARS)
    literal, dynamic = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, target in _env_reads(path):
            where = f"{path.relative_to(PACKAGE)}:{line}"
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                literal.append((where, target.value))
            else:
                dynamic.append(where)
    assert literal, "the scan found no env var read at all"
    undeclared = [(where, name) for where, name in literal if name not in declared]
    assert undeclared == []
    # names not written out are read only by first_env, from a profile's declared names
    assert all(where.startswith("remote/profile.py:") for where in dynamic), dynamic


def test_the_scan_sees_every_form_of_read(tmp_path) -> None:
    module = tmp_path / "m.py"
    module.write_text('import os\nos.environ.get("A")\nos.getenv("B")\nos.environ["C"]\n'
                      'os.environ.get(name)\n')
    names = [t.value if isinstance(t, ast.Constant) else "?" for _, t in _env_reads(module)]
    assert sorted(names) == ["?", "A", "B", "C"]


def test_listing_kinds_imports_neither_torch_nor_httpx() -> None:
    code = ("import sys; from rerank_eval.rerankers import known_kinds; "
            "kinds = known_kinds(); "
            "print(len(kinds), 'torch' in sys.modules, 'httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) >= 15 and out[1:] == ["False", "False"]


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(UnknownRerankerError, match=r"known kinds: .*cohere"):
        create_reranker("nope:x")


def echo_factory(spec, runtime):
    return spec, runtime


@pytest.fixture
def custom_kind():
    register(RerankerKind(kind="echo-test", factory_path=f"{__name__}:echo_factory",
                          summary="a test kind"))
    yield "echo-test"
    unregister("echo-test")


def test_a_registered_kind_gets_spec_and_runtime(custom_kind) -> None:
    spec, runtime = create_reranker(f"{custom_kind}:arg?x=1",
                                    runtime=Runtime(response_cache=False))
    assert (spec.kind, spec.arg, dict(spec.options)) == ("echo-test", "arg", {"x": "1"})
    assert runtime == Runtime(response_cache=False)
    spec, runtime = create_reranker(custom_kind)
    assert runtime == Runtime()  # the default when none is given
