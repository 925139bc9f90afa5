#!/bin/bash
# The lab tier of `make test`: the main job on the lab, then the lab tests and, at the same time, the Molecule
# scenario in a lab of its own (`make molecule`: netns flexmol, state in .lab-molecule/), so a fresh cloud VM's
# Xen install overlaps the tests instead of following them. Exits non-zero if either fails.
set -u
cd "$(dirname "$0")/.."
# Every step gets a /dev/null stdin of its own. In CI something in the lab tier left the shared stdin
# non-blocking, and the next ansible-playbook refused to start ("Ansible requires blocking IO").
venv=.venv/bin
stamp() { printf '==> %s [%s]\n' "$1" "$(date +%T)"; }

stamp "lab cloud image"
tools/labctl image || exit 1
stamp "main job (playbooks/main.yml)"
if ! "$venv/ansible-playbook" playbooks/main.yml </dev/null; then
    stamp "main.yml failed; rerunning it once (it converges)"
    "$venv/ansible-playbook" playbooks/main.yml </dev/null || exit 1
fi

stamp "make molecule, in its own lab (lines prefixed [molecule])"
(
    set -o pipefail
    make --no-print-directory molecule </dev/null 2>&1 | sed -u 's/^/[molecule] /'
) &
molecule_pid=$!

stamp "lab tests (pytest -m 'lab and not lab_extended' tests/lab)"
"$venv/pytest" -v -m "lab and not lab_extended" tests/lab </dev/null
tests_status=$?
stamp "lab tests done (status $tests_status); waiting for molecule"
wait "$molecule_pid"
molecule_status=$?
stamp "molecule done (status $molecule_status)"
[ "$tests_status" -eq 0 ] && [ "$molecule_status" -eq 0 ]
