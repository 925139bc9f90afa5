"""A throwaway network namespace for tests that need real Linux networking (bridges, veths, packet sockets)
without touching this machine's own: made with the given `ip -n NS ...` commands, deleted afterwards. Root only,
as the project's tests run."""
import contextlib
import os
import subprocess
import uuid


@contextlib.contextmanager
def private_netns(prefix, *ip_commands, ipv6=True):
    """Yields the namespace's name. ipv6=False: no IPv6 chatter (router solicitations, MLD) on its links."""
    assert os.geteuid() == 0, "needs root (network namespaces); the project's tests run as root"
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        if not ipv6:
            subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1",
                            "net.ipv6.conf.all.disable_ipv6=1"], check=True)
        for argv in ip_commands:
            subprocess.run(["ip", "-n", name] + list(argv), check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)
