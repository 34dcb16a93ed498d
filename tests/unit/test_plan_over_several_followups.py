"""A plan over several invoices is followed up like any plan (issue #27 §1, §5): one reminder the day before each
instalment (not one per invoice), broken once after too many days late, done when every invoice is paid; other
campaigns hold off its invoices while it is current; the API and the console name every invoice it covers."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.billing import accounts, payment_plans
from bot.outreach import campaigns
from bot.store.models import ContactAttempt, Handoff, PaymentPlan
from bot.web import debtor_view, openapi
from tests.unit.test_plan_followups import AT, TODAY, followups, invoice
from tests.web.test_openapi import check


def plan_over_two(session, debtor, first_due: date) -> PaymentPlan:
    invoices = accounts.open_invoices(session, debtor)
    plan = payment_plans.create_for_invoices(session, debtor, invoices, 3, first_due - timedelta(days=3))
    session.commit()
    return plan


def two_invoices(make_debtor):
    return make_debtor("A", invoices=[invoice("A1"), invoice("A2", due=date(2026, 10, 25))])


def test_one_reminder_per_instalment_not_per_invoice(session, make_debtor):
    debtor = two_invoices(make_debtor)
    plan = plan_over_two(session, debtor, TODAY + timedelta(days=1))
    the_plan = campaigns.plan(session, at=AT)
    reminders = [i for i in the_plan.items if i.stage == "instalment_reminder"]
    assert len(reminders) == 1 and reminders[0].outcome == "send"
    queued: list[int] = []
    for _ in range(2):  # run twice the same day: still one message
        campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda phone, a: queued.append(a))
    assert len(queued) == 1
    [attempt] = session.scalars(select(ContactAttempt)).all()
    assert attempt.key.endswith(f":instalment_reminder:{plan.instalments[0].id}")
    # the first paid, the next instalment, a month later, gets its own reminder
    plan.instalments[0].status = "paid"
    session.commit()
    next_eve = plan.instalments[1].due_date - timedelta(days=1)
    later = campaigns.plan(session, at=AT + timedelta(days=(next_eve - TODAY).days))
    assert [i.stage for i in later.items if i.stage in campaigns.PLAN_FOLLOWUPS] == ["instalment_reminder"]


def test_a_plan_over_two_invoices_breaks_once_with_one_handoff(session, make_debtor):
    debtor = two_invoices(make_debtor)
    plan = plan_over_two(session, debtor, TODAY - timedelta(days=10))
    queued: list[int] = []
    campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda p, a: queued.append(a))
    session.expire_all()
    assert session.get(PaymentPlan, plan.id).status == "broken"
    assert [h.reason for h in session.scalars(select(Handoff))] == ["plan_broken"]
    assert [a.stage for a in session.scalars(select(ContactAttempt))] == ["plan_broken"] and len(queued) == 1


def test_paid_invoices_complete_the_plan_and_one_paid_invoice_does_not(session, make_debtor):
    debtor = two_invoices(make_debtor)
    plan = plan_over_two(session, debtor, TODAY - timedelta(days=12))
    first, second = debtor.invoices
    first.balance, first.status = Decimal("0.00"), "paid"  # one paid elsewhere: the plan is still late on the other
    session.commit()
    assert debtor_view.serialize(session, debtor, AT)["payment_plans"][0]["status"] == "late"
    assert campaigns.plan(session, at=AT).broken_plans == [(plan.id, 12)]
    second.balance, second.status = Decimal("0.00"), "paid"
    session.commit()
    assert debtor_view.serialize(session, debtor, AT)["payment_plans"][0]["status"] == "completed"
    the_plan = campaigns.plan(session, at=AT)
    assert the_plan.broken_plans == [] and followups(the_plan) == {}
    campaigns.execute(session, the_plan)
    session.expire_all()
    assert session.get(PaymentPlan, plan.id).status == "completed"


def test_a_current_plan_holds_the_campaigns_of_every_invoice_it_covers(session, make_debtor):
    # the newer invoice is on its D+15 day: a current plan over both holds that campaign message
    debtor = make_debtor(
        "A", invoices=[invoice("A1", due=TODAY - timedelta(days=20)), invoice("A2", due=TODAY - timedelta(days=15))]
    )
    plan_over_two(session, debtor, TODAY + timedelta(days=2))
    [item] = [i for i in campaigns.plan(session, at=AT).items if i.kind == "campaign"]
    assert (item.stage, item.outcome, item.reason) == ("D+15", "suppressed", "plan_current")


def test_the_api_names_every_invoice_of_the_plan(session, make_debtor, client, api_headers):
    debtor = two_invoices(make_debtor)
    single = make_debtor("B", phone="+573001110002", invoices=[invoice("B1")])
    plan_over_two(session, debtor, TODAY + timedelta(days=5))
    payment_plans.create(session, single, single.invoices[0], 2, TODAY)
    session.commit()
    r = client.get(f"/api/v1/debtors/{debtor.external_id}", headers=api_headers)
    [shown] = check(openapi.build(), "/api/v1/debtors/{external_id}", "get", r)["payment_plans"]  # as documented
    assert shown["invoice_external_id"] is None and shown["invoices"] == ["A1", "A2"]
    assert shown["total"] == "600000.00" and len(shown["instalments"]) == 3
    [one] = client.get(f"/api/v1/debtors/{single.external_id}", headers=api_headers).json["payment_plans"]
    assert one["invoice_external_id"] == "B1" and one["invoices"] == ["B1"]  # additive: a one-invoice plan lists it
