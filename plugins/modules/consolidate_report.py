#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Ansible module: write the report of a consolidation run (Markdown, JSON and a PNG of the placement)."""

DOCUMENTATION = r"""
---
module: consolidate_report
short_description: Write a consolidation run's report
description:
  - Placement before and after, cost per hour before and after, each migration with its downtime, and the gap to
    the lower bound, as Markdown and JSON, plus a PNG picture of the placement.
options:
  plan:
    description: The plan returned by C(consolidate_plan).
    type: dict
    required: true
  migrations:
    description: Executed migrations, each with C(app), C(source), C(target) and C(downtime_ms).
    type: list
    elements: dict
    default: []
  out_dir:
    description: Directory the report files go to.
    type: path
    required: true
  name:
    description: Base name of the report files.
    type: str
    default: consolidation
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: FlexCapsule
"""

EXAMPLES = r"""
- name: Report
  consolidate_report:
    plan: "{{ consolidate_plan_result.plan }}"
    migrations: "{{ consolidate_migrations }}"
    out_dir: "{{ playbook_dir | dirname }}/results"
"""

RETURN = r"""
files:
  description: Paths of the written report files (markdown, json, png).
  returned: when not in check mode
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flexcapsule.report import ReportError, render_report


def main():
    module = AnsibleModule(
        argument_spec={"plan": {"type": "dict", "required": True},
                       "migrations": {"type": "list", "elements": "dict", "default": []},
                       "out_dir": {"type": "path", "required": True},
                       "name": {"type": "str", "default": "consolidation"}},
        supports_check_mode=True,
    )
    if module.check_mode:
        module.exit_json(changed=False)
    try:
        files = render_report(module.params["plan"], module.params["migrations"], module.params["out_dir"],
                              module.params["name"])
    except ReportError as err:
        module.fail_json(msg=f"cannot write the report: {err}")
    module.exit_json(changed=True, files=files)


if __name__ == "__main__":
    main()
