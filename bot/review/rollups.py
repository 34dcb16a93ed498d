"""Pre-computed dashboard figures: exact, fresh, and fast on 100,000 conversations.

Almost every dashboard figure counts *distinct conversations* ("conversations with a promise in the period"), and
a conversation counts only when it was open in the period (``last_message_at >= start``, ``created_at < end``).
Distinct counts are not additive across time buckets (a debtor who promised on the 3rd and the 20th is one
conversation, not two), so totals per hour or day cannot be summed into a month. What is additive is one row per
conversation, metric and event time that also carries the time of the conversation's *previous* event of the same
metric: a conversation had the metric in ``[start, end)`` exactly when one of its rows in the period has no
previous event, or one before ``start`` — and exactly one row does. So every figure is a plain ``SUM`` over the
rows of the period, for any period and any time zone (no bucket edges), filtered by the segment columns each row
carries (country, channel, the conversation's own period columns). Money is summed per currency (one metric per
currency, ``recovered:MXN``), message counts (delivery failures) per error code.

Freshness: ``refresh`` writes the rows of the conversations changed since the last refresh (the worker runs it
every minute; ``python -m bot rollups refresh [--full | --since]`` by hand). Between refreshes the dashboard asks
``dirty_conversations`` which conversations have rows created or changed since (new ids, ``updated_at`` /
``created_at`` / ``resolved_at`` after the watermark), takes their figures live and the rest from the rollup —
the two sets of conversations are disjoint, so the figures add up exactly. Debtors with more than one
conversation (a changed phone) are always computed live (``_live`` rows), so a payment is never counted twice.

Filters the rollup does not carry (outcome, reason, agent, intent, search, tag, campaign, variant, error code)
make the whole dashboard live (``can_serve``). Rows deleted outside the application (a debtor removed by hand)
need ``rollups refresh --full``.

The rows are computed from the same event sources as the live figures (``filters.event_specs``) and read into
the same ``figures.Figures``; choosing between the rollup and the live queries is the dashboard's job
(``dashboard``), which is why this module knows nothing of the dashboard and the live queries nothing of it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, or_, select, text, union
from sqlalchemy.orm import Session

from bot.review.figures import EVENT_METRICS, Figures
from bot.review.filters import FAILED_STATUSES, PAID_STATUSES, C, D, Filters, conversations_from, event_specs, net_paid
from bot.store.models import (
    AuditLog,
    ContactAttempt,
    Conversation,
    DashboardRollup,
    Debtor,
    DueDateChange,
    Handoff,
    Message,
    NonpaymentReason,
    Payment,
    PaymentLink,
    PaymentPlan,
    Promise,
    RollupState,
)

log = logging.getLogger(__name__)

STATE = "dashboard"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FAR = datetime(9000, 1, 1, tzinfo=timezone.utc)
LIVE = "_live"
SEP = "|"  # between a campaign and a variant in ``sent:<campaign>|<variant>``
# A transaction can commit a little after the time it wrote in updated_at / created_at: the next refresh and the
# dashboard look back this far before the last refresh.
MARGIN = timedelta(minutes=5)
CHUNK = 2000
# With more changed conversations than this (a refresh far behind), the whole dashboard is computed live.
LIVE_LIMIT = 5000
# Tables whose new rows (ids above the refresh's) or changed rows make their conversations "dirty".
TRACKED = {
    "conversations": Conversation,
    "messages": Message,
    "handoffs": Handoff,
    "debtors": Debtor,
    "payments": Payment,
    "payment_links": PaymentLink,
    "promises": Promise,
    "payment_plans": PaymentPlan,
    "due_date_changes": DueDateChange,
    "nonpayment_reasons": NonpaymentReason,
    "audit_log": AuditLog,
    "contact_attempts": ContactAttempt,
}
R = DashboardRollup.__table__


def can_serve(f: Filters) -> bool:
    """The rollup carries the period and the country and channel; any other filter is answered live."""
    return not any((f.outcome, f.reason, f.agent, f.intent, f.q, f.tag, f.campaign, f.variant, f.error_code))


def get_state(session: Session) -> RollupState | None:
    return session.get(RollupState, STATE)


def age_seconds(session: Session, now: datetime | None = None) -> float | None:
    """Seconds since the rollups were last refreshed (a metric: the refresh job stalled), None before the first."""
    refreshed = session.execute(select(RollupState.refreshed_at).where(RollupState.name == STATE)).scalar_one_or_none()
    if refreshed is None:
        return None
    return max(0.0, ((now or datetime.now(timezone.utc)) - refreshed).total_seconds())


# --- Computing the rows --------------------------------------------------------------------------------
def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


@dataclass
class _Conv:
    id: int
    debtor_id: int | None
    created_at: datetime
    last_message_at: datetime | None
    channel: str | None
    country: str | None


def _conversations(session: Session, ids: list[int] | None) -> dict[int, _Conv]:
    q = select(C.c.id, C.c.debtor_id, C.c.created_at, C.c.last_message_at, C.c.last_channel, D.c.country).select_from(
        C.outerjoin(D, D.c.id == C.c.debtor_id)
    )
    out: dict[int, _Conv] = {}
    for part in [None] if ids is None else _chunks(ids):
        for r in session.execute(q if part is None else q.where(C.c.id.in_(part))):
            out[r.id] = _Conv(r.id, r.debtor_id, r.created_at, r.last_message_at, r.last_channel, r.country)
    return out


def _multi_debtors(session: Session, debtor_ids: list[int] | None) -> set[int]:
    """Debtors with more than one conversation."""
    q = select(C.c.debtor_id).where(C.c.debtor_id.isnot(None)).group_by(C.c.debtor_id).having(func.count() > 1)
    if debtor_ids is None:
        return set(session.execute(q).scalars())
    found: set[int] = set()
    for part in _chunks(debtor_ids):
        found.update(session.execute(q.where(C.c.debtor_id.in_(part))).scalars())
    return found


def _sources() -> Iterator[tuple[str, str, Any, Any]]:
    """``(metric or metric prefix, key kind, key column, select of k, at[, suffix, amount])`` for every rolled-up
    figure; the key column is what a computation for some conversations filters on (an index each)."""
    for name in EVENT_METRICS:
        for kind, key, at, conds in event_specs(name):
            column = AuditLog.target_id if name == "verified" else key
            yield name, kind, column, select(key.label("k"), at.label("at")).where(*conds, at.isnot(None))
    nr = NonpaymentReason.__table__
    yield (
        "reason:",
        "debtor",
        nr.c.debtor_id,
        select(nr.c.debtor_id.label("k"), nr.c.created_at.label("at"), nr.c.reason.label("suffix")),
    )
    m = Message.__table__
    yield (
        "failure:",
        "conversation",
        m.c.conversation_id,
        select(
            m.c.conversation_id.label("k"),
            m.c.created_at.label("at"),
            func.coalesce(m.c.error_code, "none").label("suffix"),
        ).where(m.c.status.in_(FAILED_STATUSES)),
    )
    ca = ContactAttempt.__table__
    yield (
        "sent:",
        "debtor",
        ca.c.debtor_id,
        select(
            ca.c.debtor_id.label("k"), ca.c.sent_at.label("at"), (ca.c.campaign + SEP + ca.c.variant).label("suffix")
        ).where(ca.c.status == "sent", ca.c.variant.isnot(None), ca.c.variant != "-", ca.c.sent_at.isnot(None)),
    )
    p = Payment.__table__
    yield (
        "recovered:",
        "debtor",
        p.c.debtor_id,
        select(
            p.c.debtor_id.label("k"),
            p.c.paid_at.label("at"),
            p.c.currency.label("suffix"),
            net_paid(p).label("amount"),
        ).where(p.c.status.in_(PAID_STATUSES), p.c.paid_at.isnot(None)),
    )


def compute(session: Session, ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The rollup rows of these conversations (None: all of them)."""
    convs = _conversations(session, ids)
    debtor_ids = sorted({c.debtor_id for c in convs.values() if c.debtor_id})
    multi = _multi_debtors(session, None if ids is None else debtor_ids)
    by_debtor = {c.debtor_id: c.id for c in convs.values() if c.debtor_id and c.debtor_id not in multi}
    live = {c.id for c in convs.values() if c.debtor_id in multi}
    # (conversation, metric) -> {at: [events, amount]}
    found: dict[tuple[int, str], dict[datetime, list]] = defaultdict(dict)
    for metric, kind, column, q in _sources():
        keys = debtor_ids if kind == "debtor" else sorted(convs)
        parts: Iterable[list[int] | None] = [None] if ids is None else _chunks(keys)
        for part in parts:
            if part is not None and not part:
                continue
            if part is None:
                stmt = q
            elif column is AuditLog.target_id:
                stmt = q.where(column.in_([str(k) for k in part]))
            else:
                stmt = q.where(column.in_(part))
            for r in session.execute(stmt):
                conv_id = by_debtor.get(r.k) if kind == "debtor" else (r.k if r.k not in live else None)
                if conv_id is None or conv_id not in convs or r.at is None:
                    continue
                name = metric + r.suffix if metric.endswith(":") else metric
                slot = found[(conv_id, name)].setdefault(r.at, [0, None])
                slot[0] += 1
                amount = getattr(r, "amount", None)
                if amount is not None:
                    slot[1] = (slot[1] or Decimal(0)) + amount
    rows: list[dict[str, Any]] = []
    for (conv_id, name), times in found.items():
        c = convs[conv_id]
        if c.last_message_at is None:  # never open in any period
            continue
        prev = None
        for at in sorted(times):
            n, amount = times[at]
            rows.append(
                {
                    "conversation_id": conv_id,
                    "metric": name,
                    "at": at,
                    "prev_at": prev,
                    "conv_created_at": c.created_at,
                    "conv_last_message_at": c.last_message_at,
                    "country": c.country,
                    "channel": c.channel,
                    "events": n,
                    "amount": amount,
                }
            )
            prev = at
    for conv_id in sorted(live):
        c = convs[conv_id]
        rows.append(
            {
                "conversation_id": conv_id,
                "metric": LIVE,
                "at": EPOCH,
                "prev_at": None,
                "conv_created_at": c.created_at,
                "conv_last_message_at": c.last_message_at or EPOCH,
                "country": c.country,
                "channel": c.channel,
                "events": 0,
                "amount": None,
            }
        )
    return rows


# --- What changed since the last refresh ---------------------------------------------------------------
def _max_ids(session: Session) -> dict[str, int]:
    return {name: session.execute(select(func.max(model.id))).scalar() or 0 for name, model in TRACKED.items()}


def dirty_conversations(session: Session, since: datetime, max_ids: dict[str, int] | None = None) -> set[int]:
    """Conversations whose rollup rows may be out of date: rows created (an id above ``max_ids``) or changed
    (``updated_at``, ``created_at``, ``resolved_at`` at or after ``since``) in any table a figure reads, plus
    every conversation of the debtors involved."""
    ids = max_ids or {}

    def keys(model, key, *times, extra=()):
        parts = [select(key.label("k")).where(t >= since, *extra) for t in times]
        if max_ids is not None:
            parts.append(select(key.label("k")).where(model.id > ids.get(model.__tablename__, 0), *extra))
        return union(*parts) if len(parts) > 1 else parts[0]

    conv_keys = [
        keys(Conversation, Conversation.id, Conversation.updated_at),
        keys(Message, Message.conversation_id, Message.updated_at, Message.created_at),
        keys(Handoff, Handoff.conversation_id, Handoff.created_at),
    ]
    debtor_keys = [
        keys(Debtor, Debtor.id, Debtor.updated_at),
        keys(Payment, Payment.debtor_id, Payment.updated_at),
        keys(PaymentLink, PaymentLink.debtor_id, PaymentLink.updated_at),
        keys(Promise, Promise.debtor_id, Promise.created_at, Promise.resolved_at),
        keys(PaymentPlan, PaymentPlan.debtor_id, PaymentPlan.created_at),
        keys(DueDateChange, DueDateChange.debtor_id, DueDateChange.created_at),
        keys(NonpaymentReason, NonpaymentReason.debtor_id, NonpaymentReason.created_at),
        keys(ContactAttempt, ContactAttempt.debtor_id, ContactAttempt.updated_at),
        keys(
            AuditLog,
            cast(AuditLog.target_id, Integer),
            AuditLog.created_at,
            extra=(AuditLog.action == "identity_verified", AuditLog.target_type == "debtor"),
        ),
    ]
    conv_ids: set[int] = set()
    for q in conv_keys:
        conv_ids.update(k for k in session.execute(q).scalars() if k is not None)
    debtor_ids: set[int] = set()
    for q in debtor_keys:
        debtor_ids.update(k for k in session.execute(q).scalars() if k is not None)
    for part in _chunks(sorted(conv_ids)):
        debtor_ids.update(
            d
            for d in session.execute(select(C.c.debtor_id).where(C.c.id.in_(part), C.c.debtor_id.isnot(None))).scalars()
        )
    for part in _chunks(sorted(debtor_ids)):
        conv_ids.update(session.execute(select(C.c.id).where(C.c.debtor_id.in_(part))).scalars())
    return conv_ids


def live_conversations(session: Session, state: RollupState) -> set[int]:
    """The conversations the dashboard computes live: changed since the refresh, or always live."""
    found = dirty_conversations(session, state.watermark, state.max_ids or {})
    found.update(session.execute(select(R.c.conversation_id).where(R.c.at == EPOCH, R.c.metric == LIVE)).scalars())
    return found


# --- Refreshing --------------------------------------------------------------------------------------------
@dataclass
class RefreshReport:
    full: bool
    conversations: int
    rows: int
    seconds: float
    total_rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def refresh(
    session: Session,
    full: bool = False,
    since: datetime | None = None,
    now: datetime | None = None,
    margin: timedelta = MARGIN,
) -> RefreshReport:
    """Bring the rollup up to date: every conversation (``full``, or the first time), or those changed since the
    last refresh (or since ``since``). Rows changed less than ``margin`` before the refresh stay live until the
    next one (a transaction may commit after the time it wrote). The caller commits."""
    t0 = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    state = get_state(session)
    max_ids = _max_ids(session)
    # Read everything first, then write: on SQLite the write lock is held only while the rows are replaced.
    if full or state is None:
        rows = compute(session, None)
        conversations = len({r["conversation_id"] for r in rows})
        full = True
        session.execute(delete(R))
    else:
        changed = dirty_conversations(session, state.watermark, state.max_ids or {})
        if since is not None:  # and everything changed since then, even if an earlier refresh saw it
            changed |= dirty_conversations(session, since)
        ids = sorted(changed)
        rows = compute(session, ids) if ids else []
        conversations = len(ids)
        for part in _chunks(ids):
            session.execute(delete(R).where(R.c.conversation_id.in_(part)))
    for offset in range(0, len(rows), 5000):
        session.execute(insert(R), rows[offset : offset + 5000])
    if state is None:
        state = RollupState(name=STATE, watermark=now - margin, max_ids=max_ids, metrics=[], refreshed_at=now, rows=0)
        session.add(state)
    total = session.execute(select(func.count()).select_from(R)).scalar_one()
    state.metrics = sorted(m for m in session.execute(select(R.c.metric).distinct()).scalars() if m != LIVE)
    state.watermark = now - margin
    state.max_ids = max_ids
    state.refreshed_at = now
    state.rows = total
    if full:
        state.full_at = now
        if session.get_bind().dialect.name == "sqlite":  # the planner's statistics of the new rows
            session.execute(text("ANALYZE dashboard_rollups"))
    seconds = time.perf_counter() - t0
    state.seconds = seconds
    session.flush()
    return RefreshReport(full=full, conversations=conversations, rows=len(rows), seconds=seconds, total_rows=total)


# --- Reading ---------------------------------------------------------------------------------------------
def segment(f: Filters, table=R) -> list:
    """The rollup query's conditions: the row in the period, its conversation open in it, the segment."""
    start, end = f.bounds
    conds = [
        table.c.at >= start,
        table.c.at < end,
        table.c.conv_last_message_at >= start,
        table.c.conv_created_at < end,
    ]
    if f.country:
        conds.append(table.c.country == f.country)
    if f.channel:
        conds.append(table.c.channel == f.channel)
    return conds


def read(session: Session, f: Filters, state: RollupState, exclude: set[int]) -> Figures:
    """The figures of the segment and period from the rollup, without the conversations in ``exclude`` (their
    rows are read by conversation and subtracted: cheaper than leaving them out of the scan). ``sent:`` metrics
    land in ``reached``."""
    start, _end = f.bounds
    out = Figures(counts={name: 0 for name in EVENT_METRICS}, recovered={}, reasons={}, failures={})
    metrics = [m for m in state.metrics if not m.startswith("sent:")]  # (A/B reads those: ``rollup_ab_counts``)
    if not metrics:
        return out
    conds = [R.c.metric.in_(metrics), *segment(f)]
    for metric, convs, events, amount in session.execute(query(conds, start)):
        _put(out, metric, int(convs), int(events), amount)
    for part in _chunks(sorted(exclude)):
        for metric, convs, events, amount in session.execute(query([R.c.conversation_id.in_(part), *conds], start)):
            _put(out, metric, -int(convs), -int(events), -amount if amount is not None else None)
    return out


def query(conds: list, start: datetime):
    """Per metric: conversations (rows whose previous event is before the period), events, amount."""
    first = func.sum(case((or_(R.c.prev_at.is_(None), R.c.prev_at < start), 1), else_=0))
    return (
        select(
            R.c.metric,
            first.label("conversations"),
            func.sum(R.c.events).label("events"),
            func.sum(R.c.amount).label("amount"),
        )
        .where(*conds)
        .group_by(R.c.metric)
    )


def _put(out: Figures, metric: str, convs: int, events: int, amount: Decimal | None) -> None:
    if metric in out.counts:
        out.counts[metric] += convs
    elif metric.startswith("reason:"):
        key = metric.removeprefix("reason:")
        out.reasons[key] = out.reasons.get(key, 0) + convs
    elif metric.startswith("failure:"):
        c0, m0 = out.failures.get(metric.removeprefix("failure:"), [0, 0])
        out.failures[metric.removeprefix("failure:")] = [c0 + convs, m0 + events]
    elif metric.startswith("recovered:") and amount is not None:
        key = metric.removeprefix("recovered:")
        out.recovered[key] = out.recovered.get(key, Decimal(0)) + amount
        out.payments[key] = out.payments.get(key, 0) + events
    elif metric.startswith("sent:"):
        out.reached[metric] = out.reached.get(metric, 0) + convs


def _counts(r: dict[str, Any], f: Filters, start: datetime, end: datetime) -> bool:
    """The rollup query's conditions on one computed row (in the period, the conversation open in it, segment)."""
    return (
        start <= r["at"] < end
        and r["conv_last_message_at"] >= start
        and r["conv_created_at"] < end
        and (not f.country or r["country"] == f.country)
        and (not f.channel or r["channel"] == f.channel)
    )


def _silent(start: datetime, end: datetime):
    """``not replied_clause``, written so that a conversation that never wrote (``last_inbound_at`` null) is
    decided by its own row (``NOT (NULL AND ...)`` would make the database build the list of the period's
    messages to tell null from false)."""
    wrote = C.c.id.in_(
        select(Message.conversation_id).where(
            Message.created_at >= start, Message.created_at < end, Message.direction == "in"
        )
    )
    last = C.c.last_inbound_at
    return or_(last.is_(None), last < start, and_(last >= end, ~wrote))


def _first(r: dict[str, Any], start: datetime) -> bool:
    return r["prev_at"] is None or r["prev_at"] < start


def rollup_ab_counts(
    session: Session,
    f: Filters,
    state: RollupState,
    figures: Figures | None,
    exclude: set[int],
    fresh_rows: list[dict[str, Any]],
    where: list,
) -> tuple[dict, dict]:
    """A/B counts (``ab.live_ab_counts``' shape) from the rollup: per campaign and variant, the conversations
    reached in the period (their first ``sent:`` row in it), and among them those that promised or paid (rows of
    the same conversation in the period) and those that replied (reached minus the silent conversations of
    ``where``, the live filter); the money of their payments per currency. The conversations in ``exclude`` are
    left out and counted from ``fresh_rows`` (their rows, computed now)."""
    start, end = f.bounds
    sent = [m for m in state.metrics if m.startswith("sent:")]
    rows: dict[tuple[str, str], list[int]] = {}
    amounts: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    index: dict[str, tuple[str, str]] = {}

    def row(metric: str) -> list[int]:
        if metric not in index:
            campaign, variant = metric.removeprefix("sent:").rsplit(SEP, 1)
            index[metric] = (campaign, variant)
        return rows.setdefault(index[metric], [0, 0, 0, 0])

    S = R.alias("s")
    silent = _silent(start, end)
    if sent:
        # Each reached conversation once per variant (its first sent row in the period), checked against the lists
        # of the conversations that promised, paid, or did not reply (each list built once by the database).
        sent_s = [S.c.metric.in_(sent), or_(S.c.prev_at.is_(None), S.c.prev_at < start), *segment(f, S)]
        if exclude:
            sent_s.append(S.c.conversation_id.notin_(sorted(exclude)))

        def having(metric: str):
            return select(R.c.conversation_id).where(R.c.metric == metric, R.c.at >= start, R.c.at < end)

        silent_ids = select(C.c.id).select_from(conversations_from(f)).where(*where, silent)
        for metric, n_reached, n_silent, n_promise, n_paid in session.execute(
            select(
                S.c.metric,
                func.count(),
                *[
                    func.sum(case((S.c.conversation_id.in_(q), 1), else_=0))
                    for q in (silent_ids, having("promise"), having("paid"))
                ],
            )
            .where(*sent_s)
            .group_by(S.c.metric)
        ):
            tally = row(metric)
            tally[0] += n_reached
            tally[1] += n_reached - int(n_silent or 0)
            tally[2] += int(n_promise or 0)
            tally[3] += int(n_paid or 0)
        recovered = [m for m in state.metrics if m.startswith("recovered:")]
        keep = [R.c.conversation_id.notin_(sorted(exclude))] if exclude else []
        found = [m for m in sent if m in index]
        if recovered and found:
            # The money of the period's payments (few rows), each joined to the variants its conversation was
            # reached in (its first sent row in the period: at most one a variant) — one query for every variant.
            # ``metric || ''`` keeps the database from driving the join from the (many) sent rows: it reads the
            # payments by metric and period, then each one's sent rows by conversation.
            for metric, paid_metric, total in session.execute(
                select(S.c.metric, R.c.metric, func.sum(R.c.amount))
                .select_from(R.join(S, S.c.conversation_id == R.c.conversation_id))
                .where(R.c.metric.in_(recovered), *segment(f), *keep, S.c.metric.concat("").in_(found), *sent_s[1:])
                .group_by(S.c.metric, R.c.metric)
            ):
                if total is not None:
                    amounts[index[metric] + (paid_metric.removeprefix("recovered:"),)] += total
    # The changed conversations, from their rows computed now.
    reached: dict[str, set[int]] = defaultdict(set)
    flags: dict[str, set[int]] = {"promise": set(), "paid": set()}
    money: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for r in fresh_rows:
        if r["metric"] == LIVE or not _counts(r, f, start, end):
            continue
        if r["metric"].startswith("sent:") and _first(r, start):
            reached[r["metric"]].add(r["conversation_id"])
        elif r["metric"] in flags:
            flags[r["metric"]].add(r["conversation_id"])
        elif r["metric"].startswith("recovered:"):
            money[r["conversation_id"]].append((r["metric"].removeprefix("recovered:"), r["amount"]))
    if reached:
        mine = set().union(*reached.values())
        silent_ids = set(
            session.execute(
                select(C.c.id).select_from(conversations_from(f)).where(*where, silent, C.c.id.in_(sorted(mine)))
            ).scalars()
        )
        for metric, convs in reached.items():
            tally = row(metric)
            tally[0] += len(convs)
            tally[1] += len(convs - silent_ids)
            tally[2] += len(convs & flags["promise"])
            tally[3] += len(convs & flags["paid"])
            for conv in convs:
                for currency, amount in money.get(conv, ()):
                    amounts[index[metric] + (currency,)] += amount
    return {key: counts for key, counts in rows.items() if counts[0] > 0}, amounts


def evaluate(rows: list[dict[str, Any]], f: Filters) -> tuple[Figures, set[int]]:
    """The figures of rows just computed (``compute``) for the segment and period — the rollup's query, in
    Python — and the conversations among them that must be answered by the live queries (``_live``)."""
    start, end = f.bounds
    out = Figures(counts={name: 0 for name in EVENT_METRICS}, recovered={}, reasons={}, failures={})
    sums: dict[str, list] = {}
    live: set[int] = set()
    for r in rows:
        if r["metric"] == LIVE:
            live.add(r["conversation_id"])
            continue
        if not _counts(r, f, start, end):
            continue
        s = sums.setdefault(r["metric"], [0, 0, None])
        s[0] += int(r["prev_at"] is None or r["prev_at"] < start)
        s[1] += r["events"]
        if r["amount"] is not None:
            s[2] = (s[2] or Decimal(0)) + r["amount"]
    for metric, (convs, events, amount) in sums.items():
        _put(out, metric, convs, events, amount)
    return out, live


__all__ = [
    "can_serve",
    "compute",
    "refresh",
    "read",
    "evaluate",
    "rollup_ab_counts",
    "dirty_conversations",
    "live_conversations",
    "get_state",
    "RefreshReport",
    "segment",
    "query",
]
