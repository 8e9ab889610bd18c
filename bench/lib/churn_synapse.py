#!/usr/bin/python3
"""The churn benchmark's Synapse: follows a ServerSet in ZooKeeper and drives HAProxy.

    churn_synapse.py --zk HOST:PORT --path SERVERSET --socket HAPROXY_SOCKET
                     --backend web --slot NAME=HOST:PORT ... [--max-seconds N]

What Airbnb's Synapse does with `do_socket: true` for servers already in HAProxy's
configuration: a watch on the ServerSet's children (kazoo's ChildrenWatch, as Synapse's
ZooKeeper watcher); every member_ node's serviceEndpoint (Aurora's JSON) is read; a slot whose
address is a member goes to `set server BACKEND/NAME state ready`, any other slot to `state
maint`, through HAProxy's runtime API. Each change is logged with its epoch time. Runs until
SIGTERM/SIGINT or --max-seconds. Needs python3-kazoo (Debian).
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError
except ImportError:
    print("churn_synapse: python3-kazoo missing (apt-get install python3-kazoo)", file=sys.stderr)
    sys.exit(3)


def log(msg):
    print(f"{time.time():.3f} {msg}", flush=True)


def haproxy_command(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        answer = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").strip()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--zk", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--socket", required=True)
    p.add_argument("--backend", default="web")
    p.add_argument("--slot", action="append", default=[], required=True)
    p.add_argument("--max-seconds", type=float, default=900)
    a = p.parse_args()
    slots = {}
    for s in a.slot:
        name, _, address = s.partition("=")
        if not address:
            p.error(f"--slot {s}: expected NAME=HOST:PORT")
        slots[name] = address
    state = {}  # slot -> "ready" / "maint" as last set
    lock = threading.Lock()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    zk = KazooClient(hosts=a.zk, timeout=10)
    zk.start(timeout=10)
    zk.ensure_path(a.path)

    def members(children):
        found = set()
        for child in children:
            if not child.startswith("member_"):
                continue
            try:
                data, _ = zk.get(f"{a.path}/{child}")
                endpoint = json.loads(data)["serviceEndpoint"]
                found.add(f"{endpoint['host']}:{endpoint['port']}")
            except NoNodeError:
                pass  # gone since the listing: the next watch event says so
            except (ValueError, KeyError, TypeError):
                log(f"ignoring member {child}: not a ServerSet member")
        return found

    failure = []

    def apply(children):  # on kazoo's thread
        with lock:
            try:
                present = members(children)
                for name, address in slots.items():
                    want = "ready" if address in present else "maint"
                    if state.get(name) == want:
                        continue
                    answer = haproxy_command(a.socket,
                                             f"set server {a.backend}/{name} state {want}")
                    state[name] = want
                    log(f"{name} {address} {want}{' (' + answer + ')' if answer else ''}")
            except OSError as e:
                failure.append(f"HAProxy's socket {a.socket}: {e}")
                done.set()
        return not done.is_set()

    try:
        zk.ChildrenWatch(a.path)(apply)
        done.wait(a.max_seconds)
    finally:
        zk.stop()
        zk.close()
    if failure:
        print(f"churn_synapse: {failure[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
