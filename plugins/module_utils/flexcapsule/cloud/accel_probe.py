"""Chooses QEMU's accelerator: KVM only if a quick probe proves it faster than TCG here.

On some hosts /dev/kvm exists but runs guest code thousands of times slower than native (nested
KVM without hardware help). The probe times the same guest work under both: SeaBIOS from reset to
its "no bootable device" message, read from its debug port.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE_LIMIT_SECONDS = 12
DONE_MARK = b"No bootable device"


def _time_bios(accel):
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "debugcon.log"
        argv = ["qemu-system-x86_64", "-accel", accel, "-nodefaults", "-display", "none", "-m", "32",
                "-no-reboot", "-chardev", f"file,id=dbg,path={log}", "-device", "isa-debugcon,iobase=0x402,chardev=dbg"]
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while time.monotonic() - start < PROBE_LIMIT_SECONDS:
                if proc.poll() is not None:
                    return None
                if log.exists() and DONE_MARK in log.read_bytes():
                    return time.monotonic() - start
                time.sleep(0.05)
            return None
        finally:
            proc.kill()
            proc.wait()


def choose_accel():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    tcg = _time_bios("tcg")
    kvm = _time_bios("kvm")
    choice = "kvm" if kvm is not None and (tcg is None or kvm < tcg / 2) else "tcg"
    print(f"[lab] accelerator probe: tcg {tcg if tcg is None else round(tcg, 2)}s, "
          f"kvm {kvm if kvm is None else round(kvm, 2)}s -> {choice}", file=sys.stderr, flush=True)
    return choice


if __name__ == "__main__":
    print(choose_accel())
