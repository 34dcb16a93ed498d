"""Dunning campaigns: who gets which reminder now, who is suppressed and why, who must wait.

The planner loads everything it needs in a fixed number of queries (independent of the number of
debtors) and decides in Python: campaign and stage by days past due in the debtor's own time zone,
suppression (paid, promise pending, plan current, dispute, human hands, opted out, wrong number,
replied today), then the country's contact policy, which defers rather than drops. Payment plans are
followed up the same way: a reminder the day before each instalment, and a plan too many days late is
broken, with a follow-up to the debtor and a hand-off to an agent (``config/payment_plan_policy.yml``). Executing a
plan records one ContactAttempt per debtor + invoice + stage + day (a unique key) before anything
is sent, so several workers or a restart mid-run never send twice.
"""

from __future__ import annotations

import hashlib
import string
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing import payment_plans, promises
from bot.conversation import handoffs
from bot.lifecycle import erased_phones
from bot.messaging import contact_policy
from bot.platform import metrics
from bot.platform.config import ROOT
from bot.platform.masking import mask_phone
from bot.platform.redis_client import get_queue
from bot.store.models import (
    ContactAttempt,
    Conversation,
    Debtor,
    ErasedPhone,
    Instalment,
    Invoice,
    Message,
    NonpaymentReason,
    PaymentPlan,
    PaymentPlanItem,
    Promise,
)

CAMPAIGNS_FILE = ROOT / "config" / "campaigns.yml"
BAD_CONTACT = {"wrong_number", "invalid_number", "landline", "unsubscribed", "erased"}
HISTORY_DAYS = 35


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int
    whatsapp_template: str
    text: str


@dataclass(frozen=True)
class Stage:
    name: str
    offset_days: int
    channels: tuple[str, ...]
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Segment:
    min_days_past_due: int | None = None
    max_days_past_due: int | None = None
    min_balance: Decimal | None = None
    max_balance: Decimal | None = None
    countries: tuple[str, ...] = ()
    previous_reasons: tuple[str, ...] = ()
    promise_broken: bool | None = None


@dataclass(frozen=True)
class Campaign:
    name: str
    segment: Segment
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class Config:
    campaigns: tuple[Campaign, ...]
    followups: dict[str, Variant]


# The only placeholder a campaign text may use: the sender. A text goes out before anyone proved who they
# are, so a name, an amount or a date in it would tell a debt to whoever holds the phone now.
TEXT_PLACEHOLDERS = frozenset({"business"})


class CampaignConfigError(ValueError):
    pass


def check_text(name: str, text: str) -> str:
    """``text`` if it uses no placeholder but ``{business}``; else CampaignConfigError."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise CampaignConfigError(f"campaign text {name!r}: {exc}") from exc
    extra = sorted(fields - TEXT_PLACEHOLDERS)
    if extra:
        raise CampaignConfigError(
            f"campaign text {name!r} uses {', '.join(extra)}: only {{business}} may be used "
            "before the person is verified"
        )
    return text


def _variant(name: str, raw: dict, weight: int = 100) -> Variant:
    return Variant(
        name=name,
        weight=int(raw.get("weight", weight)),
        whatsapp_template=raw.get("whatsapp_template", "reengage"),
        text=check_text(name, raw.get("sms", "")),
    )


@lru_cache(maxsize=4)
def load(path: Path = CAMPAIGNS_FILE) -> Config:
    data = yaml.safe_load(path.read_text())
    campaigns = []
    for c in data.get("campaigns", []):
        seg = c.get("segment") or {}
        segment = Segment(
            min_days_past_due=seg.get("min_days_past_due"),
            max_days_past_due=seg.get("max_days_past_due"),
            min_balance=Decimal(str(seg["min_balance"])) if seg.get("min_balance") is not None else None,
            max_balance=Decimal(str(seg["max_balance"])) if seg.get("max_balance") is not None else None,
            countries=tuple(x.upper() for x in seg.get("countries", [])),
            previous_reasons=tuple(seg.get("previous_reasons", [])),
            promise_broken=seg.get("promise_broken"),
        )
        stages = []
        for s in c["stages"]:
            variants = (
                tuple(_variant(v["name"], v) for v in s["variants"]) if s.get("variants") else (_variant("-", s),)
            )
            stages.append(
                Stage(
                    name=s["name"],
                    offset_days=int(s["offset_days"]),
                    channels=tuple(s.get("channels", ["whatsapp", "sms"])),
                    variants=variants,
                )
            )
        campaigns.append(Campaign(name=c["name"], segment=segment, stages=tuple(stages)))
    followups = {name: _variant(name, raw) for name, raw in (data.get("followups") or {}).items()}
    return Config(campaigns=tuple(campaigns), followups=followups)


@dataclass
class Planned:
    """One decision of the planner."""

    kind: str  # campaign, promise_reminder, promise_broken
    key: str
    debtor_id: int
    invoice_id: int | None
    campaign: str
    stage: str
    variant: str | None
    channel: str | None
    outcome: str  # send, deferred, suppressed
    reason: str | None
    scheduled_for: datetime
    rules_version: str = ""
    promise_id: int | None = None
    attempt_id: int | None = None
    failed_attempt_id: int | None = None  # the WhatsApp attempt this SMS replaces


@dataclass
class Plan:
    at: datetime
    items: list[Planned] = field(default_factory=list)
    queries: int = 0
    # open promises whose date has passed in the debtor's zone: ``execute`` marks them broken, whether or
    # not a follow-up may go out (opted out, paused, disputed, in human hands) — a promise's status is
    # bookkeeping, the follow-up only a message
    broken_promises: list[int] = field(default_factory=list)
    # open promises whose invoice is already paid (a payment made elsewhere, an update from the billing system):
    # never broken, whatever their date; ``execute`` marks them kept
    kept_promises: list[int] = field(default_factory=list)
    # active plans whose instalment is too late (plan id, days late): ``execute`` breaks them and hands each to an
    # agent, whether or not the follow-up may go out; and active plans whose invoice is paid: completed
    broken_plans: list[tuple[int, int]] = field(default_factory=list)
    completed_plans: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for item in self.items:
            out["due"] += 1
            if item.outcome == "suppressed":
                out[f"suppressed: {item.reason}"] += 1
            elif item.outcome == "deferred":
                out[f"deferred: {item.reason}"] += 1
            else:
                out["to send"] += 1
        return dict(out)


def invoice_paid(status: str, balance: Decimal) -> bool:
    """Nothing is owed on the invoice any more: a promise or instalment on it is never broken."""
    return status == "paid" or balance <= 0


def pick_variant(stage: Stage, seed: str) -> Variant:
    """A stable split: the same debtor always lands in the same variant of a stage."""
    total = sum(v.weight for v in stage.variants) or 1
    bucket = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % total
    for v in stage.variants:
        if bucket < v.weight:
            return v
        bucket -= v.weight
    return stage.variants[-1]


def segment_matches(
    seg: Segment, debtor: Debtor, dpd: int, balance: Decimal, last_reason: str | None, broke_promise: bool
) -> bool:
    if seg.min_days_past_due is not None and dpd < seg.min_days_past_due:
        return False
    if seg.max_days_past_due is not None and dpd > seg.max_days_past_due:
        return False
    if seg.min_balance is not None and balance < seg.min_balance:
        return False
    if seg.max_balance is not None and balance > seg.max_balance:
        return False
    if seg.countries and debtor.country not in seg.countries:
        return False
    if seg.previous_reasons and last_reason not in seg.previous_reasons:
        return False
    if seg.promise_broken is not None and broke_promise != seg.promise_broken:
        return False
    return True


def stage_offset(campaign: str, stage: str, config: Config | None = None) -> int | None:
    """The offset in days from the due date of a campaign's stage (None for follow-ups or an unknown stage)."""
    for c in (config or load()).campaigns:
        if c.name == campaign:
            return next((s.offset_days for s in c.stages if s.name == stage), None)
    return None


def attempt_key(debtor_id: int, invoice_id: int | None, stage: str, day: date) -> str:
    return f"{debtor_id}:{invoice_id or '-'}:{stage}:{day.isoformat()}"


def followup_key(debtor_id: int, invoice_id: int, stage: str, promise_id: int) -> str:
    """A promise follow-up's attempt key: once per promise and stage (``…:sms`` when sent again by SMS)."""
    return f"{debtor_id}:{invoice_id}:{stage}:{promise_id}"


# Follow-ups about a payment plan: their keys carry the instalment's id (reminder) or the plan's (broken).
PLAN_FOLLOWUPS = ("instalment_reminder", "plan_broken")


def followup_promise_id(key: str) -> int | None:
    """The promise a follow-up's attempt key (``followup_key``, maybe with ``:sms``) is about."""
    fields = key.split(":")
    if len(fields) >= 3 and fields[2] in PLAN_FOLLOWUPS:
        return None
    return int(fields[3]) if len(fields) >= 4 and fields[3].isdigit() else None


class _Loaded:
    """What the planner needs, loaded in a fixed number of queries."""

    def __init__(self, session: Session, at: datetime, max_offset: int, min_offset: int) -> None:
        self.queries = 0
        today = at.date()
        lo = today - timedelta(days=max_offset + 2)
        hi = today - timedelta(days=min_offset - 2)
        rows = self._all(
            session,
            select(Invoice, Debtor)
            .join(Debtor, Invoice.debtor_id == Debtor.id)
            .where(
                Invoice.status.in_(("open", "disputed")),
                Invoice.balance > 0,
                Invoice.due_date >= lo,
                Invoice.due_date <= hi,
            ),
        )
        self.invoices: list[tuple[Invoice, Debtor]] = [(r[0], r[1]) for r in rows]
        self.open_promises: dict[int, Promise] = {}
        self.broken: set[int] = set()
        for p in self._scalars(session, select(Promise).where(Promise.status.in_(("open", "broken")))):
            if p.status == "open":
                self.open_promises[p.invoice_id] = p
            else:
                self.broken.add(p.debtor_id)
        # the invoices of active plans over several (plan id -> (invoice, ...), oldest due first)
        self.plan_items: dict[int, list[Invoice]] = defaultdict(list)
        for plan_id, inv in self._all(
            session,
            select(PaymentPlanItem.plan_id, Invoice)
            .join(Invoice, PaymentPlanItem.invoice_id == Invoice.id)
            .join(PaymentPlan, PaymentPlanItem.plan_id == PaymentPlan.id)
            .where(PaymentPlan.status == "active")
            .order_by(PaymentPlanItem.plan_id, PaymentPlanItem.position),
        ):
            self.plan_items[plan_id].append(inv)
        self.current_plans: set[int] = set()
        overdue: set[int] = set()
        for inst, plan in self._all(
            session,
            select(Instalment, PaymentPlan)
            .join(PaymentPlan)
            .where(PaymentPlan.status == "active", Instalment.status == "pending"),
        ):
            covered = [plan.invoice_id] if plan.invoice_id is not None else [i.id for i in self.plan_items[plan.id]]
            if inst.due_date < today:
                overdue.update(covered)
            self.current_plans.update(covered)
        self.current_plans -= overdue
        self.conversations: dict[int, Conversation] = {
            c.debtor_id: c
            for c in self._scalars(session, select(Conversation).where(Conversation.debtor_id.is_not(None)))
        }
        # phones whose owner was erased on request: never contacted again, whoever they are pushed for now
        self.erased = frozenset(self._scalars(session, select(ErasedPhone.digest)))
        self.last_reason: dict[int, str] = {}
        for r in self._scalars(session, select(NonpaymentReason).order_by(NonpaymentReason.id)):
            self.last_reason[r.debtor_id] = r.reason
        since = at - timedelta(days=HISTORY_DAYS)
        self.history: dict[int, list[contact_policy.Contact]] = defaultdict(list)
        self.keys: dict[str, ContactAttempt] = {}
        for a in self._scalars(session, select(ContactAttempt).where(ContactAttempt.created_at >= since)):
            self.keys[a.key] = a
            if a.status == "sent" and a.sent_at is not None:
                self.history[a.debtor_id].append(contact_policy.Contact(a.sent_at, a.channel or "sms"))
        # WhatsApp campaign messages that failed or were undelivered: the same stage goes again by SMS.
        self.failed_whatsapp = [
            (a, d)
            for a, d in self._all(
                session,
                select(ContactAttempt, Debtor)
                .join(Message, ContactAttempt.message_id == Message.id)
                .join(Debtor, ContactAttempt.debtor_id == Debtor.id)
                .where(
                    ContactAttempt.channel == "whatsapp",
                    ContactAttempt.status == "sent",
                    ContactAttempt.sent_at >= since,
                    Message.status.in_(("failed", "undelivered")),
                ),
            )
        ]
        self.due_promises = [
            (p, inv, d)
            for p, inv, d in self._all(
                session,
                select(Promise, Invoice, Debtor)
                .join(Invoice, Promise.invoice_id == Invoice.id)
                .join(Debtor, Promise.debtor_id == Debtor.id)
                .where(
                    Promise.status == "open",
                    Promise.promised_date >= today - timedelta(days=3),
                    Promise.promised_date <= today + timedelta(days=2),
                )
                .order_by(Promise.id),
            )
        ]
        # pending instalments of active plans due by the day after tomorrow anywhere: reminders, late, broken
        # (a plan over several invoices stands for them by the oldest still owed: one follow-up per instalment,
        # "paid" when none is owed any more)
        self.due_instalments: list[tuple[Instalment, PaymentPlan, Invoice, Debtor]] = [
            (i, p, inv if inv is not None else self._plan_invoice(p.id), d)
            for i, p, inv, d in self._all(
                session,
                select(Instalment, PaymentPlan, Invoice, Debtor)
                .join(PaymentPlan, Instalment.plan_id == PaymentPlan.id)
                .outerjoin(Invoice, PaymentPlan.invoice_id == Invoice.id)
                .join(Debtor, PaymentPlan.debtor_id == Debtor.id)
                .where(
                    PaymentPlan.status == "active",
                    Instalment.status == "pending",
                    Instalment.due_date <= today + timedelta(days=2),
                )
                .order_by(Instalment.plan_id, Instalment.number),
            )
        ]
        # every open promise whose date may have passed somewhere (the exact day is the debtor's zone's)
        self.open_promises_due = self._all(
            session,
            select(Promise.id, Promise.promised_date, Debtor.timezone, Invoice.status, Invoice.balance)
            .join(Debtor, Promise.debtor_id == Debtor.id)
            .join(Invoice, Promise.invoice_id == Invoice.id)
            .where(Promise.status == "open", Promise.promised_date <= today + timedelta(days=1)),
        )

    def _plan_invoice(self, plan_id: int) -> Invoice:
        """The invoice a plan over several stands for: the oldest still owed, else the last (all paid)."""
        invoices = self.plan_items[plan_id]
        return next((inv for inv in invoices if not invoice_paid(inv.status, inv.balance)), invoices[-1])

    def is_erased(self, debtor: Debtor) -> bool:
        return debtor.erased_at is not None or (bool(self.erased) and erased_phones.digest(debtor.phone) in self.erased)

    def _all(self, session: Session, stmt) -> list:
        self.queries += 1
        return list(session.execute(stmt).all())

    def _scalars(self, session: Session, stmt) -> list:
        self.queries += 1
        return list(session.execute(stmt).scalars())


def _suppression(data: _Loaded, inv: Invoice, debtor: Debtor, today: date) -> str | None:
    if data.is_erased(debtor):
        return "erased"
    if debtor.opted_out:
        return "opted_out"
    if debtor.contact_status in BAD_CONTACT:
        return "wrong_number" if debtor.contact_status == "wrong_number" else "invalid_contact"
    if inv.status == "disputed":
        return "dispute_open"
    if inv.reminders_paused:
        return "reminders_paused"
    promise = data.open_promises.get(inv.id)
    if promise is not None and promise.promised_date >= today:
        return "promise_pending"
    if inv.id in data.current_plans:
        return "plan_current"
    conv = data.conversations.get(debtor.id)
    if conv is not None and conv.mode == "human":
        return "in_human_hands"
    if conv is not None and conv.last_inbound_at is not None:
        if conv.last_inbound_at.astimezone(ZoneInfo(debtor.timezone)).date() == today:
            return "replied_today"
    return None


def _followup(
    debtor: Debtor, inv: Invoice, kind: str, key: str, at: datetime, promise_id: int | None = None
) -> Planned:
    """A follow-up (of a promise or a plan) to send now, on the debtor's channel; the caller may suppress it."""
    return Planned(
        kind=kind,
        key=key,
        debtor_id=debtor.id,
        invoice_id=inv.id,
        campaign="followup",
        stage=kind,
        variant=None,
        channel=_channel(debtor, ("whatsapp", "sms")),
        outcome="send",
        reason=None,
        scheduled_for=at,
        promise_id=promise_id,
    )


def _channel(debtor: Debtor, stage_channels: Iterable[str]) -> str:
    for ch in stage_channels:
        if ch == "whatsapp" and debtor.whatsapp:
            return "whatsapp"
        if ch == "sms":
            return "sms"
    return "sms"


def _decide(item: Planned, debtor: Debtor, at: datetime, history: list[contact_policy.Contact]) -> None:
    decision = contact_policy.decide(debtor.country, debtor.timezone, at, history, item.channel or "sms")
    item.rules_version = decision.rules_version
    if decision.allowed:
        item.outcome = "send"
        item.scheduled_for = at
    else:
        item.outcome = "deferred"
        item.reason = ",".join(decision.reasons)
        item.scheduled_for = decision.next_allowed_at or at + timedelta(days=1)


def plan(session: Session, at: datetime | None = None, config: Config | None = None) -> Plan:
    at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    config = config or load()
    offsets = [s.offset_days for c in config.campaigns for s in c.stages] or [0]
    data = _Loaded(session, at, max(offsets), min(offsets))
    result = Plan(at=at)
    stage_index = {c.name: {s.offset_days: s for s in c.stages} for c in config.campaigns}

    # Group invoices per debtor: a debtor is in one campaign (chosen by its oldest open invoice) and
    # gets at most one campaign message per run.
    per_debtor: dict[int, list[tuple[Invoice, Debtor]]] = defaultdict(list)
    for inv, debtor in data.invoices:
        per_debtor[debtor.id].append((inv, debtor))
    for debtor_id, items in per_debtor.items():
        debtor = items[0][1]
        today = at.astimezone(ZoneInfo(debtor.timezone)).date()
        items.sort(key=lambda x: x[0].due_date)
        oldest = items[0][0]
        oldest_dpd = (today - oldest.due_date).days
        total = sum((i.balance for i, _ in items), Decimal(0))
        campaign = next(
            (
                c
                for c in config.campaigns
                if segment_matches(
                    c.segment, debtor, oldest_dpd, total, data.last_reason.get(debtor_id), debtor_id in data.broken
                )
            ),
            None,
        )
        if campaign is None:
            continue
        for inv, _ in items:
            dpd = (today - inv.due_date).days
            stage = stage_index[campaign.name].get(dpd)
            if stage is None:
                continue
            key = attempt_key(debtor_id, inv.id, stage.name, today)
            if key in data.keys:
                continue  # already planned, sent, deferred or suppressed for this day
            variant = pick_variant(stage, f"{debtor_id}:{campaign.name}:{stage.name}")
            item = Planned(
                kind="campaign",
                key=key,
                debtor_id=debtor_id,
                invoice_id=inv.id,
                campaign=campaign.name,
                stage=stage.name,
                variant=variant.name if len(stage.variants) > 1 else None,
                channel=_channel(debtor, stage.channels),
                outcome="send",
                reason=None,
                scheduled_for=at,
            )
            reason = _suppression(data, inv, debtor, today)
            if reason:
                item.outcome, item.reason = "suppressed", reason
            else:
                _decide(item, debtor, at, data.history[debtor_id])
            result.items.append(item)
            break  # one campaign message per debtor per run

    for promise_id, promised_date, tz, invoice_status, invoice_balance in data.open_promises_due:
        if invoice_paid(invoice_status, invoice_balance):
            result.kept_promises.append(promise_id)
        elif promised_date < at.astimezone(ZoneInfo(tz)).date():
            result.broken_promises.append(promise_id)

    # Promise follow-ups: the day before the promised date, and the day after a missed one. A debtor who promised
    # several invoices for the same day (one promise each) gets one message: the others are recorded as said.
    said: dict[tuple[int, str, date], Planned] = {}
    for promise, inv, debtor in data.due_promises:
        if invoice_paid(inv.status, inv.balance):
            continue  # nothing to remind of: the promise is kept (above)
        today = at.astimezone(ZoneInfo(debtor.timezone)).date()
        if promise.promised_date == today + timedelta(days=1):
            kind = "promise_reminder"
        elif promise.promised_date < today:
            kind = "promise_broken"
        else:
            continue
        key = followup_key(debtor.id, inv.id, kind, promise.id)
        if key in data.keys:
            continue
        item = _followup(debtor, inv, kind, key, at, promise_id=promise.id)
        first = said.get((debtor.id, kind, promise.promised_date))
        if first is not None and first.outcome in ("send", "deferred"):
            item.outcome, item.reason = "suppressed", "same_day_message"
        elif data.is_erased(debtor):
            item.outcome, item.reason = "suppressed", "erased"
        elif debtor.opted_out:
            item.outcome, item.reason = "suppressed", "opted_out"
        elif debtor.contact_status in BAD_CONTACT:
            item.outcome, item.reason = "suppressed", "invalid_contact"
        elif inv.reminders_paused:  # "ya pagué" being checked, or a dispute
            item.outcome, item.reason = "suppressed", "reminders_paused"
        elif (conv := data.conversations.get(debtor.id)) is not None and conv.mode == "human":
            item.outcome, item.reason = "suppressed", "in_human_hands"
        else:
            _decide(item, debtor, at, data.history[debtor.id])
        said.setdefault((debtor.id, kind, promise.promised_date), item)
        result.items.append(item)

    _plan_followups(result, data, at)

    # A WhatsApp message that did not arrive: the same stage by SMS, where the debtor and the rules allow.
    for attempt, debtor in data.failed_whatsapp:
        key = f"{attempt.key}:sms"
        if key in data.keys:
            continue
        item = Planned(
            kind="campaign" if attempt.campaign != "followup" else attempt.stage,
            key=key,
            debtor_id=attempt.debtor_id,
            invoice_id=attempt.invoice_id,
            campaign=attempt.campaign,
            stage=attempt.stage,
            variant=attempt.variant,
            channel="sms",
            outcome="send",
            reason=None,
            scheduled_for=at,
            failed_attempt_id=attempt.id,
        )
        if data.is_erased(debtor):
            item.outcome, item.reason = "suppressed", "erased"
        elif debtor.opted_out or debtor.contact_status in BAD_CONTACT:
            item.outcome, item.reason = "suppressed", "opted_out" if debtor.opted_out else "invalid_contact"
        else:
            # the failed message never reached the debtor: it does not count as a contact
            history = [c for c in data.history[debtor.id] if c.at != attempt.sent_at]
            _decide(item, debtor, at, history)
        result.items.append(item)

    # Deferred attempts whose moment has come are planned again (policy re-checked).
    for attempt in data.keys.values():
        if attempt.status == "deferred" and attempt.scheduled_for <= at:
            result.items.append(
                Planned(
                    kind="campaign" if attempt.campaign != "followup" else attempt.stage,
                    key=attempt.key,
                    debtor_id=attempt.debtor_id,
                    invoice_id=attempt.invoice_id,
                    campaign=attempt.campaign,
                    stage=attempt.stage,
                    variant=attempt.variant,
                    channel=attempt.channel,
                    outcome="retry",
                    reason=None,
                    scheduled_for=at,
                    attempt_id=attempt.id,
                )
            )
    result.queries = data.queries
    return result


def _followup_suppression(data: _Loaded, inv: Invoice, debtor: Debtor) -> str | None:
    """Why no automated follow-up may go to this debtor about this invoice (None: the contact policy decides)."""
    if data.is_erased(debtor):
        return "erased"
    if debtor.opted_out:
        return "opted_out"
    if debtor.contact_status in BAD_CONTACT:
        return "invalid_contact"
    if inv.reminders_paused:  # "ya pagué" being checked, or a dispute
        return "reminders_paused"
    if (conv := data.conversations.get(debtor.id)) is not None and conv.mode == "human":
        return "in_human_hands"
    return None


def _plan_followups(result: Plan, data: _Loaded, at: datetime) -> None:
    """Payment plans: a reminder the day before each instalment; a plan too many days late is broken (``execute``
    breaks it and hands it to an agent) and the debtor gets one follow-up. A plan whose invoice is paid is done."""
    pol = payment_plans.policy()
    seen: set[int] = set()
    for inst, the_plan, inv, debtor in data.due_instalments:
        if invoice_paid(inv.status, inv.balance):
            if the_plan.id not in seen:
                result.completed_plans.append(the_plan.id)  # paid some other way: never late, never broken
            seen.add(the_plan.id)
            continue
        today = at.astimezone(ZoneInfo(debtor.timezone)).date()
        if result.broken_plans and result.broken_plans[-1][0] == the_plan.id:
            continue  # breaking now: no reminder of its next instalment
        if inst.due_date == today + timedelta(days=1):
            kind, about = "instalment_reminder", inst.id
        elif the_plan.id in seen:
            continue  # only the oldest pending instalment says how late a plan is
        elif (late := (today - inst.due_date).days) >= payment_plans.broken_after_days(debtor.country, pol):
            seen.add(the_plan.id)
            result.broken_plans.append((the_plan.id, late))
            kind, about = "plan_broken", the_plan.id
        else:
            seen.add(the_plan.id)
            continue
        key = followup_key(debtor.id, inv.id, kind, about)
        if key in data.keys:
            continue
        item = _followup(debtor, inv, kind, key, at)
        reason = _followup_suppression(data, inv, debtor)
        if reason:
            item.outcome, item.reason = "suppressed", reason
        else:
            _decide(item, debtor, at, data.history[debtor.id])
        result.items.append(item)


def _settle_plans(session: Session, the_plan: Plan) -> None:
    """Break the plans too late (each handed to an agent) and complete the ones whose invoice is paid."""
    late = dict(the_plan.broken_plans)
    for plan_row in session.scalars(select(PaymentPlan).where(PaymentPlan.id.in_(list(late)))):
        if not payment_plans.mark_broken(session, plan_row, late[plan_row.id]):
            continue
        debtor = session.get(Debtor, plan_row.debtor_id)
        if debtor is None or debtor.erased_at is not None:
            continue
        handoffs.open(
            session,
            debtor.phone,
            debtor,
            "plan_broken",
            summary=f"Plan de pagos incumplido: {late[plan_row.id]} días de atraso en una cuota.",
        )
    for plan_row in session.scalars(select(PaymentPlan).where(PaymentPlan.id.in_(the_plan.completed_plans))):
        payment_plans.mark_completed(session, plan_row)


def record(session: Session, item: Planned) -> ContactAttempt | None:
    """Write the attempt row for a planned item; None when another worker already did (the unique key)."""
    if item.attempt_id is not None:
        attempt = session.get(ContactAttempt, item.attempt_id)
        if attempt is None or attempt.status != "deferred":
            return None
        attempt.status = "planned"
        attempt.scheduled_for = item.scheduled_for
        session.flush()
        return attempt
    status = {"send": "planned", "deferred": "deferred", "suppressed": "suppressed"}[item.outcome]
    attempt = ContactAttempt(
        key=item.key,
        debtor_id=item.debtor_id,
        invoice_id=item.invoice_id,
        campaign=item.campaign,
        stage=item.stage,
        variant=item.variant,
        channel=item.channel,
        status=status,
        reason=item.reason,
        rules_version=item.rules_version,
        scheduled_for=item.scheduled_for,
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        return None
    if item.failed_attempt_id is not None:
        failed = session.get(ContactAttempt, item.failed_attempt_id)
        if failed is not None:
            failed.status, failed.reason = "failed", "whatsapp_not_delivered"
    return attempt


def history_for(session: Session, debtor_id: int, at: datetime) -> list[contact_policy.Contact]:
    rows = session.execute(
        select(ContactAttempt).where(
            and_(
                ContactAttempt.debtor_id == debtor_id,
                ContactAttempt.status == "sent",
                ContactAttempt.sent_at >= at - timedelta(days=HISTORY_DAYS),
            )
        )
    ).scalars()
    return [contact_policy.Contact(a.sent_at, a.channel or "sms") for a in rows]


# What a run did with one contact. ``queued``: recorded and handed to the worker, which sends it at the real
# clock after checking again what may have changed (so a run never says "sent": it does not send);
# ``would_queue``: the same in a dry run, where nothing is recorded or queued; ``deferred``: the contact
# policy said not now, ``when`` is the next allowed moment; ``suppressed``: not at all, ``reason`` says why;
# ``skipped``: another worker or run had already recorded this contact.
RUN_STATUSES = ("queued", "would_queue", "deferred", "suppressed", "skipped")


@dataclass(frozen=True)
class RunDecision:
    """One decision of a run as an operator sees it: the debtor by external id and a masked phone only (the
    output goes to terminals, cron mail and files), never a full phone, a name or a document number."""

    debtor: str
    phone: str
    campaign: str
    stage: str
    channel: str | None
    status: str
    reason: str | None
    when: datetime | None  # aware, in the debtor's zone: the planned moment, or the end of a deferral
    timezone: str

    def as_json(self) -> dict[str, object]:
        return {
            "debtor": self.debtor,
            "phone": self.phone,
            "campaign": self.campaign,
            "stage": self.stage,
            "channel": self.channel,
            "status": self.status,
            "reason": self.reason,
            "when": self.when.isoformat() if self.when else None,
            "timezone": self.timezone,
        }

    def detail(self) -> str:
        """The table's last column: when (in the debtor's zone) or why."""
        local = f"{self.when:%Y-%m-%d %H:%M} {self.timezone}" if self.when else ""
        if self.status == "deferred":
            return f"until {local} ({self.reason or 'contact policy'})"
        if self.status == "suppressed":
            return self.reason or "other"
        if self.status == "skipped":
            return "already recorded by another worker or run"
        return f"planned for {local}" if local else ""


@dataclass
class RunReport:
    """Every decision of a run, and its totals (the worker logs the totals, the CLI prints both)."""

    at: datetime | None = None
    dry_run: bool = False
    decisions: list[RunDecision] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(1 for d in self.decisions if d.status == status)

    @property
    def due(self) -> int:
        return len(self.decisions)

    @property
    def queued(self) -> int:
        """Handed to the worker (or, in a dry run, that would be)."""
        return self._count("would_queue" if self.dry_run else "queued")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    def _reasons(self, status: str) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for d in self.decisions:
            if d.status == status:
                out[d.reason or "other"] += 1
        return dict(sorted(out.items()))

    @property
    def suppressed(self) -> dict[str, int]:
        return self._reasons("suppressed")

    @property
    def deferred(self) -> dict[str, int]:
        return self._reasons("deferred")

    def rows(self) -> list[tuple[str, int]]:
        out = [("due", self.due), ("would queue" if self.dry_run else "queued", self.queued)]
        out += [(f"deferred: {k}", v) for k, v in self.deferred.items()]
        out += [(f"suppressed: {k}", v) for k, v in self.suppressed.items()]
        if self.skipped:
            out.append(("already handled elsewhere", self.skipped))
        return out

    def table(self) -> list[str]:
        """One line per decision (status in plain words, when in the debtor's zone or why), then the totals."""
        head = ("debtor", "phone", "campaign", "stage", "channel", "status", "when / why")
        body = [
            (d.debtor, d.phone, d.campaign, d.stage, d.channel or "-", d.status.replace("_", " "), d.detail())
            for d in self.decisions
        ]
        widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head) - 1)]
        lines = [
            "  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in [head, *body]
        ]
        if not body:
            lines = ["  nothing due"]
        width = max(len(k) for k, _ in self.rows())
        lines += ["", "  totals"]
        lines += [f"  {label:<{width}}  {value:>7}" for label, value in self.rows()]
        return lines


def _debtor_facts(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """External id, phone and zone of the run's debtors, in chunks (SQLite caps the bound parameters)."""
    out: dict[int, tuple[str, str, str]] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), 5000):
        chunk = ordered[i : i + 5000]
        rows = session.execute(
            select(Debtor.id, Debtor.external_id, Debtor.phone, Debtor.timezone).where(Debtor.id.in_(chunk))
        ).all()
        out.update({r[0]: (r[1], r[2], r[3]) for r in rows})
    return out


def execute(
    session: Session,
    the_plan: Plan,
    dry_run: bool = False,
    enqueue: Callable[[str, int], None] | None = None,
    progress: Callable[[int], object] | None = None,
) -> RunReport:
    """Record every decision and hand the sends to the worker (``enqueue(phone, attempt_id)``).

    Returns what was decided for each contact: queued (the worker sends it, re-checking at the real clock),
    deferred until when, suppressed and why; a dry run records and queues nothing and says ``would_queue``."""
    report = RunReport(at=the_plan.at, dry_run=dry_run)
    facts = _debtor_facts(session, {i.debtor_id for i in the_plan.items}) if the_plan.items else {}
    for item in the_plan.items:
        status = _carry_out(session, the_plan, item, dry_run, enqueue, facts)
        if not dry_run:
            reason = item.reason if status in ("deferred", "suppressed") else None
            metrics.CAMPAIGN_DECISIONS.labels(item.campaign, status, metrics.label(reason)).inc()
        external_id, phone, zone = facts.get(item.debtor_id, (str(item.debtor_id), "", "UTC"))
        timed = status in ("queued", "would_queue", "deferred")
        when = item.scheduled_for.astimezone(ZoneInfo(zone)) if timed else None
        report.decisions.append(
            RunDecision(
                debtor=external_id,
                phone=mask_phone(phone),
                campaign=item.campaign,
                stage=item.stage,
                channel=item.channel,
                status=status,
                reason=item.reason if status in ("deferred", "suppressed") else None,
                when=when,
                timezone=zone,
            )
        )
        if progress:
            progress(1)
    if not dry_run:
        for promise in session.scalars(
            select(Promise).where(Promise.id.in_(the_plan.broken_promises), Promise.status == "open")
        ):
            promises.mark_broken(session, promise, at=the_plan.at)
        for promise in session.scalars(
            select(Promise).where(Promise.id.in_(the_plan.kept_promises), Promise.status == "open")
        ):
            promises.mark_kept(session, promise)
        _settle_plans(session, the_plan)
        session.commit()
    return report


def _carry_out(
    session: Session,
    the_plan: Plan,
    item: Planned,
    dry_run: bool,
    enqueue: Callable[[str, int], None] | None,
    facts: dict[int, tuple[str, str, str]],
) -> str:
    """Record one planned item (unless a dry run) and queue its send; its status in ``RUN_STATUSES``."""
    if item.outcome == "retry":
        debtor = session.get(Debtor, item.debtor_id)
        _decide(item, debtor, the_plan.at, history_for(session, item.debtor_id, the_plan.at))
        if item.outcome == "deferred":
            if not dry_run:
                attempt = session.get(ContactAttempt, item.attempt_id)
                attempt.scheduled_for = item.scheduled_for
                attempt.reason = item.reason
            return "deferred"
    if dry_run:
        return "would_queue" if item.outcome == "send" else item.outcome
    attempt = record(session, item)
    if attempt is None:
        return "skipped"
    if attempt.status != "planned":
        return attempt.status  # deferred or suppressed, as planned
    session.commit()  # the attempt exists before the send is queued: never twice
    if enqueue is not None:
        enqueue(facts[item.debtor_id][1], attempt.id)
    return "queued"


def enqueue_send(phone: str, attempt_id: int) -> None:
    """Hand one planned contact to the worker (keyed by the debtor's conversation: in order)."""
    get_queue().enqueue(phone, "campaign_send", {"attempt_id": attempt_id})
