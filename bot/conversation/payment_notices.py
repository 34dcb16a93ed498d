"""What the debtor (and the agents) hear about a payment that ``bot.billing.payment_events`` applied.

Billing moves the money and says when something is to be told (``payment_events.Notices``); this module
says what, because that needs the conversation: the wording depends on whether the person on the phone
proved who they are, messages go through the outbox, and some results open a hand-off for a person.
The worker passes this module to ``payment_events.apply`` as its ``notices``.

Each message says what happened in detail only to a debtor verified in the conversation still open on their
phone (``conversation.disclosure``); anyone else is told that a payment was received, rejected or is waiting,
and how to see the details (answer the identity question). The certificate's link goes to a verified debtor
only. Messages are prepared in the caller's transaction (``bot.messaging.outbox``); the conversations they
went to are added to ``Outcome.conversations``, whose sending the caller queues after committing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot.billing import money, offers, settlements, statements
from bot.billing.accounts import local_today
from bot.billing.payment_events import Outcome
from bot.billing.payment_links import link_url
from bot.conversation import disclosure, handoffs
from bot.messaging import outbox
from bot.platform import policies
from bot.platform.config import get_settings
from bot.store.models import Debtor, Invoice, Payment, PaymentLink, Settlement

log = logging.getLogger(__name__)


def texts() -> dict[str, Any]:
    return policies.load("payment_methods")


def message(key: str, **values: object) -> str:
    template = (texts().get("messages") or {}).get(key) or ""
    return template.format(**values).strip()


def rejection_reason(status_detail: str | None) -> str:
    reasons = texts().get("rejection_reasons") or {}
    return reasons.get(status_detail or "", reasons.get("default", "el pago no fue aprobado"))


def cash_place(payment_method_id: str | None) -> str | None:
    return (texts().get("cash_methods") or {}).get(payment_method_id or "")


def first_name(debtor: Debtor) -> str:
    return (debtor.name or "").split()[0] if (debtor.name or "").split() else ""


# --- approved ----------------------------------------------------------------------------------------------
def kept_as_credit(session: Session, debtor: Debtor, payment: Payment) -> None:
    """No invoice in the payment's currency: billing kept it all as credit, a person looks."""
    handoffs.open(
        session,
        debtor.phone,
        debtor,
        "payment_review",
        summary=f"Pago {payment.provider_id} en {payment.currency} sin factura en esa moneda.",
    )


def approved(
    session: Session,
    debtor: Debtor,
    payment: Payment,
    invoice: Invoice,
    *,
    paid: bool,
    credit: Decimal,
    now: datetime,
    out: Outcome,
) -> None:
    """The payment reduced the invoice (to zero when ``paid``); ``credit`` is what was left over."""
    confirm(session, debtor, payment, [invoice], credit=credit, now=now, out=out)


def recorded(
    session: Session,
    debtor: Debtor,
    payment: Payment,
    invoices: list[Invoice],
    *,
    credit: Decimal,
    now: datetime,
    out: Outcome,
) -> None:
    """A payment made elsewhere (reported by the billing system, or a proof an agent confirmed): the same
    confirmation as a Mercado Pago payment's."""
    confirm(session, debtor, payment, invoices, credit=credit, now=now, out=out)


def confirm(
    session: Session,
    debtor: Debtor,
    payment: Payment,
    invoices: list[Invoice],
    *,
    credit: Decimal,
    now: datetime,
    out: Outcome,
    agent_id: int | None = None,
) -> bool:
    """The one place a payment's confirmation is built and prepared, whoever collected it: what it says
    (``confirmation_text``) and where it goes (``notify``; as ``agent_id``'s message when an agent confirmed a
    proof of payment). A debtor verified in the open conversation gets the receipt PDF with it (attached on
    WhatsApp, a link on SMS: ``bot.billing.statements``); anyone else only hears that a payment arrived."""
    body = confirmation_text(session, debtor, payment, invoices, credit=credit, now=now)
    receipt = None
    if disclosure.verified_conversation(session, debtor, now):
        session.flush()  # the payment's id names the receipt
        receipt = statements.receipt_url(payment, now)
        body += " " + message("receipt", url=receipt)
    return notify(session, debtor, body, out, agent_id=agent_id, media_url=receipt)


def confirmation_text(
    session: Session, debtor: Debtor, payment: Payment, invoices: list[Invoice], *, credit: Decimal, now: datetime
) -> str:
    """Amount, invoices and what is left only to a debtor verified in the open conversation; anyone else is told
    that a payment arrived and how to see the details."""
    if not disclosure.verified_conversation(session, debtor, now):
        return message("unverified_approved", business=_business())
    values = {"name": first_name(debtor), "amount": _fmt(payment.amount, payment.currency, debtor)}
    if len(invoices) == 1:
        [invoice] = invoices
        values.update(invoice=invoice.external_id, balance=_fmt(invoice.balance, invoice.currency, debtor))
        body = message("approved_paid" if invoice.balance == 0 else "approved_partial", **values)
    else:
        left = sum((inv.balance for inv in invoices), Decimal("0.00"))
        body = message(
            "approved_many_paid" if left == 0 else "approved_many_partial",
            invoices=", ".join(inv.external_id for inv in invoices),
            balance=_fmt(left, payment.currency, debtor),
            **values,
        )
    if credit > 0:
        body += " " + message("credit", credit=_fmt(credit, payment.currency, debtor))
    return body


def settled(
    session: Session, debtor: Debtor, cert: Settlement, now: datetime, out: Outcome, agent_id: int | None = None
) -> None:
    """A settlement certificate was just issued, right after ``approved`` told the debtor of the payment.

    The certificate names the debtor and the invoices: only to whoever proved who they are. Asked again
    rather than remembered from ``approved``: nothing in between (an outgoing message, the certificate)
    changes the answer, which rests on the debtor's identity check and their incoming messages."""
    if disclosure.verified_conversation(session, debtor, now):
        notify(
            session,
            debtor,
            message(
                "settlement",
                name=first_name(debtor),
                business=_business(),
                url=settlements.certificate_url(cert.code),
            ),
            out,
            agent_id=agent_id,
        )


# --- reversed ----------------------------------------------------------------------------------------------
def payment_reversed(session: Session, debtor: Debtor, payment: Payment) -> None:
    """Refunded or charged back after it was applied: the balance is back, an agent is alerted."""
    kind = "contracargo" if payment.status == "charged_back" else "reembolso"
    handoffs.open(
        session,
        debtor.phone,
        debtor,
        "payment_reversed",
        summary=f"El pago {payment.provider_id} de {money.to_str(payment.amount)} {payment.currency} "
        f"tuvo un {kind} ({payment.status}); el saldo se restableció." + _discount_note(session, payment),
    )


def partly_refunded(session: Session, debtor: Debtor, payment: Payment, delta: Decimal, back: Decimal) -> None:
    """``delta`` more was given back, ``back`` of it went onto the invoice again: an agent is alerted."""
    handoffs.open(
        session,
        debtor.phone,
        debtor,
        "payment_reversed",
        summary=f"El pago {payment.provider_id} de {money.to_str(payment.amount)} {payment.currency} tuvo "
        f"un reembolso parcial de {money.to_str(delta)}; {money.to_str(back)} volvieron al saldo "
        "de la factura. Revise si había cuotas o promesas cubiertas por ese pago." + _discount_note(session, payment),
    )


def _discount_note(session: Session, payment: Payment) -> str:
    """The agent reads that the settlement offer's discount is owed again too (its condition, the discounted total
    paid in full, no longer holds)."""
    reverted = offers.discount_reverted(session, payment.payment_link_id)
    if reverted is None:
        return ""
    offer, discount = reverted
    return f" Era el pago de la oferta {offer.name}: el descuento de {money.to_str(discount)} volvió al saldo."


# --- rejected, waiting -------------------------------------------------------------------------------------
def rejected(
    session: Session, debtor: Debtor, payment: Payment, new_link: PaymentLink | None, now: datetime, out: Outcome
) -> None:
    """The reason in plain words, and the fresh link billing created (if the invoice is still owed)."""
    values = {
        "name": first_name(debtor),
        "amount": _fmt(payment.amount, payment.currency, debtor),
        "reason": rejection_reason(payment.status_detail),
    }
    if not disclosure.verified_conversation(session, debtor, now):
        body = message("unverified_rejected", business=_business())  # the fresh link waits for the check
    elif new_link is not None:
        body = message("rejected", url=link_url(new_link), **values)
    else:
        body = message("rejected_no_link", **values)
    notify(session, debtor, body, out)


def waiting(
    session: Session, debtor: Debtor, payment: Payment, info: dict[str, Any], now: datetime, out: Outcome
) -> None:
    """Acknowledged, with where and until when to pay a cash ticket."""
    values: dict[str, object] = {"name": first_name(debtor), "amount": _fmt(payment.amount, payment.currency, debtor)}
    place = cash_place(info.get("payment_method_id"))
    if not disclosure.verified_conversation(session, debtor, now):
        body = message("unverified_pending", business=_business())
    elif place or info.get("payment_type_id") in ("ticket", "atm"):
        deadline = ""
        expires = info.get("date_of_expiration")
        if expires:
            deadline = message("pending_cash_deadline", date=local_today(debtor, expires).strftime("%d/%m/%Y"))
        ticket = message("pending_cash_ticket", url=info["ticket_url"]) if info.get("ticket_url") else ""
        body = message(
            "pending_cash",
            place=place or "el punto de pago elegido",
            deadline=deadline,
            ticket=(" " + ticket) if ticket else "",
            **values,
        )
    else:
        body = message("pending", **values)
    notify(session, debtor, " ".join(body.split()), out)


# --- proofs of payment -------------------------------------------------------------------------------------
def proof_rejected(session: Session, debtor: Debtor, reason: str, agent_id: int, out: Outcome) -> bool:
    """The agent could not confirm the debtor's proof of payment: why, in the agent's words, and what to do."""
    body = message("proof_rejected", reason=reason.strip().rstrip("."))
    return notify(session, debtor, body, out, agent_id=agent_id)


# --- helpers -----------------------------------------------------------------------------------------------
def _business() -> str:
    return get_settings().business_name


def _fmt(amount: Decimal, currency: str, debtor: Debtor) -> str:
    return money.format_money(amount, currency, debtor.country)


def notify(
    session: Session,
    debtor: Debtor,
    body: str,
    out: Outcome,
    agent_id: int | None = None,
    media_url: str | None = None,
) -> bool:
    """Prepare a bot message to the debtor on their last channel (sent after the caller commits), with the
    document ``media_url`` attached (WhatsApp) or linked (SMS).

    Not while an agent holds the conversation (the agent sees the payment in the account), nor to a
    debtor who opted out or whose number is not theirs. With ``agent_id`` the message is that agent's answer in the
    conversation they hold (they confirmed the debtor's proof of payment)."""
    conversation = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
    session.flush()
    if conversation.mode == "human" and agent_id is None:
        log.info("payment message to debtor %s not sent: an agent holds the conversation", debtor.id)
        return False
    try:
        if agent_id is not None:
            rows = outbox.prepare_text(
                session, conversation, body, author="agent", agent_id=agent_id, reply=True, media_url=media_url
            )
        else:
            rows = outbox.prepare_text(session, conversation, body, author="bot", media_url=media_url)
    except outbox.NotSendable as exc:
        log.info("payment message to debtor %s not sent: %s", debtor.id, exc)
        return False
    if rows and (conversation.id, conversation.phone) not in out.conversations:
        out.conversations.append((conversation.id, conversation.phone))
    return bool(rows)
