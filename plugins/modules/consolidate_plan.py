#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Ansible module: plan a consolidation run (runs on the control node; changes nothing)."""

DOCUMENTATION = r"""
---
module: consolidate_plan
short_description: Plan the cheapest cloud VM configuration and the ordered actions that reach it
description:
  - Feeds what C(app_vm_info) gathered on every cloud VM to FlexCapsule's planner and returns the target
    configuration (cloud VMs, their instance types, the placement of every app VM) with an ordered, feasible
    list of provision, migrate and terminate actions, the lower bound and the gap.
  - Planning changes nothing, so the module never reports C(changed).
options:
  fleet:
    description:
      - One entry per cloud VM, with C(name), C(instance_type) and C(app_vms), each app VM with C(name),
        C(state), C(memory_mib), C(vcpus) and C(cpu_samples) (CPU % of one vCPU over the window).
    type: list
    elements: dict
    required: true
  policy:
    description:
      - Planner policy settings (see docs/planner.md); unknown settings and bad values are an error before
        anything is planned.
      - C(saturation_threshold) (default 0.95, a fraction in [0.5, 1.0], or null to turn it off) - a cloud
        VM whose mean busy fraction over the window, dom0 included, reaches it is saturated and under-reports
        its app VMs' demand; those held to a fair share are raised to an equal share of its vCPUs (never
        below what was measured) and the plan flags it (C(saturated), notes, the reason of moves off it).
      - C(min_headroom_vcpus) (default 0) - spare vCPUs a shared cloud VM keeps at the target even where
        the percentage headroom gives less.
      - C(headroom_stddevs) (default 0) - pooled headroom over the app VMs' C(cpu_stddev); this module plans
        on a percentile of each app VM's samples and gives no C(cpu_stddev), so it has no effect here.
    type: dict
    default: {}
  cpu_percentile:
    description: Percentile of each app VM's CPU samples taken as its demand.
    type: float
    default: 95
  catalog:
    description: The instance catalog file.
    type: path
    required: true
  catalog_kind:
    description: C(lab) for the lab's instance types, C(cloud) for the real ones.
    type: str
    choices: [lab, cloud]
    default: lab
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: FlexCapsule
"""

EXAMPLES = r"""
- name: Plan
  consolidate_plan:
    fleet: "{{ consolidate_fleet }}"
    policy: {target_cpu_utilisation: 0.8, min_saving_per_hour: 0.01}
    catalog: "{{ playbook_dir | dirname }}/catalog/instance_types.yml"
  register: consolidate_plan_result
"""

RETURN = r"""
plan:
  description:
    - The plan (before/after configuration, cost per hour, actions, lower bound, gap, solver).
    - C(saturated) lists the saturated cloud VMs with their busy fraction and each app VM's measured and
      inferred demand.
    - None when no app VM runs (there is nothing to consolidate).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.consolidate import flag_saturation, planner_input
from ansible.module_utils.flexcapsule.planner import Policy, PlannerError, load_catalog, plan, simulate_actions


def main():
    module = AnsibleModule(
        argument_spec={
            "fleet": {"type": "list", "elements": "dict", "required": True},
            "policy": {"type": "dict", "default": {}},
            "cpu_percentile": {"type": "float", "default": 95.0},
            "catalog": {"type": "path", "required": True},
            "catalog_kind": {"type": "str", "choices": ["lab", "cloud"], "default": "lab"},
        },
        supports_check_mode=True,
    )
    try:
        catalog = load_catalog(module.params["catalog"], kind=module.params["catalog_kind"])
        policy = Policy.from_dict(module.params["policy"])
        policy.validate(catalog)
        apps, cloud_vms, placement, saturated = planner_input(module.params["fleet"], module.params["cpu_percentile"],
                                                             policy.saturation_threshold)
        if not apps:
            module.exit_json(changed=False, plan=None, msg="no running app VMs: nothing to consolidate")
        result = plan(apps, cloud_vms, placement, catalog, policy)
        # Last check before anything moves: every intermediate step stays within capacity.
        simulate_actions(apps, cloud_vms, placement, catalog, policy, result.actions)
    except (PlannerError, OSError) as err:
        module.fail_json(msg=f"consolidation plan refused: {err}")
    module.exit_json(changed=False, plan=flag_saturation(result.to_dict(), saturated, policy.saturation_threshold))


if __name__ == "__main__":
    main()
