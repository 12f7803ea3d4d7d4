"""Every fake dialect, for the shared server."""

from __future__ import annotations

import importlib

from rerank_eval.testing.fakes.server import Dialect

_DIALECTS = [
    ("rerank_eval.testing.fakes.cohere", "CohereDialect"),
    ("rerank_eval.testing.fakes.compatible", "GenericDialect"),
    ("rerank_eval.testing.fakes.compatible", "MixRouteDialect"),
    ("rerank_eval.testing.fakes.compatible", "SearchRouterDialect"),
    ("rerank_eval.testing.fakes.compatible", "OneRouterDialect"),
    ("rerank_eval.testing.fakes.compatible", "VllmDialect"),
    ("rerank_eval.testing.fakes.compatible", "InfinityDialect"),
    ("rerank_eval.testing.fakes.providers", "JinaDialect"),
    ("rerank_eval.testing.fakes.providers", "VoyageDialect"),
    ("rerank_eval.testing.fakes.providers", "MixedbreadDialect"),
    ("rerank_eval.testing.fakes.providers", "TeiDialect"),
]


def all_dialects() -> list[Dialect]:
    out = []
    for module_name, cls_name in _DIALECTS:
        module = importlib.import_module(module_name)
        out.append(getattr(module, cls_name)())
    return out
