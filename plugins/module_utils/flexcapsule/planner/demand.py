"""CPU demand of an app VM, in vCPUs, from its CPU % samples (100 % = one vCPU busy)."""
from __future__ import annotations

import math
from typing import Sequence

from .model import PlannerError


def percentile_demand(samples_pct: Sequence[float], percentile: float = 95.0) -> float:
    """Nearest-rank percentile of a window of CPU % samples, as vCPUs. This is what the live
    consolidate run feeds the planner (app_vm_info gives the window)."""
    if not 0 < percentile <= 100:
        raise PlannerError(f"percentile must be in (0, 100], got {percentile!r}")
    values = sorted(float(s) for s in samples_pct)
    if not values:
        raise PlannerError("no CPU samples in the window")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise PlannerError("CPU samples must be finite and >= 0")
    rank = max(1, math.ceil(percentile / 100 * len(values)))
    return values[rank - 1] / 100.0


def predict_next(history, span: int = 3):
    """Online forecast of the next sample for each row of `history` (apps x past samples, vCPUs):
    an EWMA with the given span over the last 4 x span samples. Unbiased on the PlanetLab days
    (sum of forecasts within 0.5 % of the sum of demand), so headroom is the policy's job: the
    errors of many apps on one cloud VM partly cancel, a per-app margin would not."""
    import numpy as np

    if history.shape[1] == 0:
        raise PlannerError("cannot predict from an empty history")
    alpha = 2.0 / (span + 1)
    recent = history[:, -4 * span:]
    ewma = recent[:, 0].astype(float)
    for k in range(1, recent.shape[1]):
        ewma = alpha * recent[:, k] + (1 - alpha) * ewma
    return np.asarray(ewma)
