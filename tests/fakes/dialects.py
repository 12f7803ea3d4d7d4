"""Every fake dialect, for the shared server."""

from __future__ import annotations

import importlib

from fakes.server import Dialect

_DIALECTS = [
    ("fakes.cohere", "CohereDialect"),
    ("fakes.compatible", "GenericDialect"),
    ("fakes.compatible", "MixRouteDialect"),
    ("fakes.compatible", "SearchRouterDialect"),
    ("fakes.compatible", "OneRouterDialect"),
    ("fakes.compatible", "VllmDialect"),
    ("fakes.compatible", "InfinityDialect"),
    ("fakes.providers", "JinaDialect"),
    ("fakes.providers", "VoyageDialect"),
    ("fakes.providers", "MixedbreadDialect"),
    ("fakes.providers", "TeiDialect"),
]


def all_dialects() -> list[Dialect]:
    out = []
    for module_name, cls_name in _DIALECTS:
        module = importlib.import_module(module_name)
        out.append(getattr(module, cls_name)())
    return out
