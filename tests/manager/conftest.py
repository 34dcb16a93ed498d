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
    from bot.store.models import (
        AuditLog,
        ContactAttempt,
        Conversation,
        Debtor,
        Handoff,
        Invoice,
        Message,
        NonpaymentReason,
        Payment,
        PaymentLink,
        Promise,
        User,
    )

    agent_user = User(username="ana.agente", name="Ana Agente", role="agent", password_hash="x")
    session.add(agent_user)
    session.flush()
    made: dict[str, Conversation] = {}

    def debtor(key: str, country: str, currency: str, phone: str, channel: str, start: datetime) -> tuple:
        d = Debtor(
            external_id=key,
            name=f"Deudor {key}",
            phone=phone,
            whatsapp=channel == "whatsapp",
            country=country,
            timezone="America/Bogota",
            document_last4="1234",
        )
        session.add(d)
        session.flush()
        inv = Invoice(
            debtor_id=d.id,
            external_id=f"{key}-F1",
            amount=Decimal("1000.00"),
            balance=Decimal("1000.00"),
            currency=currency,
            original_due_date=date(2026, 11, 1),
            due_date=date(2026, 11, 1),
        )
        conv = Conversation(
            phone=phone, debtor_id=d.id, last_channel=channel, created_at=start, last_message_at=start, tags=[]
        )
        session.add_all([inv, conv])
        session.flush()
        made[key] = conv
        return d, inv, conv

    def msg(
        conv,
        d,
        author: str,
        body: str,
        at: datetime,
        intent: str | None = None,
        status: str | None = None,
        error: str | None = None,
        confidence: float | None = None,
        entities: list | None = None,
    ) -> Message:
        m = Message(
            conversation_id=conv.id,
            debtor_id=d.id,
            direction="in" if author == "debtor" else "out",
            author=author,
            channel=conv.last_channel,
            body=body,
            intent=intent,
            confidence=confidence,
            entities=entities,
            status=status or ("processed" if author == "debtor" else "delivered"),
            error_code=error,
            created_at=at,
        )
        session.add(m)
        conv.last_message_at = max(conv.last_message_at, at)
        if author == "debtor":  # as the edge does with every inbound message
            conv.last_inbound_at = max(conv.last_inbound_at or at, at)
        return m

    def sent(d, inv, variant: str, at: datetime) -> None:
        session.add(
            ContactAttempt(
                key=f"k-{d.id}-{variant}",
                debtor_id=d.id,
                invoice_id=inv.id,
                campaign="preventiva",
                stage="D+3",
                variant=variant,
                channel="whatsapp",
                status="sent",
                scheduled_for=at,
                sent_at=at,
            )
        )

    def verified(d, at: datetime) -> None:
        session.add(
            AuditLog(actor="bot", action="identity_verified", target_type="debtor", target_id=str(d.id), created_at=at)
        )

    t = datetime(2026, 11, 5, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("MX-1", "MX", "MXN", "+525500000001", "whatsapp", t)
    sent(d, inv, "A", t)
    msg(c, d, "bot", "Recordatorio", t)
    msg(c, d, "debtor", "Hola, ¿cuánto debo?", t + timedelta(minutes=5), "check_balance", confidence=0.91)
    msg(
        c,
        d,
        "debtor",
        "me quedé sin trabajo, mi tarjeta es 4111-1111-1111-1234",
        t + timedelta(minutes=7),
        "report_nonpayment_reason",
        confidence=0.42,
        entities=[{"entity": "reason", "value": "job_loss"}],
    )
    msg(c, d, "bot", "Lo siento. ¿Cuándo podría pagar?", t + timedelta(minutes=8))
    msg(c, d, "debtor", "el viernes", t + timedelta(minutes=9), "promise_to_pay", confidence=0.88)
    verified(d, t + timedelta(minutes=6))
    session.add(
        NonpaymentReason(
            debtor_id=d.id,
            invoice_id=inv.id,
            reason="job_loss",
            text="me quedé sin trabajo",
            created_at=t + timedelta(minutes=7),
        )
    )
    session.add(
        Promise(
            debtor_id=d.id,
            invoice_id=inv.id,
            promised_date=date(2026, 11, 7),
            amount=Decimal("1000"),
            currency="MXN",
            status="broken",
            created_at=t + timedelta(minutes=9),
        )
    )

    t = datetime(2026, 11, 10, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("MX-2", "MX", "MXN", "+525500000002", "sms", t)
    sent(d, inv, "B", t)
    msg(c, d, "bot", "Recordatorio", t)
    msg(c, d, "debtor", "me despidieron", t + timedelta(minutes=3), "report_nonpayment_reason", confidence=0.8)
    msg(c, d, "debtor", "pago el 12", t + timedelta(minutes=4), "promise_to_pay", confidence=0.95)
    verified(d, t + timedelta(minutes=2))
    session.add(
        NonpaymentReason(
            debtor_id=d.id,
            invoice_id=inv.id,
            reason="job_loss",
            text="me despidieron",
            created_at=t + timedelta(minutes=3),
        )
    )
    session.add(
        Promise(
            debtor_id=d.id,
            invoice_id=inv.id,
            promised_date=date(2026, 11, 12),
            amount=Decimal("1500"),
            currency="MXN",
            status="kept",
            created_at=t + timedelta(minutes=4),
        )
    )
    session.add(
        Payment(
            debtor_id=d.id,
            invoice_id=inv.id,
            provider="sandbox",
            provider_id="p-mx2",
            amount=Decimal("1500.00"),
            currency="MXN",
            status="approved",
            paid_at=t + timedelta(days=2),
        )
    )

    t = datetime(2026, 11, 12, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("CO-1", "CO", "COP", "+573000000001", "whatsapp", t)
    sent(d, inv, "B", t)
    msg(c, d, "bot", "Recordatorio", t)
    msg(c, d, "debtor", "mándame el link", t + timedelta(minutes=2), "request_payment_link", confidence=0.97)
    msg(c, d, "bot", "Aquí tiene su enlace", t + timedelta(minutes=3))
    verified(d, t + timedelta(minutes=1))
    link = PaymentLink(
        debtor_id=d.id,
        invoice_id=inv.id,
        reference="ref-co1",
        short_code="sc-co1",
        provider="sandbox",
        url="https://x",
        amount=Decimal("200000"),
        currency="COP",
        status="paid",
        expires_at=t + timedelta(days=3),
        created_at=t + timedelta(minutes=3),
    )
    session.add(link)
    session.flush()
    session.add(
        Payment(
            debtor_id=d.id,
            invoice_id=inv.id,
            payment_link_id=link.id,
            provider="sandbox",
            provider_id="p-co1",
            amount=Decimal("200000.00"),
            currency="COP",
            status="approved",
            paid_at=t + timedelta(hours=1),
        )
    )
    # A refunded payment is not money recovered.
    session.add(
        Payment(
            debtor_id=d.id,
            invoice_id=inv.id,
            provider="sandbox",
            provider_id="p-co1-r",
            amount=Decimal("5000.00"),
            currency="COP",
            status="refunded",
            paid_at=t + timedelta(hours=2),
        )
    )

    t = datetime(2026, 11, 15, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("CO-2", "CO", "COP", "+573000000002", "whatsapp", t)
    sent(d, inv, "A", t)
    msg(c, d, "bot", "Recordatorio", t, status="failed", error="30003")

    t = datetime(2026, 11, 18, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("PE-1", "PE", "PEN", "+51900000001", "whatsapp", t)
    msg(c, d, "bot", "Recordatorio", t)
    msg(
        c,
        d,
        "debtor",
        "yo no debo eso, se me olvidó avisar que ya pagué",
        t + timedelta(minutes=1),
        "dispute_debt",
        confidence=0.7,
    )
    msg(c, d, "agent", "Reviso su caso", t + timedelta(minutes=20))
    msg(c, d, "debtor", "BAJA", t + timedelta(minutes=30), "opt_out", confidence=0.99)
    session.add(
        NonpaymentReason(
            debtor_id=d.id, invoice_id=inv.id, reason="forgot", text="se me olvidó", created_at=t + timedelta(minutes=1)
        )
    )
    session.add(
        Handoff(
            debtor_id=d.id,
            conversation_id=c.id,
            status="closed",
            reason="dispute",
            claimed_by=agent_user.id,
            created_at=t + timedelta(minutes=2),
        )
    )
    d.opted_out, d.opted_out_at = True, t + timedelta(minutes=30)

    t = datetime(2026, 9, 10, 15, 0, tzinfo=timezone.utc)
    d, inv, c = debtor("OLD", "CO", "COP", "+573000000009", "whatsapp", t)
    msg(c, d, "debtor", "cuánto debo", t, "check_balance", confidence=0.9)
    session.add(
        Promise(
            debtor_id=d.id,
            invoice_id=inv.id,
            promised_date=date(2026, 9, 12),
            amount=Decimal("1000"),
            currency="COP",
            status="broken",
            created_at=t,
        )
    )
    session.commit()
    return {"convs": made, "agent": agent_user}


@pytest.fixture()
def november():
    from bot.review.filters import Filters

    def make(**args: str) -> Filters:
        return Filters.from_args({"from": "2026-11-01", "to": "2026-11-30", **args}, tz="America/Bogota")

    return make
