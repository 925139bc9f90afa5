"""The byte-counting pipe xl migrates through, and the one-shot TCP receiver for trusted networks.

`xl migrate -s CMD` runs `exec CMD HOST xl migrate-receive`; CMD is `capsule transport ...`, which the entry
(capsule/entry.py) sends straight here without the CLI's imports, since xl starts one per migration. This process
sits between xl and the link, counts what xl sends, watches the stream for its pre-copy rounds and records both
for the migration result.
"""
import argparse
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

from .migration_stream import MigrationStreamObserver

CHUNK = 1 << 16
DEAD_PEER_S = 30


def _pump(read_fd, write, counter=None, observer=None, alive=None):
    """Copy read_fd to write until EOF; with alive, also stop once alive() says the other end is gone (polled each
    second, since a read on a quiet pipe would otherwise wait for ever)."""
    while True:
        if alive is not None:
            while not select.select([read_fd], [], [], 1.0)[0]:
                if not alive():
                    return
        data = os.read(read_fd, CHUNK)
        if not data:
            return
        write(data)
        if observer is not None:
            observer.feed(data)
        if counter is not None:
            counter["bytes_sent"] += len(data)
            counter["last_byte_at"] = time.time()
            counter.setdefault("first_byte_at", counter["last_byte_at"])


def _write_all_fd(fd):
    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    return write


def _save(stats_path, counter, observer):
    if stats_path:
        with open(stats_path, "w") as handle:
            json.dump(dict(counter, **observer.summary()), handle)


def _give_up_stdout():
    """Leave xl's reply pipe to the child alone: while this process held a copy, a receiver that died without a
    word (its cloud VM killed mid-handshake) left xl waiting for a reply that never came, and never an EOF."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def pipe_through_command(stats_path, argv):
    """Run argv (ssh HOST xl migrate-receive), feeding it our stdin and counting the bytes. The child answers xl
    directly on our stdout; we stop when xl's stream ends or the child exits, whichever comes first."""
    counter, observer = {"bytes_sent": 0}, MigrationStreamObserver()
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, bufsize=0)
    _give_up_stdout()
    try:
        _pump(0, _write_all_fd(child.stdin.fileno()), counter, observer, alive=lambda: child.poll() is None)
    except BrokenPipeError:
        pass
    finally:
        try:
            child.stdin.close()
        except BrokenPipeError:
            pass
        _save(stats_path, counter, observer)
    rc = child.wait()
    _save(stats_path, counter, observer)
    return rc


def detect_dead_peer(conn):
    """A peer whose machine vanished sends no reset: without this, a read waits for ever and a write for the
    kernel's retransmission limit (about 15 minutes). Keepalives and a user timeout end it within ~30 s."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, DEAD_PEER_S // 3)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, DEAD_PEER_S // 6)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, DEAD_PEER_S * 1000)


def _pump_replies(conn_fd):
    try:
        _pump(conn_fd, _write_all_fd(1))
    except OSError:
        pass  # the peer is gone: xl sees the end of its replies when this process exits


def pipe_through_tcp(stats_path, host, port):
    """Plain TCP to a `capsule receive` on host: no encryption, for trusted networks only."""
    counter, observer = {"bytes_sent": 0}, MigrationStreamObserver()
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.settimeout(None)
        detect_dead_peer(conn)
        back = threading.Thread(target=_pump_replies, args=(conn.fileno(),), daemon=True)
        back.start()
        try:
            _pump(0, conn.sendall, counter, observer, alive=back.is_alive)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return 1
        finally:
            _save(stats_path, counter, observer)
        back.join()
    return 0


def receive(port, timeout, allowed_peer, xl_path="xl"):
    """Accept one migration stream from allowed_peer and hand it to `xl migrate-receive`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(1)
        listener.settimeout(timeout)
        print("listening on port %d" % port, flush=True)
        deadline = time.monotonic() + timeout
        while True:
            listener.settimeout(max(1, deadline - time.monotonic()))
            try:
                conn, (peer, _) = listener.accept()
            except socket.timeout:
                print("no migration stream arrived within %ss" % timeout, file=sys.stderr)
                return 1
            if peer == allowed_peer:
                break
            conn.close()  # somebody else: refuse and keep waiting for the source
    with conn:
        detect_dead_peer(conn)
        env = dict(os.environ, LANG="C", LC_ALL="C")
        return subprocess.call([xl_path, "migrate-receive"], stdin=conn.fileno(), stdout=conn.fileno(), env=env)


def main(argv=None):
    parser = argparse.ArgumentParser(description="(internal) carries one xl migration stream and counts it")
    parser.add_argument("--stats", help="where to write the bytes sent and the rounds seen (JSON)")
    parser.add_argument("--tcp-port", type=int, help="plain TCP to a `capsule receive` on HOST, not a command")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="[--] COMMAND... HOST xl migrate-receive")
    opts = parser.parse_args(argv)
    rest = opts.rest[1:] if opts.rest[:1] == ["--"] else opts.rest
    if opts.tcp_port:
        return pipe_through_tcp(opts.stats, rest[0] if rest else None, opts.tcp_port)
    return pipe_through_command(opts.stats, rest)


if __name__ == "__main__":
    sys.exit(main())
