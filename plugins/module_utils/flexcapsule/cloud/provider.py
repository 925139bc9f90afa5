"""The cloud provider interface: what FlexCapsule needs from a cloud to scale in and out.

consolidate.yml provisions and terminates cloud VMs only through this interface. The lab implements
it with QEMU (cloud/lab.py); a real cloud's driver implements the same few methods.
"""
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class CloudError(RuntimeError):
    """A provider refused or failed an operation; the message says why."""


@dataclass
class CloudVM:
    name: str
    instance_type: str
    address: str
    state: str  # running | stopped | crashed
    vcpus: int
    memory_mib: int
    price_per_hour: float
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        return asdict(self)


def validate_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CloudError(f"invalid cloud VM name {name!r}: use 1-31 of a-z, 0-9 and '-', starting with a letter")
    return name


class CloudProvider(ABC):
    """Provision, list and terminate cloud VMs of catalog instance types."""

    @abstractmethod
    def instance_types(self):
        """{type name: planner.model.InstanceType} this provider can start."""

    @abstractmethod
    def list_vms(self):
        """[CloudVM] currently known to the provider, crashed ones included."""

    @abstractmethod
    def create_vm(self, name, instance_type):
        """Start a cloud VM and wait until it accepts SSH; returns its CloudVM. Idempotent by name."""

    @abstractmethod
    def delete_vm(self, name):
        """Terminate a cloud VM and release everything it held; returns False if it did not exist."""

    @abstractmethod
    def connection_vars(self, vm):
        """Ansible connection variables that reach this cloud VM from the control node."""

    def get_vm(self, name):
        return next((vm for vm in self.list_vms() if vm.name == name), None)

    def instance_type(self, name):
        types = self.instance_types()
        if name not in types:
            raise CloudError(f"unknown instance type {name!r}; known: {', '.join(sorted(types))}")
        return types[name]
