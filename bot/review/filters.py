"""The one filter model of the managers' pages, and the SQL predicates every figure and list is built from.

A ``Filters`` value (period, segment, outcome, search ...) is read from a URL's query string and written
back to one (``to_args``), so every figure on the dashboard links to the list of the conversations behind
it with the same filter values plus one more (an outcome, a reason, a variant, an error code).

The dashboard (``dashboard``, ``figures``, ``rollups``), the transcript list (``transcripts``), the A/B table
(``ab``) and the exports all count with the predicates here (``outcome_clause``, ``conditions``, ``events``): a
dashboard figure is ``count(conversations WHERE base AND outcome)``, the list it links to is ``conversations
WHERE base AND outcome`` — the same SQL, so the numbers always agree. That is why they are public and live in
one module that depends on nothing else of the review but the search.

A conversation belongs to a period when it was open in it: first contact before the period's end and last
message after its start. Outcomes are events inside the period (a promise made, a payment approved, a
hand-off opened ...), by the conversation's debtor. Dates are the manager's time zone.

No Flask here: services take a session and return plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Integer, String, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

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
    """The manager's time zone; a missing or unknown name is the default, so a bad setting never breaks a page."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def local(dt: datetime | None, tz: str) -> str:
    """A time as the manager reads it (their zone, to the minute); nothing for no time."""
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


def in_period(column, start: datetime, end: datetime):
    """``start <= column < end``: periods are half-open, so consecutive periods never count an event twice."""
    return and_(column >= start, column < end)


def event_specs(name: str) -> list[tuple[str, Any, Any, list]]:
    """Where outcome ``name`` is recorded: ``[(key kind, key column, time column, conditions)]``. The one list of
    event sources: the live queries (``events``) and the rollup's rows (``rollups``) both read it, so the two ways of
    counting an outcome cannot drift apart."""
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
    for kind, key, at, conds in event_specs(name):
        cols = [key.label("k"), at.label("at")] if with_time else [key.label("k")]
        out.append((kind, select(*cols).where(*conds, in_period(at, start, end))))
    return out


def key_column(kind: str):
    """The conversation's column an event's key is compared with: its debtor, or the conversation itself."""
    return {"debtor": C.c.debtor_id, "conversation": C.c.id}[kind]


def replied_clause(start: datetime, end: datetime):
    """The debtor wrote in the period. ``last_inbound_at`` (kept by the edge with every inbound message) answers
    it from the row itself; only a period that ended before the debtor's latest message needs the messages."""
    wrote = C.c.id.in_(
        select(Message.conversation_id).where(in_period(Message.created_at, start, end), Message.direction == "in")
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
    return or_(*[key_column(kind).in_(q) for kind, q in events(name, start, end)])


def conditions(session: Session, f: Filters) -> list:
    """The WHERE of the conversations ``f`` selects (over ``conversations_from(f)``): the list shows them, and the
    dashboard, the A/B table and the exports count them — one set of conditions, so the figures match the list."""
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
                    NonpaymentReason.reason == f.reason, in_period(NonpaymentReason.created_at, start, end)
                )
            )
        )
    if f.agent:
        where.append(
            C.c.id.in_(
                select(Handoff.conversation_id).where(
                    Handoff.claimed_by == f.agent, in_period(Handoff.created_at, start, end)
                )
            )
        )
    if f.intent:
        where.append(
            C.c.id.in_(
                select(Message.conversation_id).where(
                    Message.intent == f.intent, in_period(Message.created_at, start, end)
                )
            )
        )
    if f.tag:
        where.append(cast(C.c.tags, String).like(f'%"{_like_escape(f.tag)}"%', escape="\\"))
    if f.campaign or f.variant:
        attempts = select(ContactAttempt.debtor_id).where(
            ContactAttempt.status == "sent", in_period(ContactAttempt.sent_at, start, end)
        )
        if f.campaign:
            attempts = attempts.where(ContactAttempt.campaign == f.campaign)
        if f.variant:
            attempts = attempts.where(ContactAttempt.variant == f.variant)
        where.append(C.c.debtor_id.in_(attempts))
    if f.error_code:
        failed = select(Message.conversation_id).where(
            Message.status.in_(FAILED_STATUSES), in_period(Message.created_at, start, end)
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


def conversations_from(f: Filters | None = None):
    """Conversations, with their debtors when something needs them (the list's columns, a country filter)."""
    return with_debtors(f, C)


def with_debtors(f: Filters | None, frm):
    """``frm`` joined to the debtors only when ``f`` needs them (no filter given: always): a join the country filter
    does not need would only slow the dashboard's counts."""
    return frm.outerjoin(D, D.c.id == C.c.debtor_id) if f is None or f.country else frm
