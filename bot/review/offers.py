"""Settlement offers as the manager reviews them (``/manager/offers``): every offer made in a period, whether it was
accepted and paid, and per offer what it cost (the discount given up) against what it brought in."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.review.filters import zone
from bot.store.models import Debtor, Invoice, SettlementOffer

ROW_LIMIT = 500


@dataclass(frozen=True)
class OfferRow:
    created_at: datetime
    debtor: str
    country: str
    invoice: str
    name: str
    kind: str
    balance: Decimal
    amount: Decimal
    currency: str
    discount_pct: Decimal
    status: str
    accepted_at: datetime | None
    paid_at: datetime | None


@dataclass
class Totals:
    """Per offer name: how many were made, accepted, paid, declined and refunded (a refund of a discount's payment
    takes the discount back), and (per currency) collected and given up."""

    made: int = 0
    accepted: int = 0
    paid: int = 0
    declined: int = 0
    refunded: int = 0
    collected: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    forgiven: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


@dataclass
class Report:
    rows: list[OfferRow]
    totals: dict[str, Totals]
    truncated: bool


def report(session: Session, date_from: date, date_to: date, tz: str) -> Report:
    """Offers made between the two days (inclusive, in the manager's zone), newest first."""
    start = datetime.combine(date_from, time(0), zone(tz))
    end = datetime.combine(date_to + timedelta(days=1), time(0), zone(tz))
    result = session.execute(
        select(SettlementOffer, Debtor.external_id, Debtor.country, Invoice.external_id)
        .join(Debtor, SettlementOffer.debtor_id == Debtor.id)
        .join(Invoice, SettlementOffer.invoice_id == Invoice.id)
        .where(SettlementOffer.created_at >= start, SettlementOffer.created_at < end)
        .order_by(SettlementOffer.created_at.desc(), SettlementOffer.id.desc())
    ).all()
    totals: dict[str, Totals] = defaultdict(Totals)
    rows: list[OfferRow] = []
    for offer, debtor, country, invoice in result:
        t = totals[offer.name]
        t.made += 1
        t.accepted += offer.status in ("accepted", "paid", "refunded")
        t.declined += offer.status == "declined"
        t.refunded += offer.status == "refunded"
        if offer.status == "paid":
            t.paid += 1
            t.collected[offer.currency] += offer.amount
            if offer.kind == "discount":
                t.forgiven[offer.currency] += offer.balance - offer.amount
        if len(rows) < ROW_LIMIT:
            rows.append(
                OfferRow(
                    created_at=offer.created_at,
                    debtor=debtor,
                    country=country,
                    invoice=invoice,
                    name=offer.name,
                    kind=offer.kind,
                    balance=offer.balance,
                    amount=offer.amount,
                    currency=offer.currency,
                    discount_pct=offer.discount_pct,
                    status=offer.status,
                    accepted_at=offer.accepted_at,
                    paid_at=offer.paid_at,
                )
            )
    return Report(rows=rows, totals=dict(sorted(totals.items())), truncated=len(result) > ROW_LIMIT)
