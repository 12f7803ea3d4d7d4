"""Cost of 1,000 queries served at the knee, on one stated basis.

In order of preference:

- ``gpu_hour`` (``--gpu-hour-usd X``): a machine of your own running at the knee's
  throughput: ``X / 3600 / throughput × 1000``. For a self-hosted endpoint (TEI, vLLM,
  Infinity) or a local model;
- ``usage``: what the provider billed, from usage it reported priced by the reranker's
  dated price: the level's cost (billed failures included) per successful request × 1000;
- ``hardware_hour``: a local reranker with no ``--gpu-hour-usd``: the dated hourly rate
  of its hardware (pricing.toml, as ``run`` prices local busy time) over the knee's
  throughput, as for ``gpu_hour``.

None when there is no knee, or no basis (a remote endpoint without a price or reported
usage, and no ``--gpu-hour-usd``).
"""

from __future__ import annotations

from typing import Any

from rerank_eval.load.records import CostPer1k, Knee, LevelResult
from rerank_eval.pricing import hardware_price


def _hourly(usd_per_hour: float, rps: float) -> float:
    return usd_per_hour / 3600.0 / rps * 1000.0


def cost_per_1k(knee: Knee, levels: list[LevelResult], *, gpu_hour_usd: float | None,
                price: dict[str, Any] | None, device: str | None) -> CostPer1k | None:
    """Cost per 1,000 queries at ``knee``; see the module's docstring for the bases."""
    if not knee.found or knee.index is None:
        return None
    level = levels[knee.index]
    rps = level.throughput_rps
    if gpu_hour_usd is not None:
        if rps <= 0:
            return None
        return CostPer1k(usd=round(_hourly(gpu_hour_usd, rps), 10), basis="gpu_hour",
                         gpu_hour_usd=gpu_hour_usd,
                         note=f"${gpu_hour_usd:g}/hour (--gpu-hour-usd) at the knee's "
                              f"{rps:g} requests/s, the machine busy with nothing else")
    if level.cost_usd is not None and level.ok > 0:
        usd = level.cost_usd / level.ok * 1000.0
        dated = f" at {price['usd']:g} USD per {price['per']:g} {price['unit']}s, " \
                f"{price['date']}" if price else ""
        return CostPer1k(usd=round(usd, 10), basis="usage", price=price,
                         note=f"usage cost the provider reported or the dated price gives"
                              f"{dated}: the knee level's cost per successful request x 1000")
    if device is not None and rps > 0:
        hourly = hardware_price(device)
        if hourly is None:
            return None
        record = {"usd": hourly.usd_per_hour, "per": 1, "unit": f"{hourly.device}_hour",
                  "date": hourly.date, "source": hourly.source, "instance": hourly.instance,
                  "device": device}
        return CostPer1k(usd=round(_hourly(hourly.usd_per_hour, rps), 10),
                         basis="hardware_hour", price=record,
                         note=f"{hourly.instance} at ${hourly.usd_per_hour:g}/hour "
                              f"({hourly.date}) at the knee's {rps:g} requests/s; "
                              "--gpu-hour-usd to price your own machine")
    return None
