#!/usr/bin/python3
"""A tiny HTTP/1.1 demo backend: answers "hello from NAME" on every path, "ok" on /health.

    /usr/bin/python3 examples/demo_backend.py --name web-1 --port 9101

Keep-alive HTTP/1.1 with TCP_NODELAY (without it, Nagle and delayed ACK add ~40 ms to every
keep-alive request), binds 127.0.0.1 only, stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    disable_nagle_algorithm = True  # socketserver sets TCP_NODELAY on each accepted socket
    name = "backend"
    quiet = True

    def _answer(self, with_body: bool) -> None:
        # Read (and drop) any request body so the next request on the connection parses.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"ok\n" if self.path == "/health" else f"hello from {self.name}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.name)
        self.end_headers()  # head and body go out in two writes: fine with TCP_NODELAY
        if with_body:
            self.wfile.write(body)

    def version_string(self) -> str:
        return "demo-backend"

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, fmt: str, *args) -> None:
        if not self.quiet:
            sys.stderr.write(f"{self.name}: {fmt % args}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="name put in every answer")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()

    Handler.name = args.name
    Handler.quiet = not args.verbose
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128  # socketserver's backlog of 5 drops SYNs under load
    try:
        server = ThreadingHTTPServer((args.host, args.port), Handler)
    except OSError as e:
        print(f"demo_backend {args.name}: cannot listen on {args.host}:{args.port}: {e.strerror}"
              " (port busy?)", file=sys.stderr)
        return 1

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
