"""Read catalog/instance_types.yml into a Catalog of cloud types or of lab types."""
from __future__ import annotations

from pathlib import Path

from .model import Catalog, InstanceType, PlannerError

DEFAULT_CATALOG = Path(__file__).resolve().parents[4] / "catalog" / "instance_types.yml"


def catalog_from_dict(data: dict, kind: str = "cloud") -> Catalog:
    """kind "cloud": the real types; kind "lab": lab types priced as the real type they map to."""
    if kind not in ("cloud", "lab"):
        raise PlannerError(f"catalog kind must be cloud or lab, got {kind!r}")
    real = data.get("types") or {}
    types = {}
    if kind == "cloud":
        for name, spec in real.items():
            types[name] = InstanceType(name, int(spec["vcpus"]), int(spec["memory_mib"]),
                                       float(spec["price_per_hour"]), spec.get("family", ""))
    else:
        for name, spec in (data.get("lab_types") or {}).items():
            target = real.get(spec["maps_to"])
            if target is None:
                raise PlannerError(f"catalog: lab type {name} maps to unknown type {spec['maps_to']}")
            types[name] = InstanceType(name, int(spec["vcpus"]), int(spec["memory_mib"]),
                                       float(target["price_per_hour"]), target.get("family", ""),
                                       spec["maps_to"])
    if not types:
        raise PlannerError(f"catalog has no {kind} instance types")
    dom0 = (data.get("dom0_memory_mib") or {}).get(kind, 0)
    for t in types.values():
        if t.vcpus <= 0 or t.memory_mib <= dom0 or t.price_per_hour <= 0:
            raise PlannerError(f"catalog: instance type {t.name} has non-positive size or price")
    return Catalog(types, int(dom0))


def load_catalog(path=DEFAULT_CATALOG, kind: str = "cloud") -> Catalog:
    import yaml  # only needed when reading the file

    with open(path, encoding="utf-8") as handle:
        return catalog_from_dict(yaml.safe_load(handle), kind)
