"""FlexCapsule consolidation planner: pure Python, no Ansible imports.

    from flexcapsule.planner import plan, Policy, AppVM, CloudVM, load_catalog
    result = plan(apps, cloud_vms, placement, load_catalog(kind="lab"), Policy())
    result.to_dict()  # target configuration, ordered actions, lower bound and gap
"""
from .catalog import catalog_from_dict, load_catalog
from .core import initial_placement, plan, validate_input
from .model import (Action, AppVM, Catalog, CloudVM, Configuration, InstanceType, Plan,
                    PlannerError, Policy)
from .simulate import simulate_actions

__all__ = ["Action", "AppVM", "Catalog", "CloudVM", "Configuration", "InstanceType", "Plan",
           "PlannerError", "Policy", "catalog_from_dict", "initial_placement", "load_catalog", "plan",
           "simulate_actions", "validate_input"]
