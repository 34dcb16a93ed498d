"""A payment plan over several invoices (issue #27 §1): one plan splits their total; each instalment's link is one
Mercado Pago preference for the instalment's amount whose items are the plan's invoices, oldest due first; paying it
marks the instalment paid and settles the invoices oldest first; a refund reopens the instalment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.billing import accounts, payment_links, payment_plans
from bot.store.models import Instalment, Invoice, PaymentLink, PaymentPlan
from bot.worker.payments import process_payment
from tests.payments.test_apply import bot_texts, fresh, has

# a small old invoice and a bigger new one: the first instalment (150.000) pays the old one and part of the new
INVOICES = [
    {"external_id": "F-2026-009", "amount": "50000", "currency": "COP", "due_date": "2026-10-05",
     "description": "Préstamo personal"},
    {"external_id": "F-2026-014", "amount": "250000", "currency": "COP", "due_date": "2026-11-10",
     "description": "Celular Samsung A15"},
]  # fmt: skip


def plan_over_both(session, make_debtor, verify_debtor):
    debtor = make_debtor(invoices=INVOICES)
    verify_debtor(debtor)
    old, new = accounts.open_invoices(session, debtor)
    plan = payment_plans.create_for_invoices(session, debtor, [new, old], 2, date.today())
    session.commit()
    return debtor, old, new, plan


def test_one_plan_splits_the_total_and_names_its_invoices(session, make_debtor, verify_debtor):
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    assert plan.invoice_id is None and plan.total == Decimal("300000.00")
    assert [i.amount for i in plan.instalments] == [Decimal("150000.00"), Decimal("150000.00")]
    assert payment_plans.plan_invoice_ids(plan) == [old.id, new.id]  # oldest due first
    # either invoice finds the plan (the plan's next instalment is what is due now on each)
    assert payment_plans.active_plan(session, old.id).id == plan.id
    assert payment_plans.active_plan(session, new.id).id == plan.id


def test_the_policy_limits_apply_to_the_total(session, make_debtor, verify_debtor):
    debtor = make_debtor(invoices=[{**inv, "amount": "30000"} for inv in INVOICES])
    old, new = accounts.open_invoices(session, debtor)
    # 60.000 in 3 is 20.000 each: the COP minimum instalment (each invoice alone would allow no plan at all)
    assert payment_plans.option(old.balance, "COP", 2, date.today()) is None
    plan = payment_plans.create_for_invoices(session, debtor, [old, new], 3, date.today())
    assert [i.amount for i in plan.instalments] == [Decimal("20000.00")] * 3
    try:
        payment_plans.create_for_invoices(session, debtor, [old, new], 4, date.today())
    except payment_plans.PlanError as err:
        assert err.code == "count_not_allowed"
    else:
        raise AssertionError("a plan under the minimum instalment was accepted")


def test_paying_an_instalment_over_two_invoices_settles_them_oldest_first(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    first, second = plan.instalments
    link = payment_links.link_for_instalment(session, debtor, first)
    session.commit()
    assert link.invoice_id is None and link.amount == Decimal("150000.00") and link.instalment_id == first.id
    (pref,) = mercadopago_mode.preferences.values()
    assert [(i["id"], i["unit_price"]) for i in pref["items"]] == [("F-2026-009", 50000), ("F-2026-014", 100000)]
    # asked again (the debtor asks for the link twice): the same link, no second preference
    assert payment_links.link_for_instalment(session, debtor, first).id == link.id
    assert len(mercadopago_mode.preferences) == 1

    mercadopago_mode.add_payment("9301", link.reference, "150000.00")
    assert process_payment("9301").action == "applied"
    assert fresh(session, Invoice, old.id).status == "paid"
    assert fresh(session, Invoice, new.id).balance == Decimal("150000.00")
    assert fresh(session, Instalment, first.id).status == "paid"
    assert fresh(session, Instalment, second.id).status == "pending"  # one instalment paid, not all of them
    assert fresh(session, PaymentPlan, plan.id).status == "active"
    assert fresh(session, PaymentLink, link.id).status == "paid"
    assert has(bot_texts(session), "F-2026-009", "F-2026-014")  # one confirmation names both

    # the second instalment falls on the newest invoice alone: its ordinary link, and the plan is done
    second_link, kind = payment_links.link_for_invoice(session, debtor, fresh(session, Invoice, new.id))
    session.commit()
    assert (kind, second_link.invoice_id, second_link.amount) == ("instalment", new.id, Decimal("150000.00"))
    mercadopago_mode.add_payment("9302", second_link.reference, "150000.00")
    process_payment("9302")
    assert fresh(session, Instalment, second.id).status == "paid"
    assert fresh(session, PaymentPlan, plan.id).status == "completed"
    assert has(bot_texts(session), "paz y salvo")


def test_a_refund_of_the_instalment_reopens_it_and_the_invoices(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    first = plan.instalments[0]
    link = payment_links.link_for_instalment(session, debtor, first)
    session.commit()
    mercadopago_mode.add_payment("9401", link.reference, "150000.00")
    process_payment("9401")
    mercadopago_mode.add_payment("9401", link.reference, "150000.00", status="refunded")
    assert process_payment("9401").action == "reversed"
    assert fresh(session, Invoice, old.id).balance == Decimal("50000.00")
    assert fresh(session, Invoice, new.id).balance == Decimal("250000.00")
    assert fresh(session, Instalment, first.id).status == "pending"


def test_a_short_payment_of_the_instalment_leaves_it_pending(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    first = plan.instalments[0]
    link = payment_links.link_for_instalment(session, debtor, first)
    session.commit()
    mercadopago_mode.add_payment("9501", link.reference, "100000.00")
    process_payment("9501")
    assert fresh(session, Invoice, old.id).status == "paid"  # the oldest first
    assert fresh(session, Invoice, new.id).balance == Decimal("200000.00")
    assert fresh(session, Instalment, first.id).status == "pending"  # 100.000 of 150.000 is no instalment


def test_a_rejected_instalment_payment_gets_a_fresh_link_for_the_same_instalment(
    mercadopago_mode, session, make_debtor, verify_debtor, redis_client
):
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    first = plan.instalments[0]
    link = payment_links.link_for_instalment(session, debtor, first)
    session.commit()
    mercadopago_mode.add_payment("9601", link.reference, "150000.00", status="rejected", status_detail="cc_rejected")
    outcome = process_payment("9601")
    assert outcome.action == "rejected"
    fresh_link = fresh(session, PaymentLink, outcome.new_link_id)
    assert fresh_link.id != link.id and fresh_link.instalment_id == first.id
    assert fresh_link.amount == Decimal("150000.00")  # the instalment's amount, not the whole balance
    assert [(i.invoice_id, i.amount) for i in payment_links.items_of(session, fresh_link)] == [
        (old.id, Decimal("50000.00")),
        (new.id, Decimal("100000.00")),
    ]


def test_a_payment_recorded_elsewhere_on_both_invoices_pays_the_instalment(
    client, api_headers, session, make_debtor, verify_debtor, redis_client
):
    """The billing system reports a transfer (``POST /api/v1/payments``): what the plan's invoices came down pays the
    instalment it covers, however the payment was split between them."""
    debtor, old, new, plan = plan_over_both(session, make_debtor, verify_debtor)
    first, second = plan.instalments
    r = client.post(
        "/api/v1/payments",
        json={
            "external_id": "PAY-88",
            "debtor_external_id": debtor.external_id,
            "invoices": [
                {"external_id": "F-2026-009", "amount": "30000.00"},
                {"external_id": "F-2026-014", "amount": "120000.00"},
            ],
            "amount": "150000.00",
            "currency": "COP",
            "paid_at": "2026-12-04T15:20:00-05:00",
            "method": "bank_transfer",
        },
        headers=api_headers,
    )
    assert r.status_code == 201, r.json
    assert fresh(session, Instalment, first.id).status == "paid"
    assert fresh(session, Instalment, second.id).status == "pending"
    assert fresh(session, PaymentPlan, plan.id).status == "active"
