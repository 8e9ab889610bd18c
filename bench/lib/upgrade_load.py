#!/usr/bin/python3
"""Paced load for bench/upgrade_bench.sh: every request's outcome, including socket errors.

    upgrade_load.py --mode new|keepalive|h2c --port PORT --rate R [--conns N]
                    --stop-file FILE --max-seconds S --log FILE.tsv --summary FILE.json

- new: a new TCP connection per request (`Connection: close`), R connections opened per second
  in total, each on its own task (a slow one does not hold the next back).
- keepalive: N HTTP/1.1 connections kept alive, each sending R requests/s, one at a time. A
  response with `Connection: close`, or a connection the server closed while idle, is followed
  by a new connection for the next request: that is what a client does, not a failure.
- h2c: N HTTP/2 connections with prior knowledge, each starting R streams/s (several may be in
  flight). After a GOAWAY the connection takes no new stream (the next one opens a new
  connection) and is closed once its streams ended; a stream above the GOAWAY's last stream id
  was not processed by the server and is logged as `goaway_unprocessed`.

No retries: every request the client sends is logged once, as `ok`, `http_NNN` or the socket
error that ended it: `refused` (connect refused), `reset` (ECONNRESET/EPIPE), `eof` (the
connection closed before any byte of the answer), `eof_mid` (closed during the answer),
`timeout` (--timeout s from the request's start, connect included), `rst_stream_N` (h2),
`goaway_unprocessed` (h2), `error_NAME` (anything else).

Log: one line per request, tab-separated: start (µs since the epoch), µs until the answer's end
(or the failure), outcome, connection number. Summary (JSON): connections opened, refused,
reset (in flight or while idle), closed by the server while idle, `Connection: close` answers,
GOAWAYs. The client stops starting requests when --stop-file exists (checked every 50 ms) or
after --max-seconds, waits at most --timeout s for what is in flight, then writes the summary.
Loopback only (127.0.0.1). Standard library plus Debian's python3-hpack for h2c.
"""

import argparse
import asyncio
import errno
import json
import os
import struct
import sys
import time

HOST = "127.0.0.1"
now_us = lambda: time.time_ns() // 1000  # noqa: E731 - the same epoch clock as the script's


class Stats:
    def __init__(self):
        self.conns_opened = 0
        self.conn_refused = 0
        self.conn_reset = 0  # connections ended by a reset, in flight or idle
        self.idle_closed = 0  # closed cleanly by the server with no request in flight
        self.close_announced = 0  # answers carrying Connection: close
        self.goaways = 0
        self.requests = 0


class Client:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.tasks = set()
        self.next_conn_id = 0

    def conn_id(self):
        self.next_conn_id += 1
        return self.next_conn_id

    def record(self, start, outcome, cid):
        self.stats.requests += 1
        self.log.write(f"{start}\t{now_us() - start}\t{outcome}\t{cid}\n")

    def classify(self, exc):
        """The outcome of a request ended by exc; counts refused and reset connections."""
        if isinstance(exc, ConnectionRefusedError):
            self.stats.conn_refused += 1
            return "refused"
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            self.stats.conn_reset += 1
            return "reset"
        if isinstance(exc, asyncio.IncompleteReadError):
            return "eof" if not exc.partial else "eof_mid"
        if isinstance(exc, asyncio.TimeoutError):
            return "timeout"
        if isinstance(exc, OSError) and exc.errno:
            return "error_" + errno.errorcode.get(exc.errno, str(exc.errno))
        return "error_" + type(exc).__name__

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def pace(self, rate, offset, body):
        """Calls `await body()` rate times a second from `offset` s on, until stopping; a late
        tick is not made up for by a burst."""
        period = 1.0 / rate
        loop = asyncio.get_running_loop()
        next_t = loop.time() + offset
        while not self.stopping.is_set():
            delay = next_t - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(self.stopping.wait(), delay)
                    return
                except asyncio.TimeoutError:
                    pass
            await body()
            next_t = max(next_t + period, loop.time() - period)

    async def open(self):
        reader, writer = await asyncio.open_connection(HOST, self.args.port)
        self.stats.conns_opened += 1
        return reader, writer


def request_bytes(close):
    return (f"GET / HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: upgrade-bench\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


async def read_h1_response(reader):
    """(status, keep_alive) of one HTTP/1.1 answer, its body read."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad status line " + lines[0][:60])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    keep = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "")
    if status in (204, 304) or 100 <= status < 200:
        pass
    elif "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # close-delimited
        keep = False
    return status, keep


def outcome_of(status):
    return "ok" if 200 <= status < 300 else f"http_{status}"


async def close_writer(writer):
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1)
    except Exception:  # noqa: BLE001 - already failed or closed: nothing left to do
        pass


# --- a new connection per request ---------------------------------------------------------

async def run_new(c):
    async def one():
        start, cid, writer = now_us(), c.conn_id(), None

        async def exchange():
            nonlocal writer
            reader, writer = await c.open()
            writer.write(request_bytes(close=True))
            status, _ = await read_h1_response(reader)
            return status

        try:
            status = await asyncio.wait_for(exchange(), c.args.timeout)
            c.record(start, outcome_of(status), cid)
        except Exception as exc:  # noqa: BLE001 - every failure is an outcome
            c.record(start, c.classify(exc), cid)
        if writer is not None:
            await close_writer(writer)

    async def tick():
        c.spawn(one())

    await c.pace(c.args.rate, 0, tick)


# --- HTTP/1.1 keep-alive --------------------------------------------------------------------

async def run_keepalive(c):
    async def conn_loop(slot):
        state = {"conn": None, "cid": 0}

        async def tick():
            conn = state["conn"]
            if conn is not None:
                reader, writer = conn
                exc = reader.exception()
                if exc is not None or reader.at_eof():  # the server closed it while idle
                    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
                        c.stats.conn_reset += 1
                    else:
                        c.stats.idle_closed += 1
                    await close_writer(writer)
                    state["conn"] = conn = None
            start = now_us()

            async def exchange():
                if state["conn"] is None:
                    state["conn"] = await c.open()
                    state["cid"] = c.conn_id()
                reader, writer = state["conn"]
                writer.write(request_bytes(close=False))
                return await read_h1_response(reader)

            try:
                status, keep = await asyncio.wait_for(exchange(), c.args.timeout)
                c.record(start, outcome_of(status), state["cid"])
                if not keep:
                    c.stats.close_announced += 1
                    await close_writer(state["conn"][1])
                    state["conn"] = None
            except Exception as exc:  # noqa: BLE001
                c.record(start, c.classify(exc), state["cid"])
                if state["conn"] is not None:
                    await close_writer(state["conn"][1])
                    state["conn"] = None

        await c.pace(c.args.rate, slot / (c.args.conns * c.args.rate), tick)
        if state["conn"] is not None:
            await close_writer(state["conn"][1])

    await asyncio.gather(*(conn_loop(i) for i in range(c.args.conns)))


# --- h2c (HTTP/2 with prior knowledge) -------------------------------------------------------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
BIG_WINDOW = (1 << 30)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


class H2Conn:
    def __init__(self, client, reader, writer):
        import hpack  # Debian's python3-hpack
        self.c, self.reader, self.writer = client, reader, writer
        self.cid = client.conn_id()
        self.encoder, self.decoder = hpack.Encoder(), hpack.Decoder()
        self.next_sid = 1
        self.streams = {}  # sid -> [future, status]
        self.goaway = None  # last stream id of a GOAWAY received
        self.closed = False
        self.header_block = None  # (sid, flags, bytes) while CONTINUATIONs arrive
        self.reader_task = None

    def start(self):
        # SETTINGS: no push, big stream windows; a big connection window: no flow control.
        settings = struct.pack(">HI", 0x2, 0) + struct.pack(">HI", 0x4, BIG_WINDOW)
        self.writer.write(PREFACE + frame(SETTINGS, 0, 0, settings) +
                          frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", BIG_WINDOW)))
        self.reader_task = asyncio.ensure_future(self.read_loop())

    def usable(self):
        return not self.closed and self.goaway is None

    def request(self):
        sid = self.next_sid
        self.next_sid += 2
        fut = asyncio.get_running_loop().create_future()
        self.streams[sid] = [fut, None]
        block = self.encoder.encode([(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                     (":authority", HOST), ("user-agent", "upgrade-bench")])
        self.writer.write(frame(HEADERS, END_STREAM | END_HEADERS, sid, block))
        return fut

    def finish(self, sid, outcome):
        entry = self.streams.pop(sid, None)
        if entry and not entry[0].done():
            entry[0].set_result(outcome)
        self.maybe_close()

    def maybe_close(self):
        if self.goaway is not None and not self.streams and not self.closed:
            self.closed = True
            self.writer.close()

    def fail_all(self, outcome):
        for sid in list(self.streams):
            self.finish(sid, outcome)

    async def read_loop(self):
        try:
            while True:
                head = await self.reader.readexactly(9)
                length = int.from_bytes(head[:3], "big")
                ftype, flags = head[3], head[4]
                sid = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                payload = await self.reader.readexactly(length) if length else b""
                self.on_frame(ftype, flags, sid, payload)
        except Exception as exc:  # noqa: BLE001 - the connection ended
            was_closed = self.closed
            self.closed = True
            if self.streams:
                outcome = self.c.classify(exc)
                if isinstance(exc, asyncio.IncompleteReadError):
                    outcome = "eof"  # a stream without its answer: nothing of it arrived whole
                self.fail_all(outcome)
            elif isinstance(exc, (ConnectionResetError, BrokenPipeError)):
                self.c.stats.conn_reset += 1
            elif not was_closed and self.goaway is None:
                self.c.stats.idle_closed += 1
            self.writer.close()

    def on_frame(self, ftype, flags, sid, payload):
        if ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                if flags & PADDED:
                    pad = payload[0]
                    payload = payload[1:len(payload) - pad]
                if flags & PRIORITY_FLAG:
                    payload = payload[5:]
                self.header_block = (sid, flags, payload)
            else:
                s, f, b = self.header_block
                self.header_block = (s, f | (flags & END_HEADERS), b + payload)
                flags = flags | (f & END_STREAM)
            if not flags & END_HEADERS:
                return
            s, f, block = self.header_block
            self.header_block = None
            headers = self.decoder.decode(block)
            status = next((int(v) for k, v in headers if k in (":status", b":status")), 0)
            entry = self.streams.get(s)
            if entry is not None and entry[1] is None and status >= 200:
                entry[1] = status
            if f & END_STREAM:
                self.finish(s, outcome_of(entry[1]) if entry and entry[1] else "no_status")
        elif ftype == DATA:
            if flags & END_STREAM:
                entry = self.streams.get(sid)
                self.finish(sid, outcome_of(entry[1]) if entry and entry[1] else "no_status")
        elif ftype == RST_STREAM:
            code = int.from_bytes(payload[:4], "big")
            self.finish(sid, "refused_stream" if code == 7 else f"rst_stream_{code}")
        elif ftype == SETTINGS:
            if not flags & ACK:
                self.writer.write(frame(SETTINGS, ACK, 0))
        elif ftype == PING:
            if not flags & ACK:
                self.writer.write(frame(PING, ACK, 0, payload))
        elif ftype == GOAWAY:
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            self.c.stats.goaways += 1
            self.goaway = last if self.goaway is None else min(self.goaway, last)
            for s in [s for s in self.streams if s > self.goaway]:
                self.finish(s, "goaway_unprocessed")
            self.maybe_close()


async def run_h2c(c):
    async def conn_loop(slot):
        state = {"conn": None}

        async def stream(start, conn, fut):
            try:
                outcome = await asyncio.wait_for(asyncio.shield(fut),
                                                 max(0.001, c.args.timeout - (now_us() - start) / 1e6))
            except asyncio.TimeoutError:
                outcome = "timeout"
                conn.streams.pop(next((s for s, e in conn.streams.items() if e[0] is fut), -1), None)
            c.record(start, outcome, conn.cid)

        async def tick():
            start = now_us()
            conn = state["conn"]
            if conn is None or not conn.usable():
                try:
                    reader, writer = await asyncio.wait_for(c.open(), c.args.timeout)
                except Exception as exc:  # noqa: BLE001
                    c.record(start, c.classify(exc), 0)
                    return
                conn = state["conn"] = H2Conn(c, reader, writer)
                conn.start()
            c.spawn(stream(start, conn, conn.request()))

        await c.pace(c.args.rate, slot / (c.args.conns * c.args.rate), tick)

    await asyncio.gather(*(conn_loop(i) for i in range(c.args.conns)))


async def main_async(args, log):
    c = Client(args, log)
    run = {"new": run_new, "keepalive": run_keepalive, "h2c": run_h2c}[args.mode]

    async def watch_stop():
        deadline = time.monotonic() + args.max_seconds
        while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        c.stopping.set()

    watcher = asyncio.ensure_future(watch_stop())
    await run(c)
    await watcher
    if c.tasks:  # what is in flight ends within its own timeout
        await asyncio.wait(list(c.tasks), timeout=args.timeout + 1)
    s = c.stats
    return {"mode": args.mode, "requests": s.requests, "conns_opened": s.conns_opened,
            "conn_refused": s.conn_refused, "conn_reset": s.conn_reset,
            "idle_closed": s.idle_closed, "close_announced": s.close_announced,
            "goaways": s.goaways}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["new", "keepalive", "h2c"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True,
                   help="new: connections/s in total; keepalive, h2c: requests/s per connection")
    p.add_argument("--conns", type=int, default=1, help="keepalive, h2c: connections")
    p.add_argument("--timeout", type=float, default=5.0, help="s per request, connect included")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--max-seconds", type=float, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--summary", required=True)
    args = p.parse_args()
    if args.rate <= 0 or args.conns <= 0:
        p.error("--rate and --conns must be positive")
    with open(args.log, "w", buffering=1 << 16) as log:
        summary = asyncio.run(main_async(args, log))
    with open(args.summary, "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
