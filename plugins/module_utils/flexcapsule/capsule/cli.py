"""Command line of `capsule`. Every command is a thin layer over flexcapsule.runtime."""
import argparse
import json
import os
import secrets
import signal
import sys
import time

from .. import appvm, runtime_migrate
from ..runtime import STATE_DIR, Runtime
from ..xl import ToolstackError
from . import transport

# Exit codes for app VMs that ended without an exit status of their own (shell conventions).
EXIT_DESTROYED = 137
EXIT_CRASHED = 134
EXIT_FAILED = 125


def exit_code(view):
    if view is None:
        return EXIT_FAILED
    if view.get("exit_status") is not None:
        return int(view["exit_status"]) & 0xFF
    return EXIT_CRASHED if view.get("exit_reason") == "crashed" else EXIT_DESTROYED


def print_table(rows, columns):
    """Left-aligned columns; None prints as '-'."""
    cells = [[title for title, _ in columns]]
    cells += [["-" if row.get(key) is None else str(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


def format_status(view):
    if view.get("record_error"):
        return "unreadable record"
    if view["state"] != "stopped":
        return view["state"]
    if view.get("exit_status") is not None:
        return "exited (%s)" % view["exit_status"]
    return view.get("exit_reason") or "stopped"


# ---------------------------------------------------------------- commands


def network_options(opts):
    """--ip/--gateway/--mac/--bridge/--vif-script as app_vm's network option (None without --ip)."""
    if opts.ip is None:
        given = [flag for flag, value in (("--gateway", opts.gateway), ("--mac", opts.mac), ("--bridge", opts.bridge),
                                          ("--vif-script", opts.vif_script))
                 if value is not None]
        if given:
            raise appvm.AppVmError("%s needs --ip ADDRESS/PREFIX" % " and ".join(given))
        return None
    network = {"address": opts.ip, "gateway": opts.gateway, "mac": opts.mac, "bridge": opts.bridge}
    if opts.vif_script is not None:
        network["script"] = opts.vif_script
    return network


def cmd_run(rt, opts):
    name = opts.name or "%s-%s" % (opts.image, secrets.token_hex(2))
    definition = rt.build_definition(name, opts.image, opts.memory, opts.vcpus, opts.args, network_options(opts))
    with rt.lock(name, "run"):
        views = rt.app_vms()
        if any(view["name"] == name for view in views):
            raise appvm.AppVmError("name clash: an app VM named %r already exists here; remove it with "
                                   "`capsule rm %s` or choose another --name" % (name, name))
        rt.check_network(definition, views)
        rt.check_memory(definition["memory_mib"])
        rt.define(definition)
        try:
            rt.start(name)
        except (ToolstackError, appvm.AppVmError):
            rt.forget(name)
            raise
    if opts.detach:
        print(name)
        return 0
    return follow_until_exit(rt, name)


def follow_until_exit(rt, name):
    """Stream the console like a foreground process; Ctrl-C asks the app VM to shut down."""
    interrupted = []

    def on_interrupt(signum, frame):
        if not interrupted:
            interrupted.append(signum)
            print("\ncapsule: asking %s to shut down (Ctrl-C again to stop following)" % name, file=sys.stderr)
            try:
                rt.xl.shutdown(name)
            except ToolstackError:
                pass
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        offset = rt.status(name).get("console_offset", 0)
        while True:
            offset = copy_console(rt, name, offset)
            finished = rt.wait_until_finished(name, timeout=0.5, poll=0.5)
            if finished is not None:
                copy_console(rt, name, offset)
                return exit_code(finished)
    finally:
        signal.signal(signal.SIGINT, previous)


def copy_console(rt, name, offset):
    try:
        with open(rt.console_log(name), "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return offset
    if data:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return offset + len(data)


def cmd_ps(rt, opts):
    views = rt.app_vms(include_stopped=opts.all)
    if opts.json:
        print(json.dumps(views, indent=1, sort_keys=True))
        return 0
    for view in views:
        view["status"] = format_status(view)
        view["address"] = (view.get("network") or {}).get("address")
    print_table(views, [("NAME", "name"), ("IMAGE", "image"), ("KIND", "kind"), ("STATUS", "status"),
                        ("MEM(MiB)", "memory_mib"), ("VCPUS", "vcpus"), ("DOMID", "domid"), ("ADDRESS", "address"),
                        ("ARGS", "args")])
    return 0


def require(rt, name):
    view = rt.app_vm(name)
    if view is None:
        raise appvm.AppVmError("no app VM named %r here (see `capsule ps -a`)" % name)
    return view


def cmd_logs(rt, opts):
    require(rt, opts.name)
    offset = rt.status(opts.name).get("console_offset", 0)
    if not os.path.exists(rt.console_log(opts.name)):
        raise appvm.AppVmError("no console log for %r at %s (is xenconsoled logging enabled?)"
                               % (opts.name, rt.console_log(opts.name)))
    offset = copy_console(rt, opts.name, offset)
    while opts.follow:
        time.sleep(0.5)
        offset = copy_console(rt, opts.name, offset)
        if rt.app_vm(opts.name)["state"] == "stopped":
            copy_console(rt, opts.name, offset)
            break
    return 0


def cmd_kill(rt, opts):
    require(rt, opts.name)
    with rt.lock(opts.name, "kill"):
        rt.stop(opts.name, force=opts.force, timeout=opts.timeout)
    view = rt.app_vm(opts.name)
    print("%s %s" % (opts.name, format_status(view) if view else "gone"))
    return 0


def cmd_rm(rt, opts):
    view = require(rt, opts.name)
    if view["state"] != "stopped" and not opts.force:
        raise appvm.AppVmError("app VM %r is %s; kill it first or use --force" % (opts.name, view["state"]))
    with rt.lock(opts.name, "rm"):
        rt.remove(opts.name, force=True, timeout=opts.timeout)
    return 0


def cmd_wait(rt, opts):
    require(rt, opts.name)
    finished = rt.wait_until_finished(opts.name, timeout=opts.timeout)
    if finished is None:
        raise appvm.AppVmError("app VM %r still running after %ss" % (opts.name, opts.timeout))
    print(finished["exit_status"] if finished.get("exit_status") is not None else finished.get("exit_reason"))
    return exit_code(finished)


def cmd_top(rt, opts):
    iteration = 0
    while opts.iterations == 0 or iteration < opts.iterations:
        views, capacity = rt.usage(interval=opts.interval, include_stopped=False)
        if opts.iterations != 1:
            print("\033[H\033[2J", end="")
        print("%s: %d CPUs, %d/%s MiB free" % (capacity["host"], capacity["nr_cpus"], capacity["free_memory_mib"],
                                               capacity["total_memory_mib"]))
        print_table(views, [("NAME", "name"), ("IMAGE", "image"), ("STATE", "state"), ("CPU%", "cpu_percent"),
                            ("MEM(MiB)", "memory_mib"), ("VCPUS", "vcpus"), ("UPTIME(s)", "uptime_s")])
        sys.stdout.flush()
        iteration += 1
    return 0


def cmd_inspect(rt, opts):
    view = require(rt, opts.name)
    view["status"] = rt.status(opts.name)
    view["console_log"] = rt.console_log(opts.name)
    print(json.dumps(view, indent=1, sort_keys=True))
    return 0


def cmd_migrate(rt, opts):
    result = runtime_migrate.migrate(rt, opts.name, opts.host, transport=opts.transport, timeout=opts.timeout,
                                     tcp_port=opts.tcp_port)
    if opts.json:
        print(json.dumps(result, indent=1, sort_keys=True))
    else:
        pages = result.get("pages_per_round") or []
        print("%s -> %s: total %.2fs, downtime %s, %s bytes%s" % (
            opts.name, opts.host, result["total_time_s"],
            "%.3fs" % result["downtime_s"] if result["downtime_s"] is not None else "unknown", result["bytes_sent"],
            ", %d pre-copy rounds, %d pages sent suspended" % (len(pages) - 1, pages[-1]) if pages else ""))
    return 0


def cmd_images(rt, opts):
    rows = []
    for image in appvm.list_images(rt.image_store):
        try:
            manifest = appvm.load_manifest(image, rt.image_store)
            rows.append({"image": image, "kind": manifest["kind"], "memory_mib": manifest["memory_mib"]})
        except appvm.AppVmError as exc:
            rows.append({"image": image, "kind": "broken: %s" % exc})
    print_table(rows, [("IMAGE", "image"), ("KIND", "kind"), ("MIN MEM(MiB)", "memory_mib")])
    return 0


def cmd_preflight(rt, opts):
    print(json.dumps(runtime_migrate.preflight_report(rt, opts.name, opts.image, bridges=opts.bridge,
                                                      addresses=opts.address, macs=opts.mac,
                                                      vif_scripts=opts.vif_script), sort_keys=True))
    return 0


def cmd_receive(rt, opts):
    return transport.receive(opts.port, opts.timeout, opts.allow)


# ---------------------------------------------------------------- parser


def build_parser():
    parser = argparse.ArgumentParser(prog="capsule", description="Run and manage app VMs like processes.")
    parser.add_argument("--state-dir", default=os.environ.get("FLEXCAPSULE_STATE_DIR", STATE_DIR))
    parser.add_argument("--image-store", default=os.environ.get("FLEXCAPSULE_IMAGE_STORE", appvm.IMAGE_STORE))
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="create and boot an app VM from an image")
    run.add_argument("-d", "--detach", action="store_true", help="do not follow the console; print the name")
    run.add_argument("--name")
    run.add_argument("--memory", help="MiB or a size like 64M (default: the image's)")
    run.add_argument("--vcpus", default=1)
    run.add_argument("--ip", metavar="ADDRESS/PREFIX", help="give the app VM a NIC with this IPv4 address, "
                     "e.g. 10.77.0.50/24")
    run.add_argument("--gateway", metavar="ADDRESS", help="default gateway (inside --ip's prefix)")
    run.add_argument("--mac", help="the NIC's MAC (default: derived from the name under Xen's 00:16:3e)")
    run.add_argument("--bridge", help="bridge of this cloud VM the NIC joins (default: %s)" % appvm.DEFAULT_BRIDGE)
    run.add_argument("--vif-script", choices=appvm.VIF_SCRIPTS,
                     help="libxl hotplug script that plugs the NIC in (default: %s; vif-bridge is Xen's stock one, "
                     "slower, with iptables anti-spoofing)" % appvm.DEFAULT_VIF_SCRIPT)
    run.add_argument("image")
    run.add_argument("args", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)

    ps = sub.add_parser("ps", help="list app VMs")
    ps.add_argument("-a", "--all", action="store_true", help="include stopped ones")
    ps.add_argument("--json", action="store_true")
    ps.set_defaults(func=cmd_ps)

    logs = sub.add_parser("logs", help="print the console of the app VM's current or last run")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("name")
    logs.set_defaults(func=cmd_logs)

    kill = sub.add_parser("kill", help="ask the app VM to shut down (destroy after --timeout with --force)")
    kill.add_argument("--force", action="store_true")
    kill.add_argument("--timeout", type=float, default=60)
    kill.add_argument("name")
    kill.set_defaults(func=cmd_kill)

    rm = sub.add_parser("rm", help="forget a stopped app VM")
    rm.add_argument("--force", action="store_true", help="stop it first if it runs")
    rm.add_argument("--timeout", type=float, default=60)
    rm.add_argument("name")
    rm.set_defaults(func=cmd_rm)

    wait = sub.add_parser("wait", help="wait for the app VM to finish; exit with its status")
    wait.add_argument("--timeout", type=float)
    wait.add_argument("name")
    wait.set_defaults(func=cmd_wait)

    top = sub.add_parser("top", help="CPU, memory and uptime of running app VMs")
    top.add_argument("--interval", type=float, default=2.0)
    top.add_argument("-n", "--iterations", type=int, default=0, help="0 = until interrupted")
    top.set_defaults(func=cmd_top)

    inspect = sub.add_parser("inspect", help="everything known about one app VM, as JSON")
    inspect.add_argument("name")
    inspect.set_defaults(func=cmd_inspect)

    migrate = sub.add_parser("migrate", help="live-migrate an app VM to another cloud VM")
    migrate.add_argument("--transport", choices=runtime_migrate.TRANSPORTS, default="ssh",
                         help="ssh (default, authenticated) or tcp (trusted networks only, faster)")
    migrate.add_argument("--tcp-port", type=int, default=runtime_migrate.DEFAULT_TCP_PORT)
    migrate.add_argument("--timeout", type=float, default=900)
    migrate.add_argument("--json", action="store_true")
    migrate.add_argument("name")
    migrate.add_argument("host")
    migrate.set_defaults(func=cmd_migrate)

    images = sub.add_parser("images", help="list the image store")
    images.set_defaults(func=cmd_images)

    # Plumbing for migrations between dom0s; not meant for people.
    preflight = sub.add_parser("preflight", help="(internal, used between dom0s)")
    preflight.add_argument("--json", action="store_true")
    preflight.add_argument("--name", required=True)
    preflight.add_argument("--image")
    preflight.add_argument("--bridge", action="append", default=[], help="a bridge the app VM's NICs need")
    preflight.add_argument("--address", action="append", default=[], help="an IPv4 address the app VM uses")
    preflight.add_argument("--mac", action="append", default=[], help="a MAC the app VM uses")
    preflight.add_argument("--vif-script", action="append", default=[],
                           help="a hotplug script the app VM's NICs need in %s" % appvm.XEN_SCRIPTS_DIR)
    preflight.set_defaults(func=cmd_preflight)
    receive = sub.add_parser("receive", help="(internal, used between dom0s)")
    receive.add_argument("--port", type=int, required=True)
    receive.add_argument("--timeout", type=float, default=900)
    receive.add_argument("--allow", required=True)
    receive.set_defaults(func=cmd_receive)
    return parser


def main(argv=None):
    opts = build_parser().parse_args(argv)
    rt = Runtime(state_dir=opts.state_dir, image_store=opts.image_store)
    try:
        return opts.func(rt, opts)
    except (appvm.AppVmError, ValueError) as exc:
        print("capsule: error: %s" % exc, file=sys.stderr)
        return EXIT_FAILED
    except ToolstackError as exc:
        print("capsule: error: %s\n  command: %s\n  rc: %s\n  stderr: %s" % (
            exc.message, " ".join(exc.cmd or []), exc.rc, exc.stderr.strip()[-2000:]), file=sys.stderr)
        return EXIT_FAILED
