#!/usr/bin/env bash
# One-time (and idempotent) set-up of the control node: Debian packages, the Python virtualenv with the
# pinned requirements, and checks of what the lab needs from the host. Re-running it is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> [setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

APT_PACKAGES=(
  qemu-system-x86 qemu-utils      # the lab's cloud VMs
  debootstrap e2fsprogs fdisk     # the lab's cloud image
  iproute2 netcat-openbsd openssh-client  # the lab VPC and SSH into it
  busybox-static                  # initramfs of the Linux PV app VM
  iputils-ping curl               # networked app VMs: lab ping, and Linux's side of the stack's tap test
  libxen-dev gcc make             # FlexCapsule OS is built against Xen's public headers
  libc6-dev                       # hosted C: the host tests and the static NIC hotplug program (libc.a)
  python3-venv
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [[ $pkg == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  step "Debian packages present"
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  step "creating the virtualenv .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  step "installing pinned Python packages (requirements.txt)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install --progress-bar off -r requirements.txt
  echo "$want" > "$stamp"
else
  step "Python packages up to date"
fi

step "checking the host for the lab"
[[ -c /dev/net/tun ]] || { echo "setup: /dev/net/tun is missing: the lab VPC needs TUN/TAP" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "setup: the lab needs root (network namespaces, taps, loop devices)" >&2; exit 1; }
step "set-up done"
