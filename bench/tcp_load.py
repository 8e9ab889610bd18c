#!/usr/bin/python3
"""Load and backend for bench/tcp_bench.sh: raw TCP through a proxy, loopback only.

  tcp_load.py serve --port P [--seconds S]
      A backend on 127.0.0.1:P. The first byte of a connection picks what it does:
      'U' discards everything (upload), 'D' sends until the peer closes (download),
      'E' echoes (request/response). It exits by itself after S seconds (default 3600).

  tcp_load.py run --port P --mode up|down|rr --conns N --seconds S [--size BYTES]
      N connections for S seconds through 127.0.0.1:P; prints one JSON line:
      bytes moved (up/down), round trips and their latency percentiles (rr, BYTES each way).

Every connection has a process of its own on both sides (forked), so that Python's global
interpreter lock does not put one connection's wait into another's latency; each process dies
with its parent. Every target is measured with the same client and backend.
"""
import argparse
import ctypes
import json
import multiprocessing
import os
import signal
import socket
import sys
import time

CHUNK = 256 * 1024


def die_with_parent():
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def serve_conn(conn):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = conn.recv(1)
        if mode == b"U":
            buf = bytearray(CHUNK)
            while conn.recv_into(buf):
                pass
        elif mode == b"D":
            data = b"d" * CHUNK
            while True:
                conn.sendall(data)
        elif mode == b"E":
            buf = bytearray(65536)
            view = memoryview(buf)
            while True:
                n = conn.recv_into(buf)
                if not n:
                    break
                conn.sendall(view[:n])
    except OSError:
        pass
    finally:
        conn.close()


def serve(args):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(1024)
    srv.settimeout(0.5)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        if os.fork() == 0:
            die_with_parent()
            srv.close()
            conn.settimeout(max(1.0, end - time.monotonic()))
            serve_conn(conn)
            os._exit(0)
        conn.close()


def one_connection(args, go, stop_at, queue):
    """One connection's share of a run; puts (bytes, latencies, error) on the queue."""
    die_with_parent()
    moved, lat, error = 0, [], ""
    try:
        s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall({"up": b"U", "down": b"D", "rr": b"E"}[args.mode])
        s.settimeout(args.seconds + 10)
        go.wait(30)
        end = stop_at.value
        if args.mode == "up":
            data = b"u" * CHUNK
            while time.monotonic() < end:
                s.sendall(data)
                moved += len(data)
        elif args.mode == "down":
            buf = bytearray(CHUNK)
            while time.monotonic() < end:
                n = s.recv_into(buf)
                if not n:
                    raise OSError("closed by the proxy")
                moved += n
        else:
            msg = b"r" * args.size
            view = memoryview(bytearray(args.size))
            while time.monotonic() < end:
                t0 = time.perf_counter()
                s.sendall(msg)
                got = 0
                while got < args.size:
                    n = s.recv_into(view[got:])
                    if not n:
                        raise OSError("closed by the proxy")
                    got += n
                lat.append(time.perf_counter() - t0)
                moved += args.size
        s.close()
    except OSError as e:
        error = str(e) or type(e).__name__
    queue.put((moved, lat, error))


def run(args):
    ctx = multiprocessing.get_context("fork")
    go, stop_at, queue = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    procs = [ctx.Process(target=one_connection, args=(args, go, stop_at, queue))
             for _ in range(args.conns)]
    for p in procs:
        p.start()
    time.sleep(0.2)  # the connections are made (their first byte sent) before the clock starts
    t0 = time.monotonic()
    stop_at.value = t0 + args.seconds
    go.set()
    results = []
    for _ in procs:
        try:
            results.append(queue.get(timeout=args.seconds + 40))
        except Exception:  # a process that died without an answer
            results.append((0, [], "no answer"))
    wall = time.monotonic() - t0
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
    errors = [e for _, _, e in results if e]
    out = {"mode": args.mode, "conns": args.conns, "wall_s": round(wall, 3),
           "bytes": sum(b for b, _, _ in results), "errors": len(errors),
           "first_error": errors[0] if errors else ""}
    if args.mode == "rr":
        lat = sorted(x for _, l, _ in results for x in l)
        out["round_trips"] = len(lat)
        if lat:
            out["p50_us"] = round(lat[len(lat) // 2] * 1e6, 1)
            out["p99_us"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6, 1)
    print(json.dumps(out))
    return 0 if not errors else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--seconds", type=float, default=3600)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--mode", choices=["up", "down", "rr"], required=True)
    r.add_argument("--conns", type=int, default=1)
    r.add_argument("--seconds", type=float, default=5)
    r.add_argument("--size", type=int, default=64)
    args = p.parse_args()
    if args.cmd == "serve":
        serve(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
