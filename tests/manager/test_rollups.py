"""The rollup-based dashboard gives exactly the live dashboard's figures: hand-built data with known answers, new
events arriving between refreshes, and random small histories (hypothesis)."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.review import dashboard, filters, rollups
from bot.store.models import (
    AuditLog,
    Conversation,
    DashboardRollup,
    Debtor,
    Invoice,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
)
from tests import factories as make

NO_MARGIN = timedelta(0)  # the tests write and refresh within a second
ZONES = ("America/Bogota", "America/Mexico_City", "America/Santiago", "UTC", "Asia/Kolkata")


def figures(d: dashboard.Dashboard) -> dict:
    out = asdict(d)
    for key in ("filters", "source", "live_conversations"):
        out.pop(key)
    return out


def both(session, f: filters.Filters) -> tuple[dashboard.Dashboard, dashboard.Dashboard]:
    return dashboard.dashboard(session, f), dashboard.dashboard(session, f, rollup=False)


def assert_same(session, f: filters.Filters, source: str = "rollup") -> dashboard.Dashboard:
    fast, live = both(session, f)
    assert fast.source == source
    assert live.source == "live"
    assert figures(fast) == figures(live), f.to_args()
    assert dashboard.ab_table(session, f) == fast.ab  # the A/B page's table, from the rollup too
    return fast


def filters_for(**args: str) -> list[filters.Filters]:
    out = []
    for tz in ZONES:
        for period in (
            {"from": "2026-11-01", "to": "2026-11-30"},
            {"from": "2026-11-10", "to": "2026-11-12"},
            {"from": "2026-09-01", "to": "2026-11-30"},
            {"from": "2026-11-18", "to": "2026-11-18"},
        ):
            out.append(filters.Filters.from_args({**period, **args}, tz=tz))
    return out


def test_without_a_refresh_the_dashboard_is_live(session, history, november):
    assert dashboard.dashboard(session, november()).source == "live"


@pytest.mark.slow
def test_rollup_dashboard_equals_live_on_the_hand_built_history(session, history, november):
    report = rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    assert report.full and report.rows > 0
    d = assert_same(session, november())
    # The known answers of test_reporting, now from the rollup.
    assert d.live_conversations == 0
    assert d.counts["promise"] == 2 and d.counts["promise_kept"] == 1 and d.counts["verified"] == 3
    assert d.recovered == [("COP", Decimal("200000.00")), ("MXN", Decimal("1500.00"))]
    assert d.reasons == [("job_loss", 2), ("forgot", 1)]
    assert d.failures == [("30003", 1, 1)]
    for args in (
        {},
        {"country": "MX"},
        {"country": "CO"},
        {"channel": "sms"},
        {"country": "PE", "channel": "whatsapp"},
    ):
        for f in filters_for(**args):
            assert_same(session, f)


def test_filters_the_rollup_does_not_carry_are_answered_live(session, history, november):
    rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    for args in (
        {"outcome": "promise"},
        {"reason": "job_loss"},
        {"intent": "dispute_debt"},
        {"q": "cuanto"},
        {"variant": "A", "campaign": "preventiva"},
        {"error_code": "30003"},
    ):
        assert not rollups.can_serve(november(**args))
        fast, live = both(session, november(**args))
        assert fast.source == "live" and figures(fast) == figures(live)


@pytest.mark.slow
def test_new_events_after_a_refresh_are_counted_live_until_the_next(session, history, november):
    rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    convs = history["convs"]
    co2 = session.get(Conversation, convs["CO-2"].id)
    mx1 = session.get(Conversation, convs["MX-1"].id)
    t = datetime(2026, 11, 21, 14, 0, tzinfo=timezone.utc)
    # CO-2 finally answers, gives a reason, promises and pays; MX-1's broken promise is replaced by a kept one.
    make.message(session, co2, "debtor", "ya pago", channel="sms", created_at=t)
    co2.last_message_at = co2.last_inbound_at = t
    co2.last_channel = "sms"
    inv = session.query(Invoice).filter_by(debtor_id=co2.debtor_id).one()
    make.reason(session, co2.debtor_id, reason="income_delay", created_at=t)
    make.promise(
        session, co2.debtor_id, inv, promised_date=date(2026, 11, 22), amount=Decimal("10"), status="kept", created_at=t
    )
    make.payment(session, co2.debtor_id, amount=Decimal("10.00"), currency="COP", paid_at=t + timedelta(hours=1))
    promise = session.query(Promise).filter_by(debtor_id=mx1.debtor_id).one()
    promise.status, promise.resolved_at = "kept", datetime.now(timezone.utc)
    # MX-2's payment is charged back: no money recovered in pesos any more.
    session.query(Payment).filter_by(provider_id="p-mx2").one().status = "charged_back"
    session.commit()
    d = assert_same(session, november())
    assert d.live_conversations >= 3
    assert d.counts["promise_kept"] == 3 and d.counts["promise_broken"] == 0
    assert d.recovered == [("COP", Decimal("200010.00"))]
    for f in filters_for(channel="sms") + filters_for(country="CO"):
        assert_same(session, f)

    report = rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    assert not report.full and report.conversations >= 2
    d = assert_same(session, november())
    assert d.live_conversations == 0
    assert d.counts["promise_kept"] == 3 and d.recovered == [("COP", Decimal("200010.00"))]
    for f in filters_for(channel="sms"):
        assert_same(session, f)

    # A partial refund of CO-1's payment after the refresh: recovered is what stayed, live and rolled up.
    session.query(Payment).filter_by(provider_id="p-co1").one().refunded_amount = Decimal("50000.00")
    session.commit()
    assert assert_same(session, november()).recovered == [("COP", Decimal("150010.00"))]
    rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    assert assert_same(session, november()).recovered == [("COP", Decimal("150010.00"))]


def test_a_debtor_with_two_conversations_is_always_live_and_paid_once(session, history, november):
    mx2 = session.get(Conversation, history["convs"]["MX-2"].id)
    t = datetime(2026, 11, 13, 15, 0, tzinfo=timezone.utc)
    make.conversation(session, None, phone="+525500000099", debtor_id=mx2.debtor_id, created_at=t, last_message_at=t)
    session.commit()
    rollups.refresh(session, full=True, margin=NO_MARGIN)
    session.commit()
    live = session.query(DashboardRollup).filter_by(metric=rollups.LIVE).count()
    assert live == 2
    d = assert_same(session, november())
    assert d.recovered == [("COP", Decimal("200000.00")), ("MXN", Decimal("1500.00"))]
    assert d.live_conversations == 2


def test_refresh_since_recomputes_what_changed(session, history, november):
    rollups.refresh(session, margin=NO_MARGIN)
    session.commit()
    report = rollups.refresh(session, since=datetime.now(timezone.utc) - timedelta(days=1))
    session.commit()
    assert report.conversations == 6  # everything was written today
    assert_same(session, november())


# --- Random small histories ----------------------------------------------------------------------------------
EXAMPLES = 10 if os.environ.get("DATABASE_URL", "").startswith("postgresql") else 40  # PostgreSQL: slower set-up
BASE = datetime(2026, 9, 1, 0, 0, tzinfo=timezone.utc)  # in the past: nothing after the refresh's watermark
minutes = st.integers(min_value=0, max_value=20 * 24 * 60)
event = st.tuples(
    st.sampled_from(
        [
            "promise",
            "payment",
            "link",
            "plan",
            "reason",
            "verified",
            "handoff",
            "failed",
            "inbound",
            "dispute_msg",
            "opt_out",
            "sent",
            "sent",
        ]
    ),
    minutes,
    st.integers(0, 3),
    st.sampled_from([None, None, 30, 24 * 60, 9 * 24 * 60]),
)
conversation = st.tuples(
    st.sampled_from(["MX", "CO", "PE"]),
    st.sampled_from(["whatsapp", "sms"]),
    minutes,
    st.lists(event, max_size=6),
    st.booleans(),
)
history_st = st.lists(conversation, min_size=1, max_size=6)
queries = st.lists(
    st.tuples(
        st.sampled_from(ZONES),
        st.integers(0, 19),
        st.integers(0, 6),
        st.sampled_from(["", "MX", "CO"]),
        st.sampled_from(["", "whatsapp", "sms"]),
    ),
    min_size=1,
    max_size=4,
)


def _write(session, spec, offset: int = 0) -> None:
    """Conversations and their events from a generated spec (the last conversation may share a debtor)."""
    debtors: list[Debtor] = []
    for i, (country, channel, start_min, evs, shares) in enumerate(spec):
        n = offset + i
        if shares and debtors:
            d = debtors[-1]
        else:
            d = make.debtor(session, f"H-{n}", phone=f"+5730000{n:05d}", country=country, opted_out=False)
            debtors.append(d)
        inv = make.invoice(session, d, f"H-{n}-F", "100", currency="MXN" if country == "MX" else "COP")
        start = BASE + timedelta(minutes=start_min)
        c = make.conversation(
            session, d, phone=f"+5731000{n:05d}", last_channel=channel, created_at=start, last_message_at=start
        )
        last = start
        for kind, first_min, k, again in evs:
            for at_min in [first_min] if again is None else [first_min, first_min + again]:  # again, later
                last = _event(session, kind, at_min, k, d, inv, c, n, last)
        c.last_message_at = last
    session.commit()


def _event(session, kind: str, at_min: int, k: int, d, inv, c, n: int, last: datetime) -> datetime:
    """One generated event; returns the conversation's last message time."""
    at = BASE + timedelta(minutes=at_min)
    if kind == "promise":
        status = ("kept", "broken", "replaced", "replaced")[k]
        make.promise(session, d, inv, promised_date=date(2026, 11, 20), amount=Decimal(5), status=status, created_at=at)
    elif kind == "payment":
        status = ("approved", "approved", "rejected", "approved")[k]
        make.payment(
            session, d, amount=Decimal(10 + k), currency=("MXN", "COP", "PEN", "MXN")[k], status=status, paid_at=at
        )
    elif kind == "link":
        status = ("paid", "active", "expired", "paid")[k]
        make.payment_link(session, d, amount=Decimal(1), status=status, expires_at=at, created_at=at)
    elif kind == "plan":
        session.add(
            PaymentPlan(
                debtor_id=d.id, invoice_id=inv.id, total=Decimal(1), currency="COP", instalment_count=2, created_at=at
            )
        )
    elif kind == "reason":
        make.reason(session, d, reason=("job_loss", "forgot", "health", "other")[k], created_at=at)
    elif kind == "verified":
        session.add(
            AuditLog(actor="bot", action="identity_verified", target_type="debtor", target_id=str(d.id), created_at=at)
        )
    elif kind == "handoff":
        make.handoff(session, c, ("dispute", "request_human", "dispute", "other")[k], status="closed", created_at=at)
    elif kind in ("failed", "inbound", "dispute_msg"):
        inbound = kind != "failed"
        failure = (
            {}
            if inbound
            else {"status": ("failed", "undelivered")[k % 2], "error_code": ("30003", None, "63016", "30003")[k]}
        )
        intent = "dispute_debt" if kind == "dispute_msg" else None
        make.message(session, c, "debtor" if inbound else "bot", "b", intent=intent, created_at=at, **failure)
        last = max(last, at)
        if inbound:
            c.last_inbound_at = max(c.last_inbound_at or at, at)
    elif kind == "opt_out":
        d.opted_out, d.opted_out_at = True, at
    elif kind == "sent":  # a campaign contact, in an A/B variant (or none)
        variant = ("A", "B", None, "-")[k] if at_min % 2 else "A"
        status = "sent" if k != 3 else "planned"
        campaign = ("pre", "mora", "pre", "pre")[k]
        make.contact_attempt(
            session, d, at, campaign=campaign, stage="D+1", variant=variant, status=status, channel=None
        )
    return last


def _mutate(session) -> None:
    """After a refresh: a payment refunded, a promise kept, a link paid, a debtor moved to another country."""
    now = datetime.now(timezone.utc)
    for model, change in (
        (Payment, {"status": "refunded"}),
        (Promise, {"status": "kept", "resolved_at": now}),
        (PaymentLink, {"status": "paid"}),
        (Debtor, {"country": "PE"}),
    ):
        row = session.execute(select(model).order_by(model.id.desc()).limit(1)).scalar()
        if row is not None:
            for key, value in change.items():
                setattr(row, key, value)
    session.commit()


def _check(session, qs, all_rolled_up: bool = False) -> None:
    for tz, from_day, days, country, channel in qs:
        first = BASE.date() + timedelta(days=from_day)
        f = filters.Filters.from_args(
            {
                "from": first.isoformat(),
                "to": (first + timedelta(days=days)).isoformat(),
                "country": country,
                "channel": channel,
            },
            tz=tz,
        )
        d = assert_same(session, f)
        if all_rolled_up:
            assert d.live_conversations == len(
                session.execute(
                    select(DashboardRollup.conversation_id).where(DashboardRollup.metric == rollups.LIVE)
                ).all()
            )


# No shrinking: on a database it takes minutes; a failure prints the whole (small) history.
@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(spec=history_st, later=st.lists(conversation, max_size=3), qs=queries)
def test_rollup_equals_live_on_random_histories(db, empty_store, spec, later, qs):
    from bot.store.db import get_sessionmaker

    empty_store()  # each generated history starts from an empty store, as each test does
    session = get_sessionmaker(db)()
    try:
        _write(session, spec)
        rollups.refresh(session, margin=NO_MARGIN)
        session.commit()
        _check(session, qs, all_rolled_up=True)
        _write(session, later, offset=100)  # new conversations and events after the refresh
        _mutate(session)  # and changed ones
        _check(session, qs)
        rollups.refresh(session, margin=NO_MARGIN)
        session.commit()
        _check(session, qs, all_rolled_up=True)
    finally:
        session.rollback()
        session.close()


def test_cli_refreshes_the_rollups(db, history, november):
    from click.testing import CliRunner

    from bot.__main__ import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["rollups", "refresh"])
    assert result.exit_code == 0, result.output
    assert "(full)" in result.output
    result = runner.invoke(cli, ["rollups", "refresh", "--since", "2026-11-01T00:00:00"])
    assert result.exit_code == 0 and "(changed)" in result.output, result.output
    result = runner.invoke(cli, ["rollups", "refresh", "--since", "yesterday"])
    assert result.exit_code != 0


def test_the_worker_refreshes_the_rollups_every_minute(db, history, redis_url, november):
    from bot.store.db import get_sessionmaker
    from bot.worker import jobs, main

    jobs.load_handlers()
    seconds, fn = main.PERIODIC["dashboard_rollups"]
    assert seconds == 60
    fn()
    session = get_sessionmaker(db)()
    try:
        state = rollups.get_state(session)
        assert state is not None and state.full_at is not None and state.rows > 0
        assert_same(session, november())
    finally:
        session.close()
