"""Lower bounds on the cost per hour of any placement."""
from __future__ import annotations

from typing import Sequence

from .model import Catalog, InstanceType


def fluid_bound(cpu: float, memory_mib: float, catalog: Catalog) -> float:
    """The larger of all CPU at the cheapest price per vCPU-hour and all memory at the cheapest
    price per GiB-hour: no placement on these types can cost less (CPU never overcommitted)."""
    return max(cpu * catalog.cheapest_per_vcpu_hour(),
               memory_mib / 1024 * catalog.cheapest_per_gib_hour())


def type_mix_bound(cpu: float, memory_mib: float, types: Sequence[InstanceType], catalog: Catalog,
                   utilisation: float) -> float:
    """LP relaxation: fractional counts of each type covering CPU (at the target utilisation) and
    usable memory. With two constraints an optimal vertex uses at most two types, so trying every
    type and every pair is exact."""
    if cpu <= 0 and memory_mib <= 0:
        return 0.0
    caps = [(t.price_per_hour, t.vcpus * utilisation, t.memory_mib - catalog.dom0_memory_mib)
            for t in types]
    best = min(p * max(cpu / c, memory_mib / m) for p, c, m in caps)
    for i, (p1, c1, m1) in enumerate(caps):
        for p2, c2, m2 in caps[i + 1:]:
            det = c1 * m2 - c2 * m1
            if abs(det) < 1e-12:
                continue
            n1 = (cpu * m2 - c2 * memory_mib) / det
            n2 = (c1 * memory_mib - cpu * m1) / det
            if n1 >= 0 and n2 >= 0:
                best = min(best, p1 * n1 + p2 * n2)
    return best
