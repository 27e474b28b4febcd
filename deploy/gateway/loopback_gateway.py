"""A stand-in SMS / voice-call gateway for the compose lab (deploy/compose.yaml).

It accepts what the sender's HTTP channel sends - POST with JSON {"to", "text", "id"} and an
Idempotency-Key header - answers 202, logs one line per notice (the number masked to its last 4
digits), and answers a repeated Idempotency-Key as a duplicate without logging it again.
GET /healthz answers 200. FAIL_RATE (0..1, default 0) answers that share of requests with 503,
to watch the sender's retries and circuit breaker on the dashboard.

Standard library only; run with: python3 loopback_gateway.py [PORT]   (default 8080, or $PORT)
"""

import json
import os
import random
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_RATE = float(os.environ.get("FAIL_RATE", "0"))
MAX_KEYS = 100_000
_seen = {}
_lock = threading.Lock()


def mask(number):
    number = str(number)
    return "*" * max(0, len(number) - 4) + number[-4:]


class Gateway(BaseHTTPRequestHandler):
    server_version = "loopback-gateway/1"
    # Persistent connections, as HTTP clients (the sender's HttpClient) pool and reuse them; every answer has a length.
    protocol_version = "HTTP/1.1"

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self._answer(200, {"status": "ok", "accepted": len(_seen)})
        else:
            self._answer(404, {"error": "not found"})

    def _body(self):
        # HttpClient sends JSON content chunked (no Content-Length); accept both framings.
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        try:
            message = json.loads(self._body() or b"{}")
        except ValueError:
            self._answer(400, {"error": "body is not JSON"})
            return
        if not isinstance(message, dict) or not message.get("to") or not message.get("text"):
            self._answer(400, {"error": "to and text are required"})
            return
        if FAIL_RATE > 0 and random.random() < FAIL_RATE:
            self._answer(503, {"error": "injected failure"})
            return
        key = self.headers.get("Idempotency-Key") or message.get("id") or ""
        with _lock:
            duplicate = key != "" and key in _seen
            if not duplicate and key != "":
                if len(_seen) >= MAX_KEYS:
                    _seen.pop(next(iter(_seen)))
                _seen[key] = True
        if not duplicate:
            print(f"{self.path} to={mask(message['to'])} id={key} text={message['text']!r}", flush=True)
        self._answer(202, {"id": key, "status": "duplicate" if duplicate else "accepted"})

    def log_message(self, format, *args):
        pass  # one line per notice is printed above; no access log


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which stalls where there is no DNS; the name is not used.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "8080"))
    host = os.environ.get("HOST", "0.0.0.0")
    server = Server((host, port), Gateway)
    print(f"loopback gateway listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
