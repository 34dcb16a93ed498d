"""The dashboard's outcome figures, and how to compute them live from the events.

``Figures`` is the shape both ways of counting fill: ``rollups`` reads it from pre-computed rows, ``live_figures``
from the events themselves (for filters the rollup does not carry, and for the conversations changed since its
last refresh). Both count with the predicates of ``filters`` and the event sources of ``filters.event_specs``, so
they agree; the rollup tests compare them figure by figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from bot.review.filters import (
    FAILED_STATUSES,
    PAID_STATUSES,
    C,
    Filters,
    events,
    in_period,
    key_column,
    net_paid,
    with_debtors,
)
from bot.store.models import Message, NonpaymentReason, Payment

# Outcomes counted from the events (replied / no reply / contained come from the conversations' own columns).
EVENT_METRICS = (
    "verified",
    "promise",
    "promise_kept",
    "promise_broken",
    "link_sent",
    "link_paid",
    "paid",
    "plan",
    "date_moved",
    "dispute",
    "handoff",
    "opted_out",
)


@dataclass
class Figures:
    """The outcome figures of a set of conversations: conversations per outcome, money and payments per currency,
    conversations per non-payment reason, delivery failures per error code (and, from the rollup, reach per
    A/B variant)."""

    counts: dict[str, int]
    recovered: dict[str, Decimal]
    reasons: dict[str, int]
    failures: dict[str, list[int]]  # code -> [conversations, messages]
    reached: dict[str, int] = field(default_factory=dict)  # sent:<campaign>|<variant> -> conversations
    payments: dict[str, int] = field(default_factory=dict)  # currency -> payments (a currency shows when > 0)


def event_count(session: Session, f: Filters, name: str, where: list, extra: list | None = None) -> int:
    """Conversations of the segment with outcome ``name``: driven by the (few) events of the period, each joined
    to its conversation — the same conversations as ``outcome_clause`` selects from the list's side."""
    start, end = f.bounds
    parts = []
    for kind, q in events(name, start, end):
        e = q.subquery()
        parts.append(
            select(C.c.id)
            .select_from(with_debtors(f, e.join(C, key_column(kind) == e.c.k)))
            .where(*where, *(extra or []))
        )
    ids = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return session.execute(select(func.count(distinct(ids.subquery().c.id)))).scalar_one()


def live_figures(session: Session, f: Filters, where: list) -> Figures:
    """The figures ``rollups`` pre-computes, computed from the events (over the conversations of ``where``)."""
    start, end = f.bounds
    out = Figures(
        counts={name: event_count(session, f, name, where) for name in EVENT_METRICS},
        recovered={},
        reasons={},
        failures={},
    )
    p = Payment.__table__
    paid = (
        select(p.c.id, p.c.currency, net_paid(p).label("amount"))
        .distinct()
        .select_from(with_debtors(f, p.join(C, C.c.debtor_id == p.c.debtor_id)))
        .where(p.c.status.in_(PAID_STATUSES), in_period(p.c.paid_at, start, end), *where)
        .subquery()
    )
    for cur, amount, n in session.execute(
        select(paid.c.currency, func.sum(paid.c.amount), func.count()).group_by(paid.c.currency)
    ):
        out.recovered[cur] = amount
        out.payments[cur] = n
    nr = NonpaymentReason.__table__
    for reason, n in session.execute(
        select(nr.c.reason, func.count(distinct(C.c.id)))
        .select_from(with_debtors(f, nr.join(C, C.c.debtor_id == nr.c.debtor_id)))
        .where(in_period(nr.c.created_at, start, end), *where)
        .group_by(nr.c.reason)
    ):
        out.reasons[reason] = n
    m = Message.__table__
    code = func.coalesce(m.c.error_code, "none")
    for code_, convs, msgs in session.execute(
        select(code, func.count(distinct(m.c.conversation_id)), func.count())
        .select_from(with_debtors(f, m.join(C, C.c.id == m.c.conversation_id)))
        .where(m.c.status.in_(FAILED_STATUSES), in_period(m.c.created_at, start, end), *where)
        .group_by(code)
    ):
        out.failures[code_] = [convs, msgs]
    return out


def add_figures(total: Figures, part: Figures) -> None:
    """Add the figures of a disjoint set of conversations (distinct counts add up only when the sets are disjoint:
    the dashboard splits conversations into those the rollup answers and those computed now)."""
    for name, n in part.counts.items():
        total.counts[name] = total.counts.get(name, 0) + n
    for cur, amount in part.recovered.items():
        total.recovered[cur] = total.recovered.get(cur, Decimal(0)) + amount
    for cur, n in part.payments.items():
        total.payments[cur] = total.payments.get(cur, 0) + n
    for reason, n in part.reasons.items():
        total.reasons[reason] = total.reasons.get(reason, 0) + n
    for code, (convs, msgs) in part.failures.items():
        c0, m0 = total.failures.get(code, [0, 0])
        total.failures[code] = [c0 + convs, m0 + msgs]
    for metric, n in part.reached.items():
        total.reached[metric] = total.reached.get(metric, 0) + n
