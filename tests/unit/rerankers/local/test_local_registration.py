"""The local kinds register where they are defined, without importing torch."""

from __future__ import annotations

import subprocess
import sys

from rerank_eval.rerankers import registry


def test_importing_the_local_package_registers_both_kinds_without_torch() -> None:
    code = ("import sys, rerank_eval.rerankers.local\n"
            "from rerank_eval.rerankers.registry import _REGISTRY\n"
            "print(sorted(_REGISTRY), [m for m in ('torch', 'sentence_transformers')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "['biencoder', 'cross-encoder'] []"


def test_local_kinds_point_at_their_factories_and_options() -> None:
    import rerank_eval.rerankers.local  # noqa: F401  (registers the kinds)
    from rerank_eval.rerankers.local import models

    kinds = {k.kind: k for k in registry.known_kinds()}
    biencoder, cross_encoder = kinds["biencoder"], kinds["cross-encoder"]
    assert biencoder.load_factory() is models.create_biencoder
    assert cross_encoder.load_factory() is models.create_cross_encoder
    assert biencoder.cost_basis == cross_encoder.cost_basis == "hardware"
    assert set(biencoder.options) == {"device", "dtype", "batch_size", "max_length"}
    assert set(cross_encoder.options) == set(biencoder.options) | {"activation"}
