#!/usr/bin/python3
"""A small HTTP/2 (h2c, prior knowledge) test client for tests/integration/http2_test.cc.

Run with Debian's /usr/bin/python3 (python3-h2 4.1, python3-hpack). Every mode prints one JSON
object on stdout and exits 0 unless the mode itself could not run. Every socket has a deadline.

  requests PORT N [PATH] [--wait-close]  N GETs sent at once on one connection, the answers
                                         (status, END_STREAM, RST_STREAM, GOAWAYs, close)
  flood PORT KIND [COUNT]                 raw frames: rst_stream | settings | ping | empty_data |
                                          continuation | malformed
"""

import json
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0, 1, 3, 4, 6, 7, 9
END_STREAM, END_HEADERS = 0x1, 0x4
DEADLINE_S = 20.0


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, stream_id) + payload


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_headers(port, path, method="GET"):
    return [(":method", method), (":scheme", "http"), (":authority", "127.0.0.1:%d" % port),
            (":path", path)]


def read_frames_until_close(sock, deadline):
    """Reads raw frames until EOF; returns (goaway_error_code or None, closed, frame types)."""
    buf = b""
    goaway = None
    types = []
    closed = False
    while time.time() < deadline:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        while len(buf) >= 9:
            length = struct.unpack(">I", b"\0" + buf[:3])[0]
            if len(buf) < 9 + length:
                break
            ftype = buf[3]
            payload = buf[9:9 + length]
            types.append(ftype)
            if ftype == GOAWAY and len(payload) >= 8:
                goaway = struct.unpack(">I", payload[4:8])[0]
            buf = buf[9 + length:]
    return goaway, closed, types


def flood(port, kind, count):
    sock = connect(port)
    enc = hpack.Encoder()
    out = [PREFACE, frame(SETTINGS, 0, 0)]
    if kind == "rst_stream":
        for i in range(count):
            sid = 1 + 2 * i
            block = enc.encode(request_headers(port, "/"))
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
            out.append(frame(RST_STREAM, 0, sid, struct.pack(">I", 8)))  # CANCEL
    elif kind == "settings":
        out += [frame(SETTINGS, 0, 0)] * count
    elif kind == "ping":
        out += [frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(count)]
    elif kind == "empty_data":
        block = enc.encode(request_headers(port, "/", "POST"))
        out.append(frame(HEADERS, END_HEADERS, 1, block))
        out += [frame(DATA, 0, 1)] * count
    elif kind == "continuation":
        block = enc.encode(request_headers(port, "/"))
        out.append(frame(HEADERS, 0, 1, block))
        filler = enc.encode([("x-filler", "a" * 16)])
        out += [frame(CONTINUATION, 0, 1, filler)] * count
    elif kind == "malformed":
        out.append(frame(DATA, 0, 0, b"bad"))  # DATA on stream 0: a connection error
    else:
        raise SystemExit("unknown flood kind " + kind)
    try:
        sock.sendall(b"".join(out))
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, closed, _ = read_frames_until_close(sock, time.time() + 10)
    sock.close()
    print(json.dumps({"goaway": goaway, "closed": closed}))


def requests(port, n, path, wait_close):
    """N GETs on one connection, all sent at once before anything is read (so a client that
    ignores SETTINGS_MAX_CONCURRENT_STREAMS is what the server sees), answers read as raw
    frames: python3-h2 treats a GOAWAY as the end of the connection, and a graceful GOAWAY is
    followed by the answers of the streams in flight."""
    sock = connect(port)
    enc = hpack.Encoder()
    dec = hpack.Decoder()
    ids = [1 + 2 * i for i in range(n)]
    out = [PREFACE, frame(SETTINGS, 0, 0)]
    for sid in ids:
        out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, enc.encode(request_headers(port, path))))
    sock.sendall(b"".join(out))
    r = {"responses": {}, "ended": [], "resets": {}, "goaways": [], "closed": False, "bodies": {},
         "trailers": {}}
    deadline = time.time() + DEADLINE_S
    buf = b""

    def finished():
        done = all(i in r["resets"] or i in r["ended"] for i in ids)
        return done and (not wait_close or r["closed"])

    while time.time() < deadline and not finished():
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            r["closed"] = True
            break
        if not chunk:
            r["closed"] = True
            break
        buf += chunk
        while len(buf) >= 9:
            length = struct.unpack(">I", b"\0" + buf[:3])[0]
            if len(buf) < 9 + length:
                break
            ftype, flags, sid = buf[3], buf[4], struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            key = str(sid)
            if ftype == HEADERS:
                headers = {(k.decode() if isinstance(k, bytes) else k):
                           (v.decode() if isinstance(v, bytes) else v) for k, v in dec.decode(payload)}
                if ":status" in headers:
                    r["responses"][key] = int(headers[":status"])
                else:
                    r["trailers"][key] = headers
            elif ftype == DATA:
                r["bodies"][key] = r["bodies"].get(key, 0) + length
                if length:
                    upd = struct.pack(">I", length)
                    sock.sendall(frame(8, 0, 0, upd) + frame(8, 0, sid, upd))
            elif ftype == RST_STREAM:
                r["resets"][key] = struct.unpack(">I", payload[:4])[0]
                r["resets"][sid] = r["resets"][key]
            elif ftype == GOAWAY:
                r["goaways"].append([struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF,
                                     struct.unpack(">I", payload[4:8])[0]])
            elif ftype == SETTINGS and not (flags & 1):
                sock.sendall(frame(SETTINGS, 1, 0))
            elif ftype == PING and not (flags & 1):
                sock.sendall(frame(PING, 1, 0, payload))
            if ftype in (HEADERS, DATA) and flags & END_STREAM:
                r["ended"].append(sid)
    sock.close()
    r["resets"] = {k: v for k, v in r["resets"].items() if isinstance(k, str)}
    print(json.dumps(r))


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    mode, port = argv[1], int(argv[2])
    if mode == "flood":
        flood(port, argv[3], int(argv[4]) if len(argv) > 4 else 1000)
    elif mode == "requests":
        requests(port, int(argv[3]), argv[4] if len(argv) > 4 else "/", "--wait-close" in argv)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
