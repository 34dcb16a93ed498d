"""``POST /webhooks/mercadopago``: signature, staleness, duplicates, acknowledgement, and the worker job."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal

from sqlalchemy import select

from bot.store.models import Invoice, Payment
from bot.web.mercadopago import manifest_id, sign
from bot.worker.payments import handle_notification
from tests.payments.helpers import job, queued

URL = "/webhooks/mercadopago?data.id={}&type=payment"
BODY = {"action": "payment.updated", "type": "payment", "data": {"id": "x"}}


def test_signature_follows_the_documented_manifest():
    ts = 1_800_000_000
    manifest = "id:abc123;request-id:req-9;ts:1800000000;"
    expected = hmac.new(b"s3cret", manifest.encode(), hashlib.sha256).hexdigest()
    assert sign("ABC123", "req-9", "s3cret", ts) == f"ts={ts},v1={expected}"
    assert manifest_id("ABC123") == "abc123" and manifest_id("12-AB") == "12-AB"


def test_genuine_notification_is_queued_and_acknowledged(client, signed, redis_client):
    started = time.monotonic()
    resp = client.post(URL.format("5001"), json=BODY, headers=signed("5001"))
    assert resp.status_code == 200 and resp.get_json() == {"status": "queued"}
    assert time.monotonic() - started < 1.0
    (queued_job,) = queued(redis_client, "mp_notification")
    assert queued_job["payment_id"] == "5001" and queued_job["provider"] == "sandbox"
    assert queued_job["key"] == "mp:5001"


def test_alphanumeric_ids_are_signed_lower_case(client, redis_client):
    from bot.web.mercadopago import sign as mp_sign

    headers = {"x-request-id": "r-1", "x-signature": mp_sign("abcDEF9", "r-1", "test-mp-secret")}
    assert client.post(URL.format("abcDEF9"), json=BODY, headers=headers).status_code == 200


def test_forged_missing_and_stale_signatures_are_refused(client, signed, redis_client):
    forged = signed("5002", secret="not-the-secret")
    stale = signed("5002", ts=int(time.time()) - 3600)
    other_id = signed("5003")
    for headers in (
        forged,
        stale,
        other_id,
        {},
        {"x-signature": "garbage", "x-request-id": "req-1"},
        {"x-signature": signed("5002")["x-signature"], "x-request-id": "another-request"},
    ):
        resp = client.post(URL.format("5002"), json=BODY, headers=headers)
        assert resp.status_code == 403, headers
        assert resp.get_json()["error"]["code"] == "forbidden"
    assert queued(redis_client, "mp_notification") == []


def test_the_same_delivery_twice_is_queued_once(client, signed, redis_client):
    headers = signed("5004", request_id="req-same")
    assert client.post(URL.format("5004"), json=BODY, headers=headers).get_json()["status"] == "queued"
    assert client.post(URL.format("5004"), json=BODY, headers=headers).get_json()["status"] == "duplicate"
    # A later notification about the same payment (a refund, say) has its own request id: it is queued.
    assert (
        client.post(URL.format("5004"), json=BODY, headers=signed("5004", request_id="req-later")).get_json()["status"]
        == "queued"
    )
    assert len(queued(redis_client, "mp_notification")) == 2


def test_other_topics_are_acknowledged_and_ignored(client, signed, redis_client):
    resp = client.post(
        "/webhooks/mercadopago?data.id=77&type=merchant_order", json={"type": "merchant_order"}, headers=signed("77")
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    assert queued(redis_client, "mp_notification") == []


def test_body_is_never_trusted_the_worker_fetches_the_payment(
    mercadopago_mode, app, session, debtor_with_link, redis_client, signed
):
    debtor, inv, link = debtor_with_link()
    mercadopago_mode.add_payment("5005", link.reference, "185000.00")
    client = app.test_client()
    lying_body = {"type": "payment", "data": {"id": "5005"}, "status": "approved", "transaction_amount": 1}
    assert client.post(URL.format("5005"), json=lying_body, headers=signed("5005")).status_code == 200
    (payload,) = queued(redis_client, "mp_notification")
    assert payload["provider"] == "mercadopago"
    handle_notification(job("mp_notification", payload, key=payload["key"]))
    handle_notification(job("mp_notification", payload, key=payload["key"]))  # redelivered: nothing more
    session.expire_all()
    assert session.get(Invoice, inv.id).balance == Decimal("0.00")
    assert len(session.execute(select(Payment)).scalars().all()) == 1
    assert any(r["path"] == "/v1/payments/5005" for r in mercadopago_mode.requests)


def test_provider_down_means_retry(mercadopago_mode, redis_client, db):
    import pytest

    from bot.platform.queue import Retry

    mercadopago_mode.fail_next = [503]
    with pytest.raises(Retry):
        handle_notification(job("mp_notification", {"payment_id": "5006", "provider": "mercadopago"}))
    # An unknown payment (404) is not retried forever.
    handle_notification(job("mp_notification", {"payment_id": "5006", "provider": "mercadopago"}))
