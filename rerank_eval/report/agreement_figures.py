"""The Agreement section's figure: a heat map of every pair's mean agreement.

Drawn in the same style, and to the same byte-stable PNG, as the report's other figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from rerank_eval.agreement import PairAgreement
from rerank_eval.records import FIRST_STAGE
from rerank_eval.report.figures import WIDTH, RenderedFigure, _png, _style

MIN_SYSTEMS = 3
"""A heat map of fewer systems (one pair) says nothing the table does not."""


def system_name(name: str) -> str:
    return "first stage" if name == FIRST_STAGE else name


def agreement_heatmap(dataset: str, slug: str, systems: Sequence[str],
                      rows: Sequence[PairAgreement]) -> RenderedFigure | None:
    """One panel per measure (overlap@k, RBO): mean agreement of every pair of ``systems``,
    1 on the diagonal; None with fewer than :data:`MIN_SYSTEMS` systems."""
    if len(systems) < MIN_SYSTEMS:
        return None
    measures = list(dict.fromkeys(r.measure for r in rows))
    index = {name: i for i, name in enumerate(systems)}
    labels = [system_name(s) for s in systems]
    n = len(systems)
    side = min(WIDTH / 2, 1.6 + 0.55 * n)
    with _style():
        fig = Figure(figsize=(side * len(measures) + 0.8, side + 0.6), layout="constrained")
        axes = fig.subplots(1, len(measures), squeeze=False)[0]
        image = None
        for ax, measure in zip(axes, measures, strict=True):
            grid = np.full((n, n), np.nan)
            np.fill_diagonal(grid, 1.0)
            for r in rows:
                if r.measure == measure and r.a in index and r.b in index:
                    grid[index[r.a], index[r.b]] = grid[index[r.b], index[r.a]] = r.mean
            image = ax.imshow(np.ma.masked_invalid(grid), cmap="Blues", vmin=0.0, vmax=1.0)
            for i in range(n):
                for j in range(n):
                    value = grid[i, j]
                    ax.text(j, i, "–" if np.isnan(value) else f"{value:.2f}", ha="center",
                            va="center", fontsize=8,
                            color="white" if value > 0.6 else "#24292f")
            ax.set_xticks(range(n), labels, rotation=35, ha="right")
            ax.set_yticks(range(n), labels if ax is axes[0] else [""] * n)
            ax.grid(False)
            ax.set_title(f"mean {measure}")
        if image is not None:
            fig.colorbar(image, ax=list(axes), shrink=0.8, label="agreement (1 = identical)")
        fig.suptitle(f"{dataset}: agreement between rankings (not quality)", fontsize=10)
        png = _png(fig)
    return RenderedFigure(
        f"{slug}-agreement", f"{slug}-agreement.png", f"{dataset}: agreement between rankings",
        f"Heat map of mean top-k overlap and rank-biased overlap between every pair of "
        f"rankings on {dataset}", png)
