"""Settlement offers within a manager's limits (``config/settlement_offers.yml``).

An offer fits a debtor by country, days overdue, balance and the reason they gave for not paying; the first that
fits is made. A discount is a payment link for the discounted total (when it is paid, the discount is written off
and the invoice is paid); a larger first instalment is a payment plan whose first instalment is the offered share,
with a link for it. Every offer is stored, so the manager sees each one made, accepted, declined and paid. The
chat proposes one offer per invoice (``to_propose``); a refund of what a discount's link paid writes the discount
back onto the invoice (``after_refund``): its condition, the discounted total paid, no longer holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing import accounts, payment_links, payment_plans
from bot.platform.config import ROOT
from bot.store import audit
from bot.store.models import AuditLog, Debtor, Invoice, PaymentLink, SettlementOffer

OFFERS_FILE = ROOT / "config" / "settlement_offers.yml"
KINDS = ("discount", "first_instalment")
CENT = Decimal("0.01")


class OfferConfigError(ValueError):
    pass


class OfferError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Offer:
    name: str
    kind: str
    pct: Decimal  # the discount, or the first instalment's share of the balance
    pay_within_days: int
    instalments: int = 0
    countries: tuple[str, ...] = ()
    min_days_past_due: int | None = None
    max_days_past_due: int | None = None
    min_balance: Decimal | None = None
    max_balance: Decimal | None = None
    reasons: tuple[str, ...] = ()

    def fits(self, country: str, days_past_due: int, balance: Decimal, reason: str | None) -> bool:
        if self.countries and country.upper() not in self.countries:
            return False
        if self.min_days_past_due is not None and days_past_due < self.min_days_past_due:
            return False
        if self.max_days_past_due is not None and days_past_due > self.max_days_past_due:
            return False
        if self.min_balance is not None and balance < self.min_balance:
            return False
        if self.max_balance is not None and balance > self.max_balance:
            return False
        return not self.reasons or reason in self.reasons


@dataclass(frozen=True)
class Config:
    offers: tuple[Offer, ...]
    max_discount_pct: dict[str, Decimal]
    max_first_instalment_pct: Decimal

    def discount_cap(self, country: str) -> Decimal:
        return self.max_discount_pct.get(country.upper(), self.max_discount_pct.get("DEFAULT", Decimal(0)))


def _dec(value) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def parse(data: dict) -> Config:
    """The offers and the manager's limits; an offer beyond the limits is refused (OfferConfigError)."""
    limits = data.get("limits") or {}
    caps = {str(k).upper(): Decimal(str(v)) for k, v in (limits.get("max_discount_pct") or {"default": 0}).items()}
    first_cap = Decimal(str(limits.get("max_first_instalment_pct", 100)))
    config = Config((), caps, first_cap)
    offers = []
    for raw in data.get("offers") or []:
        kind = raw.get("kind")
        if kind not in KINDS:
            raise OfferConfigError(f"offer {raw.get('name')!r}: kind must be one of {', '.join(KINDS)}")
        seg = raw.get("segment") or {}
        pct = Decimal(str(raw["discount_pct"] if kind == "discount" else raw["first_instalment_pct"]))
        offer = Offer(
            name=str(raw["name"]),
            kind=kind,
            pct=pct,
            pay_within_days=int(raw.get("pay_within_days", 5)),
            instalments=int(raw.get("instalments", 0)),
            countries=tuple(c.upper() for c in seg.get("countries", [])),
            min_days_past_due=seg.get("min_days_past_due"),
            max_days_past_due=seg.get("max_days_past_due"),
            min_balance=_dec(seg.get("min_balance")),
            max_balance=_dec(seg.get("max_balance")),
            reasons=tuple(seg.get("reasons", [])),
        )
        if not Decimal(0) < pct < Decimal(100):
            raise OfferConfigError(f"offer {offer.name!r}: the percentage must be between 0 and 100")
        if kind == "discount":
            over = [c for c in offer.countries or ("DEFAULT",) if pct > config.discount_cap(c)]
            if over:
                raise OfferConfigError(
                    f"offer {offer.name!r}: {pct}% is above the manager's maximum discount for {', '.join(over)}"
                )
        elif pct > first_cap or offer.instalments < 2:
            raise OfferConfigError(
                f"offer {offer.name!r}: the first instalment may be at most {first_cap}% of at least 2 instalments"
            )
        offers.append(offer)
    return Config(tuple(offers), caps, first_cap)


@lru_cache(maxsize=4)
def load(path: Path = OFFERS_FILE) -> Config:
    return parse(yaml.safe_load(path.read_text()) or {})


def choose(
    config: Config,
    country: str,
    days_past_due: int,
    balance: Decimal,
    reason: str | None,
    kinds: tuple[str, ...] = KINDS,
) -> Offer | None:
    """The first configured offer of one of ``kinds`` that fits the debtor (None: nothing to offer)."""
    return next((o for o in config.offers if o.kind in kinds and o.fits(country, days_past_due, balance, reason)), None)


def _amount(offer: Offer, balance: Decimal, currency: str, country: str, config: Config) -> Decimal:
    """What the debtor pays now: never more than the manager's cap off the balance, in the currency's unit."""
    unit = payment_plans.unit(currency)
    if offer.kind == "discount":
        pct = min(offer.pct, config.discount_cap(country))
        return (balance * (100 - pct) / 100).quantize(unit, rounding=ROUND_CEILING).quantize(CENT)
    return (balance * offer.pct / 100).quantize(unit, rounding=ROUND_CEILING).quantize(CENT)


def open_offer(session: Session, invoice_id: int, today: date) -> SettlementOffer | None:
    return session.execute(
        select(SettlementOffer)
        .where(
            SettlementOffer.invoice_id == invoice_id,
            SettlementOffer.status.in_(("offered", "accepted")),
            SettlementOffer.valid_until >= today,
        )
        .order_by(SettlementOffer.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def make(
    session: Session,
    debtor: Debtor,
    invoice: Invoice,
    reason: str | None,
    today: date,
    config: Config | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> SettlementOffer | None:
    """The offer for this invoice now (the one still open, else a new one of ``kinds``), or None when none fits."""
    if invoice.status != "open" or invoice.balance <= 0:
        return None
    existing = open_offer(session, invoice.id, today)
    if existing is not None:
        return existing
    config = config or load()
    dpd = (today - invoice.due_date).days
    chosen = choose(config, debtor.country, dpd, invoice.balance, reason, kinds)
    if chosen is None:
        return None
    offer = SettlementOffer(
        debtor_id=debtor.id,
        invoice_id=invoice.id,
        name=chosen.name,
        kind=chosen.kind,
        balance=invoice.balance,
        amount=_amount(chosen, invoice.balance, invoice.currency, debtor.country, config),
        currency=invoice.currency,
        discount_pct=min(chosen.pct, config.discount_cap(debtor.country)) if chosen.kind == "discount" else 0,
        instalments=chosen.instalments or None,
        valid_until=today + timedelta(days=chosen.pay_within_days),
        status="offered",
    )
    session.add(offer)
    session.flush()
    audit.record(
        session,
        actor="bot",
        action="offer_made",
        target_type="settlement_offer",
        target_id=offer.id,
        details={"name": offer.name, "kind": offer.kind, "amount": str(offer.amount), "reason": reason},
    )
    return offer


def accept(session: Session, offer: SettlementOffer, today: date, now: datetime | None = None) -> PaymentLink:
    """The debtor took the offer: a link for the offered amount (a discount), or the plan with the larger first
    instalment and a link for that instalment. Accepting again returns the same link while it is active."""
    now = now or datetime.now(timezone.utc)
    if offer.status not in ("offered", "accepted") or offer.valid_until < today:
        raise OfferError("offer_closed")
    invoice = session.get(Invoice, offer.invoice_id)
    debtor = session.get(Debtor, offer.debtor_id)
    if invoice is None or debtor is None or invoice.status != "open" or invoice.balance != offer.balance:
        raise OfferError("balance_changed")  # a payment since: the offer's figures are no longer true
    if offer.status == "accepted" and offer.link_id is not None:
        link = session.get(PaymentLink, offer.link_id)
        if link is not None and link.status == "active":
            return link
    if offer.kind == "discount":
        link, _ = payment_links.create_link(session, debtor, invoice, offer.amount, now=now)
    else:
        plan = _plan_with_first(session, debtor, invoice, offer, today)
        first = plan.instalments[0]
        link, _ = payment_links.create_link(session, debtor, invoice, first.amount, instalment=first, now=now)
        offer.plan_id = plan.id
    if offer.status == "offered":
        offer.accepted_at = now
        audit.record(session, actor="bot", action="offer_accepted", target_type="settlement_offer", target_id=offer.id)
    offer.status, offer.link_id = "accepted", link.id
    session.flush()
    return link


def _plan_policy(offer: SettlementOffer) -> dict:
    """The plan policy with the offer's first instalment (its share of the balance) and count."""
    pol = dict(payment_plans.policy())
    pol["min_first_payment_pct"] = (offer.amount / offer.balance * 100).quantize(CENT)
    pol["min_instalments"] = min(int(pol.get("min_instalments", 2)), offer.instalments or 2)
    pol["max_instalments"] = max(int(pol.get("max_instalments", 6)), offer.instalments or 2)
    return pol


def plan_preview(offer: SettlementOffer, today: date) -> payment_plans.PlanOption | None:
    """The plan a first-instalment offer leads to, as it would be stored if accepted today (the bot names its
    instalments before the debtor says «sí»)."""
    return payment_plans.option(offer.balance, offer.currency, offer.instalments or 2, today, _plan_policy(offer))


def _plan_with_first(session: Session, debtor: Debtor, invoice: Invoice, offer: SettlementOffer, today: date):
    try:
        return payment_plans.create(session, debtor, invoice, offer.instalments or 2, today, _plan_policy(offer))
    except payment_plans.PlanError as exc:
        raise OfferError(exc.code) from exc


def before_payment(session: Session, link: PaymentLink, amount: Decimal, now: datetime) -> SettlementOffer | None:
    """A payment on an offer's link is about to be applied: for a discount paid in full, the discount is written
    off first (so the payment pays the invoice); either way the offer is marked paid. None: not an offer's link."""
    offer = session.execute(select(SettlementOffer).where(SettlementOffer.link_id == link.id)).scalar_one_or_none()
    # an expired offer whose link the debtor pays all the same is honoured: the link was what we gave them
    if offer is None or offer.status not in ("accepted", "expired") or amount < link.amount:
        return None
    invoice = session.get(Invoice, offer.invoice_id)
    if offer.kind == "discount" and invoice is not None and invoice.balance > amount:
        forgiven = (invoice.balance - amount).quantize(CENT)
        invoice.balance = amount
        audit.record(
            session,
            actor="worker",
            action="offer_discount_applied",
            target_type="invoice",
            target_id=invoice.id,
            details={"offer_id": offer.id, "forgiven": str(forgiven)},
        )
    offer.status, offer.paid_at = "paid", now
    audit.record(session, actor="worker", action="offer_paid", target_type="settlement_offer", target_id=offer.id)
    return offer


def expire_offers(session: Session, now: datetime) -> int:
    """Offers past their last day in the debtor's zone, not paid: ``expired`` (the worker runs this)."""
    candidates = session.execute(
        select(SettlementOffer, Debtor)
        .join(Debtor, SettlementOffer.debtor_id == Debtor.id)
        .where(SettlementOffer.status.in_(("offered", "accepted")), SettlementOffer.valid_until < now.date())
    ).all()
    count = 0
    for offer, debtor in candidates:
        if offer.valid_until < accounts.local_today(debtor, now):
            offer.status = "expired"
            count += 1
    return count


# An offer the debtor already answered or let pass: the bot does not make that invoice another one (a second, different
# offer after a «no» or a lapsed date reads as haggling, and the first figures were the true ones).
ANSWERED = ("declined", "expired", "paid", "refunded")


def to_propose(
    session: Session,
    debtor: Debtor,
    invoice: Invoice,
    reason: str | None,
    today: date,
    kinds: tuple[str, ...] = KINDS,
    config: Config | None = None,
) -> SettlementOffer | None:
    """The offer the bot proposes in the chat for this invoice now, or None: one not accepted yet (the one still
    open, else a new one that fits), and never after the debtor declined one for it, let one lapse or used one."""
    answered = session.execute(
        select(SettlementOffer.id)
        .where(SettlementOffer.invoice_id == invoice.id, SettlementOffer.status.in_(ANSWERED))
        .limit(1)
    ).first()
    if answered is not None:
        return None
    offer = make(session, debtor, invoice, reason, today, config, kinds)
    if offer is not None and offer.status == "offered" and offer.balance != invoice.balance:
        # paid in part since: its figures are no longer true, and the debtor is paying; closed, not remade
        offer.status = "expired"
        audit.record(session, actor="bot", action="offer_outdated", target_type="settlement_offer", target_id=offer.id)
        return None
    if offer is None or offer.status != "offered" or offer.kind not in kinds:
        return None  # accepted already: the debtor has its link
    return offer


def proposed(session: Session, debtor: Debtor, today: date) -> SettlementOffer | None:
    """The debtor's offer waiting for a «sí» or «no» (the newest still open and not accepted)."""
    return session.execute(
        select(SettlementOffer)
        .where(
            SettlementOffer.debtor_id == debtor.id,
            SettlementOffer.status == "offered",
            SettlementOffer.valid_until >= today,
        )
        .order_by(SettlementOffer.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def decline(session: Session, offer: SettlementOffer) -> None:
    """The debtor said no: the offer is closed (the manager sees it declined) and not proposed again."""
    if offer.status != "offered":
        return
    offer.status = "declined"
    audit.record(session, actor="bot", action="offer_declined", target_type="settlement_offer", target_id=offer.id)


def discount_reverted(session: Session, link_id: int | None) -> tuple[SettlementOffer, Decimal] | None:
    """The refunded discount offer paid through this link, and the discount that came back onto the invoice (for
    the agent's hand-off note); None when the link's payment was no such offer's."""
    if link_id is None:
        return None
    offer = session.execute(
        select(SettlementOffer).where(SettlementOffer.link_id == link_id, SettlementOffer.status == "refunded")
    ).scalar_one_or_none()
    if offer is None or offer.kind != "discount":
        return None
    return offer, (offer.balance - offer.amount).quantize(CENT)


def after_refund(session: Session, link_id: int | None, now: datetime) -> SettlementOffer | None:
    """Money paid through a discount offer's link was given back (all or part of it): the offer's condition, the
    discounted total paid, no longer holds, so the discount written off comes back onto the invoice (reopened)
    and the offer is ``refunded``. Once per offer. None: the link was no paid discount offer's."""
    if link_id is None:
        return None
    offer = session.execute(select(SettlementOffer).where(SettlementOffer.link_id == link_id)).scalar_one_or_none()
    if offer is None or offer.status != "paid":
        return None
    offer.status = "refunded"
    forgiven = Decimal(0)
    if offer.kind == "discount":
        applied = session.execute(
            select(AuditLog).where(
                AuditLog.action == "offer_discount_applied",
                AuditLog.target_type == "invoice",
                AuditLog.target_id == str(offer.invoice_id),
            )
        ).scalars()
        forgiven = sum(
            (Decimal(row.details["forgiven"]) for row in applied if (row.details or {}).get("offer_id") == offer.id),
            Decimal(0),
        )
    invoice = session.get(Invoice, offer.invoice_id)
    if invoice is not None and forgiven > 0:
        invoice.balance = (invoice.balance + forgiven).quantize(CENT)
        if invoice.status == "paid":
            invoice.status = "open"
            invoice.reminders_paused = False
    audit.record(
        session,
        actor="worker",
        action="offer_refunded",
        target_type="settlement_offer",
        target_id=offer.id,
        details={"discount_reverted": str(forgiven), "invoice_id": offer.invoice_id, "at": now.isoformat()},
    )
    return offer
