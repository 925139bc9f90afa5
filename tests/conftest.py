"""Make the project's shared Python importable the two ways it is used.

Code under plugins/module_utils/flexcapsule is imported as `flexcapsule.*` by tools, tests and the
dom0 runtime, and as `ansible.module_utils.flexcapsule.*` by Ansible modules.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_UTILS = ROOT / "plugins" / "module_utils"

sys.path.insert(0, str(MODULE_UTILS))
sys.path.insert(0, str(ROOT / "plugins" / "modules"))
sys.path.insert(0, str(ROOT))

import ansible.module_utils  # noqa: E402

if str(MODULE_UTILS) not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(MODULE_UTILS))

# ansible-runner and the lab tests run the virtualenv's ansible-playbook, however pytest was started.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
