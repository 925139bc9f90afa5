"""`capsule`: treat app VMs on this dom0 like processes (run, ps, logs, kill, wait, top, inspect, migrate)."""
import sys

from .entry import run

sys.exit(run())
