#!/usr/bin/env python3
"""A payments service nobody at idemlab wrote, misbehaving on demand, for tests/probe.rs.

Standard library only. `python3 foreign.py MODE`, with PORT and PROVIDER_URL in the environment
(what `idemlab probe --serve` gives). Every mode but the broken ones takes a payment like the
catalog's `naive` design: charge the provider, answer 201 with an order number, keep no key.
Python's http.server logs every request to stderr, as many services do: a probe that closes
the service's stderr kills it with the first log line.

Modes: naive (logs to stderr), slow-start (1 s before it listens), rejects (400 to everything),
wrong-shape (calls the provider with the amount as a string), never (accepts, never answers),
huge (a 50 MB body with its answer), dies (exits after three requests), bad-reference (calls
the provider for operation 0 and 2^32 - 1), long-line (prints one 60 KB line and exits).
"""
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1] if len(sys.argv) > 1 else "naive"
PORT = int(os.environ["PORT"])
PROVIDER = os.environ.get("PROVIDER_URL", "")
LOCK = threading.Lock()
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, [])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        sys.stderr.write(f"payment {n}: {body}\n")
        if MODE == "dies" and n > 3:
            sys.stderr.write("out of memory (on purpose)\n")
            sys.stderr.flush()
            os._exit(3)
        if MODE == "never":
            time.sleep(3600)
        if MODE == "rejects":
            return self.reply(400, {"error": "unsupported-media-type"})
        amount = body.get("amount")
        call = {"amount": amount, "reference": body.get("reference")}
        if MODE == "wrong-shape":
            call["amount"] = f"{amount / 100:.2f}"
        if MODE == "bad-reference":
            prefix = str(body.get("reference")).rsplit("-op", 1)[0]
            call["reference"] = f"{prefix}-op{0 if n % 2 else 4294967295}"
        request = urllib.request.Request(
            PROVIDER + "/charge",
            data=json.dumps(call).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except Exception as e:  # the provider refused, or a crash is under way
            sys.stderr.write(f"provider: {e}\n")
        if MODE == "huge":
            return self.reply(201, b'{"order": %d, "pad": "' % n + b"x" * 50_000_000 + b'"}')
        self.reply(201, {"order": n})


if MODE == "slow-start":
    time.sleep(1)
if MODE == "long-line":
    sys.stderr.write("x" * 60_000 + "\n")
    sys.exit(1)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
