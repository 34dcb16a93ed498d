"""A debtor as integrators read it back (``GET /api/v1/debtors/{external_id}``, docs/api.md) and the console shows it.

The view spans billing (invoices, promises, links, payments, settlements, credit) and the conversation
(hand-offs, reasons for not paying, the identity lock), so it is built here, above both, next to the schema
that documents it (``bot.web.openapi``), rather than in ``bot.billing.debtors``, which must not look up.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import accounts, money, payment_plans, settlements
from bot.billing.allocations import credit_balance
from bot.billing.payment_links import items_of, link_url
from bot.conversation import identity
from bot.store.models import (
    Debtor,
    DueDateChange,
    Handoff,
    Invoice,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
    SettlementOffer,
)


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def serialize(session: Session, debtor: Debtor, now: datetime | None = None) -> dict[str, Any]:
    """The debtor as ``GET /api/v1/debtors/{external_id}`` returns it (docs/api.md); ``now`` (tests) is the
    moment a plan's status is read at (late or not is the debtor's own day)."""
    invoices = list(
        session.execute(
            select(Invoice).where(Invoice.debtor_id == debtor.id).order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )
    by_id = {inv.id: inv for inv in invoices}

    def ext(invoice_id: int | None) -> str | None:
        inv = by_id.get(invoice_id) if invoice_id else None
        return inv.external_id if inv else None

    def rows(model, order):
        return list(session.execute(select(model).where(model.debtor_id == debtor.id).order_by(order)).scalars())

    return {
        "external_id": debtor.external_id,
        "name": debtor.name,
        "phone": debtor.phone,
        "whatsapp": debtor.whatsapp,
        "country": debtor.country,
        "timezone": debtor.timezone,
        "language": debtor.language,
        "document_last4": debtor.document_last4,
        "contact_status": debtor.contact_status,
        "created_at": _iso(debtor.created_at),
        "updated_at": _iso(debtor.updated_at),
        "invoices": [
            {
                "external_id": inv.external_id,
                "amount": money.to_str(inv.amount),
                "balance": money.to_str(inv.balance),
                "currency": inv.currency,
                "description": inv.description,
                "original_due_date": _day(inv.original_due_date),
                "due_date": _day(inv.due_date),
                "status": inv.status,
            }
            for inv in invoices
        ],
        "promises": [
            {
                "invoice_external_id": ext(p.invoice_id),
                "promised_date": _day(p.promised_date),
                "amount": money.to_str(p.amount),
                "currency": p.currency,
                "status": p.status,
                "source": p.source,
                "created_at": _iso(p.created_at),
            }
            for p in rows(Promise, Promise.id)
        ],
        "payment_plans": _plans(session, debtor, ext, by_id, now),
        "settlement_offers": offers_of(session, debtor, ext),
        "nonpayment_reasons": [
            {
                "reason": r.reason,
                "text": r.text,
                "invoice_external_id": ext(r.invoice_id),
                "created_at": _iso(r.created_at),
            }
            for r in rows(NonpaymentReason, NonpaymentReason.id)
        ],
        "due_date_changes": [
            {
                "invoice_external_id": ext(c.invoice_id),
                "old_date": _day(c.old_date),
                "new_date": _day(c.new_date),
                "changed_by": c.changed_by,
                "created_at": _iso(c.created_at),
            }
            for c in rows(DueDateChange, DueDateChange.id)
        ],
        "payment_links": [
            {
                "url": link_url(link),
                "checkout_url": link.url,
                "invoice_external_id": ext(link.invoice_id),
                "invoices": [ext(item.invoice_id) for item in items_of(session, link)]
                or ([ext(link.invoice_id)] if link.invoice_id else []),
                "amount": money.to_str(link.amount),
                "currency": link.currency,
                "status": link.status,
                "expires_at": _iso(link.expires_at),
                "created_at": _iso(link.created_at),
            }
            for link in rows(PaymentLink, PaymentLink.id)
        ],
        "payments": [
            {
                "provider_id": p.provider_id,
                "provider": p.provider,
                "invoice_external_id": ext(p.invoice_id),
                "amount": money.to_str(p.amount),
                "currency": p.currency,
                "status": p.status,
                "status_detail": p.status_detail,
                "refunded_amount": money.to_str(p.refunded_amount or Decimal("0")),
                "paid_at": _iso(p.paid_at),
            }
            for p in rows(Payment, Payment.id)
        ],
        "handoffs": [
            {"status": h.status, "reason": h.reason, "created_at": _iso(h.created_at)}
            for h in rows(Handoff, Handoff.id)
        ],
        "opted_out": debtor.opted_out,
        # set while the debtor is locked out of the identity check (wrong document digits): why no
        # disclosure happens and until when
        "identity_locked_until": _iso(identity.locked_until(session, debtor)),
        "settlements": _settlements(session, debtor),
        "credit": _credit(session, debtor),
        "erased_at": _iso(debtor.erased_at),  # set once the debtor's personal data was erased on request
    }


def _plans(
    session: Session, debtor: Debtor, ext, by_id: dict[int, Invoice], now: datetime | None
) -> list[dict[str, Any]]:
    """Payment plans, oldest first, with their status on the debtor's own day (``active``, ``late``, ``broken``,
    ``completed``, ``cancelled``) and their instalments (due date, amount, paid)."""
    today = accounts.local_today(debtor, now)
    plans = session.execute(select(PaymentPlan).where(PaymentPlan.debtor_id == debtor.id).order_by(PaymentPlan.id))
    out = []
    for plan in plans.scalars():
        covered = payment_plans.plan_invoice_ids(plan)  # one invoice, or the several the debtor chose
        instalments = list(plan.instalments)
        status = payment_plans.plan_status(plan, [by_id[i] for i in covered if i in by_id], today)
        out.append(
            {
                # the plan's one invoice; null for a plan over several (``invoices`` names them all)
                "invoice_external_id": ext(plan.invoice_id) if plan.invoice_id is not None else None,
                "invoices": [ext(i) for i in covered],
                "total": money.to_str(plan.total),
                "currency": plan.currency,
                "status": status,
                "days_late": payment_plans.days_late(instalments, today) if status == "late" else 0,
                "created_at": _iso(plan.created_at),
                "instalments": [
                    {
                        "number": i.number,
                        "due_date": _day(i.due_date),
                        "amount": money.to_str(i.amount),
                        "paid": i.status == "paid",
                        "paid_at": _iso(i.paid_at),
                    }
                    for i in instalments
                ],
            }
        )
    return out


def _credit(session: Session, debtor: Debtor) -> list[dict[str, str]]:
    """Over-payments kept for the debtor (not reversed), per currency: ``[{"currency", "amount"}]``."""
    return [
        {"currency": currency, "amount": money.to_str(amount)}
        for currency, amount in sorted(credit_balance(session, debtor.id).items())
    ]


def _settlements(session: Session, debtor: Debtor) -> list[dict[str, Any]]:
    """Settlement certificates ("paz y salvo"): ``[{"code", "url", "issued_at", "status"}]``."""
    return settlements.serialize(session, debtor)


# what an offer's ``status`` may be (``bot.billing.offers``): made, taken (its link sent), declined in the chat,
# past its last day, paid, or paid and then refunded (the discount written back onto the invoice)
OFFER_STATUSES = ("offered", "accepted", "declined", "expired", "paid", "refunded")


def offers_of(session: Session, debtor: Debtor, ext=None, status: str | None = None) -> list[dict[str, Any]]:
    """The settlement offers made to the debtor, oldest first (``status``: only those in it)."""
    if ext is None:
        names = dict(
            session.execute(select(Invoice.id, Invoice.external_id).where(Invoice.debtor_id == debtor.id))
            .tuples()
            .all()
        )

        def ext(invoice_id):
            return names.get(invoice_id)

    query = select(SettlementOffer).where(SettlementOffer.debtor_id == debtor.id).order_by(SettlementOffer.id)
    if status is not None:
        query = query.where(SettlementOffer.status == status)
    out = []
    for offer in session.execute(query).scalars():
        link = session.get(PaymentLink, offer.link_id) if offer.link_id else None
        out.append(
            {
                "id": offer.id,
                "invoice_external_id": ext(offer.invoice_id),
                "name": offer.name,
                "kind": offer.kind,
                "balance": money.to_str(offer.balance),
                "amount": money.to_str(offer.amount),
                "currency": offer.currency,
                "discount_pct": money.to_str(offer.discount_pct),
                "instalments": offer.instalments,
                "valid_until": _day(offer.valid_until),
                "status": offer.status,
                "link_url": link_url(link) if link is not None else None,
                "created_at": _iso(offer.created_at),
                "accepted_at": _iso(offer.accepted_at),
                "paid_at": _iso(offer.paid_at),
            }
        )
    return out
