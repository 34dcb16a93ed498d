"""The Mercado Pago API double and small helpers of the payments tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class MercadoPagoDouble:
    """Checkout preferences (honouring ``x-idempotency-key``) and payments (get and search)."""

    def __init__(self, token: str = "TEST-access-token") -> None:
        self.token = token
        self.preferences: dict[str, dict[str, Any]] = {}
        self.by_idempotency: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []  # HTTP statuses to answer with, one per request
        self.lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = double.handle(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, raw
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _do

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- state -----------------------------------------------------------------------------------------
    def add_payment(
        self,
        payment_id: str,
        external_reference: str,
        amount: Any,
        currency: str = "COP",
        status: str = "approved",
        status_detail: str = "accredited",
        method: str = "visa",
        payment_type: str = "credit_card",
        **extra: Any,
    ) -> dict[str, Any]:
        payment = {
            "id": int(payment_id) if str(payment_id).isdigit() else payment_id,
            "status": status,
            "status_detail": status_detail,
            "transaction_amount": amount,
            "currency_id": currency,
            "external_reference": external_reference,
            "date_approved": "2026-11-23T10:15:00.000-05:00" if status == "approved" else None,
            "date_created": "2026-11-23T10:14:00.000-05:00",
            "payment_method_id": method,
            "payment_type_id": payment_type,
            "transaction_details": {"external_resource_url": extra.pop("ticket_url", None)},
        }
        payment.update(extra)
        with self.lock:
            self.payments[str(payment_id)] = payment
        return payment

    # --- HTTP --------------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append({"method": method, "path": url.path, "query": query, "headers": headers, "body": body})
            if self.fail_next:
                return self.fail_next.pop(0), {"message": "injected failure"}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "invalid access token", "status": 401}
        if method == "POST" and url.path == "/checkout/preferences":
            return self._create_preference(headers, body or {})
        if method == "GET" and url.path == "/v1/payments/search":
            ref = query.get("external_reference")
            with self.lock:
                results = [p for p in self.payments.values() if ref is None or p["external_reference"] == ref]
            return 200, {"paging": {"total": len(results), "limit": 50, "offset": 0}, "results": results}
        if method == "GET" and url.path.startswith("/v1/payments/"):
            pid = url.path.rsplit("/", 1)[1]
            with self.lock:
                payment = self.payments.get(pid)
            if payment is None:
                return 404, {"message": "Payment not found", "status": 404, "error": "not_found"}
            return 200, payment
        return 404, {"message": f"no route {method} {url.path}"}

    def _create_preference(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        key = headers.get("x-idempotency-key")
        with self.lock:
            if key and key in self.by_idempotency:
                return 201, self.by_idempotency[key]
            pref_id = f"123456789-{len(self.preferences) + 1:08d}"
            pref = dict(body)
            pref.update(
                {
                    "id": pref_id,
                    "init_point": f"https://www.mercadopago.com.co/checkout/v1/redirect?pref_id={pref_id}",
                    "sandbox_init_point": f"https://sandbox.mercadopago.com.co/checkout/v1/redirect?pref_id={pref_id}",
                    "date_created": time.strftime("%Y-%m-%dT%H:%M:%S.000-00:00", time.gmtime()),
                }
            )
            self.preferences[pref_id] = pref
            if key:
                self.by_idempotency[key] = pref
        return 201, pref


def queued(redis_client, kind: str) -> list[dict[str, Any]]:
    """Jobs of ``kind`` waiting in the queue's streams (payloads, with their key)."""
    out = []
    for name in redis_client.scan_iter("recobra:q:inbound:*"):
        name = name.decode()
        if name.endswith(":lease"):
            continue
        if redis_client.type(name) != b"stream":
            continue
        for _id, fields in redis_client.xrange(name):
            f = {k.decode(): v.decode() for k, v in fields.items()}
            if f.get("kind") == kind:
                out.append({"key": f["key"], **json.loads(f["payload"])})
    return out


def job(kind: str, payload: dict[str, Any], key: str = "k"):
    from bot.platform.queue import Job

    return Job(id="1-0", partition=0, key=key, kind=kind, payload=payload)
