"""One link for several invoices (issue #27 §1): one Mercado Pago preference with one item per invoice, and the
allocation rule (each item's invoice by its amount, oldest due first; a short payment fills the oldest first)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.billing import accounts, payment_links, payment_plans, promises
from bot.store.models import Instalment, Invoice, PaymentAllocation, PaymentLink, Promise, Settlement
from bot.worker.payments import process_payment
from tests.payments.test_apply import bot_texts, fresh, has

INVOICES = [
    {"external_id": "F-2026-009", "amount": "300000", "currency": "COP", "due_date": "2026-10-05",
     "description": "Préstamo personal"},
    {"external_id": "F-2026-014", "amount": "120000", "currency": "COP", "due_date": "2026-11-10",
     "description": "Celular Samsung A15"},
    {"external_id": "F-2026-020", "amount": "80000", "currency": "COP", "due_date": "2026-12-01"},
]  # fmt: skip


def three_invoice_link(session, make_debtor, verify_debtor):
    debtor = make_debtor(invoices=INVOICES)
    verify_debtor(debtor)
    invoices = accounts.open_invoices(session, debtor)
    link = payment_links.link_for_invoices(session, debtor, list(reversed(invoices)))
    session.commit()
    return debtor, invoices, link


def test_one_preference_lists_every_invoice_oldest_first(mercadopago_mode, session, make_debtor, verify_debtor):
    debtor, invoices, link = three_invoice_link(session, make_debtor, verify_debtor)
    assert link.invoice_id is None and link.amount == Decimal("500000.00")
    (pref,) = mercadopago_mode.preferences.values()
    assert [(i["id"], i["unit_price"]) for i in pref["items"]] == [
        ("F-2026-009", 300000),
        ("F-2026-014", 120000),
        ("F-2026-020", 80000),
    ]
    assert "Celular Samsung A15" in pref["items"][1]["title"]
    assert pref["external_reference"] == link.reference
    # asked again for the same invoices and balances: the same link, no second preference
    again = payment_links.link_for_invoices(session, debtor, invoices)
    assert again.id == link.id and len(mercadopago_mode.preferences) == 1


def test_paying_the_link_settles_every_invoice_keeps_promises_pays_instalments_and_issues_the_certificate(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor = make_debtor(invoices=INVOICES)
    verify_debtor(debtor)
    oldest, middle, newest = accounts.open_invoices(session, debtor)
    promise = promises.create(session, debtor, middle, date.today() + timedelta(days=3), None, today=date.today())
    plan = payment_plans.create(session, debtor, oldest, 3, date.today())
    session.commit()
    link = payment_links.link_for_invoices(session, debtor, [oldest, middle, newest])
    session.commit()
    mercadopago_mode.add_payment("9101", link.reference, "500000.00")
    assert process_payment("9101").action == "applied"
    for inv in (oldest, middle, newest):
        inv = fresh(session, Invoice, inv.id)
        assert inv.balance == Decimal("0.00") and inv.status == "paid" and inv.reminders_paused
    assert fresh(session, Promise, promise.id).status == "kept"
    assert fresh(session, PaymentLink, link.id).status == "paid"
    statuses = session.execute(select(Instalment.status).where(Instalment.plan_id == plan.id)).scalars().all()
    assert set(statuses) == {"paid"}
    allocations = session.execute(select(PaymentAllocation).order_by(PaymentAllocation.id)).scalars().all()
    assert [(a.invoice_id, a.applied_amount) for a in allocations] == [
        (oldest.id, Decimal("300000.00")),
        (middle.id, Decimal("120000.00")),
        (newest.id, Decimal("80000.00")),
    ]
    assert session.execute(select(Settlement)).scalar_one() is not None
    texts = bot_texts(session)
    assert has(texts, "$ 500.000") and has(texts, "paz y salvo")


def test_a_short_payment_fills_the_oldest_first_and_nothing_is_left_out(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, (oldest, middle, newest), link = three_invoice_link(session, make_debtor, verify_debtor)
    mercadopago_mode.add_payment("9201", link.reference, "350000.00")
    process_payment("9201")
    assert fresh(session, Invoice, oldest.id).balance == Decimal("0.00")
    assert fresh(session, Invoice, middle.id).balance == Decimal("70000.00")
    assert fresh(session, Invoice, newest.id).balance == Decimal("80000.00")  # still owed, still open
    assert fresh(session, Invoice, newest.id).status == "open"
    assert session.execute(select(Settlement)).first() is None


def test_an_over_payment_is_credit_and_a_refund_reopens_every_invoice(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, (oldest, middle, newest), link = three_invoice_link(session, make_debtor, verify_debtor)
    mercadopago_mode.add_payment("9301", link.reference, "510000.00")
    process_payment("9301")
    from bot.billing.allocations import credit_balance

    assert credit_balance(session, debtor.id) == {"COP": Decimal("10000.00")}
    # a partial refund of 90.000: the 10.000 credit first, then the newest invoice is owed again
    mercadopago_mode.add_payment("9301", link.reference, "510000.00", transaction_amount_refunded="90000.00")
    process_payment("9301")
    assert fresh(session, Invoice, newest.id).balance == Decimal("80000.00")
    assert fresh(session, Invoice, middle.id).balance == Decimal("0.00")
    mercadopago_mode.add_payment("9301", link.reference, "510000.00", status="refunded", status_detail="refunded")
    assert process_payment("9301").action == "reversed"
    assert [fresh(session, Invoice, i.id).balance for i in (oldest, middle, newest)] == [
        Decimal("300000.00"),
        Decimal("120000.00"),
        Decimal("80000.00"),
    ]
    assert all(fresh(session, Invoice, i.id).status == "open" for i in (oldest, middle, newest))


def test_a_rejected_payment_gets_a_fresh_link_for_the_same_invoices(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, invoices, link = three_invoice_link(session, make_debtor, verify_debtor)
    mercadopago_mode.add_payment(
        "9401", link.reference, "500000.00", status="rejected", status_detail="cc_rejected_insufficient_amount"
    )
    outcome = process_payment("9401")
    assert outcome.action == "rejected" and outcome.new_link_id
    new = fresh(session, PaymentLink, outcome.new_link_id)
    assert new.id != link.id and new.amount == Decimal("500000.00")
    assert [i.invoice_id for i in payment_links.items_of(session, new)] == [i.id for i in invoices]


def test_the_sandbox_checkout_pays_every_invoice_through_the_webhook_and_the_worker(
    client, session, make_debtor, verify_debtor, redis_client
):
    from bot.store.models import SandboxPayment
    from bot.web import debtor_view
    from bot.worker.payments import handle_notification
    from tests.payments.helpers import job, queued

    debtor, invoices, link = three_invoice_link(session, make_debtor, verify_debtor)
    page = client.get(f"/sandbox/checkout/{link.reference}").get_data(as_text=True)
    assert "Facturas F-2026-009, F-2026-014, F-2026-020" in page and "500.000" in page
    view = debtor_view.serialize(session, debtor)["payment_links"]
    assert [(v["invoice_external_id"], v["invoices"]) for v in view] == [
        (None, ["F-2026-009", "F-2026-014", "F-2026-020"])
    ]
    one, _ = payment_links.create_link(session, debtor, invoices[1])  # a one-invoice link lists its invoice too
    session.commit()
    assert debtor_view.serialize(session, debtor)["payment_links"][-1]["invoices"] == ["F-2026-014"]
    resp = client.post(f"/sandbox/checkout/{link.reference}", data={"outcome": "approved", "amount": "500000.00"})
    assert resp.status_code == 200
    assert session.execute(select(SandboxPayment)).scalar_one().status == "approved"
    (payload,) = queued(redis_client, "mp_notification")
    handle_notification(job("mp_notification", payload, key=payload["key"]))
    assert [fresh(session, Invoice, inv.id).status for inv in invoices] == ["paid", "paid", "paid"]
    assert session.execute(select(Settlement)).scalar_one() is not None


def test_the_receipt_names_what_went_to_each_invoice(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    import io

    import pypdf

    from bot.billing import statements
    from bot.store.models import Payment

    debtor, invoices, link = three_invoice_link(session, make_debtor, verify_debtor)
    mercadopago_mode.add_payment("9501", link.reference, "350000.00")
    process_payment("9501")
    session.expire_all()
    data = statements.render_receipt(session, session.execute(select(Payment)).scalar_one())
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages).split())
    assert "Factura F-2026-009: $300.000 COP (pagada)" in text
    assert "Factura F-2026-014: $50.000 COP (queda $70.000 COP)" in text
    assert "F-2026-020" not in text  # nothing of this payment went to it
