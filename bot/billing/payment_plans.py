"""Payment plans within policy (``config/payment_plan_policy.yml``).

Amounts are split exactly in Decimal: every instalment but the last is rounded down to the
currency's unit (whole pesos for CLP and COP), the first is at least the policy's minimum share,
and the last takes the remainder, so the instalments always add up to the total.

A plan may cover several invoices ("quiero pagar todo en 3 cuotas", "las dos"): one plan whose instalments split
their total (the policy's limits apply to the total), ``PaymentPlan.invoice_id`` null and ``PaymentPlanItem`` rows
naming the invoices, oldest due first, each with its balance when the plan was made. What has been paid on such a
plan is how far those balances came down, however it was paid (the instalment's link, a link for the whole
balance, a payment recorded elsewhere); an instalment is paid once that covers it and the ones before it
(``sync_instalments``), and the plan completes when every instalment or every invoice is paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.billing import money, promises
from bot.platform import policies
from bot.store import audit
from bot.store.models import Debtor, Instalment, Invoice, PaymentPlan, PaymentPlanItem

# Currencies collected in whole units in practice (CLP has no minor unit; COP cents are not used).
WHOLE_UNIT_CURRENCIES = frozenset({"CLP", "COP"})


class PlanError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PlanOption:
    count: int
    amounts: tuple[Decimal, ...]
    dates: tuple[date, ...]
    total: Decimal
    currency: str

    @property
    def first_amount(self) -> Decimal:
        return self.amounts[0]

    @property
    def other_amount(self) -> Decimal:
        return self.amounts[1] if self.count > 1 else self.amounts[0]


def policy() -> dict:
    return policies.load("payment_plan_policy")


def unit(currency: str) -> Decimal:
    if currency.upper() in WHOLE_UNIT_CURRENCIES:
        return Decimal(1)
    return Decimal(1).scaleb(-min(money.minor_digits(currency), 2))


def split(total: Decimal, count: int, currency: str, min_first_pct: Decimal | int = 0) -> list[Decimal]:
    """``count`` amounts adding up exactly to ``total``: the rounding remainder goes on the first, so
    that the rest are all equal and "la primera de X y las demás de Y" is the whole truth."""
    if count < 1:
        raise PlanError("count_invalid")
    q = unit(currency)
    cents = Decimal("0.01")
    if count == 1:
        return [total.quantize(cents)]
    equal = (total / count).quantize(q, rounding=ROUND_FLOOR)
    floor_first = (total * Decimal(min_first_pct) / 100).quantize(q, rounding=ROUND_CEILING)
    # the others: an equal share at most (so the first is never the smallest), less if the first must be bigger
    each = min(equal, ((total - floor_first) / (count - 1)).quantize(q, rounding=ROUND_FLOOR))
    first = total - each * (count - 1)
    return [a.quantize(cents) for a in [first] + [each] * (count - 1)]


def _min_amount(currency: str, pol: dict) -> Decimal:
    table = pol.get("min_instalment_amount") or {}
    return Decimal(str(table.get(currency.upper(), table.get("default", 0))))


def schedule(today: date, count: int, pol: dict) -> list[date]:
    first = today + timedelta(days=int(pol.get("first_due_in_days", 3)))
    step = int(pol.get("interval_days", 30))
    return [first + timedelta(days=step * i) for i in range(count)]


def option(total: Decimal, currency: str, count: int, today: date, pol: dict | None = None) -> PlanOption | None:
    """The plan in ``count`` instalments, or None when the policy does not allow it."""
    pol = pol if pol is not None else policy()
    if not int(pol.get("min_instalments", 2)) <= count <= int(pol.get("max_instalments", 6)):
        return None
    amounts = split(total, count, currency, Decimal(str(pol.get("min_first_payment_pct", 0))))
    if min(amounts) < _min_amount(currency, pol) or min(amounts) <= 0:
        return None
    return PlanOption(count, tuple(amounts), tuple(schedule(today, count, pol)), total, currency)


def options(total: Decimal, currency: str, today: date, pol: dict | None = None) -> list[PlanOption]:
    """The instalment counts to offer (at most ``max_options``, spread from fewest to most)."""
    pol = pol if pol is not None else policy()
    valid = [
        o
        for n in range(int(pol.get("min_instalments", 2)), int(pol.get("max_instalments", 6)) + 1)
        if (o := option(total, currency, n, today, pol)) is not None
    ]
    limit = int(pol.get("max_options", 3))
    if len(valid) <= limit:
        return valid
    if limit == 1:
        return [valid[-1]]
    picks = sorted({round(i * (len(valid) - 1) / (limit - 1)) for i in range(limit)})
    return [valid[i] for i in picks]


def active_plan(session: Session, invoice_id: int) -> PaymentPlan | None:
    """The active plan the invoice is in: its own, or one over several invoices that covers it."""
    in_several = select(PaymentPlanItem.plan_id).where(PaymentPlanItem.invoice_id == invoice_id)
    return session.execute(
        select(PaymentPlan)
        .where(
            or_(PaymentPlan.invoice_id == invoice_id, PaymentPlan.id.in_(in_several)),
            PaymentPlan.status == "active",
        )
        .order_by(PaymentPlan.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def plan_invoice_ids(plan: PaymentPlan) -> list[int]:
    """The invoices a plan covers (ids), oldest due first: its one invoice, or its items'."""
    return [plan.invoice_id] if plan.invoice_id is not None else [item.invoice_id for item in plan.items]


def plan_invoices(session: Session, plan: PaymentPlan) -> list[Invoice]:
    """The invoices a plan covers, oldest due first (the order its payments settle them)."""
    return [inv for i in plan_invoice_ids(plan) if (inv := session.get(Invoice, i)) is not None]


def paid_on_plan(session: Session, plan: PaymentPlan) -> Decimal:
    """What has been paid on a plan over several invoices: how far their balances came down since it was made."""
    total = Decimal("0.00")
    for item in plan.items:
        invoice = session.get(Invoice, item.invoice_id)
        if invoice is not None:
            total += max(Decimal("0.00"), item.amount - max(invoice.balance, Decimal("0.00")))
    return total


def sync_instalments(session: Session, plan: PaymentPlan, now: datetime) -> int | None:
    """A plan over several invoices after a payment: every pending instalment that what was paid on the plan covers
    (with the ones before it) is paid, all of them when every invoice is; the plan completes when none is left.
    Returns the first instalment paid now (None: none was)."""
    paid = paid_on_plan(session, plan)
    all_paid = all(inv.status == "paid" or inv.balance <= 0 for inv in plan_invoices(session, plan))
    first_paid = None
    covered = Decimal("0.00")
    for inst in plan.instalments:
        covered += inst.amount
        if inst.status == "pending" and (all_paid or paid >= covered):
            inst.status, inst.paid_at = "paid", now
            first_paid = first_paid or inst.id
    session.flush()
    if plan.status == "active" and all(i.status == "paid" for i in plan.instalments):
        plan.status = "completed"
        audit.record(
            session, actor="worker", action="payment_plan_completed", target_type="payment_plan", target_id=plan.id
        )
    return first_paid


def unsync_instalments(session: Session, plan: PaymentPlan) -> None:
    """A payment on a plan over several invoices was given back: the instalments what is still paid no longer
    covers are pending again (newest first), and a completed plan is active again."""
    paid = paid_on_plan(session, plan)
    covered = Decimal("0.00")
    reverted = False
    for inst in plan.instalments:
        covered += inst.amount
        if inst.status == "paid" and paid < covered:
            inst.status, inst.paid_at = "pending", None
            reverted = True
    if reverted and plan.status == "completed":
        plan.status = "active"


def next_instalment(session: Session, invoice_id: int) -> Instalment | None:
    plan = active_plan(session, invoice_id)
    if plan is None:
        return None
    return session.execute(
        select(Instalment)
        .where(Instalment.plan_id == plan.id, Instalment.status == "pending")
        .order_by(Instalment.number)
        .limit(1)
    ).scalar_one_or_none()


def create(
    session: Session, debtor: Debtor, invoice: Invoice, count: int, today: date, pol: dict | None = None
) -> PaymentPlan:
    """Store the plan for the invoice's balance; an earlier active plan on it is cancelled and an
    open promise on it is replaced by the plan."""
    pol = pol if pol is not None else policy()
    if invoice.status != "open" or invoice.balance <= 0:
        raise PlanError("invoice_not_open")
    chosen = option(invoice.balance, invoice.currency, count, today, pol)
    if chosen is None:
        raise PlanError("count_not_allowed")
    return _store(session, debtor, [invoice], chosen, count)


def create_for_invoices(
    session: Session, debtor: Debtor, invoices: list[Invoice], count: int, today: date, pol: dict | None = None
) -> PaymentPlan:
    """One plan over several invoices' total (one currency): the policy's limits apply to the total; earlier active
    plans on any of them are cancelled and their open promises replaced by the plan. One invoice: ``create``."""
    pol = pol if pol is not None else policy()
    invoices = sorted(invoices, key=lambda inv: (inv.due_date, inv.id))
    if len(invoices) == 1:
        return create(session, debtor, invoices[0], count, today, pol)
    if not invoices or any(inv.status != "open" or inv.balance <= 0 for inv in invoices):
        raise PlanError("invoice_not_open")
    if len({inv.currency for inv in invoices}) != 1:
        raise PlanError("currencies_differ")
    total = sum((inv.balance for inv in invoices), Decimal("0.00"))
    chosen = option(total, invoices[0].currency, count, today, pol)
    if chosen is None:
        raise PlanError("count_not_allowed")
    return _store(session, debtor, invoices, chosen, count)


def _store(session: Session, debtor: Debtor, invoices: list[Invoice], chosen: PlanOption, count: int) -> PaymentPlan:
    """The plan and its instalments; what it replaces (an earlier plan, an open promise on any of its invoices) is
    closed. A plan over several invoices keeps them as items (``invoice_id`` null), oldest due first."""
    for inv in invoices:
        old = active_plan(session, inv.id)
        if old is not None:
            old.status = "cancelled"
        promise = promises.open_promise(session, inv.id)
        if promise is not None:
            promises.resolve(session, promise, "replaced")
    several = len(invoices) > 1
    plan = PaymentPlan(
        debtor_id=debtor.id,
        invoice_id=None if several else invoices[0].id,
        total=chosen.total,
        currency=chosen.currency,
        instalment_count=count,
        status="active",
    )
    session.add(plan)
    session.flush()
    if several:
        for position, inv in enumerate(invoices):
            session.add(PaymentPlanItem(plan_id=plan.id, invoice_id=inv.id, position=position, amount=inv.balance))
    for i, (amount, due) in enumerate(zip(chosen.amounts, chosen.dates, strict=True), start=1):
        session.add(Instalment(plan_id=plan.id, number=i, due_date=due, amount=amount, status="pending"))
    session.flush()
    if several:
        session.refresh(plan)
    which: dict[str, object] = (
        {"invoice_ids": [inv.id for inv in invoices]} if several else {"invoice_id": invoices[0].id}
    )
    audit.record(
        session,
        actor="bot",
        action="payment_plan_created",
        target_type="payment_plan",
        target_id=plan.id,
        details={**which, "count": count, "amounts": [str(a) for a in chosen.amounts]},
    )
    return plan


# What a plan is, as the API and the console show it: ``late`` is an active plan with an instalment past its
# due date (stored as ``active``: only breaking it is a decision), ``completed`` also covers an active plan
# whose invoice was paid some other way (the planner stores that on its next run).
PLAN_STATUSES = ("active", "late", "broken", "completed", "cancelled")


def broken_after_days(country: str, pol: dict | None = None) -> int:
    """Days an instalment may be late before the plan is broken, for the debtor's country."""
    pol = pol if pol is not None else policy()
    table = pol.get("broken_after_days_late") or {}
    return int(table.get(country.upper(), table.get("default", 10)))


def days_late(instalments: list[Instalment], today: date) -> int:
    """How many days the oldest pending instalment is past its due date (0 when none is)."""
    due = [i.due_date for i in instalments if i.status == "pending" and i.due_date < today]
    return (today - min(due)).days if due else 0


def plan_status(plan: PaymentPlan, invoices: Invoice | list[Invoice], today: date) -> str:
    """One of ``PLAN_STATUSES``; an instalment whose invoices are already paid is never late."""
    if plan.status != "active":
        return plan.status
    invoices = invoices if isinstance(invoices, list) else [invoices]
    if all(invoice.status == "paid" or invoice.balance <= 0 for invoice in invoices):
        return "completed"
    return "late" if days_late(list(plan.instalments), today) > 0 else "active"


def mark_broken(session: Session, plan: PaymentPlan, days: int) -> bool:
    """Break an active plan (False when it no longer is active: another worker or a payment got there first)."""
    if plan.status != "active":
        return False
    plan.status = "broken"
    audit.record(
        session,
        actor="bot",
        action="payment_plan_broken",
        target_type="payment_plan",
        target_id=plan.id,
        details={"invoice_id": plan.invoice_id, "invoice_ids": plan_invoice_ids(plan), "days_late": days},
    )
    return True


def mark_completed(session: Session, plan: PaymentPlan) -> bool:
    """Complete an active plan whose invoice was paid (elsewhere, or by an update from the billing system)."""
    if plan.status != "active":
        return False
    plan.status = "completed"
    audit.record(session, actor="bot", action="payment_plan_completed", target_type="payment_plan", target_id=plan.id)
    return True
