"""CPU demand of an app VM, in vCPUs, from its CPU % samples (100 % = one vCPU busy)."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

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


def forecast_error(history, span: int = 3, window: int = 36, prior: Optional[float] = None):
    """Root mean square of each row's one-step errors of predict_next over the last `window`
    samples of `history` (apps x past samples, vCPUs): how far the next sample may stray from the
    forecast. `prior`: the forecast made before the first sample, whose error then counts too
    (None: the first sample has no error). Zeros when no sample has an error yet."""
    import numpy as np

    n = history.shape[1]
    first = max(0 if prior is not None else 1, n - window)
    if n <= first:
        return np.zeros(history.shape[0])
    errors = np.stack([history[:, k] - (predict_next(history[:, :k], span) if k else prior)
                       for k in range(first, n)], axis=1)
    return np.sqrt((errors ** 2).mean(axis=1))


# A saturated cloud VM under-reports its app VMs' demand: they share its vCPUs with each other and
# with dom0 (Xen's credit scheduler, equal weights), so each gets about an equal share however much
# it asks for. Two app VMs at 70 % duty on one vCPU measure about 0.43 + 0.43 vCPU, under an
# overload threshold of 0.85, and nothing would move. Rule: a cloud VM whose busy fraction (every
# domain, dom0 included, over the window) reaches the policy's `saturation_threshold` counts as
# saturated; its app VMs that were held to the fair share are raised to an equal share of the
# cloud VM's whole capacity (capped at their own vCPUs). They competed for all of it, and their
# true demand is at least that much: together with the apps that got what they asked, they fill
# the cloud VM, so two or more sharing it are over any overload threshold below 1.
# An app measured below this fraction of its fair share got all it asked for: not held back. Half,
# so that app VMs held back still count as such when a busy dom0 took a good part of the vCPUs (two
# at 70 % duty beside dom0 at 0.3 vCPU measure 0.35 each, 0.7 of their share), while idle ones and
# a dom0 saturating the cloud VM on its own raise nothing.
UNCONSTRAINED_FRACTION = 0.5


def busy_fraction(busy_samples_pct: Sequence[Optional[float]], capacity_vcpus: float) -> Optional[float]:
    """Mean busy fraction of a cloud VM over the window: samples are CPU % of every domain, dom0
    included (100 = one vCPU busy), capacity its vCPUs. None when nothing was measured."""
    try:
        values = [float(s) for s in busy_samples_pct if s is not None]
    except (TypeError, ValueError):
        values = [math.nan]
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise PlannerError(f"host CPU busy samples must be numbers >= 0, got {list(busy_samples_pct)!r}")
    if not values or not capacity_vcpus or capacity_vcpus <= 0:
        return None
    return sum(values) / len(values) / 100.0 / capacity_vcpus


def saturated_demand(measured: Dict[str, float], vcpus: Dict[str, int], capacity_vcpus: float,
                     busy: Optional[float], threshold: Optional[float]) -> Optional[Dict[str, float]]:
    """Demand of the app VMs of one cloud VM, inferred honestly when it is saturated.

    measured: app VM -> measured demand (vCPUs); vcpus: app VM -> its vCPUs; capacity_vcpus: the
    cloud VM's vCPUs; busy: its busy fraction over the window (busy_fraction), None if unknown;
    threshold: the policy's saturation_threshold (None: off). Returns None when the cloud VM is
    not saturated (the measurements stand), else app VM -> inferred demand, never below what was
    measured: max-min fair shares of the capacity, the apps that took less than half their share
    keep their measurement and the others get an equal share of what is left (none held back:
    dom0 saturated the cloud VM, nothing is raised)."""
    if threshold is None or busy is None or not measured or busy < threshold:
        return None
    left = float(capacity_vcpus)
    held = sorted(measured, key=lambda a: (measured[a], a))
    while held and measured[held[0]] < UNCONSTRAINED_FRACTION * left / len(held):
        left -= measured[held.pop(0)]
    if not held:  # every app VM got what it asked for: dom0 saturated the cloud VM
        return dict(measured)
    share = max(0.0, left) / len(held)
    inferred = dict(measured)
    for app in held:
        inferred[app] = round(min(float(vcpus.get(app, 1)), max(measured[app], share)), 4)
    return inferred
