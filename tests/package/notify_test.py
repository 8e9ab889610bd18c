#!/usr/bin/python3
"""sd_notify for real: `switchyard serve` under a NOTIFY_SOCKET of our own, as systemd runs a
Type=notify unit (switchyard.service), without systemd.

    /usr/bin/python3 tests/package/notify_test.py PATH/TO/switchyard

Asserts, with a static cluster: READY=1 arrives once, and only when the listener already accepts
connections and /ready answers 200; SIGHUP gives RELOADING=1 (with MONOTONIC_USEC) then READY=1,
also for a file the reload refuses; SIGTERM gives STOPPING=1 and exit 0. With a ServerSet whose
ZooKeeper cannot be reached: the listener accepts, /ready is 503 and READY=1 never comes (a
STATUS says why). Exits 1 on the first failed assertion, printing the messages received.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    # Bound and released: the gateway binds it a moment later (tests never hard-code ports).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def ready_status(admin_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"ok: {what}")


class Gateway:
    def __init__(self, binary, tmp, config_text, name):
        self.config = os.path.join(tmp, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.sock_path = os.path.join(tmp, f"{name}.notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.messages = []  # every datagram, in order, as text
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path)
        self.log = open(os.path.join(tmp, f"{name}.log"), "w")
        self.proc = subprocess.Popen([binary, "serve", "--config", self.config], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def next_message(self, timeout):
        """The next datagram as a dict of its assignments, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        self.messages.append(data)
        return dict(line.split("=", 1) for line in data.split("\n") if "=" in line)

    def wait_for(self, key, timeout):
        """Messages until one sets key; returns it and the ones before it."""
        before = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            m = self.next_message(left)
            if m is None:
                break
            if key in m:
                return m, before
            before.append(m)
        return None, before

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self.log.close()


def gateway_config(listen, admin, discovery, zookeeper=""):
    return f"""workers: 1
{zookeeper}
listeners:
  - name: web
    address: "127.0.0.1:{listen}"
    routes:
      - match: {{ path_prefix: "/" }}
        cluster: app
clusters:
  - name: app
    discovery: {discovery}
admin:
  address: "127.0.0.1:{admin}"
"""


def test_lifecycle(binary, tmp):
    listen, admin, upstream = free_port(), free_port(), free_port()
    config = gateway_config(listen, admin, f'{{ static: ["127.0.0.1:{upstream}"] }}')
    gw = Gateway(binary, tmp, config, "static")
    try:
        ready, before = gw.wait_for("READY", 20)
        check(ready is not None, "READY=1 arrives")
        # Probed the moment READY=1 is read: the promise is that it is already true.
        check(accepts(listen), "the listener accepts connections when READY=1 arrives")
        check(ready_status(admin) == 200, "/ready answers 200 when READY=1 arrives")
        check(ready.get("READY") == "1" and ready.get("STATUS"), "READY=1 carries a STATUS")
        check(not any("RELOADING" in m or "STOPPING" in m for m in before),
              "nothing but STATUS before READY=1")
        extra = gw.next_message(0.5)
        check(extra is None or "READY" not in extra, "READY=1 is sent once")

        gw.proc.send_signal(signal.SIGHUP)
        reloading, _ = gw.wait_for("RELOADING", 10)
        check(reloading is not None and reloading["RELOADING"] == "1", "SIGHUP: RELOADING=1")
        check(int(reloading.get("MONOTONIC_USEC", "0")) > 0, "RELOADING=1 has MONOTONIC_USEC")
        again, _ = gw.wait_for("READY", 10)
        check(again is not None, "after the reload: READY=1 again")

        # A file the reload refuses: still RELOADING=1 then READY=1 (the old configuration
        # serves on; systemd must not be left waiting in "reloading").
        with open(gw.config, "a") as f:
            f.write("no_such_key: 1\n")
        gw.proc.send_signal(signal.SIGHUP)
        reloading, _ = gw.wait_for("RELOADING", 10)
        check(reloading is not None, "SIGHUP with a broken file: RELOADING=1")
        again, _ = gw.wait_for("READY", 10)
        check(again is not None, "the refused reload ends with READY=1")
        check(accepts(listen), "the listener still accepts after the refused reload")

        gw.proc.send_signal(signal.SIGTERM)
        stopping, _ = gw.wait_for("STOPPING", 10)
        check(stopping is not None and stopping["STOPPING"] == "1", "SIGTERM: STOPPING=1")
        check(gw.proc.wait(timeout=40) == 0, "the drained gateway exits 0")
    finally:
        print("messages:", gw.messages)
        gw.stop()


def test_not_ready_without_discovery(binary, tmp):
    # A ServerSet on a ZooKeeper nobody listens on: never read, so never ready.
    listen, admin, zk = free_port(), free_port(), free_port()
    config = gateway_config(listen, admin, '{ serverset: "/nowhere" }',
                            f'zookeeper: {{ servers: "127.0.0.1:{zk}" }}')
    gw = Gateway(binary, tmp, config, "serverset")
    try:
        deadline = time.monotonic() + 10
        while not accepts(listen) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(accepts(listen), "serverset: the listener accepts")
        ready, before = gw.wait_for("READY", 3)
        check(ready is None, "serverset never read: no READY=1 within 3 s")
        check(any("waiting" in m.get("STATUS", "") for m in before), "a STATUS says it waits")
        check(ready_status(admin) == 503, "/ready answers 503 meanwhile")
        gw.proc.send_signal(signal.SIGTERM)
        stopping, _ = gw.wait_for("STOPPING", 10)
        check(stopping is not None, "SIGTERM before ready: STOPPING=1")
        check(gw.proc.wait(timeout=40) == 0, "exits 0")
    finally:
        print("messages:", gw.messages)
        gw.stop()


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/switchyard")
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="switchyard-notify-") as tmp:
        try:
            test_lifecycle(binary, tmp)
            test_not_ready_without_discovery(binary, tmp)
        except Failure as e:
            print(f"FAIL: {e}")
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    print(f"--- {name}")
                    print(open(os.path.join(tmp, name)).read())
            sys.exit(1)
    print("notify_test: all passed")


if __name__ == "__main__":
    main()
