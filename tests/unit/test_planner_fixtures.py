"""Small hand-made catalogs and fleets shared by the planner tests (no tests here; the name keeps it
with the planner tests)."""
import random

from flexcapsule.planner import AppVM, Catalog, CloudVM, InstanceType

# Two families, price linear in size, like the real catalog; 256 MiB kept by dom0.
SMALL_CATALOG = Catalog({
    "c.small": InstanceType("c.small", 2, 2304, 0.10, "c"),
    "c.large": InstanceType("c.large", 4, 4352, 0.20, "c"),
    "m.small": InstanceType("m.small", 2, 4352, 0.12, "m"),
    "m.large": InstanceType("m.large", 4, 8448, 0.24, "m"),
}, dom0_memory_mib=256)


def random_fleet(seed, n_apps=25, n_vms=10, types=("c.small", "c.large", "m.small", "m.large")):
    """A fleet that may be overloaded or wasteful in any way: the planner must cope."""
    rng = random.Random(seed)
    vms = [CloudVM(f"vm{i}", rng.choice(types)) for i in range(n_vms)]
    apps = [AppVM(f"app{i}", rng.choice([128, 256, 512, 1024]), round(rng.uniform(0.0, 0.9), 3))
            for i in range(n_apps)]
    placement = {a.name: rng.choice(vms).name for a in apps}
    return apps, vms, placement
