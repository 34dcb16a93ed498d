"""Payment plans followed up: a reminder the day before each instalment, a plan broken after too many days
late (the debtor told once, an agent handed the case), never for an invoice already paid, and the plan's
status where integrators and agents read it."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.billing import payment_plans
from bot.outreach import campaigns
from bot.store.models import ContactAttempt, Conversation, Handoff, PaymentPlan
from bot.web import debtor_view

BOGOTA = ZoneInfo("America/Bogota")
# Tuesday 24 Nov 2026, 10:00 in Bogotá: inside Colombia's hours.
AT = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
TODAY = AT.date()


def invoice(ext, due=date(2026, 10, 20)):
    # a due date no campaign stage falls on at AT (35 days past due), so only plan follow-ups are planned
    return {"external_id": ext, "amount": "300000.00", "currency": "COP", "due_date": due.isoformat()}


def make_plan(session, debtor, first_due: date, count=3) -> PaymentPlan:
    """A plan whose first instalment is due on ``first_due`` (the policy puts it 3 days after the agreement)."""
    plan = payment_plans.create(session, debtor, debtor.invoices[0], count, first_due - timedelta(days=3))
    session.commit()
    return plan


def followups(the_plan):
    return {(i.debtor_id, i.stage): i for i in the_plan.items if i.stage in campaigns.PLAN_FOLLOWUPS}


def test_an_instalment_is_reminded_the_day_before_on_the_debtors_own_day(session, make_debtor):
    tomorrow = make_debtor("A", invoices=[invoice("A1")])
    make_plan(session, tomorrow, TODAY + timedelta(days=1))
    later = make_debtor("B", phone="+573001110002", invoices=[invoice("B1")])
    make_plan(session, later, TODAY + timedelta(days=2))
    items = followups(campaigns.plan(session, at=AT))
    assert set(items) == {(tomorrow.id, "instalment_reminder")}
    item = items[(tomorrow.id, "instalment_reminder")]
    assert item.outcome == "send" and item.campaign == "followup"
    # 23:30 in Bogotá is already the next day in UTC: the reminder still follows Bogotá's calendar
    late_evening = followups(campaigns.plan(session, at=datetime(2026, 11, 24, 23, 30, tzinfo=BOGOTA)))
    assert (tomorrow.id, "instalment_reminder") in late_evening
    assert (later.id, "instalment_reminder") not in late_evening


def test_reminders_go_out_once_whatever_the_number_of_runs_and_never_to_an_opted_out_debtor(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    make_plan(session, debtor, TODAY + timedelta(days=1))
    opted = make_debtor("B", phone="+573001110002", invoices=[invoice("B1")])
    opted.opted_out = True
    make_plan(session, opted, TODAY + timedelta(days=1))
    queued: list[int] = []
    for _ in range(2):  # two workers, or the periodic run twice the same day
        campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda phone, a: queued.append(a))
    assert len(queued) == 1
    rows = {a.debtor_id: a for a in session.scalars(select(ContactAttempt))}
    assert rows[debtor.id].status == "planned" and rows[debtor.id].stage == "instalment_reminder"
    assert (rows[opted.id].status, rows[opted.id].reason) == ("suppressed", "opted_out")


def test_a_plan_is_late_then_broken_after_the_countrys_days_with_a_handoff(session, make_debtor):
    # Colombia breaks a plan at 10 days late (config/payment_plan_policy.yml)
    debtor = make_debtor("A", invoices=[invoice("A1")])
    plan = make_plan(session, debtor, TODAY - timedelta(days=9))
    the_plan = campaigns.plan(session, at=AT)
    assert the_plan.broken_plans == [] and followups(the_plan) == {}
    view = debtor_view.serialize(session, debtor, AT)
    assert (view["payment_plans"][0]["status"], view["payment_plans"][0]["days_late"]) == ("late", 9)

    next_day = AT + timedelta(days=1)
    queued: list[int] = []
    campaigns.execute(session, campaigns.plan(session, at=next_day), enqueue=lambda p, a: queued.append(a))
    session.expire_all()
    assert session.get(PaymentPlan, plan.id).status == "broken"
    [handoff] = session.scalars(select(Handoff)).all()
    assert handoff.reason == "plan_broken" and handoff.debtor_id == debtor.id and "10 días" in handoff.summary
    [attempt] = session.scalars(select(ContactAttempt)).all()
    assert attempt.stage == "plan_broken" and queued == [attempt.id]
    # the next runs neither break it again, nor write again, nor open another hand-off
    for day in (next_day, next_day + timedelta(days=1)):
        again = campaigns.plan(session, at=day)
        assert again.broken_plans == [] and followups(again) == {}
    assert len(session.scalars(select(Handoff)).all()) == 1
    assert debtor_view.serialize(session, debtor, AT)["payment_plans"][0]["status"] == "broken"


def test_a_plan_broken_today_gets_no_reminder_of_its_next_instalment(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    # instalments 30 days apart: the first 29 days late, the second due tomorrow
    plan = make_plan(session, debtor, TODAY - timedelta(days=29))
    the_plan = campaigns.plan(session, at=AT)
    assert the_plan.broken_plans == [(plan.id, 29)]
    assert set(followups(the_plan)) == {(debtor.id, "plan_broken")}


def test_mexico_breaks_a_plan_sooner(session, make_debtor):
    debtor = make_debtor(
        "M",
        phone="+5215512345678",
        country="MX",
        timezone="America/Mexico_City",
        invoices=[{"external_id": "M1", "amount": "3000.00", "currency": "MXN", "due_date": "2026-10-20"}],
    )
    plan = make_plan(session, debtor, TODAY - timedelta(days=7))
    assert campaigns.plan(session, at=AT).broken_plans == [(plan.id, 7)]


def test_an_opted_out_debtors_plan_still_breaks_and_reaches_an_agent_but_no_message(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    debtor.opted_out = True
    plan = make_plan(session, debtor, TODAY - timedelta(days=12))
    queued: list[int] = []
    campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda p, a: queued.append(a))
    session.expire_all()
    assert queued == []
    assert session.get(PaymentPlan, plan.id).status == "broken"
    assert [h.reason for h in session.scalars(select(Handoff))] == ["plan_broken"]
    [attempt] = session.scalars(select(ContactAttempt)).all()
    assert (attempt.status, attempt.reason) == ("suppressed", "opted_out")


def test_an_instalment_whose_invoice_is_paid_is_never_late_nor_broken(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    plan = make_plan(session, debtor, TODAY - timedelta(days=20))
    inv = debtor.invoices[0]
    inv.balance, inv.status = Decimal("0.00"), "paid"  # paid elsewhere, told by the billing system
    session.commit()
    assert debtor_view.serialize(session, debtor, AT)["payment_plans"][0]["status"] == "completed"
    the_plan = campaigns.plan(session, at=AT)
    assert the_plan.broken_plans == [] and followups(the_plan) == {}
    campaigns.execute(session, the_plan)
    session.expire_all()
    assert session.get(PaymentPlan, plan.id).status == "completed"
    assert session.scalars(select(Handoff)).all() == []


def test_a_followup_is_held_while_an_agent_has_the_conversation(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    session.add(Conversation(phone=debtor.phone, debtor_id=debtor.id, mode="human"))
    make_plan(session, debtor, TODAY + timedelta(days=1))
    item = followups(campaigns.plan(session, at=AT))[(debtor.id, "instalment_reminder")]
    assert (item.outcome, item.reason) == ("suppressed", "in_human_hands")


def test_the_debtor_view_lists_instalments_with_due_dates_amounts_and_paid(session, make_debtor):
    debtor = make_debtor("A", invoices=[invoice("A1")])
    plan = make_plan(session, debtor, date(2026, 11, 20), count=3)
    plan.instalments[0].status = "paid"
    plan.instalments[0].paid_at = datetime(2026, 11, 19, 15, 0, tzinfo=ZoneInfo("UTC"))
    session.commit()
    [shown] = debtor_view.serialize(session, debtor, AT)["payment_plans"]
    assert shown["invoice_external_id"] == "A1" and shown["total"] == "300000.00" and shown["currency"] == "COP"
    assert [(i["number"], i["due_date"], i["paid"]) for i in shown["instalments"]] == [
        (1, "2026-11-20", True),
        (2, "2026-12-20", False),
        (3, "2027-01-19", False),
    ]
    assert sum(Decimal(i["amount"]) for i in shown["instalments"]) == Decimal("300000.00")
    assert shown["instalments"][0]["paid_at"] == "2026-11-19T15:00:00Z"
