#!/usr/bin/env python3
"""A payments service written with the official Stripe SDK (stripe-python), as a team writes
one, pointed at idemlab's provider by `stripe.api_base` (PROVIDER_URL): nothing in it knows
idemlab. For tests/probe.rs and the book's probing chapter.

`python3 stripe_shop.py sdk-key`: relies on the SDK's automatic Idempotency-Key, which the SDK
mints for every call (and reuses only across its own network retries). A crash after the
charge, then the client's retry, is a new call with a new key: the card is charged twice.

`python3 stripe_shop.py own-key`: passes `idempotency_key`, derived from the client's own
Idempotency-Key header. The retry's call has the same key, and Stripe (here, idemlab's
provider) replays the first payment intent: charged once.

It keeps no database of its own: the lesson is the provider's key.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

MODE = sys.argv[1] if len(sys.argv) > 1 else "sdk-key"
stripe.api_key = "sk_test_idemlab"
stripe.api_base = os.environ["PROVIDER_URL"]
stripe.max_network_retries = 2


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        key = self.headers.get("Idempotency-Key")
        # ANCHOR: charge
        options = {}
        if MODE == "own-key" and key:
            options["idempotency_key"] = f"payment-{key}"
        try:
            intent = stripe.PaymentIntent.create(
                amount=body["amount"],
                currency="usd",
                confirm=True,
                payment_method="pm_card_visa",
                metadata={"reference": body["reference"]},
                **options,
            )
        except stripe.StripeError as e:
            return self.reply(502, {"error": "payment-failed", "detail": str(e)})
        # ANCHOR_END: charge
        self.reply(201, {"payment": intent.id, "status": intent.status})


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
