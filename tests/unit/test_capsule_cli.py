"""capsule's argument handling, exit-code mapping and the byte-counting migration pipe."""
import json
import os
import subprocess
import sys
import threading

import pytest

from flexcapsule.capsule import cli, transport
from flexcapsule.runtime import Runtime

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils")


def parse(*argv):
    return cli.build_parser().parse_args(list(argv))


def test_run_takes_image_then_app_arguments_verbatim():
    opts = parse("run", "-d", "--name", "m-c", "--memory", "32M", "counter", "--interval", "2")
    assert (opts.detach, opts.name, opts.memory, opts.image, opts.args) == (True, "m-c", "32M", "counter",
                                                                           ["--interval", "2"])


def test_ps_and_kill_flags():
    assert parse("ps", "-a").all and not parse("ps").all
    opts = parse("kill", "--force", "--timeout", "5", "m-c")
    assert opts.force and opts.timeout == 5 and opts.name == "m-c"


def test_migrate_transport_choices():
    assert parse("migrate", "m-c", "10.77.0.12").transport == "ssh"
    with pytest.raises(SystemExit):
        parse("migrate", "--transport", "udp", "m-c", "10.77.0.12")


@pytest.mark.parametrize("view, code", [({"exit_status": 0}, 0), ({"exit_status": 3}, 3), ({"exit_status": 256}, 0),
                                        ({"exit_status": None, "exit_reason": "crashed"}, 134),
                                        ({"exit_status": None, "exit_reason": "destroyed"}, 137), (None, 125)])
def test_exit_codes_follow_the_app(view, code):
    assert cli.exit_code(view) == code


def test_bad_input_is_reported_before_anything_runs(tmp_path, capsys):
    # An invalid name fails validation before any xl command or state change.
    code = cli.main(["--state-dir", str(tmp_path / "run"), "--image-store", str(tmp_path), "run", "--name",
                     "Bad Name", "counter"])
    assert code == cli.EXIT_FAILED
    assert "invalid app VM name 'Bad Name'" in capsys.readouterr().err
    assert not (tmp_path / "run" / "apps").exists()


def test_unknown_image_is_reported(tmp_path, capsys):
    code = cli.main(["--state-dir", str(tmp_path / "run"), "--image-store", str(tmp_path), "run", "--name", "m-x",
                     "nope"])
    assert code == cli.EXIT_FAILED and "unknown image 'nope'" in capsys.readouterr().err


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    runtime = Runtime(state_dir=str(tmp_path))
    # A separate process holds the lock, as a concurrent `capsule migrate` would.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from flexcapsule.runtime import Runtime\n"
        "with Runtime(state_dir=%r).lock('m-c', 'migrate to 10.77.0.12'):\n"
        "    print('held', flush=True); time.sleep(30)\n") % (MODULE_UTILS, str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(cli.appvm.AppVmError, match=r"busy.*migrate to 10.77.0.12 by pid %d" % holder.pid):
            with runtime.lock("m-c", "migrate to 10.77.0.11"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with runtime.lock("m-c", "kill"):  # released when the holder died
        pass


def test_transport_pipe_counts_every_byte_and_passes_replies_back(tmp_path):
    stats = tmp_path / "stats.json"
    payload = os.urandom(300000)
    # Stand-in for `ssh HOST xl migrate-receive`: reads the stream, answers with its length.
    receiver = [sys.executable, "-c", "import sys; data = sys.stdin.buffer.read(); print(len(data))"]
    proc = subprocess.run([sys.executable, "-m", "flexcapsule.capsule", "transport", "--stats", str(stats), "--"]
                          + receiver, input=payload, capture_output=True, cwd=MODULE_UTILS, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip() == str(len(payload))
    assert json.loads(stats.read_text())["bytes_sent"] == len(payload)


def test_transport_reports_the_receivers_failure(tmp_path):
    receiver = [sys.executable, "-c", "import sys; sys.exit(5)"]
    rc = subprocess.call([sys.executable, "-m", "flexcapsule.capsule", "transport", "--stats",
                          str(tmp_path / "s.json"), "--"] + receiver, stdin=subprocess.DEVNULL, cwd=MODULE_UTILS,
                         timeout=60)
    assert rc == 5


def test_transport_ends_when_the_receiver_dies_before_xl_sends_anything(tmp_path):
    """xl first waits for the receiver's banner, sending nothing; the receiver's cloud VM dies. The pipe must end,
    and xl must see the end of the replies, though xl's own stream (our stdin) is still open."""
    receiver = [sys.executable, "-c", "import time; time.sleep(0.5)"]  # gone without a word
    proc = subprocess.Popen([sys.executable, "-m", "flexcapsule.capsule", "transport", "--stats",
                             str(tmp_path / "s.json"), "--"] + receiver,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=MODULE_UTILS)
    try:
        replies = []
        reader = threading.Thread(target=lambda: replies.append(proc.stdout.read()), daemon=True)
        reader.start()
        reader.join(15)
        assert not reader.is_alive(), "xl would still be waiting for the receiver's reply"
        assert replies == [b""]
        assert proc.wait(timeout=15) == 0
    finally:
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()


def test_tcp_receiver_refuses_other_peers_and_times_out(capsys):
    # Listens on loopback for a peer that never comes: returns an error instead of hanging.
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("rc", transport.receive(0, 1, "10.77.0.99")))
    thread.start()
    thread.join(10)
    assert result["rc"] == 1
    assert "no migration stream arrived" in capsys.readouterr().err


def test_tables_align_and_show_missing_values_as_dashes(capsys):
    cli.print_table([{"name": "m-a", "domid": 7}, {"name": "m-long-name", "domid": None}],
                    [("NAME", "name"), ("DOMID", "domid")])
    assert capsys.readouterr().out.splitlines() == ["NAME         DOMID", "m-a          7", "m-long-name  -"]


def test_console_log_of_a_migrated_in_app_is_the_incoming_one(tmp_path):
    """xenconsoled named the log after `<name>--incoming`; the newer file is the current incarnation's."""
    runtime = Runtime(state_dir=str(tmp_path))
    os.makedirs(runtime.console_dir)
    own = os.path.join(runtime.console_dir, "guest-m-a.log")
    incoming = os.path.join(runtime.console_dir, "guest-m-a--incoming.log")
    assert runtime.console_log("m-a") == own  # nothing yet: where xenconsoled will write
    for path, when in ((own, 1000), (incoming, 2000)):
        with open(path, "w") as handle:
            handle.write("x\n")
        os.utime(path, (when, when))
    assert runtime.console_log("m-a") == incoming
    os.utime(own, (3000, 3000))  # created here again later
    assert runtime.console_log("m-a") == own
