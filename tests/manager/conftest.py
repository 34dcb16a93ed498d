"""Manager fixtures: the console's users of each role, and a small hand-built history with known answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.console.conftest import admin, agent, make_user, manager  # noqa: F401  (fixtures)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)  # 10:00 in Bogotá


@pytest.fixture()
def history(session):
    """Five debtors with conversations in November 2026 (and one old one in September), each with a known outcome.

    MX-1  Mexico, WhatsApp: verified, job loss, promise (broken), variant A           "cuánto debo"
    MX-2  Mexico, SMS: verified, job loss, promise (kept) + payment 1500 MXN, variant B
    CO-1  Colombia, WhatsApp: verified, link sent and paid 200000 COP, variant B
    CO-2  Colombia, WhatsApp: no reply, reminder failed (30003), variant A
    PE-1  Peru, WhatsApp: dispute, hand-off claimed by the agent, opted out, forgot
    OLD   Colombia: only active in September (outside the period)
    """
    from bot.store.models import AuditLog, Conversation, Message, User
    from tests import factories as make

    agent_user = User(username="ana.agente", name="Ana Agente", role="agent", password_hash="x")
    session.add(agent_user)
    session.flush()
    made: dict[str, Conversation] = {}

    def debtor(key: str, country: str, currency: str, phone: str, channel: str, start: datetime) -> tuple:
        d = make.debtor(
            session, key, phone=phone, whatsapp=channel == "whatsapp", country=country, document_last4="1234"
        )
        inv = make.invoice(session, d, f"{key}-F1", currency=currency)
        conv = make.conversation(session, d, last_channel=channel, created_at=start, last_message_at=start)
        made[key] = conv
        return d, inv, conv

    def msg(
        conv,
        author: str,
        body: str,
        at: datetime,
        intent: str | None = None,
        status: str | None = None,
        error: str | None = None,
        confidence: float | None = None,
        entities: list | None = None,
    ) -> Message:
        given = {"status": status} if status else {}  # else the factory's: processed in, delivered out
        m = make.message(
            session,
            conv,
            author,
            body,
            intent=intent,
            confidence=confidence,
            entities=entities,
            error_code=error,
            created_at=at,
            **given,
        )
        conv.last_message_at = max(conv.last_message_at, at)
        if author == "debtor":  # as the edge does with every inbound message
            conv.last_inbound_at = max(conv.last_inbound_at or at, at)
        return m

    def sent(d, inv, variant: str, at: datetime) -> None:
        make.contact_attempt(session, d, at, invoice_id=inv.id, variant=variant, channel="whatsapp")

    def verified(d, at: datetime) -> None:
        session.add(
            AuditLog(actor="bot", action="identity_verified", target_type="debtor", target_id=str(d.id), created_at=at)
        )

    t = datetime(2026, 11, 5, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("MX-1", "MX", "MXN", "+525500000001", "whatsapp", t)
    sent(d, inv, "A", t)
    msg(c, "bot", "Recordatorio", t)
    msg(c, "debtor", "Hola, ¿cuánto debo?", t + timedelta(minutes=5), "check_balance", confidence=0.91)
    msg(
        c,
        "debtor",
        "me quedé sin trabajo, mi tarjeta es 4111-1111-1111-1234",
        t + timedelta(minutes=7),
        "report_nonpayment_reason",
        confidence=0.42,
        entities=[{"entity": "reason", "value": "job_loss"}],
    )
    msg(c, "bot", "Lo siento. ¿Cuándo podría pagar?", t + timedelta(minutes=8))
    msg(c, "debtor", "el viernes", t + timedelta(minutes=9), "promise_to_pay", confidence=0.88)
    verified(d, t + timedelta(minutes=6))
    make.reason(session, d, inv, "job_loss", text="me quedé sin trabajo", created_at=t + timedelta(minutes=7))
    make.promise(session, d, inv, promised_date=date(2026, 11, 7), status="broken", created_at=t + timedelta(minutes=9))

    t = datetime(2026, 11, 10, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("MX-2", "MX", "MXN", "+525500000002", "sms", t)
    sent(d, inv, "B", t)
    msg(c, "bot", "Recordatorio", t)
    msg(c, "debtor", "me despidieron", t + timedelta(minutes=3), "report_nonpayment_reason", confidence=0.8)
    msg(c, "debtor", "pago el 12", t + timedelta(minutes=4), "promise_to_pay", confidence=0.95)
    verified(d, t + timedelta(minutes=2))
    make.reason(session, d, inv, "job_loss", text="me despidieron", created_at=t + timedelta(minutes=3))
    make.promise(
        session,
        d,
        inv,
        promised_date=date(2026, 11, 12),
        amount=Decimal("1500"),
        status="kept",
        created_at=t + timedelta(minutes=4),
    )
    make.payment(session, d, inv, provider_id="p-mx2", amount=Decimal("1500.00"), paid_at=t + timedelta(days=2))

    t = datetime(2026, 11, 12, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("CO-1", "CO", "COP", "+573000000001", "whatsapp", t)
    sent(d, inv, "B", t)
    msg(c, "bot", "Recordatorio", t)
    msg(c, "debtor", "mándame el link", t + timedelta(minutes=2), "request_payment_link", confidence=0.97)
    msg(c, "bot", "Aquí tiene su enlace", t + timedelta(minutes=3))
    verified(d, t + timedelta(minutes=1))
    link = make.payment_link(
        session,
        d,
        inv,
        reference="ref-co1",
        short_code="sc-co1",
        amount=Decimal("200000"),
        status="paid",
        expires_at=t + timedelta(days=3),
        created_at=t + timedelta(minutes=3),
    )
    paid = {"provider_id": "p-co1", "amount": Decimal("200000.00"), "paid_at": t + timedelta(hours=1)}
    make.payment(session, d, inv, payment_link_id=link.id, **paid)
    # A refunded payment is not money recovered.
    refunded = {"provider_id": "p-co1-r", "amount": Decimal("5000.00"), "paid_at": t + timedelta(hours=2)}
    make.payment(session, d, inv, status="refunded", **refunded)

    t = datetime(2026, 11, 15, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("CO-2", "CO", "COP", "+573000000002", "whatsapp", t)
    sent(d, inv, "A", t)
    msg(c, "bot", "Recordatorio", t, status="failed", error="30003")

    t = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("PE-1", "PE", "PEN", "+51900000001", "whatsapp", t)
    msg(c, "bot", "Recordatorio", t)
    msg(
        c,
        "debtor",
        "yo no debo eso, se me olvidó avisar que ya pagué",
        t + timedelta(minutes=1),
        "dispute_debt",
        confidence=0.7,
    )
    msg(c, "agent", "Reviso su caso", t + timedelta(minutes=20))
    msg(c, "debtor", "BAJA", t + timedelta(minutes=30), "opt_out", confidence=0.99)
    make.reason(session, d, inv, "forgot", text="se me olvidó", created_at=t + timedelta(minutes=1))
    make.handoff(session, c, "dispute", status="closed", claimed_by=agent_user.id, created_at=t + timedelta(minutes=2))
    d.opted_out, d.opted_out_at = True, t + timedelta(minutes=30)

    t = datetime(2026, 9, 10, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("OLD", "CO", "COP", "+573000000009", "whatsapp", t)
    msg(c, "debtor", "cuánto debo", t, "check_balance", confidence=0.9)
    make.promise(session, d, inv, promised_date=date(2026, 9, 12), status="broken", created_at=t)
    session.commit()
    return {"convs": made, "agent": agent_user}


@pytest.fixture()
def november():
    from bot.review.filters import Filters

    def make(**args: str) -> Filters:
        return Filters.from_args({"from": "2026-11-01", "to": "2026-11-30", **args}, tz="America/Bogota")

    return make
