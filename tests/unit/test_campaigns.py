"""Campaign planning: the right stage on the right local day, suppression, policy deferral, idempotency."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from bot.__main__ import cli
from bot.outreach import campaigns
from bot.store.models import ContactAttempt, Conversation, Promise
from tests import factories

BOGOTA = ZoneInfo("America/Bogota")
# Tuesday 24 Nov 2026, 10:00 in Bogotá (15:00 UTC): inside Colombia's hours.
AT = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
TODAY = AT.date()


def invoice(ext, dpd, amount="185000.00", currency="COP"):
    return {
        "external_id": ext,
        "amount": amount,
        "currency": currency,
        "due_date": (TODAY - timedelta(days=dpd)).isoformat(),
    }


def by_debtor(plan):
    return {item.debtor_id: item for item in plan.items}


def test_stage_is_chosen_by_days_past_due_in_the_debtors_zone(session, make_debtor):
    d3 = make_debtor("A", invoices=[invoice("A1", 3)])
    pre = make_debtor("B", phone="+573001112234", invoices=[invoice("B1", -3)])
    none = make_debtor("C", phone="+573001112235", invoices=[invoice("C1", 4)])
    plan = campaigns.plan(session, at=AT)
    items = by_debtor(plan)
    assert items[d3.id].stage == "D+3" and items[d3.id].outcome == "send"
    assert items[d3.id].variant in ("A", "B")
    assert items[pre.id].stage == "D-3"
    assert none.id not in items


def test_local_day_not_utc_day(session, make_debtor):
    # 23:30 in Bogotá on the 24th is already the 25th in UTC: the stage follows Bogotá's calendar.
    d = make_debtor("A", invoices=[invoice("A1", 3)])
    late = datetime(2026, 11, 24, 23, 30, tzinfo=BOGOTA)
    item = by_debtor(campaigns.plan(session, at=late))[d.id]
    assert item.stage == "D+3"
    assert item.outcome == "deferred" and "outside_hours" in item.reason
    assert item.scheduled_for.astimezone(BOGOTA) == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)


def test_suppression_reasons(session, make_debtor):
    opted = make_debtor("O", phone="+573001110001", invoices=[invoice("O1", 3)])
    opted.opted_out = True
    wrong = make_debtor("W", phone="+573001110002", invoices=[invoice("W1", 3)])
    wrong.contact_status = "wrong_number"
    disputed = make_debtor("D", phone="+573001110003", invoices=[invoice("D1", 3)])
    disputed.invoices[0].status = "disputed"
    promised = make_debtor("P", phone="+573001110004", invoices=[invoice("P1", 3)])
    factories.promise(session, promised, promised.invoices[0], promised_date=TODAY + timedelta(days=2))
    human = make_debtor("H", phone="+573001110005", invoices=[invoice("H1", 3)])
    session.add(Conversation(phone=human.phone, debtor_id=human.id, mode="human"))
    replied = make_debtor("R", phone="+573001110006", invoices=[invoice("R1", 3)])
    session.add(
        Conversation(
            phone=replied.phone, debtor_id=replied.id, last_inbound_at=datetime(2026, 11, 24, 8, 15, tzinfo=BOGOTA)
        )
    )
    session.commit()
    items = by_debtor(campaigns.plan(session, at=AT))
    assert {items[d.id].reason for d in (opted, wrong, disputed, promised, human, replied)} == {
        "opted_out",
        "wrong_number",
        "dispute_open",
        "promise_pending",
        "in_human_hands",
        "replied_today",
    }
    assert all(items[d.id].outcome == "suppressed" for d in (opted, wrong, disputed, promised, human, replied))


def test_paid_invoices_are_not_due(session, make_debtor):
    d = make_debtor("A", invoices=[invoice("A1", 3)])
    d.invoices[0].balance = Decimal("0.00")
    d.invoices[0].status = "paid"
    session.commit()
    assert d.id not in by_debtor(campaigns.plan(session, at=AT))


def test_sunday_is_deferred_to_monday_in_colombia(session, make_debtor):
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA)
    d = make_debtor(
        "A",
        invoices=[
            {
                "external_id": "A1",
                "amount": "1000.00",
                "currency": "COP",
                "due_date": (sunday.date() - timedelta(days=7)).isoformat(),
            }
        ],
    )
    item = by_debtor(campaigns.plan(session, at=sunday))[d.id]
    assert item.stage == "D+7" and item.outcome == "deferred"
    assert item.scheduled_for.astimezone(BOGOTA) == datetime(2026, 11, 30, 7, 0, tzinfo=BOGOTA)


def test_execute_records_once_and_enqueues_once(session, make_debtor):
    d = make_debtor("A", invoices=[invoice("A1", 3)])
    sent = []
    report = campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda phone, a: sent.append(a))
    assert report.queued == 1 and len(sent) == 1
    assert [d.status for d in report.decisions] == ["queued"]
    # A second run the same day (another worker, or a restart) plans nothing new.
    again = campaigns.execute(
        session, campaigns.plan(session, at=AT + timedelta(minutes=5)), enqueue=lambda phone, a: sent.append(a)
    )
    assert again.queued == 0 and len(sent) == 1
    attempt = session.get(ContactAttempt, sent[0])
    assert attempt.debtor_id == d.id and attempt.stage == "D+3" and attempt.status == "planned"


def test_two_workers_racing_on_the_same_plan_record_one_attempt(session, make_debtor, db):
    from bot.store.db import get_sessionmaker

    make_debtor("A", invoices=[invoice("A1", 3)])
    plan_a = campaigns.plan(session, at=AT)
    other = get_sessionmaker(db)()
    plan_b = campaigns.plan(other, at=AT)
    sent = []
    campaigns.execute(session, plan_a, enqueue=lambda p, a: sent.append(a))
    report_b = campaigns.execute(other, plan_b, enqueue=lambda p, a: sent.append(a))
    other.close()
    assert len(sent) == 1 and report_b.skipped == 1


def test_deferred_attempt_is_sent_when_its_moment_comes(session, make_debtor):
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA)
    make_debtor(
        "A",
        invoices=[
            {
                "external_id": "A1",
                "amount": "1000.00",
                "currency": "COP",
                "due_date": (sunday.date() - timedelta(days=7)).isoformat(),
            }
        ],
    )
    sent = []
    first = campaigns.execute(session, campaigns.plan(session, at=sunday), enqueue=lambda p, a: sent.append(a))
    assert first.queued == 0 and sum(first.deferred.values()) == 1
    monday = datetime(2026, 11, 30, 7, 5, tzinfo=BOGOTA)
    second = campaigns.execute(session, campaigns.plan(session, at=monday), enqueue=lambda p, a: sent.append(a))
    assert second.queued == 1 and len(sent) == 1


def test_promise_followups(session, make_debtor):
    d = make_debtor("A", invoices=[invoice("A1", 10)])
    e = make_debtor("B", phone="+573001112299", invoices=[invoice("B1", 10)])
    factories.promise(session, d, d.invoices[0], promised_date=TODAY + timedelta(days=1))
    factories.promise(session, e, e.invoices[0], promised_date=TODAY - timedelta(days=1))
    session.commit()
    kinds = {(i.debtor_id, i.kind) for i in campaigns.plan(session, at=AT).items if i.campaign == "followup"}
    assert kinds == {(d.id, "promise_reminder"), (e.id, "promise_broken")}


def test_promises_of_several_invoices_for_one_day_get_one_reminder(session, make_debtor):
    """«Le pago todo el viernes» with three invoices is three promises, and one message the day before."""
    d = make_debtor("A", invoices=[invoice("A1", 10), invoice("A2", 5), invoice("A3", 1)])
    for inv in d.invoices:
        factories.promise(session, d, inv, promised_date=TODAY + timedelta(days=1))
    session.commit()
    sent: list[int] = []
    report = campaigns.execute(session, campaigns.plan(session, at=AT), enqueue=lambda p, a: sent.append(a))
    reminders = [x for x in report.decisions if x.stage == "promise_reminder"]
    assert sorted(x.status for x in reminders) == ["queued", "suppressed", "suppressed"]
    assert {x.reason for x in reminders if x.status == "suppressed"} == {"same_day_message"}
    again = campaigns.execute(session, campaigns.plan(session, at=AT + timedelta(hours=1)), enqueue=lambda p, a: None)
    assert not [x for x in again.decisions if x.stage == "promise_reminder"] and len(sent) == 1


def test_promise_followups_respect_paused_reminders_but_the_promise_still_breaks(session, make_debtor):
    # a debtor who said "ya pagué" (reminders paused while a person checks) or who disputes gets no
    # "tomorrow is your promise" / "we did not see your payment" message; an opted-out one neither —
    # but a missed promise is recorded as broken all the same, even one missed long ago
    paused = make_debtor("A", invoices=[invoice("A1", 10)])
    paused.invoices[0].reminders_paused = True
    opted = make_debtor("B", phone="+573001112299", invoices=[invoice("B1", 10)])
    opted.opted_out = True
    old = make_debtor("C", phone="+573001112298", invoices=[invoice("C1", 20)])
    reminder = make_debtor("D", phone="+573001112297", invoices=[invoice("D1", 10)])
    reminder.invoices[0].reminders_paused = True
    for debtor, days in ((paused, -1), (opted, -2), (old, -9), (reminder, 1)):
        factories.promise(session, debtor, debtor.invoices[0], promised_date=TODAY + timedelta(days=days))
    session.commit()
    the_plan = campaigns.plan(session, at=AT)
    followups = {i.debtor_id: i for i in the_plan.items if i.campaign == "followup"}
    assert (followups[paused.id].outcome, followups[paused.id].reason) == ("suppressed", "reminders_paused")
    assert (followups[opted.id].outcome, followups[opted.id].reason) == ("suppressed", "opted_out")
    assert (followups[reminder.id].kind, followups[reminder.id].outcome) == ("promise_reminder", "suppressed")
    assert old.id not in followups  # too late for a follow-up message
    sent = []
    campaigns.execute(session, the_plan, enqueue=lambda p, a: sent.append(a))
    assert sent == []
    status = {p.debtor_id: p.status for p in session.query(Promise)}
    assert status == {paused.id: "broken", opted.id: "broken", old.id: "broken", reminder.id: "open"}
    assert all(p.resolved_at is not None for p in session.query(Promise) if p.status == "broken")


def test_a_promise_on_an_invoice_already_paid_is_never_broken(session, make_debtor):
    """Issue #27 §4: the invoice was paid outside the promise's link (the billing system recorded it, or a
    new balance of zero came in): the run marks the promise kept and sends no "we did not see your payment"."""
    paid = make_debtor("P", invoices=[invoice("P1", 10)])
    paid.invoices[0].balance, paid.invoices[0].status = Decimal("0.00"), "paid"
    owed = make_debtor("Q", phone="+573001112299", invoices=[invoice("Q1", 10)])
    for debtor in (paid, owed):
        # the amount promised before the balance went to zero
        due = {"promised_date": TODAY - timedelta(days=1), "amount": Decimal("185000.00")}
        factories.promise(session, debtor, debtor.invoices[0], **due)
    session.commit()
    the_plan = campaigns.plan(session, at=AT)
    assert {i.debtor_id for i in the_plan.items if i.campaign == "followup"} == {owed.id}
    campaigns.execute(session, the_plan, enqueue=lambda p, a: None)
    session.expire_all()
    assert {p.debtor_id: p.status for p in session.query(Promise)} == {paid.id: "kept", owed.id: "broken"}


def test_a_dry_run_breaks_no_promise(session, make_debtor):
    d = make_debtor("A", invoices=[invoice("A1", 10)])
    factories.promise(session, d, d.invoices[0], promised_date=TODAY - timedelta(days=1))
    session.commit()
    campaigns.execute(session, campaigns.plan(session, at=AT), dry_run=True)
    assert session.query(Promise).one().status == "open"


def test_queries_do_not_grow_with_debtors(session, make_debtor):
    make_debtor("A", invoices=[invoice("A1", 3)])
    few = campaigns.plan(session, at=AT).queries
    for i in range(30):
        make_debtor(f"X{i}", phone=f"+5730011140{i:02d}", invoices=[invoice(f"X{i}", i % 9 - 3)])
    assert campaigns.plan(session, at=AT).queries == few


def test_cli_dry_run_prints_the_table_and_sends_nothing(session, make_debtor):
    make_debtor("A", invoices=[invoice("A1", 3)])
    make_debtor("B", phone="+573001112234", invoices=[invoice("B1", 7)])
    make_debtor("C", phone="+573001112235", invoices=[invoice("C1", 0)])
    result = CliRunner().invoke(cli, ["campaign", "run", "--dry-run", "--quiet", "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing recorded, nothing queued" in result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ") and line.split()}
    for ext, stage in (("A", "D+3"), ("B", "D+7"), ("C", "D0")):
        assert f" {stage} " in rows[ext] and "would queue" in rows[ext]
        assert "planned for 2026-11-24 10:00 America/Bogota" in rows[ext]
    after = result.output.split("totals")[1].splitlines()[1:]
    totals = {line.rsplit(None, 1)[0].strip(): line.split()[-1] for line in after}
    assert totals["due"] == "3" and totals["would queue"] == "3"
    assert "sent" not in result.output  # a run sends nothing itself: the worker does
    session.expire_all()
    assert session.query(ContactAttempt).count() == 0


def _mixed_portfolio(session, make_debtor):
    """One debtor to queue, one deferred by Colombia's once-a-day cap, one opted out."""
    make_debtor("A", invoices=[invoice("A1", 3)])
    capped = make_debtor("B", phone="+573001112234", whatsapp=False, invoices=[invoice("B1", 7)])
    earlier = AT - timedelta(hours=2)
    factories.contact_attempt(
        session, capped, earlier, key="earlier-today", campaign="manual", stage="x", created_at=earlier
    )
    opted = make_debtor("C", phone="+573001112235", invoices=[invoice("C1", 0)])
    opted.opted_out = True
    session.commit()


def test_cli_run_table_says_queued_deferred_until_when_and_suppressed_why(session, make_debtor, monkeypatch):
    _mixed_portfolio(session, make_debtor)
    queued = []
    real_plan = campaigns.plan
    monkeypatch.setattr(campaigns, "plan", lambda s, at=None, **kw: real_plan(s, at=AT))  # the real clock, fixed
    monkeypatch.setattr(campaigns, "enqueue_send", lambda phone, attempt_id: queued.append((phone, attempt_id)))
    result = CliRunner().invoke(cli, ["campaign", "run", "--quiet"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ") and line.split()}
    assert "queued" in rows["A"] and "+57••••••2233" in rows["A"]
    assert "deferred" in rows["B"] and "until 2026-11-25 07:00 America/Bogota (daily_cap" in rows["B"]
    assert "suppressed" in rows["C"] and rows["C"].endswith("opted_out")
    assert "+573001112233" not in result.output and "4821" not in result.output
    assert [phone for phone, _ in queued] == ["+573001112233"]
    session.expire_all()
    statuses = {a.stage: a.status for a in session.query(ContactAttempt) if a.key != "earlier-today"}
    assert statuses == {"D+3": "planned", "D+7": "deferred", "D0": "suppressed"}


def test_cli_json_lists_each_decision_without_a_full_phone(session, make_debtor):
    import json

    _mixed_portfolio(session, make_debtor)
    result = CliRunner().invoke(cli, ["campaign", "run", "--dry-run", "--json", "--quiet", "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    decisions = {d["debtor"]: d for d in map(json.loads, result.output.splitlines())}
    assert set(decisions) == {"A", "B", "C"}
    for d in decisions.values():
        assert set(d) == {"debtor", "phone", "campaign", "stage", "channel", "status", "reason", "when", "timezone"}
        assert d["phone"].startswith("+57••••") and d["timezone"] == "America/Bogota"
    assert decisions["A"] == {
        "debtor": "A",
        "phone": "+57••••••2233",
        "campaign": "preventiva_y_mora_temprana",
        "stage": "D+3",
        "channel": "whatsapp",
        "status": "would_queue",
        "reason": None,
        "when": "2026-11-24T10:00:00-05:00",
        "timezone": "America/Bogota",
    }
    assert decisions["B"]["status"] == "deferred" and "daily_cap" in decisions["B"]["reason"]
    assert decisions["B"]["when"] == "2026-11-25T07:00:00-05:00"
    assert (decisions["C"]["status"], decisions["C"]["reason"], decisions["C"]["when"]) == (
        "suppressed",
        "opted_out",
        None,
    )
    assert "+573001112233" not in result.output and "4821" not in result.output and "Ana" not in result.output


def test_cli_refuses_a_pretend_clock_for_real_sends(session, make_debtor, monkeypatch):
    # The issue: a D0 for a due date 11 days ahead, planned at --at (that day) and queued for real, went out
    # 11 days early. --at only plans: without --dry-run nothing is planned, recorded or queued, exit 2.
    make_debtor("A", invoices=[invoice("A1", -11)])
    queued = []
    monkeypatch.setattr(campaigns, "enqueue_send", lambda phone, attempt_id: queued.append(attempt_id))
    later = (AT + timedelta(days=11)).isoformat()
    result = CliRunner().invoke(cli, ["campaign", "run", "--quiet", "--at", later])
    assert result.exit_code == 2
    assert "--dry-run" in result.output
    assert queued == []
    session.expire_all()
    assert session.query(ContactAttempt).count() == 0
    # As a dry run it shows what that day would bring, and still records nothing.
    dry = CliRunner().invoke(cli, ["campaign", "run", "--quiet", "--dry-run", "--at", later])
    assert dry.exit_code == 0 and " D0 " in dry.output and "would queue" in dry.output
    assert queued == [] and session.query(ContactAttempt).count() == 0


def test_cli_rejects_a_bad_clock():
    result = CliRunner().invoke(cli, ["campaign", "run", "--dry-run", "--at", "el viernes"])
    assert result.exit_code != 0 and "ISO 8601" in result.output


def test_variant_split_is_stable_and_roughly_even():
    stage = campaigns.load().campaigns[0].stages[2]
    picks = [campaigns.pick_variant(stage, f"{i}:c:s").name for i in range(2000)]
    assert picks == [campaigns.pick_variant(stage, f"{i}:c:s").name for i in range(2000)]
    assert 850 < picks.count("A") < 1150


def test_cli_report_declares_a_winner_only_on_evidence(session):
    from datetime import timezone

    from bot.store.models import Debtor

    now = datetime.now(timezone.utc) - timedelta(hours=1)

    def group(variant, n, replied, offset):
        for i in range(n):
            d = Debtor(
                external_id=f"{variant}{i}",
                name="Ana",
                phone=f"+5730011{offset + i:05d}",
                country="CO",
                timezone="America/Bogota",
            )
            session.add(d)
            session.flush()
            factories.contact_attempt(session, d, now, variant=variant)
            session.add(
                Conversation(
                    phone=d.phone,
                    debtor_id=d.id,
                    last_message_at=now + timedelta(minutes=5),
                    last_inbound_at=now + timedelta(minutes=5) if i < replied else None,
                )
            )
        session.commit()

    group("A", 60, 36, 0)
    group("B", 60, 12, 100)
    result = CliRunner().invoke(cli, ["campaign", "report", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "campaign preventiva" in result.output
    assert "replied: variant A wins" in result.output
    lines = [line for line in result.output.splitlines() if line.strip().startswith(("A ", "B "))]
    assert "60" in lines[0] and "36" in lines[0] and "60.0%" in lines[0]
    assert "promise: " in result.output  # no promises at all: said, not hidden
