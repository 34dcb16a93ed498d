"""The demo history: realistic, consistent with the store's rules, and seeded only once."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from bot.demo import history
from bot.review import dashboard, filters
from bot.store.models import (
    AuditLog,
    ContactAttempt,
    Conversation,
    DueDateChange,
    Handoff,
    Message,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
)


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def latest_event(session) -> datetime:
    """The latest time anything happened in the history (a link's expiry is a deadline, not an event)."""
    columns = [
        Message.created_at,
        Message.updated_at,
        Conversation.last_message_at,
        Conversation.updated_at,
        Conversation.last_inbound_at,
        Promise.created_at,
        Promise.resolved_at,
        Payment.paid_at,
        Payment.created_at,
        PaymentLink.created_at,
        PaymentPlan.created_at,
        DueDateChange.created_at,
        NonpaymentReason.created_at,
        Handoff.created_at,
        Handoff.claimed_at,
        Handoff.closed_at,
        AuditLog.created_at,
        ContactAttempt.sent_at,
        ContactAttempt.created_at,
    ]
    return max(_utc(v) for c in columns if (v := session.execute(select(func.max(c))).scalar()) is not None)


def test_generate_writes_a_history_the_dashboard_can_read(session):
    written = history.generate(session, n=200, seed=3)
    assert latest_event(session) <= datetime.now(timezone.utc)  # nothing in the future
    assert written["conversations"] == 200 and written["messages"] > 600
    assert history.generate(session, n=200) == {}  # seeding again adds nothing
    assert session.execute(select(func.count()).select_from(Conversation)).scalar() == 200
    statuses = set(session.execute(select(Promise.status)).scalars())
    assert {"kept", "broken"} <= statuses
    # Every conversation's last_inbound_at is its latest debtor message (what the edge keeps).
    latest = dict(
        session.execute(
            select(Message.conversation_id, func.max(Message.created_at))
            .where(Message.direction == "in")
            .group_by(Message.conversation_id)
        ).all()
    )
    for conv in session.execute(select(Conversation)).scalars():
        assert conv.last_inbound_at == latest.get(conv.id)
    d = dashboard.dashboard(session, filters.Filters.from_args({"from": "2000-01-01"}))
    assert d.conversations == 200 and d.counts["promise"] > 0 and d.reasons and d.recovered
    assert {cur for cur, _ in d.recovered} <= {"COP", "MXN", "ARS", "CLP", "PEN"}
    assert d.ab and {v["variant"] for v in d.ab[0]["variants"]} == {"A", "B"}


def test_nothing_happens_after_the_generation_time(session):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    history.generate(session, n=400, seed=11, now=now)
    latest = latest_event(session)
    assert latest <= now and (now - latest).total_seconds() < 6 * 3600  # and recent conversations still end lately


def test_the_campaigns_leave_the_made_up_history_alone(session):
    # make run seeds the history and then runs the campaigns: no reminder or promise follow-up goes out
    # to the thousands of made-up debtors (whose promises are still recorded as broken when missed)
    from bot.outreach import campaigns

    now = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
    history.generate(session, n=400, seed=5, now=now)
    the_plan = campaigns.plan(session, at=now)
    assert the_plan.items  # the history has overdue invoices and promises falling due
    assert [i for i in the_plan.items if i.outcome != "suppressed"] == []
    assert {i.reason for i in the_plan.items} <= {"reminders_paused", "opted_out", "invalid_contact", "paid"}
