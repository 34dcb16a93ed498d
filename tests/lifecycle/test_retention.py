"""Retention at a fixed clock: only what is past its period goes, nothing that a promise, a plan, a hand-off or an
unsettled debt still needs, payments never; a dry run changes nothing; the worker runs it on its own."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.lifecycle import retention
from bot.store.models import (
    AuditLog,
    ContactAttempt,
    Conversation,
    Debtor,
    Message,
    Payment,
    PaymentPlan,
)
from tests import factories as make
from tests.lifecycle.conftest import AT, add_events, days_ago, events_of

POLICY = retention.Policy(
    version="test",
    scheduled=True,
    message_bodies_days=365,
    tracker_events_days=180,
    contact_default_days=365,
    contact_days={"CL": 730},
)


def settled(make_debtor, external_id: str, phone: str, country: str = "CO", tz: str = "America/Bogota") -> Debtor:
    """A debtor whose only invoice is paid: nothing of theirs is needed any more."""
    invoices = [{"external_id": "F1", "amount": "1000.00", "currency": "COP", "due_date": "2024-01-10", "balance": "0"}]
    return make_debtor(external_id, phone=phone, country=country, timezone=tz, invoices=invoices)


def conversation(session, debtor: Debtor, *ages: float) -> Conversation:
    conv = make.conversation(session, debtor, last_channel="sms")
    photo = [{"url": "https://example.com/foto.jpg", "content_type": "image/jpeg"}]
    for age in ages:
        make.message(session, conv, "debtor", f"mensaje de hace {age} días", media=photo, created_at=days_ago(age))
    session.commit()
    return conv


def bodies(session, debtor: Debtor) -> list[str]:
    return list(
        session.execute(select(Message.body).where(Message.debtor_id == debtor.id).order_by(Message.created_at))
        .scalars()
        .all()
    )


def attempt(session, debtor: Debtor, age: float, status: str = "sent", invoice_id: int | None = None) -> int:
    at = days_ago(age)
    sent = {"status": status, "sent_at": at if status == "sent" else None}
    where = {"invoice_id": invoice_id, "campaign": "standard", "stage": "D+7"}
    row = make.contact_attempt(session, debtor, at, created_at=at, **sent, **where)
    session.commit()
    return row.id


def test_chile_keeps_contact_records_two_years_by_the_shipped_policy():
    policy = retention.load_policy()
    assert policy.contact_days_for("CL") == 730
    assert policy.message_bodies_days > 0 and policy.tracker_events_days > 0
    raw = retention.policies.load("retention")
    assert "21.320" in raw["contact_records"]["countries"]["CL"]["source"]


@pytest.mark.parametrize("days", [0, -3, "365", None, True])
def test_a_period_that_is_not_a_number_of_days_is_refused(days):
    raw = {
        "message_bodies_days": days,
        "tracker_events_days": 180,
        "contact_records": {"default": {"days": 730}},
    }
    with pytest.raises(retention.PolicyError, match="message_bodies_days"):
        retention.load_policy(raw)


def test_message_bodies_past_their_period_go_unless_still_needed(session, make_debtor):
    done = settled(make_debtor, "DONE", "+573001110001")
    conversation(session, done, 400, 300)
    owing = make_debtor("OWING", phone="+573001110002")  # an open invoice: an unsettled debt
    conversation(session, owing, 400)
    promised = settled(make_debtor, "PROMISED", "+573001110003")
    conversation(session, promised, 400)
    open_inv = make.invoice(
        session, promised, "F2", "10.00", balance=Decimal("0.00"), due_date=date(2026, 1, 1), status="paid"
    )
    make.promise(session, promised, open_inv, promised_date=date(2026, 12, 20), amount=Decimal("10.00"))
    planned = settled(make_debtor, "PLAN", "+573001110004")
    conversation(session, planned, 400)
    session.add(
        PaymentPlan(
            debtor_id=planned.id,
            invoice_id=planned.invoices[0].id,
            total=Decimal("1000.00"),
            currency="COP",
            instalment_count=2,
        )
    )
    handed = settled(make_debtor, "HAND", "+573001110005")
    conv = conversation(session, handed, 400)
    make.handoff(session, conv, status="claimed")
    old = {"amount": Decimal("1000.00"), "paid_at": days_ago(900), "created_at": days_ago(900)}
    make.payment(session, done, provider_id="PAY-1", **old)
    session.commit()

    report = retention.run(session, at=AT, policy=POLICY)
    session.commit()

    [kind] = [k for k in report.kinds if k.kind == "message_bodies"]
    assert (kind.count, kind.held) == (1, 4)
    assert bodies(session, done) == ["", "mensaje de hace 300 días"]
    pruned = session.execute(select(Message).where(Message.debtor_id == done.id, Message.body == "")).scalar_one()
    assert pruned.media == [] and pruned.redacted_at == AT
    assert (pruned.direction, pruned.channel, pruned.intent is None) == ("in", "sms", True)  # the row stays
    for kept in (owing, promised, planned, handed):
        assert bodies(session, kept) == ["mensaje de hace 400 días"], kept.external_id
    assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 1  # accounting: never pruned


def test_contact_records_are_kept_for_their_country_legal_period(session, make_debtor):
    chile = settled(make_debtor, "CL-1", "+56961234567", country="CL", tz="America/Santiago")
    colombia = settled(make_debtor, "CO-1", "+573001110006")
    cl_old = attempt(session, chile, 800)  # more than two years: goes
    cl_kept = attempt(session, chile, 700)  # less than two years: Chile's law wants it kept
    co_old = attempt(session, colombia, 400)  # past the default period of this policy
    co_recent = attempt(session, colombia, 100)
    still_to_send = attempt(session, chile, 800, status="deferred")
    disputed = make.invoice(session, chile, "F9", "5.00", currency="CLP", due_date=date(2024, 1, 1), status="disputed")
    session.commit()
    evidence = attempt(session, chile, 800, invoice_id=disputed.id)

    report = retention.run(session, at=AT, policy=POLICY)
    session.commit()

    left = set(session.execute(select(ContactAttempt.id)).scalars())
    assert left == {cl_kept, co_recent, still_to_send, evidence}
    assert cl_old not in left and co_old not in left
    by_country = {k.country: k for k in report.kinds if k.kind == "contact_records"}
    assert (by_country["CL"].days, by_country["CL"].count, by_country["CL"].held) == (730, 1, 2)
    assert (by_country["*"].days, by_country["*"].count) == (365, 1)
    entry = session.execute(select(AuditLog).where(AuditLog.action == "retention.run")).scalar_one()
    assert entry.details["totals"]["contact_records"] == 2


def test_tracker_events_go_by_session_and_never_for_a_conversation_still_needed(session, make_debtor, tracker):
    done = settled(make_debtor, "DONE", "+573001110001")
    owing = make_debtor("OWING", phone="+573001110002")
    conversation(session, owing)
    # a settled debtor still talking: an old session, then the latest one that began 10 days ago
    add_events(
        tracker,
        done.phone,
        [("session_started", days_ago(400)), ("user", days_ago(400)), ("session_started", days_ago(10))]
        + [("user", days_ago(10)), ("bot", days_ago(9))],
    )
    add_events(tracker, "+573009999999", [("session_started", days_ago(300)), ("user", days_ago(300))])  # silent
    add_events(tracker, "+573008888888", [("session_started", days_ago(30)), ("user", days_ago(30))])  # recent
    add_events(tracker, owing.phone, [("session_started", days_ago(400)), ("user", days_ago(400))])  # needed

    dry = retention.run(session, at=AT, policy=POLICY, tracker=tracker, dry_run=True)
    [would] = [k for k in dry.kinds if k.kind == "tracker_events"]
    assert (would.count, would.held) == (4, 2)
    assert len(events_of(tracker, done.phone)) == 5  # a dry run deletes nothing

    report = retention.run(session, at=AT, policy=POLICY, tracker=tracker)
    [kind] = [k for k in report.kinds if k.kind == "tracker_events"]
    assert (kind.count, kind.held) == (4, 2) and report.tracker_store == tracker.dialect.name
    assert [t for t, _ in events_of(tracker, done.phone)] == ["session_started", "user", "bot"]
    assert events_of(tracker, "+573009999999") == []
    assert len(events_of(tracker, "+573008888888")) == 2
    assert len(events_of(tracker, owing.phone)) == 2


def test_a_dry_run_counts_what_a_run_prunes_and_changes_nothing(session, make_debtor):
    done = settled(make_debtor, "DONE", "+573001110001")
    conversation(session, done, 400, 500, 10)
    attempt(session, done, 400)
    attempt(session, done, 30)

    dry = retention.run(session, at=AT, policy=POLICY, dry_run=True)
    session.commit()
    assert bodies(session, done) == ["mensaje de hace 500 días", "mensaje de hace 400 días", "mensaje de hace 10 días"]
    assert session.execute(select(func.count()).select_from(ContactAttempt)).scalar_one() == 2
    assert session.execute(select(AuditLog)).first() is None

    real = retention.run(session, at=AT, policy=POLICY)
    session.commit()
    assert {k: dry.total(k) for k in retention.KINDS} == {k: real.total(k) for k in retention.KINDS}
    assert (real.total("message_bodies"), real.total("contact_records")) == (2, 1)
    again = retention.run(session, at=AT, policy=POLICY)  # nothing left to prune: a rerun is harmless
    assert sum(again.total(k) for k in retention.KINDS) == 0


def test_the_command_prints_per_kind_and_its_dry_run_json_changes_nothing(session, make_debtor, monkeypatch):
    from bot.__main__ import cli

    done = settled(make_debtor, "DONE", "+573001110001")
    conversation(session, done, 3000)
    result = CliRunner().invoke(cli, ["retention", "run", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert data["dry_run"] is True and data["totals"]["message_bodies"] == 1
    assert {k["kind"] for k in data["kinds"]} == set(retention.KINDS)
    assert {k.get("country") for k in data["kinds"] if k["kind"] == "contact_records"} >= {"CL", "*"}
    session.expire_all()
    assert bodies(session, done) == ["mensaje de hace 3000 días"]

    result = CliRunner().invoke(cli, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "message_bodies" in result.output and "pruned" in result.output
    session.expire_all()
    assert bodies(session, done) == [""]
    assert CliRunner().invoke(cli, ["retention", "run", "--at", "2030-01-01"]).exit_code == 2  # --at needs --dry-run


def test_the_worker_runs_retention_on_its_own_every_hour(session, make_debtor, redis_url):
    from bot.worker import jobs, main

    jobs.load_handlers()
    seconds, job = main.PERIODIC["retention"]
    assert seconds == 3600
    done = settled(make_debtor, "DONE", "+573001110001")
    conversation(session, done, 3000)
    job()
    session.expire_all()
    assert bodies(session, done) == [""]
    assert session.execute(select(AuditLog.actor).where(AuditLog.action == "retention.run")).scalar_one() == "worker"


def test_the_report_is_a_table_an_operator_can_read():
    report = retention.Report(at=AT, dry_run=True, version="v")
    report.kinds.append(retention.KindReport("message_bodies", 365, datetime(2025, 12, 5, 12, tzinfo=AT.tzinfo), 3, 1))
    lines = report.table()
    assert "would prune" in lines[0] and "365 d" in lines[1] and "2025-12-05" in lines[1]
    assert "no Rasa tracker store" in lines[-1]
