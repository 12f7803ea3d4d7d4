"""Handwritten texts the local-reranker tests score, and a response as {index: score}."""

from __future__ import annotations

from rerank_eval.types import RerankResponse

TEXTS = [
    "Scurvy is caused by a lack of vitamin C in the diet.",
    "Vitamin D deficiency leads to rickets in children.",
    "The cat sat on the mat and looked out of the window.",
    "Citrus fruits such as oranges and lemons are rich in ascorbic acid.",
    "Sailors on long voyages suffered from bleeding gums and fatigue.",
    "Stock markets rallied after the central bank held interest rates.",
    "Collagen synthesis requires vitamin C as a cofactor.",
    "A short note.",
    "Iron absorption from plant foods improves when eaten with vitamin C.",
    "Football fans celebrated the championship win in the city centre.",
    "Antioxidants neutralise free radicals in cells.",
    "Deficiency diseases were common before food fortification.",
]
LONG = " ".join(["The study measured diffusion in cerebral white matter of newborn infants."] * 12)


def scores_by_index(response: RerankResponse) -> dict[int, float]:
    return {r.index: r.relevance_score for r in response.results}
