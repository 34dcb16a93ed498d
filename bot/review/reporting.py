"""Manager review: the one filter model behind the transcript list, the dashboard and the exports.

A ``Filters`` value (period, segment, outcome, search ...) is read from a URL's query string and written
back to one (``to_args``), so every figure on the dashboard links to the list of the conversations behind
it with the same filter values plus one more (an outcome, a reason, a variant, an error code).

Both pages are built from the same predicates (``outcome_clause``, ``_conditions``): a dashboard figure is
``count(conversations WHERE base AND outcome)``, the list it links to is ``conversations WHERE base AND
outcome`` — the same SQL, so the numbers always agree.

A conversation belongs to a period when it was open in it: first contact before the period's end and last
message after its start. Outcomes are events inside the period (a promise made, a payment approved, a
hand-off opened ...), by the conversation's debtor. Dates are the manager's time zone.

No Flask here: services take a session and return plain values.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, String, and_, case, cast, distinct, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from bot.platform import masking
from bot.review import search
from bot.store.models import (
    AuditLog,
    ContactAttempt,
    Conversation,
    Debtor,
    DueDateChange,
    Handoff,
    Message,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
)
from bot.store.types import Money

DEFAULT_TZ = "America/Bogota"
PAGE_SIZE = 50
COUNTRIES = {"CO": "Colombia", "MX": "México", "AR": "Argentina", "CL": "Chile", "PE": "Perú"}
CHANNELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
PAID_STATUSES = ("approved",)


def net_paid(payments):
    """What a payment brought in: its amount less any part refunded since (exact hundredths)."""
    return type_coerce(payments.c.amount - payments.c.refunded_amount, Money)


FAILED_STATUSES = ("failed", "undelivered")

# Outcomes a list can be filtered to, in the order the filter offers them.
OUTCOMES = {
    "paid": "Pagó",
    "promise": "Prometió pagar",
    "promise_kept": "Promesa cumplida",
    "promise_broken": "Promesa incumplida",
    "promise_open": "Promesa vigente",
    "plan": "Acordó un plan de pagos",
    "date_moved": "Movió la fecha",
    "dispute": "Disputa",
    "handoff": "Pasó a un agente",
    "contained": "Resuelta por el bot (sin agente)",
    "opted_out": "Se dio de baja",
    "replied": "Respondió",
    "no_reply": "Sin respuesta",
    "verified": "Identidad verificada",
    "link_sent": "Recibió enlace de pago",
    "link_paid": "Pagó por enlace",
}
REASON_LABELS = {
    "job_loss": "Perdió el empleo",
    "income_delay": "Retraso en sus ingresos",
    "forgot": "Se le olvidó",
    "health": "Problemas de salud",
    "other_debts": "Otras deudas",
    "service_issue": "Problema con el servicio",
    "other": "Otro",
}
INTENTS = (
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "inform",
    "check_balance",
    "request_payment_link",
    "ask_payment_methods",
    "report_nonpayment_reason",
    "request_due_date_change",
    "promise_to_pay",
    "request_payment_plan",
    "claim_already_paid",
    "dispute_debt",
    "request_human",
    "opt_out",
    "bot_challenge",
    "wrong_number",
    "out_of_scope",
    "nlu_fallback",
)


# --- Time zone -----------------------------------------------------------------------------------
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local(dt: datetime | None, tz: str) -> str:
    if dt is None:
        return ""
    return dt.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


# --- The filter model ----------------------------------------------------------------------------
def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10]) if value else None
    except ValueError:
        return None


def _choice(value: str | None, allowed: Iterable[str]) -> str:
    value = (value or "").strip()
    return value if value in allowed else ""


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    country: str = ""
    channel: str = ""
    outcome: str = ""
    reason: str = ""
    agent: int | None = None
    intent: str = ""
    q: str = ""
    tag: str = ""
    campaign: str = ""
    variant: str = ""
    error_code: str = ""
    tz: str = field(default=DEFAULT_TZ, compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str], tz: str = DEFAULT_TZ, today: date | None = None) -> Filters:
        today = today or datetime.now(zone(tz)).date()
        date_to = _date(args.get("to")) or today
        date_from = _date(args.get("from")) or (date_to - timedelta(days=29))
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        agent = args.get("agent") or ""
        return cls(
            date_from=date_from,
            date_to=date_to,
            country=_choice((args.get("country") or "").upper(), COUNTRIES),
            channel=_choice(args.get("channel"), CHANNELS),
            outcome=",".join(dict.fromkeys(o for o in (args.get("outcome") or "").split(",") if o in OUTCOMES)),
            reason=_choice(args.get("reason"), REASON_LABELS),
            agent=int(agent) if agent.isdigit() else None,
            intent=_choice(args.get("intent"), INTENTS),
            q=(args.get("q") or "").strip()[:200],
            tag=(args.get("tag") or "").strip()[:40],
            campaign=(args.get("campaign") or "").strip()[:80],
            variant=(args.get("variant") or "").strip()[:20],
            error_code=(args.get("error_code") or "").strip()[:10],
            tz=tz,
        )

    def to_args(self, **overrides: Any) -> dict[str, str]:
        """The query-string form (empty values left out); overrides replace or add filter values."""
        values = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for f in fields(self):
            if f.name in ("date_from", "date_to", "tz"):
                continue
            value = getattr(self, f.name)
            if value not in (None, ""):
                values[f.name] = str(value)
        for key, value in overrides.items():
            if value in (None, ""):
                values.pop(key, None)
            else:
                values[key] = str(value)
        return values

    @property
    def outcomes(self) -> list[str]:
        return [o for o in self.outcome.split(",") if o]

    def plus_outcome(self, name: str) -> dict[str, str]:
        """The query string of this segment narrowed to one more outcome (both must hold)."""
        return self.to_args(outcome=",".join(dict.fromkeys([*self.outcomes, name])))

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The period in UTC: from the first day's midnight to the midnight after the last day (manager's zone)."""
        tz = zone(self.tz)
        start = datetime.combine(self.date_from, time(0), tz).astimezone(timezone.utc)
        end = datetime.combine(self.date_to + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
        return start, end

    @property
    def active(self) -> dict[str, str]:
        """Filter values besides the period (for "remove this filter" chips)."""
        return {k: v for k, v in self.to_args().items() if k not in ("from", "to")}


# --- Predicates --------------------------------------------------------------------------------------
C = Conversation.__table__
D = Debtor.__table__


def _in_period(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def _event_specs(name: str) -> list[tuple[str, Any, Any, list]]:
    """Where outcome ``name`` is recorded: ``[(key kind, key column, time column, conditions)]``."""
    if name == "paid":
        return [("debtor", Payment.debtor_id, Payment.paid_at, [Payment.status.in_(PAID_STATUSES)])]
    if name in ("promise", "promise_kept", "promise_broken", "promise_open"):
        conds = [] if name == "promise" else [Promise.status == name.removeprefix("promise_")]
        return [("debtor", Promise.debtor_id, Promise.created_at, conds)]
    if name == "plan":
        return [("debtor", PaymentPlan.debtor_id, PaymentPlan.created_at, [])]
    if name == "date_moved":
        return [("debtor", DueDateChange.debtor_id, DueDateChange.created_at, [])]
    if name == "dispute":
        return [
            ("conversation", Handoff.conversation_id, Handoff.created_at, [Handoff.reason == "dispute"]),
            ("conversation", Message.conversation_id, Message.created_at, [Message.intent == "dispute_debt"]),
        ]
    if name == "handoff":
        return [("conversation", Handoff.conversation_id, Handoff.created_at, [])]
    if name == "opted_out":
        return [("debtor", Debtor.id, Debtor.opted_out_at, [Debtor.opted_out.is_(True)])]
    if name == "verified":
        return [
            (
                "debtor",
                cast(AuditLog.target_id, Integer),
                AuditLog.created_at,
                [AuditLog.action == "identity_verified", AuditLog.target_type == "debtor"],
            )
        ]
    if name == "link_sent":
        return [("debtor", PaymentLink.debtor_id, PaymentLink.created_at, [])]
    if name == "link_paid":
        return [("debtor", PaymentLink.debtor_id, PaymentLink.created_at, [PaymentLink.status == "paid"])]
    raise ValueError(f"unknown outcome {name!r}")


def events(name: str, start: datetime, end: datetime, with_time: bool = False) -> list[tuple[str, Any]]:
    """Where outcome ``name`` is recorded: ``[(key, select of keys)]``, key ``debtor`` (a debtor id) or
    ``conversation``; the outcome holds when the conversation's key is in any of them. ``with_time`` adds each
    event's time as a second column ``at`` (the rollups read it)."""
    out = []
    for kind, key, at, conds in _event_specs(name):
        cols = [key.label("k"), at.label("at")] if with_time else [key.label("k")]
        out.append((kind, select(*cols).where(*conds, _in_period(at, start, end))))
    return out


def _key_column(kind: str):
    return {"debtor": C.c.debtor_id, "conversation": C.c.id}[kind]


def replied_clause(start: datetime, end: datetime):
    """The debtor wrote in the period. ``last_inbound_at`` (kept by the edge with every inbound message) answers
    it from the row itself; only a period that ended before the debtor's latest message needs the messages."""
    wrote = C.c.id.in_(
        select(Message.conversation_id).where(_in_period(Message.created_at, start, end), Message.direction == "in")
    )
    return and_(C.c.last_inbound_at >= start, or_(C.c.last_inbound_at < end, wrote))


def outcome_clause(name: str, start: datetime, end: datetime):
    """The SQL condition "this conversation had outcome ``name`` in the period" (over ``conversations``)."""
    if name == "replied":
        return replied_clause(start, end)
    if name == "no_reply":
        return ~func.coalesce(replied_clause(start, end), False)
    if name == "contained":
        return and_(replied_clause(start, end), ~outcome_clause("handoff", start, end))
    return or_(*[_key_column(kind).in_(q) for kind, q in events(name, start, end)])


def _conditions(session: Session, f: Filters) -> list:
    start, end = f.bounds
    where = [C.c.last_message_at >= start, C.c.created_at < end]
    if f.country:
        where.append(D.c.country == f.country)
    if f.channel:
        where.append(C.c.last_channel == f.channel)
    for name in f.outcomes:
        where.append(outcome_clause(name, start, end))
    if f.reason:
        where.append(
            C.c.debtor_id.in_(
                select(NonpaymentReason.debtor_id).where(
                    NonpaymentReason.reason == f.reason, _in_period(NonpaymentReason.created_at, start, end)
                )
            )
        )
    if f.agent:
        where.append(
            C.c.id.in_(
                select(Handoff.conversation_id).where(
                    Handoff.claimed_by == f.agent, _in_period(Handoff.created_at, start, end)
                )
            )
        )
    if f.intent:
        where.append(
            C.c.id.in_(
                select(Message.conversation_id).where(
                    Message.intent == f.intent, _in_period(Message.created_at, start, end)
                )
            )
        )
    if f.tag:
        where.append(cast(C.c.tags, String).like(f'%"{_like_escape(f.tag)}"%', escape="\\"))
    if f.campaign or f.variant:
        attempts = select(ContactAttempt.debtor_id).where(
            ContactAttempt.status == "sent", _in_period(ContactAttempt.sent_at, start, end)
        )
        if f.campaign:
            attempts = attempts.where(ContactAttempt.campaign == f.campaign)
        if f.variant:
            attempts = attempts.where(ContactAttempt.variant == f.variant)
        where.append(C.c.debtor_id.in_(attempts))
    if f.error_code:
        failed = select(Message.conversation_id).where(
            Message.status.in_(FAILED_STATUSES), _in_period(Message.created_at, start, end)
        )
        failed = failed.where(
            Message.error_code.is_(None) if f.error_code == "none" else Message.error_code == f.error_code
        )
        where.append(C.c.id.in_(failed))
    if f.q:
        matching = search.matching_conversations(session, f.q)
        if matching is not None:
            where.append(C.c.id.in_(matching))
    return where


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace('"', "")


def _from(f: Filters | None = None):
    """Conversations, with their debtors when something needs them (the list's columns, a country filter)."""
    return _dj(f, C)


def _dj(f: Filters | None, frm):
    return frm.outerjoin(D, D.c.id == C.c.debtor_id) if f is None or f.country else frm


# --- The list ---------------------------------------------------------------------------------------
@dataclass
class Row:
    id: int
    phone: str
    debtor_id: int | None
    name: str
    external_id: str
    country: str
    channel: str
    mode: str
    last_message_at: datetime | None
    tags: list[str]
    outcomes: list[str] = field(default_factory=list)
    last_text: str = ""


LIST_OUTCOMES = (
    "paid",
    "promise_kept",
    "promise_broken",
    "promise_open",
    "plan",
    "date_moved",
    "dispute",
    "handoff",
    "opted_out",
    "no_reply",
)


def count(session: Session, f: Filters) -> int:
    return session.execute(select(func.count()).select_from(_from(f)).where(*_conditions(session, f))).scalar_one()


def conversations(
    session: Session, f: Filters, page: int = 1, per_page: int = PAGE_SIZE, limit: int | None = None
) -> list[Row]:
    """One page of the filtered list, most recent first, with each row's outcomes in the period."""
    q = (
        select(
            C.c.id,
            C.c.phone,
            C.c.debtor_id,
            D.c.name,
            D.c.external_id,
            D.c.country,
            C.c.last_channel,
            C.c.mode,
            C.c.last_message_at,
            C.c.tags,
        )
        .select_from(_from())
        .where(*_conditions(session, f))
        .order_by(C.c.last_message_at.desc(), C.c.id.desc())
    )
    q = q.limit(limit) if limit is not None else q.limit(per_page).offset(max(page - 1, 0) * per_page)
    rows = [
        Row(
            id=r.id,
            phone=r.phone,
            debtor_id=r.debtor_id,
            name=r.name or "",
            external_id=r.external_id or "",
            country=r.country or "",
            channel=r.last_channel or "",
            mode=r.mode,
            last_message_at=r.last_message_at,
            tags=list(r.tags or []),
        )
        for r in session.execute(q)
    ]
    _annotate(session, f, rows)
    return rows


def _annotate(session: Session, f: Filters, rows: list[Row]) -> None:
    """Each row's outcomes in the period: the same event sources as the filters, asked only about this page."""
    if not rows:
        return
    start, end = f.bounds
    ids = [r.id for r in rows]
    by_id = {r.id: r for r in rows}
    by_debtor: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        if r.debtor_id:
            by_debtor[r.debtor_id].append(r.id)
    found: dict[int, set[str]] = {r.id: set() for r in rows}
    for name in LIST_OUTCOMES:
        if name == "no_reply":
            continue
        for kind, q in events(name, start, end):
            e = q.subquery()
            keys = list(by_debtor) if kind == "debtor" else ids
            if not keys:
                continue
            for (key,) in session.execute(select(e.c.k).where(e.c.k.in_(keys)).distinct()):
                for conv_id in by_debtor.get(key, []) if kind == "debtor" else [key]:
                    found[conv_id].add(name)
    replied = set(session.execute(select(C.c.id).where(C.c.id.in_(ids), replied_clause(start, end))).scalars())
    for r in rows:
        if r.id not in replied:
            found[r.id].add("no_reply")
        r.outcomes = [name for name in LIST_OUTCOMES if name in found[r.id]]
    last_ids = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(ids), Message.direction == "in")
        .group_by(Message.conversation_id)
    )
    for conv_id, body, entities, last4 in session.execute(
        select(Message.conversation_id, Message.body, Message.entities, Debtor.document_last4)
        .outerjoin(Debtor, Debtor.id == Message.debtor_id)
        .where(Message.id.in_(last_ids))
    ):
        by_id[conv_id].last_text = staff_text(body, entities, last4)[:140]


# --- The dashboard ----------------------------------------------------------------------------------
METRICS = (
    "replied",
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
    "contained",
    "opted_out",
    "no_reply",
)


@dataclass
class Dashboard:
    filters: Filters
    conversations: int
    debtors: int
    counts: dict[str, int]
    recovered: list[tuple[str, Decimal]]
    reasons: list[tuple[str, int]]
    failures: list[tuple[str, int, int]]
    ab: list[dict[str, Any]]
    source: str = "live"  # or "rollup" (pre-computed, plus the conversations changed since computed live)
    live_conversations: int = 0

    def pct(self, part: str, whole: str) -> float | None:
        w = self.conversations if whole == "conversations" else self.counts.get(whole, 0)
        return None if not w else 100.0 * self.counts.get(part, 0) / w


def _event_count(session: Session, f: Filters, name: str, where: list, extra: list | None = None) -> int:
    """Conversations of the segment with outcome ``name``: driven by the (few) events of the period, each joined
    to its conversation — the same conversations as ``outcome_clause`` selects from the list's side."""
    start, end = f.bounds
    parts = []
    for kind, q in events(name, start, end):
        e = q.subquery()
        parts.append(
            select(C.c.id).select_from(_dj(f, e.join(C, _key_column(kind) == e.c.k))).where(*where, *(extra or []))
        )
    ids = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return session.execute(select(func.count(distinct(ids.subquery().c.id)))).scalar_one()


def dashboard(session: Session, f: Filters, rollup: bool = True, ab: bool = True) -> Dashboard:
    """The dashboard's figures. The conversation totals (conversations, debtors, replied) and the figures that
    combine two outcomes (contained, A/B) are read live; the outcome counts, money, reasons and delivery failures
    come from the rollup (``bot.review.rollups``) when it can answer the filter — with the conversations changed since
    its last refresh computed now and added — else live. Both ways give the same figures.

    ``ab=False`` leaves the A/B results out (``ab`` is then empty): the dashboard page shows them apart
    (``ab_table``, their own page), so the page's figures do not wait for them."""
    with_ab = ab
    from bot.review import rollups

    start, end = f.bounds
    where = _conditions(session, f)
    replied = replied_clause(start, end)
    figures, source, live_ids, ab = None, "live", set(), None
    state = rollups.get_state(session) if rollup and rollups.can_serve(f) else None
    if state is not None:
        live_ids = rollups.live_conversations(session, state)
        if len(live_ids) <= rollups.LIVE_LIMIT:
            figures, source = rollups.read(session, f, state, live_ids), "rollup"
            # The conversations changed since the refresh: their rows computed now, read the same way; those of
            # debtors with several conversations by the live queries.
            fresh_rows = rollups.compute(session, sorted(live_ids))
            fresh, multi = rollups.evaluate(fresh_rows, f)
            _add(figures, fresh)
            multi_where = [*where, C.c.id.in_(sorted(multi))]
            if multi:
                _add(figures, _live_figures(session, f, multi_where))
            if with_ab:
                ab = _rollup_ab(session, f, state, live_ids, fresh_rows, multi, where)
        else:
            live_ids = set()
    if source == "rollup":
        # Outside the live conversations every debtor has one conversation (the live set holds all conversations
        # of any debtor with several): distinct debtors = debtors outside + distinct debtors inside.
        totals = session.execute(
            select(
                func.count().label("conversations"),
                func.count(C.c.debtor_id).label("debtors"),
                func.coalesce(func.sum(case((replied, 1), else_=0)), 0).label("replied"),
            )
            .select_from(_from(f))
            .where(*where)
        ).one()
        debtors = totals.debtors
        if live_ids:
            inside = session.execute(
                select(func.count(C.c.debtor_id), func.count(distinct(C.c.debtor_id)))
                .select_from(_from(f))
                .where(*where, C.c.id.in_(sorted(live_ids)))
            ).one()
            debtors += inside[1] - inside[0]
    else:
        totals = session.execute(
            select(
                func.count().label("conversations"),
                func.count(distinct(C.c.debtor_id)).label("debtors"),
                func.coalesce(func.sum(case((replied, 1), else_=0)), 0).label("replied"),
            )
            .select_from(_from(f))
            .where(*where)
        ).one()
        debtors = totals.debtors
    counts = {"replied": int(totals.replied), "no_reply": totals.conversations - int(totals.replied)}
    if figures is None:
        figures = _live_figures(session, f, where)
    counts.update(figures.counts)
    counts["contained"] = counts["replied"] - _event_count(session, f, "handoff", where, [replied])
    return Dashboard(
        filters=f,
        conversations=totals.conversations,
        debtors=debtors,
        counts=counts,
        # (Entries a subtraction left at zero are not figures: the live queries would not list them.)
        recovered=sorted((cur, amount) for cur, amount in figures.recovered.items() if figures.payments.get(cur)),
        reasons=sorted(((r, n) for r, n in figures.reasons.items() if n), key=lambda rn: (-rn[1], rn[0])),
        failures=sorted(((code, c, m) for code, (c, m) in figures.failures.items() if m), key=lambda x: (-x[2], x[0])),
        ab=ab_results(session, f, where, counted=ab) if with_ab else [],
        source=source,
        live_conversations=len(live_ids),
    )


def ab_table(session: Session, f: Filters, rollup: bool = True) -> list[dict[str, Any]]:
    """The A/B results alone (``ab_results``' shape), from the rollup when it can answer the filter (with the
    conversations changed since its refresh computed now), else live: the dashboard's ``ab``, without the rest."""
    from bot.review import rollups

    where = _conditions(session, f)
    state = rollups.get_state(session) if rollup and rollups.can_serve(f) else None
    if state is not None:
        live_ids = rollups.live_conversations(session, state)
        if len(live_ids) <= rollups.LIVE_LIMIT:
            fresh_rows = rollups.compute(session, sorted(live_ids))
            _fresh, multi = rollups.evaluate(fresh_rows, f)
            counted = _rollup_ab(session, f, state, live_ids, fresh_rows, multi, where)
            return ab_results(session, f, where, counted=counted)
    return ab_results(session, f, where)


def _rollup_ab(
    session: Session,
    f: Filters,
    state: Any,
    live_ids: set[int],
    fresh_rows: list[dict[str, Any]],
    multi: set[int],
    where: list,
) -> tuple[ABRows, ABAmounts]:
    from bot.review import rollups

    counted = rollups.ab_counts(session, f, state, None, live_ids, fresh_rows, where)
    if multi:
        _add_ab(counted, ab_counts(session, f, [*where, C.c.id.in_(sorted(multi))]))
    return counted


def _live_figures(session: Session, f: Filters, where: list):
    """The figures ``review.rollups`` pre-computes, computed from the events (over the conversations of ``where``)."""
    from bot.review.rollups import EVENT_METRICS, Figures

    start, end = f.bounds
    out = Figures(
        counts={name: _event_count(session, f, name, where) for name in EVENT_METRICS},
        recovered={},
        reasons={},
        failures={},
    )
    p = Payment.__table__
    paid = (
        select(p.c.id, p.c.currency, net_paid(p).label("amount"))
        .distinct()
        .select_from(_dj(f, p.join(C, C.c.debtor_id == p.c.debtor_id)))
        .where(p.c.status.in_(PAID_STATUSES), _in_period(p.c.paid_at, start, end), *where)
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
        .select_from(_dj(f, nr.join(C, C.c.debtor_id == nr.c.debtor_id)))
        .where(_in_period(nr.c.created_at, start, end), *where)
        .group_by(nr.c.reason)
    ):
        out.reasons[reason] = n
    m = Message.__table__
    code = func.coalesce(m.c.error_code, "none")
    for code_, convs, msgs in session.execute(
        select(code, func.count(distinct(m.c.conversation_id)), func.count())
        .select_from(_dj(f, m.join(C, C.c.id == m.c.conversation_id)))
        .where(m.c.status.in_(FAILED_STATUSES), _in_period(m.c.created_at, start, end), *where)
        .group_by(code)
    ):
        out.failures[code_] = [convs, msgs]
    return out


def _add_ab(total: tuple[ABRows, ABAmounts], part: tuple[ABRows, ABAmounts]) -> None:
    for key, counts in part[0].items():
        mine = total[0].setdefault(key, [0, 0, 0, 0])
        for i, n in enumerate(counts):
            mine[i] += n
    for key, amount in part[1].items():
        total[1][key] = total[1].get(key, Decimal(0)) + amount


def _add(total, part) -> None:
    """Add the figures of a disjoint set of conversations."""
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


# --- A/B results ------------------------------------------------------------------------------------
AB_METRICS = ("replied", "promise", "paid")


ABRows = dict[tuple[str, str], list[int]]  # (campaign, variant) -> [reached, replied, promise, paid]
ABAmounts = dict[tuple[str, str, str], Decimal]  # (campaign, variant, currency) -> amount


def ab_results(
    session: Session, f: Filters, where: list | None = None, counted: tuple[ABRows, ABAmounts] | None = None
) -> list[dict[str, Any]]:
    """Per campaign and variant: reached, replied, promised, paid, amount; a two-proportion z-test on each rate.
    ``counted``: the counts already made (by the rollup), else they are counted here."""
    rows, amounts = counted if counted is not None else ab_counts(session, f, where)
    return _ab_format(rows, amounts)


def ab_counts(session: Session, f: Filters, where: list | None = None) -> tuple[ABRows, ABAmounts]:
    start, end = f.bounds
    where = where if where is not None else _conditions(session, f)
    ca = ContactAttempt.__table__
    sent = and_(
        ca.c.status == "sent", _in_period(ca.c.sent_at, start, end), ca.c.variant.isnot(None), ca.c.variant != "-"
    )
    replied = replied_clause(start, end)
    rows: ABRows = {}
    for r in session.execute(
        select(
            ca.c.campaign,
            ca.c.variant,
            func.count(distinct(C.c.id)).label("reached"),
            func.count(distinct(case((replied, C.c.id)))).label("replied"),
            func.count(distinct(case((outcome_clause("promise", start, end), C.c.id)))).label("promise"),
            func.count(distinct(case((outcome_clause("paid", start, end), C.c.id)))).label("paid"),
        )
        .select_from(_dj(f, ca.join(C, C.c.debtor_id == ca.c.debtor_id)))
        .where(sent, *where)
        .group_by(ca.c.campaign, ca.c.variant)
    ):
        rows[(r.campaign, r.variant)] = [r.reached, r.replied, r.promise, r.paid]
    amounts: ABAmounts = defaultdict(Decimal)
    if not rows:
        return rows, amounts
    # Money per variant and currency: each payment once per variant, however many conversations or attempts.
    p = Payment.__table__
    for _pid, camp, var, cur, amount in session.execute(
        select(p.c.id, ca.c.campaign, ca.c.variant, p.c.currency, net_paid(p))
        .distinct()
        .select_from(_dj(f, p.join(C, C.c.debtor_id == p.c.debtor_id).join(ca, ca.c.debtor_id == p.c.debtor_id)))
        .where(p.c.status.in_(PAID_STATUSES), _in_period(p.c.paid_at, start, end), sent, *where)
    ):
        amounts[(camp, var, cur)] += amount
    return rows, amounts


def _ab_format(rows: ABRows, totals: ABAmounts) -> list[dict[str, Any]]:
    if not rows:
        return []
    amounts: dict[tuple[str, str], list[tuple[str, Decimal]]] = defaultdict(list)
    for (camp, var, cur), total in totals.items():
        amounts[(camp, var)].append((cur, total))
    campaigns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (campaign, variant), (reached, replied, promise, paid) in sorted(rows.items()):
        v = {
            "variant": variant,
            "reached": reached,
            "replied": replied,
            "promise": promise,
            "paid": paid,
            "amounts": sorted(amounts.get((campaign, variant), [])),
        }
        for name in AB_METRICS:
            v[f"{name}_ci"] = wilson(v[name], reached)
        campaigns[campaign].append(v)
    out = []
    for camp, variants in campaigns.items():
        tests = {}
        if len(variants) >= 2:
            a, b = variants[0], variants[1]
            for name in AB_METRICS:
                z, p = two_proportion_z(a[name], a["reached"], b[name], b["reached"])
                winner = None
                if p is not None and p < 0.05:
                    winner = a["variant"] if a[name] / a["reached"] > b[name] / b["reached"] else b["variant"]
                tests[name] = {"z": z, "p": p, "winner": winner}
        out.append({"campaign": camp, "variants": variants, "tests": tests})
    return out


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval (95 %) of a proportion, as fractions."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z-test: (z, two-sided p). None when it cannot be computed, and no p-value when the
    samples are too small for the normal approximation (fewer than 5 expected successes or failures a group)."""
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    if min(n1, n2) * min(pooled, 1 - pooled) < 5:
        return None, None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (x1 / n1 - x2 / n2) / se
    p = math.erfc(abs(z) / math.sqrt(2))
    return z, p


# --- Masking ----------------------------------------------------------------------------------------
_DIGIT_RUN = re.compile(r"(?<![\w$])\d(?:[ \-.]?\d){6,}(?!\w)")


def _mask_run(match: re.Match) -> str:
    run = match.group(0)
    digits = re.sub(r"\D", "", run)
    if "." in run and len(digits) < 9 and not (13 <= len(digits) <= 19):
        return run  # 1.250.000: an amount, not a document
    return "•" * max(len(digits) - 4, 0) + digits[-4:]


def mask(text: str | None) -> str:
    """Document numbers, card-like runs (13–19 digits, spaces or dashes allowed) and other long ID-like digit
    runs (7+ digits) become dots plus their last four digits. Amounts such as ``$150.000`` stay readable."""
    return _DIGIT_RUN.sub(_mask_run, text or "")


mask_phone = masking.mask_phone  # the one phone mask (console, manager, exports, logs)


def staff_text(body: str | None, entities: Any = None, document_last4: str | None = None, answer: bool = False) -> str:
    """A debtor's message as managers and exports see it: no card number, no identity answer (the document
    digits typed to verify, or the debtor's last four anywhere), document-like runs masked."""
    return mask(masking.mask_identity(masking.mask_cards(body or ""), entities, document_last4, answer=answer))


def mask_entities(entities: Any) -> list[dict[str, Any]]:
    out = []
    for e in masking.mask_identity_entities(entities or []):
        if isinstance(e, dict):
            out.append(
                {
                    "entity": e.get("entity"),
                    "value": mask(str(e.get("value", ""))),
                    "confidence": e.get("confidence_entity") or e.get("confidence"),
                }
            )
    return out


# --- CSV --------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, (list, dict)):
        import json

        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # never a formula in a spreadsheet
    return text


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    yield "\ufeff" + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_cell(v) for v in row])
        yield buf.getvalue()


AB_HEADER = [
    "campaign",
    "variant",
    "reached",
    "replied",
    "replied_pct",
    "promised",
    "promised_pct",
    "paid",
    "paid_pct",
    "amounts",
    "replied_p",
    "promised_p",
    "paid_p",
    "winner_replied",
    "winner_promised",
    "winner_paid",
]


def ab_csv(results: list[dict[str, Any]]) -> Iterator[str]:
    """The A/B table (``ab_results``) as CSV: a row per campaign and variant; the amounts one per currency
    (``1500.00 MXN``, never summed across currencies); the z-test's p-values and winner per rate, per campaign."""

    def pct(part: int, whole: int) -> str:
        return f"{100.0 * part / whole:.1f}" if whole else ""

    def rows() -> Iterator[list[Any]]:
        for camp in results:
            tests = camp["tests"]
            test_cols = [
                *(None if tests.get(m, {}).get("p") is None else f"{tests[m]['p']:.4f}" for m in AB_METRICS),
                *(tests.get(m, {}).get("winner") for m in AB_METRICS),
            ]
            for v in camp["variants"]:
                yield [
                    camp["campaign"],
                    v["variant"],
                    v["reached"],
                    v["replied"],
                    pct(v["replied"], v["reached"]),
                    v["promise"],
                    pct(v["promise"], v["reached"]),
                    v["paid"],
                    pct(v["paid"], v["reached"]),
                    " ".join(f"{amount} {cur}" for cur, amount in v["amounts"]),
                    *test_cols,
                ]

    return csv_lines(AB_HEADER, rows())


LIST_HEADER = [
    "conversation_id",
    "debtor_external_id",
    "name",
    "phone",
    "country",
    "channel",
    "mode",
    "last_message_at",
    "tags",
    "outcomes",
    "last_debtor_message",
]


def list_csv(session: Session, f: Filters, batch: int = 1000) -> Iterator[str]:
    """The filtered list as CSV, every row (in batches), masked."""

    def rows() -> Iterator[list[Any]]:
        page = 1
        while True:
            chunk = conversations(session, f, page=page, per_page=batch)
            for r in chunk:
                yield [
                    r.id,
                    r.external_id,
                    r.name,
                    mask_phone(r.phone),
                    r.country,
                    r.channel,
                    r.mode,
                    r.last_message_at,
                    " ".join(r.tags),
                    " ".join(r.outcomes),
                    r.last_text,
                ]
            if len(chunk) < batch:
                return
            page += 1

    return csv_lines(LIST_HEADER, rows())


# Every table a manager can export, with the columns left out or masked.
EXPORT_TABLES = (
    "debtors",
    "invoices",
    "promises",
    "payments",
    "payment_links",
    "nonpayment_reasons",
    "due_date_changes",
    "payment_plans",
    "instalments",
    "conversations",
    "messages",
    "handoffs",
    "contact_attempts",
    "agent_notes",
    "message_flags",
    "settlements",
    "audit_log",
)
EXCLUDED_COLUMNS = {"document_hash", "document_last4", "password_hash", "pdf"}
MASKED_PHONE = {"phone", "to_phone", "from_phone"}
MASKED_TEXT = {"body", "text", "note", "summary"}


def table_csv(session: Session, name: str, batch: int = 2000) -> Iterator[str]:
    from bot.store.models import Base

    if name not in EXPORT_TABLES:
        raise KeyError(name)
    table = Base.metadata.tables[name]
    cols = [c for c in table.columns if c.name not in EXCLUDED_COLUMNS]
    names = [c.name for c in cols]

    def rows() -> Iterator[list[Any]]:
        last = 0
        while True:
            chunk = session.execute(select(*cols).where(table.c.id > last).order_by(table.c.id).limit(batch)).all()
            last4 = _document_last4(session, chunk, names)
            for r in chunk:
                row = dict(zip(names, r, strict=True))
                out = []
                for c, v in zip(cols, r, strict=True):
                    if c.name in MASKED_PHONE:
                        v = mask_phone(v)
                    elif c.name in MASKED_TEXT and isinstance(v, str):
                        v = staff_text(
                            v,
                            row.get("entities"),
                            last4.get(row.get("debtor_id")),
                            answer=row.get("reason") in IDENTITY_HANDOFFS,
                        )
                    elif c.name == "entities" and v:
                        v = mask(_cell(masking.mask_identity_entities(v)))
                    elif c.name == "details" and isinstance(v, dict):
                        v = mask(_cell({k: x for k, x in v.items() if k not in EXCLUDED_DETAILS}))
                    elif c.name in ("details", "content_variables") and v:
                        v = mask(_cell(v))
                    out.append(v)
                yield out
            if len(chunk) < batch:
                return
            last = chunk[-1].id

    return csv_lines(names, rows())


# Hand-offs whose summary quotes the debtor's answers to the identity question.
IDENTITY_HANDOFFS = {"failed_verification", "identity_locked"}
# Keys of JSON details left out of exports: a certificate's copy of the document's last four digits.
EXCLUDED_DETAILS = {"document", "document_last4"}


def _document_last4(session: Session, chunk: list[Any], names: list[str]) -> dict[int, str]:
    """The document's last four of the debtors in ``chunk`` (to mask them wherever they were typed)."""
    if "debtor_id" not in names:
        return {}
    ids = {r[names.index("debtor_id")] for r in chunk} - {None}
    if not ids:
        return {}
    return {i: d for i, d in session.execute(select(Debtor.id, Debtor.document_last4).where(Debtor.id.in_(ids))) if d}


# --- Tags, flags and the NLU export ---------------------------------------------------------------------
TAG_RE = re.compile(r"[^\w\- ]+", re.UNICODE)


def clean_tag(tag: str) -> str:
    return TAG_RE.sub("", (tag or "").strip().lower())[:40].strip()


def set_tag(conv: Conversation, tag: str, on: bool = True) -> list[str]:
    """Add (or remove) one tag; returns the new list. The list is replaced, so the JSON change is saved."""
    tag = clean_tag(tag)
    tags = [t for t in (conv.tags or []) if t != tag]
    if on and tag:
        tags.append(tag)
    conv.tags = sorted(tags)
    return conv.tags


def flag_message(
    session: Session, message: Message, user_id: int | None, expected_intent: str = "", note: str = ""
) -> Any:
    """Mark a bot reply as wrong; remembers the debtor message it answered and the intent it should have read."""
    from bot.store.models import MessageFlag

    debtor_msg = session.execute(
        select(Message.id)
        .where(Message.conversation_id == message.conversation_id, Message.direction == "in", Message.id < message.id)
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar()
    flag = session.execute(select(MessageFlag).where(MessageFlag.message_id == message.id)).scalar_one_or_none()
    if flag is None:
        flag = MessageFlag(message_id=message.id, conversation_id=message.conversation_id)
        session.add(flag)
    flag.debtor_message_id = debtor_msg
    flag.expected_intent = expected_intent if expected_intent in INTENTS else None
    flag.note = (note or "").strip()[:500]
    flag.user_id = user_id
    return flag


def flags_for(session: Session, conversation_id: int) -> dict[int, Any]:
    from bot.store.models import MessageFlag

    return {
        fl.message_id: fl
        for fl in session.execute(select(MessageFlag).where(MessageFlag.conversation_id == conversation_id)).scalars()
    }


def nlu_export(session: Session, misunderstood_limit: int = 500) -> str:
    """Rasa NLU training data (``version: "3.1"``): the debtor messages behind flagged bot replies, under the
    intent the manager said they meant; then, as comments to label, the messages the bot fell back on."""
    from bot.store.models import MessageFlag

    by_intent: dict[str, list[str]] = defaultdict(list)
    unlabelled: list[str] = []
    for intent, body, read_as in session.execute(
        select(MessageFlag.expected_intent, Message.body, Message.intent)
        .join(Message, Message.id == MessageFlag.debtor_message_id)
        .order_by(MessageFlag.id)
    ):
        line = _example(body)
        if not line:
            continue
        if intent:
            if line not in by_intent[intent]:
                by_intent[intent].append(line)
        else:
            unlabelled.append(f"{line}  (leído como {read_as or '?'})")
    for body, read_as in session.execute(
        select(Message.body, Message.intent)
        .where(Message.direction == "in", or_(Message.intent == "nlu_fallback", Message.confidence < 0.5))
        .order_by(Message.id.desc())
        .limit(misunderstood_limit)
    ):
        line = _example(body)
        if line:
            unlabelled.append(f"{line}  (leído como {read_as or '?'})")
    out = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        out.append(f"- intent: {intent}")
        out.append("  examples: |")
        out.extend(f"    - {line}" for line in by_intent[intent])
    if not by_intent:
        out[-1] = "nlu: []"
    if unlabelled:
        out.append("# Mensajes que el bot no entendió: asígneles una intención antes de entrenar.")
        out.extend(f"#   - {line}" for line in dict.fromkeys(unlabelled))
    return "\n".join(out) + "\n"


# Rasa's NLU examples have no escape for their annotation syntax ("[texto](entidad)", "[texto]{...}",
# "[texto][{...}]"): a debtor could write an entity annotation into the training data. Square brackets in
# the debtor's words become parentheses, so every word stays and no annotation can form.
_NO_ANNOTATION = str.maketrans({"[": "(", "]": ")"})
# What YAML cannot carry (control characters, a byte-order mark) would break the whole file.
_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def _example(body: str | None) -> str:
    """A debtor message as one line of an NLU example: masked, on one line, plain text to Rasa and YAML."""
    text = _NOT_YAML_TEXT.sub("", mask(body or "")).translate(_NO_ANNOTATION)
    return " ".join(text.split())[:300]


__all__ = [
    "Filters",
    "OUTCOMES",
    "REASON_LABELS",
    "COUNTRIES",
    "CHANNELS",
    "INTENTS",
    "outcome_clause",
    "count",
    "conversations",
    "dashboard",
    "ab_table",
    "ab_results",
    "ab_csv",
    "wilson",
    "two_proportion_z",
    "mask",
    "mask_phone",
    "mask_entities",
    "staff_text",
    "list_csv",
    "table_csv",
    "EXPORT_TABLES",
    "local",
    "zone",
    "Dashboard",
    "Row",
    "set_tag",
    "flag_message",
    "flags_for",
    "nlu_export",
]
