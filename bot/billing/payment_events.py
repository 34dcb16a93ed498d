"""Apply a provider's payment to the billing store, once.

The caller fetched the payment from the provider (a notification's body is never trusted) and owns
the transaction. ``apply`` first takes the debtor's row lock (an ``UPDATE`` on the debtor: a row lock
on PostgreSQL, the write lock on SQLite), so two notifications for the same payment at the same moment
run one after the other and the second finds the first's work done; the unique ``(provider,
provider_id)`` on ``payments`` and ``payment_id`` on ``payment_allocations`` back that up.

What a status does, the first time the payment reaches it:

- approved: the invoice's balance goes down (never below zero: the rest is the debtor's credit), the
  invoice is paid at zero and its reminders stop, the link is paid, the open promise is kept when what
  was paid covers it, instalments are paid in order (the plan completes when all are), the debtor gets
  a confirmation, and a settlement certificate is issued when everything the debtor owed is paid; a link for
  several invoices (``PaymentLinkItem``) does this to each item's invoice in turn, oldest due first, by the item's
  amount, the last one taking any over-payment (a short payment fills the oldest first);
- rejected / cancelled: the debtor gets the reason in plain words and a fresh link;
- pending / in_process: acknowledged, with where and until when to pay a cash ticket;
- refunded / charged_back (after it was applied): the balance comes back, the certificate is revoked,
  and an agent is alerted with a hand-off ``payment_reversed``;
- approved but partly refunded (``transaction_amount_refunded`` grew): the refunded part comes out of the
  debtor's credit first, the rest goes back onto the invoice (certificate revoked, hand-off as above).

This module does the money; what the debtor is told and the hand-offs belong to the conversation, which
billing must not import. So the caller passes ``notices`` (``bot.conversation.payment_notices``) and this
module calls it at the point where each effect happened before the split: the confirmation before the
certificate is issued, the certificate's link right after, the hand-off after the balance came back. Whatever
the notices prepare (messages in the same transaction) is sent by the caller after committing
(``Outcome.conversations``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.billing import offers, payment_links, payment_plans, promises, settlements
from bot.billing.allocations import paid_since
from bot.providers import factory
from bot.store import audit
from bot.store.models import (
    Debtor,
    Instalment,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentLink,
    PaymentLinkItem,
    PaymentPlan,
    PaymentPlanItem,
    Promise,
    Settlement,
)

log = logging.getLogger(__name__)

APPROVED = "approved"
REVERSED = frozenset({"refunded", "charged_back"})
FAILED = frozenset({"rejected", "cancelled"})
WAITING = frozenset({"pending", "in_process", "authorized"})
CENT = Decimal("0.01")


@dataclass
class Outcome:
    payment_id: str
    status: str
    action: str  # applied, reversed, rejected, pending, recorded, unchanged, ignored
    debtor_id: int | None = None
    # (conversation id, phone) the notices prepared messages in: the caller queues them after committing
    conversations: list[tuple[int, str]] = field(default_factory=list)
    settlement_code: str | None = None
    new_link_id: int | None = None


class Notices(Protocol):
    """What follows a payment outside the money, called by ``apply`` at fixed points (see the module's docstring).

    Implemented by ``bot.conversation.payment_notices`` (the module itself is passed): messages to the
    debtor go to ``out.conversations``; the hand-offs need no outcome."""

    def kept_as_credit(self, session: Session, debtor: Debtor, payment: Payment) -> None: ...

    def approved(
        self,
        session: Session,
        debtor: Debtor,
        payment: Payment,
        invoice: Invoice,
        *,
        paid: bool,
        credit: Decimal,
        now: datetime,
        out: Outcome,
    ) -> None: ...

    def recorded(
        self,
        session: Session,
        debtor: Debtor,
        payment: Payment,
        invoices: list[Invoice],
        *,
        credit: Decimal,
        now: datetime,
        out: Outcome,
    ) -> None:
        """A payment that reduced several ``invoices`` (made elsewhere: ``bot.billing.recorded_payments``; or through
        a link for several: ``payment_links.link_for_invoices``): one confirmation."""
        ...

    def settled(self, session: Session, debtor: Debtor, cert: Settlement, now: datetime, out: Outcome) -> None: ...

    def payment_reversed(self, session: Session, debtor: Debtor, payment: Payment) -> None: ...

    def partly_refunded(
        self, session: Session, debtor: Debtor, payment: Payment, delta: Decimal, back: Decimal
    ) -> None: ...

    def rejected(
        self,
        session: Session,
        debtor: Debtor,
        payment: Payment,
        new_link: PaymentLink | None,
        now: datetime,
        out: Outcome,
    ) -> None: ...

    def waiting(
        self, session: Session, debtor: Debtor, payment: Payment, info: dict[str, Any], now: datetime, out: Outcome
    ) -> None: ...


def lock_debtor(session: Session, debtor_id: int, now: datetime) -> None:
    """Serialise every payment change of one debtor (see the module's docstring)."""
    session.execute(
        update(Debtor).where(Debtor.id == debtor_id).values(updated_at=now).execution_options(synchronize_session=False)
    )
    session.expire_all()  # read everything again, now that nobody else can change it


def link_for_reference(session: Session, reference: str | None) -> PaymentLink | None:
    if not reference:
        return None
    return session.execute(select(PaymentLink).where(PaymentLink.reference == reference)).scalar_one_or_none()


def stored_payment(session: Session, provider: str, provider_id: str) -> Payment | None:
    return session.execute(
        select(Payment).where(Payment.provider == provider, Payment.provider_id == str(provider_id))
    ).scalar_one_or_none()


def apply(
    session: Session,
    provider: str,
    info: dict[str, Any],
    now: datetime | None = None,
    link_provider=None,
    *,
    notices: Notices,
) -> Outcome:
    """Apply the provider's view of one payment (``normalise_payment`` shape), telling ``notices`` what
    happened. Does not commit."""
    now = now or datetime.now(timezone.utc)
    payment_id = str(info.get("id") or "")
    status = str(info.get("status") or "")
    out = Outcome(payment_id=payment_id, status=status, action="ignored")
    if not payment_id or not status:
        return out
    link = link_for_reference(session, info.get("external_reference"))
    if link is None:
        log.warning(
            "payment %s (%s) has no link of ours (external_reference %r): ignored",
            payment_id,
            provider,
            info.get("external_reference"),
        )
        return out
    lock_debtor(session, link.debtor_id, now)
    link = session.get(PaymentLink, link.id)
    debtor = session.get(Debtor, link.debtor_id)
    invoice = session.get(Invoice, link.invoice_id) if link.invoice_id else None
    out.debtor_id = debtor.id

    payment = stored_payment(session, provider, payment_id)
    previous = payment.status if payment is not None else None
    if payment is None:
        payment = Payment(provider=provider, provider_id=payment_id, debtor_id=debtor.id, applied=False)
        session.add(payment)
    payment.invoice_id = link.invoice_id
    payment.payment_link_id = link.id
    payment.amount = Decimal(info.get("transaction_amount") or 0).quantize(CENT)
    payment.currency = (info.get("currency_id") or link.currency).upper()
    payment.status = status
    payment.status_detail = info.get("status_detail")
    payment.method = info.get("payment_method_id")
    if status == APPROVED:
        payment.paid_at = payment.paid_at or info.get("date_approved") or now
    session.flush()

    refunded = min(Decimal(info.get("transaction_amount_refunded") or 0).quantize(CENT), payment.amount)
    if status == APPROVED and not payment.applied:
        _apply_approved(session, payment, link, invoice, debtor, now, out, notices)
        if refunded > payment.refunded_amount:  # already partly refunded when we first saw it
            _partial_refund(session, payment, debtor, refunded, now, notices)
    elif status == APPROVED and payment.applied and refunded > payment.refunded_amount:
        _partial_refund(session, payment, debtor, refunded, now, notices)
        out.action = "partially_refunded"
    elif status in REVERSED and payment.applied:
        _reverse(session, payment, debtor, now, out, notices)
    elif status == previous:
        out.action = "unchanged"
    elif status in FAILED and not payment.applied:
        _rejected(session, payment, link, invoice, debtor, now, out, notices, link_provider)
    elif status in WAITING and previous is None:
        out.action = "pending"
        notices.waiting(session, debtor, payment, info, now, out)
    else:
        out.action = "recorded"
    if out.action in ("applied", "reversed", "partially_refunded", "rejected", "pending", "recorded"):
        audit.record(
            session,
            actor="worker",
            action=f"payment_{out.action}",
            target_type="payment",
            target_id=payment.id,
            details={
                "provider": provider,
                "provider_id": payment_id,
                "status": status,
                "previous": previous,
                "amount": str(payment.amount),
                "currency": payment.currency,
            },
        )
    session.flush()
    return out


# --- approved ----------------------------------------------------------------------------------------------
def _apply_approved(
    session: Session,
    payment: Payment,
    link: PaymentLink,
    invoice: Invoice | None,
    debtor: Debtor,
    now: datetime,
    out: Outcome,
    notices: Notices,
) -> None:
    out.action = "applied"
    amount = payment.amount
    items = payment_links.items_of(session, link)
    if items:  # a link for several invoices
        link.status = "paid"
        _apply_to_items(session, payment, link, items, debtor, now, out, notices)
        return
    if invoice is None or payment.currency != invoice.currency:
        # Nothing to reduce in that currency: keep it all as credit and let a person look.
        _allocation(session, payment, debtor, invoice, Decimal("0.00"), amount, now)
        payment.applied = True
        link.status = "paid"
        notices.kept_as_credit(session, debtor, payment)
        log.warning("payment %s kept as credit: no invoice in %s", payment.provider_id, payment.currency)
        return
    link.status = "paid"
    offers.before_payment(session, link, amount, now)  # a discount offer paid in full: the discount first
    paid, credit = settle_invoice(session, payment, debtor, invoice, amount, now, first_instalment=link.instalment_id)
    payment.applied = True
    notices.approved(session, debtor, payment, invoice, paid=paid, credit=credit, now=now, out=out)
    issue_certificate(session, debtor, now, out, notices)


def _apply_to_items(
    session: Session,
    payment: Payment,
    link: PaymentLink,
    items: list[PaymentLinkItem],
    debtor: Debtor,
    now: datetime,
    out: Outcome,
    notices: Notices,
) -> None:
    """A link for several invoices was paid: the allocation rule (``payment_links``' docstring). Each item's invoice
    gets the item's amount in the link's order (oldest due first), the last one whatever is left over (an
    over-payment is its credit); a short payment fills the oldest first. Each invoice then goes through
    ``settle_invoice`` (promise kept, instalments paid, reminders stopped), and one confirmation names them all."""
    invoices: list[Invoice] = []
    credit = Decimal("0.00")
    remaining = payment.amount
    for n, item in enumerate(items):
        invoice = session.get(Invoice, item.invoice_id)
        if invoice is None or invoice.currency != payment.currency:
            continue
        last = n == len(items) - 1
        share = remaining if last else min(remaining, item.amount)
        if share <= 0:
            break
        _paid, kept = settle_invoice(session, payment, debtor, invoice, share, now, first_instalment=item.instalment_id)
        credit += kept
        remaining -= share
        invoices.append(invoice)
    if remaining > 0:  # the items' invoices were gone: keep the rest as credit for a person to look at
        _allocation(session, payment, debtor, None, Decimal("0.00"), remaining, now)
        credit += remaining
    payment.applied = True
    session.flush()
    if invoices:
        notices.recorded(session, debtor, payment, invoices, credit=credit, now=now, out=out)
    else:
        notices.kept_as_credit(session, debtor, payment)
    issue_certificate(session, debtor, now, out, notices)


def settle_invoice(
    session: Session,
    payment: Payment,
    debtor: Debtor,
    invoice: Invoice,
    amount: Decimal,
    now: datetime,
    first_instalment: int | None = None,
) -> tuple[bool, Decimal]:
    """What ``amount`` of an approved payment does to one invoice in its currency, whoever collected it (Mercado
    Pago's link, or the billing system: ``bot.billing.recorded_payments``): the balance goes down (never below zero:
    the rest is the debtor's credit), the invoice is paid at zero and its reminders stop, the open promise is kept
    when covered, instalments are paid in order (``first_instalment`` first), and the allocation records it all so
    that a reversal can undo exactly that. Returns (the invoice is paid, the credit kept)."""
    applied = min(amount, invoice.balance)
    credit = amount - applied
    invoice.balance = (invoice.balance - applied).quantize(CENT)
    paid = invoice.balance == 0
    if paid:
        if invoice.status in ("open", "disputed"):
            invoice.status = "paid"
        if not invoice.reminders_paused:
            invoice.reminders_paused = True
            audit.record(
                session,
                actor="worker",
                action="reminders_paused",
                target_type="invoice",
                target_id=invoice.id,
                details={"why": "paid"},
            )
    alloc = _allocation(session, payment, debtor, invoice, applied, credit, now)
    alloc.invoice_was_paid = paid
    session.flush()
    alloc.promise_id = _keep_promise(session, invoice, paid)
    alloc.instalment_id = _pay_instalments(session, invoice, first_instalment, amount, paid, now)
    return paid, credit


def issue_certificate(session: Session, debtor: Debtor, now: datetime, out: Outcome, notices: Notices) -> None:
    """After the confirmation: a settlement certificate when everything the debtor owed is paid."""
    cert = settlements.maybe_issue(session, debtor, now)
    if cert is not None:
        out.settlement_code = cert.code
        notices.settled(session, debtor, cert, now, out)


def _allocation(
    session: Session,
    payment: Payment,
    debtor: Debtor,
    invoice: Invoice | None,
    applied: Decimal,
    credit: Decimal,
    now: datetime,
) -> PaymentAllocation:
    on_invoice = PaymentAllocation.invoice_id == invoice.id if invoice else PaymentAllocation.invoice_id.is_(None)
    alloc = session.execute(
        select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id, on_invoice)
    ).scalar_one_or_none()
    if alloc is None:
        alloc = PaymentAllocation(payment_id=payment.id, debtor_id=debtor.id)
        session.add(alloc)
    alloc.invoice_id = invoice.id if invoice else None
    alloc.applied_amount = applied.quantize(CENT)
    alloc.credit_amount = credit.quantize(CENT)
    alloc.currency = payment.currency
    alloc.invoice_was_paid = False
    alloc.reversed_at = None
    alloc.created_at = now
    session.flush()
    return alloc


def _keep_promise(session: Session, invoice: Invoice, paid: bool) -> int | None:
    promise = promises.open_promise(session, invoice.id)
    if promise is None:
        return None
    if paid or paid_since(session, invoice.id, promise.created_at) >= promise.amount:
        promises.mark_kept(session, promise)
        return promise.id
    return None


def _pay_instalments(
    session: Session, invoice: Invoice, first: int | None, amount: Decimal, paid: bool, now: datetime
) -> int | None:
    plan = payment_plans.active_plan(session, invoice.id)
    if plan is None:
        return None
    if plan.invoice_id is None:  # a plan over several invoices: paid by what their balances came down, in order
        return payment_plans.sync_instalments(session, plan, now)
    pending = list(
        session.execute(
            select(Instalment)
            .where(Instalment.plan_id == plan.id, Instalment.status == "pending")
            .order_by(Instalment.number)
        ).scalars()
    )
    if first:  # the instalment the link was for goes first
        pending.sort(key=lambda i: (i.id != first, i.number))
    first_paid = None
    remaining = amount
    for inst in pending:
        if paid or remaining >= inst.amount:
            remaining -= inst.amount if not paid else 0
            inst.status, inst.paid_at = "paid", now
            first_paid = first_paid or inst.id
        else:
            break
    session.flush()
    still = session.execute(
        select(func.count())
        .select_from(Instalment)
        .where(Instalment.plan_id == plan.id, Instalment.status == "pending")
    ).scalar_one()
    if still == 0:
        plan.status = "completed"
        audit.record(
            session, actor="worker", action="payment_plan_completed", target_type="payment_plan", target_id=plan.id
        )
    return first_paid


# --- reversed ----------------------------------------------------------------------------------------------
def _reverse(session: Session, payment: Payment, debtor: Debtor, now: datetime, out: Outcome, notices: Notices) -> None:
    out.action = "reversed"
    payment.applied = False
    for alloc in _active_allocations(session, payment):  # one per invoice the payment went to
        alloc.reversed_at = now
        if alloc.applied_amount > 0:
            invoice = _back_onto_invoice(session, alloc, alloc.applied_amount)
            if invoice is not None:
                _unpay_instalments(session, invoice, alloc)
    offers.after_refund(session, payment.payment_link_id, now)  # a discount paid for: the discount comes back
    settlements.revoke_for_payment(session, debtor, payment, now)
    notices.payment_reversed(session, debtor, payment)


def _partial_refund(
    session: Session, payment: Payment, debtor: Debtor, refunded: Decimal, now: datetime, notices: Notices
) -> None:
    """Part of an applied payment was given back: it comes out of the debtor's credit first, then goes
    back onto the invoice's balance (and a person is told, as for a whole refund)."""
    delta = (refunded - payment.refunded_amount).quantize(CENT)
    payment.refunded_amount = refunded
    allocs = _active_allocations(session, payment)
    if not allocs or delta <= 0:
        return
    left = delta
    for alloc in allocs:
        from_credit = min(left, alloc.credit_amount)
        alloc.credit_amount = (alloc.credit_amount - from_credit).quantize(CENT)
        left -= from_credit
    back = Decimal("0.00")
    for alloc in reversed(allocs):  # the newest invoice paid is owed again first (the rule, run backwards)
        part = min(left - back, alloc.applied_amount)
        if part <= 0:
            continue
        alloc.applied_amount = (alloc.applied_amount - part).quantize(CENT)
        _back_onto_invoice(session, alloc, part)
        back += part
    if back <= 0:
        return  # only credit was refunded: what the debtor owed is still paid
    offers.after_refund(session, payment.payment_link_id, now)  # the discounted total is no longer paid in full
    settlements.revoke_for_payment(session, debtor, payment, now, reason="partially_refunded")
    notices.partly_refunded(session, debtor, payment, delta, back)


def _active_allocations(session: Session, payment: Payment) -> list[PaymentAllocation]:
    """Where the payment went (each invoice and its credit, in the order it was applied), unless reversed."""
    return list(
        session.execute(
            select(PaymentAllocation)
            .where(PaymentAllocation.payment_id == payment.id, PaymentAllocation.reversed_at.is_(None))
            .order_by(PaymentAllocation.id)
        ).scalars()
    )


def _back_onto_invoice(session: Session, alloc: PaymentAllocation, amount: Decimal) -> Invoice | None:
    """Money given back to the payer is owed again: the invoice reopens and its reminders resume."""
    invoice = session.get(Invoice, alloc.invoice_id) if alloc.invoice_id else None
    if invoice is None:
        return None
    invoice.balance = (invoice.balance + amount).quantize(CENT)
    if invoice.balance > 0 and invoice.status == "paid":
        invoice.status = "open"
    if alloc.invoice_was_paid:
        invoice.reminders_paused = False
    return invoice


def _unpay_instalments(session: Session, invoice: Invoice, alloc: PaymentAllocation) -> None:
    several = select(PaymentPlanItem.plan_id).where(PaymentPlanItem.invoice_id == invoice.id)
    for plan in session.execute(select(PaymentPlan).where(PaymentPlan.id.in_(several))).scalars():
        payment_plans.unsync_instalments(session, plan)
    plans = list(session.execute(select(PaymentPlan).where(PaymentPlan.invoice_id == invoice.id)).scalars())
    for plan in plans:
        reverted = False
        for inst in plan.instalments:
            if inst.status == "paid" and inst.paid_at == alloc.created_at:
                inst.status, inst.paid_at = "pending", None
                reverted = True
        if reverted and plan.status == "completed":
            plan.status = "active"


# --- rejected, waiting -------------------------------------------------------------------------------------
def _rejected(
    session: Session,
    payment: Payment,
    link: PaymentLink,
    invoice: Invoice | None,
    debtor: Debtor,
    now: datetime,
    out: Outcome,
    notices: Notices,
    link_provider=None,
) -> None:
    out.action = "rejected"
    new_link = None
    still_owed = [
        inv
        for item in payment_links.items_of(session, link)
        if (inv := session.get(Invoice, item.invoice_id)) is not None and inv.status == "open" and inv.balance > 0
    ]
    of_several = session.get(Instalment, link.instalment_id) if link.instalment_id else None
    if of_several is not None and (of_several.status != "pending" or of_several.plan.invoice_id is not None):
        of_several = None
    if still_owed and of_several is not None:  # an instalment over several invoices: a fresh link for it
        if link.status == "active":
            link.status = "expired"
        session.flush()
        provider = link_provider or factory.payment_provider(link.provider)
        new_link = payment_links.link_for_instalment(session, debtor, of_several, provider=provider, now=now)
        out.new_link_id = new_link.id
    elif still_owed:  # a link for several: a fresh one for the same invoices, at what they owe now
        if link.status == "active":
            link.status = "expired"
        session.flush()
        provider = link_provider or factory.payment_provider(link.provider)
        new_link = payment_links.link_for_invoices(session, debtor, still_owed, provider=provider, now=now)
        out.new_link_id = new_link.id
    elif invoice is not None and invoice.status == "open" and invoice.balance > 0:
        amount = min(link.amount, invoice.balance)
        if link.status == "active":
            link.status = "expired"  # a fresh link replaces the one that failed
        session.flush()
        promise = session.get(Promise, link.promise_id) if link.promise_id else None
        if promise is not None and promise.status != "open":
            promise = None
        instalment = session.get(Instalment, link.instalment_id) if link.instalment_id else None
        if instalment is not None and instalment.status != "pending":
            instalment = None
        provider = link_provider or factory.payment_provider(link.provider)
        new_link, _ = payment_links.create_link(
            session, debtor, invoice, amount, promise=promise, instalment=instalment, provider=provider, now=now
        )
        out.new_link_id = new_link.id
    notices.rejected(session, debtor, payment, new_link, now, out)
