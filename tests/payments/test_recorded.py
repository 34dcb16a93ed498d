# ruff: noqa: F811 - fixtures imported from tests/worker/doubles.py are parameters of the tests
"""``POST /api/v1/payments``: a payment the billing system recorded outside Mercado Pago (issue #27 §4), applied once
with a Mercado Pago payment's effects, through the public API end to end."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.billing import accounts, payment_plans, promises
from bot.store.models import Instalment, Invoice, Message, Payment, PaymentAllocation, Promise, Settlement
from tests.worker.doubles import run_worker, sandbox_provider, wait_for  # noqa: F401 (fixtures)

PHONE = "+573001112233"


def body(**overrides):
    data = {
        "external_id": "PAY-77",
        "debtor_external_id": "D-1",
        "invoices": [{"external_id": "D-1-F1", "amount": "185000.00"}],
        "amount": "185000.00",
        "currency": "COP",
        "paid_at": "2026-12-04T15:20:00-05:00",
        "method": "bank_transfer",
    }
    data.update(overrides)
    return data


def out_texts(session) -> list[str]:
    session.expire_all()
    return [
        m.body
        for m in session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
    ]


def test_a_payment_made_elsewhere_keeps_the_promise_confirms_and_settles(
    client, api_headers, session, make_debtor, verify_debtor, sandbox_provider, run_worker
):
    debtor = make_debtor()
    verify_debtor(debtor)
    inv = accounts.primary_invoice(session, debtor)
    promise = promises.create(session, debtor, inv, date.today() + timedelta(days=2), today=date.today())
    session.commit()
    run_worker()
    r = client.post("/api/v1/payments", json=body(), headers=api_headers)
    assert r.status_code == 201, r.json
    assert r.json["external_id"] == "PAY-77" and r.json["provider"] == "billing" and r.json["status"] == "approved"
    assert r.json["invoices"] == [
        {"external_id": "D-1-F1", "amount": "185000.00", "applied_amount": "185000.00", "credit_amount": "0.00"}
    ]
    assert r.json["paid_at"] == "2026-12-04T20:20:00Z"
    session.expire_all()
    inv = session.get(Invoice, inv.id)
    assert (inv.balance, inv.status, inv.reminders_paused) == (Decimal("0.00"), "paid", True)
    assert session.get(Promise, promise.id).status == "kept"
    assert session.execute(select(Settlement)).scalar_one() is not None
    # the debtor hears it through the provider, as for a Mercado Pago payment: the confirmation, then the certificate
    sent = wait_for(lambda: len(sandbox_provider.outbox(PHONE)) >= 2 and sandbox_provider.outbox(PHONE), timeout=10)
    bodies = [m["body"] for m in sent]
    assert "Recibimos su pago de $185.000. Su factura D-1-F1 quedo pagada." in bodies[0]  # by SMS: no accents
    assert "paz y salvo" in bodies[1] and "/certificados/" in bodies[1]
    # the debtor view shows it among the payments
    view = client.get("/api/v1/debtors/D-1", headers=api_headers).json
    assert [(p["provider"], p["provider_id"], p["status"]) for p in view["payments"]] == [
        ("billing", "PAY-77", "approved")
    ]


def test_a_repeat_is_applied_once_and_answers_the_same(client, api_headers, session, make_debtor, redis_client):
    make_debtor()
    partial = body(invoices=[{"external_id": "D-1-F1", "amount": "50000.00"}], amount="50000.00")
    first = client.post("/api/v1/payments", json=partial, headers=api_headers)
    again = client.post("/api/v1/payments", json=partial, headers=api_headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    session.expire_all()
    assert session.execute(select(Invoice.balance)).scalar_one() == Decimal("135000.00")  # once, not twice
    assert len(session.execute(select(Payment)).all()) == 1
    assert len(out_texts(session)) == 1  # one confirmation
    # the same id with other content is refused, and changes nothing
    other = client.post("/api/v1/payments", json={**partial, "method": "cash"}, headers=api_headers)
    assert other.status_code == 409 and other.json["error"]["code"] == "payment_conflict"
    bigger = body(invoices=[{"external_id": "D-1-F1", "amount": "60000.00"}], amount="60000.00")
    assert client.post("/api/v1/payments", json=bigger, headers=api_headers).status_code == 409
    session.expire_all()
    assert session.execute(select(Invoice.balance)).scalar_one() == Decimal("135000.00")


def test_one_payment_over_two_invoices_pays_instalments_and_keeps_credit(
    client, api_headers, session, make_debtor, verify_debtor, redis_client
):
    debtor = make_debtor(
        invoices=[
            {"external_id": "A", "amount": "100000.00", "currency": "COP", "due_date": "2026-11-10"},
            {"external_id": "B", "amount": "90000.00", "currency": "COP", "due_date": "2026-11-20"},
        ]
    )
    verify_debtor(debtor)
    b = session.execute(select(Invoice).where(Invoice.external_id == "B")).scalar_one()
    plan = payment_plans.create(session, debtor, b, 3, today=date.today())
    session.commit()
    r = client.post(
        "/api/v1/payments",
        json=body(
            invoices=[{"external_id": "A", "amount": "110000.00"}, {"external_id": "B", "amount": "30000.00"}],
            amount="140000.00",
        ),
        headers=api_headers,
    )
    assert r.status_code == 201, r.json
    assert [(i["external_id"], i["applied_amount"], i["credit_amount"]) for i in r.json["invoices"]] == [
        ("A", "100000.00", "10000.00"),
        ("B", "30000.00", "0.00"),
    ]
    session.expire_all()
    assert {i.external_id: i.balance for i in session.execute(select(Invoice)).scalars()} == {
        "A": Decimal("0.00"),
        "B": Decimal("60000.00"),
    }
    insts = session.execute(select(Instalment).where(Instalment.plan_id == plan.id).order_by(Instalment.number))
    assert [i.status for i in insts.scalars()] == ["paid", "pending", "pending"]
    assert len(session.execute(select(PaymentAllocation)).all()) == 2
    [text] = out_texts(session)
    assert "facturas A, B" in text and "saldo pendiente en ellas es de $60.000" in text and "saldo a favor" in text
    assert session.execute(select(Settlement)).first() is None  # B is still owed


def test_an_unverified_debtor_is_told_only_that_a_payment_arrived(
    client, api_headers, session, make_debtor, redis_client
):
    make_debtor()
    assert client.post("/api/v1/payments", json=body(), headers=api_headers).status_code == 201
    texts = out_texts(session)
    assert len(texts) == 1  # no certificate link to whoever has not proved who they are
    assert "recibimos un pago" in texts[0] and "185" not in texts[0] and "D-1-F1" not in texts[0]


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"invoices": [{"external_id": "NOPE", "amount": "185000.00"}]}, 422, "invoices[0].external_id"),
        ({"currency": "MXN"}, 422, "currency"),
        ({"currency": "XYZ"}, 422, "currency"),
        ({"amount": "-5.00"}, 422, "amount"),
        ({"amount": "0"}, 422, "amount"),
        ({"amount": 185000.0}, 422, "amount"),  # a float, never
        ({"amount": "100.00"}, 422, "amount"),  # not the invoices' sum
        ({"invoices": [{"external_id": "D-1-F1", "amount": "-1"}], "amount": "-1"}, 422, "amount"),
        ({"invoices": []}, 422, "invoices"),
        ({"debtor_external_id": "NOBODY"}, 422, "debtor_external_id"),
        ({"paid_at": "2026-12-04T15:20:00"}, 422, "paid_at"),  # no offset
        ({"paid_at": "ayer"}, 422, "paid_at"),
        ({"paid_at": "2999-01-01"}, 422, "paid_at"),
        ({"external_id": ""}, 422, "external_id"),
    ],
)
def test_malformed_payments_get_a_json_4xx_and_change_nothing(
    client, api_headers, session, make_debtor, redis_client, overrides, status, field
):
    make_debtor()
    r = client.post("/api/v1/payments", json=body(**overrides), headers=api_headers)
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == "validation_error" and r.json["error"]["field"] == field
    session.expire_all()
    assert session.execute(select(Payment)).first() is None
    assert session.execute(select(Invoice.balance)).scalar_one() == Decimal("185000.00")


def test_not_json_and_no_key(client, api_headers, make_debtor, redis_client):
    make_debtor()
    r = client.post("/api/v1/payments", data="x", headers={**api_headers, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = client.post("/api/v1/payments", data="{", headers={**api_headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"
    assert client.post("/api/v1/payments", json=body()).status_code == 401
    wrong = client.post("/api/v1/payments", json=body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "unauthorized"


def test_a_day_alone_is_the_start_of_that_day_where_the_debtor_lives(client, api_headers, make_debtor, redis_client):
    make_debtor()
    r = client.post("/api/v1/payments", json=body(paid_at="2026-12-04"), headers=api_headers)
    assert r.status_code == 201 and r.json["paid_at"] == "2026-12-04T05:00:00Z"  # Bogotá is UTC-5


def test_paying_the_whole_invoice_elsewhere_pays_every_instalment_and_completes_the_plan(
    client, api_headers, session, make_debtor, redis_client
):
    debtor = make_debtor()
    inv = accounts.primary_invoice(session, debtor)
    plan = payment_plans.create(session, debtor, inv, 3, today=date.today())
    session.commit()
    assert client.post("/api/v1/payments", json=body(), headers=api_headers).status_code == 201
    session.expire_all()
    insts = session.execute(select(Instalment).where(Instalment.plan_id == plan.id)).scalars().all()
    assert [i.status for i in insts] == ["paid", "paid", "paid"]
    assert session.get(type(plan), plan.id).status == "completed"  # nothing left to break
