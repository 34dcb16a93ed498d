"""Retention: what Recobra holds about debtors goes once its period is over (``config/retention.yml``).

Three kinds, each with its own period: message bodies (the store's ``messages``; the row stays, its content goes),
Rasa's tracker events (``bot.lifecycle.tracker_events``) and contact records (``contact_attempts``, kept for the
legal period of the debtor's country, then deleted). Whatever its age, nothing goes that an open promise, an active
payment plan, a live hand-off or an unsettled debt still needs: the conversation of such a debtor keeps its words
(an agent or a dispute may need them), and a contact still to be made or about a disputed invoice keeps its record.
Payments, invoices and the audit log are accounting records: never pruned here.

``run`` takes the clock and a dry-run flag, so the same code answers "what would go" and prunes; the caller owns
the store's transaction (the tracker store, a separate database on SQLite, commits its own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, func, not_, null, or_, select, union, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.lifecycle import tracker_events
from bot.platform import policies
from bot.store import audit
from bot.store.models import ContactAttempt, Conversation, Debtor, Handoff, Invoice, Message, PaymentPlan, Promise

KINDS = ("message_bodies", "tracker_events", "contact_records")


class PolicyError(ValueError):
    """config/retention.yml says something that cannot be a period."""


@dataclass(frozen=True)
class Policy:
    version: str
    scheduled: bool
    message_bodies_days: int
    tracker_events_days: int
    contact_default_days: int
    contact_days: dict[str, int] = field(default_factory=dict)  # country (ISO alpha-2) -> days

    def contact_days_for(self, country: str) -> int:
        return self.contact_days.get(country, self.contact_default_days)


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PolicyError(f"config/retention.yml: {where} must be a whole number of days, at least 1 (got {value!r})")
    return value


def load_policy(raw: dict[str, Any] | None = None) -> Policy:
    """The policy in ``config/retention.yml`` (or ``raw``, for a test)."""
    raw = policies.load("retention") if raw is None else raw
    contact = raw.get("contact_records") or {}
    default = contact.get("default") or {}
    countries = contact.get("countries") or {}
    return Policy(
        version=str(raw.get("version", "")),
        scheduled=bool(raw.get("scheduled", True)),
        message_bodies_days=_days(raw.get("message_bodies_days"), "message_bodies_days"),
        tracker_events_days=_days(raw.get("tracker_events_days"), "tracker_events_days"),
        contact_default_days=_days(default.get("days"), "contact_records.default.days"),
        contact_days={
            str(code).upper(): _days((rule or {}).get("days"), f"contact_records.countries.{code}.days")
            for code, rule in countries.items()
        },
    )


@dataclass
class KindReport:
    """One kind (and for contact records one country, ``*`` for the default): ``count`` rows pruned (or that a dry
    run would prune), ``held`` rows past their period kept because something still needs them."""

    kind: str
    days: int
    cutoff: datetime
    count: int = 0
    held: int = 0
    country: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat().replace("+00:00", "Z")
        if self.country is None:
            data.pop("country")
        return data


@dataclass
class Report:
    at: datetime
    dry_run: bool
    version: str
    kinds: list[KindReport] = field(default_factory=list)
    tracker_store: str = "absent"  # "absent": Rasa never wrote one (no table yet)

    def total(self, kind: str) -> int:
        return sum(k.count for k in self.kinds if k.kind == kind)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "dry_run": self.dry_run,
            "version": self.version,
            "tracker_store": self.tracker_store,
            "totals": {kind: self.total(kind) for kind in KINDS},
            "kinds": [k.as_json() for k in self.kinds],
        }

    def table(self) -> list[str]:
        verb = "would prune" if self.dry_run else "pruned"
        lines = [f"{'kind':16} {'country':7} {'period':>8} {'older than':20} {verb:>11} {'kept (needed)':>13}"]
        for k in self.kinds:
            lines.append(
                f"{k.kind:16} {k.country or '':7} {str(k.days) + ' d':>8} {k.cutoff:%Y-%m-%d %H:%M} UTC "
                f"{k.count:>11} {k.held:>13}"
            )
        if self.tracker_store == "absent":
            lines.append("(no Rasa tracker store yet: nothing to prune there)")
        return lines


def _needed_debtors():
    """Debtors that something still needs: an open promise, an active plan, a live hand-off, an unsettled invoice."""
    return union(
        select(Promise.debtor_id).where(Promise.status == "open"),
        select(PaymentPlan.debtor_id).where(PaymentPlan.status == "active"),
        select(Handoff.debtor_id).where(Handoff.status != "closed", Handoff.debtor_id.is_not(None)),
        select(Invoice.debtor_id).where(Invoice.status.in_(("open", "disputed")), Invoice.balance > 0),
    )


def _needed_conversations():
    return union(
        select(Conversation.id).where(Conversation.debtor_id.in_(_needed_debtors())),
        select(Handoff.conversation_id).where(Handoff.status != "closed", Handoff.conversation_id.is_not(None)),
    )


def needed_phones(session: Session) -> set[str]:
    """Conversation ids (phones) in Rasa whose history is still needed."""
    phones = set(
        session.execute(select(Conversation.phone).where(Conversation.id.in_(_needed_conversations()))).scalars()
    )
    phones |= set(session.execute(select(Debtor.phone).where(Debtor.id.in_(_needed_debtors()))).scalars())
    return phones


def _count(session: Session, model, *where) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _message_bodies(session: Session, policy: Policy, at: datetime, dry_run: bool) -> KindReport:
    cutoff = at - timedelta(days=policy.message_bodies_days)
    report = KindReport("message_bodies", policy.message_bodies_days, cutoff)
    old = and_(Message.created_at < cutoff, Message.redacted_at.is_(None))
    held = or_(
        Message.conversation_id.in_(_needed_conversations()),
        and_(Message.debtor_id.is_not(None), Message.debtor_id.in_(_needed_debtors())),
    )
    report.held = _count(session, Message, old, held)
    if dry_run:
        report.count = _count(session, Message, old, not_(held))
        return report
    result = session.execute(
        update(Message)
        .where(old, not_(held))
        .values(body="", media=[], entities=null(), content_variables=null(), choices=null(), redacted_at=at)
        .execution_options(synchronize_session=False)
    )
    report.count = result.rowcount or 0
    return report


def _contact_records(session: Session, policy: Policy, at: datetime, dry_run: bool) -> list[KindReport]:
    listed = sorted(policy.contact_days)
    held = or_(
        ContactAttempt.status.in_(("planned", "deferred")),  # a contact still to be made
        and_(
            ContactAttempt.invoice_id.is_not(None),
            ContactAttempt.invoice_id.in_(select(Invoice.id).where(Invoice.status == "disputed")),
        ),
    )
    reports = []
    for country in [*listed, None]:
        days = policy.contact_days[country] if country else policy.contact_default_days
        cutoff = at - timedelta(days=days)
        in_country = Debtor.country == country if country else Debtor.country.not_in(listed)
        old = and_(
            ContactAttempt.created_at < cutoff, ContactAttempt.debtor_id.in_(select(Debtor.id).where(in_country))
        )
        report = KindReport("contact_records", days, cutoff, country=country or "*")
        report.held = _count(session, ContactAttempt, old, held)
        if dry_run:
            report.count = _count(session, ContactAttempt, old, not_(held))
        else:
            result = session.execute(
                sa.delete(ContactAttempt).where(old, not_(held)).execution_options(synchronize_session=False)
            )
            report.count = result.rowcount or 0
        reports.append(report)
    return reports


def _tracker_events(
    session: Session, policy: Policy, at: datetime, dry_run: bool, tracker: Engine | None, report: Report
) -> KindReport:
    cutoff = at - timedelta(days=policy.tracker_events_days)
    kind = KindReport("tracker_events", policy.tracker_events_days, cutoff)
    if tracker is None:
        return kind
    keep = needed_phones(session)
    with tracker.begin() as conn:
        if not tracker_events.has_events(conn):
            return kind
        report.tracker_store = tracker.dialect.name
        cuts = tracker_events.prunable(conn, cutoff.timestamp(), set())
        kept = [c for c in cuts if c.sender_id in keep]
        cuts = [c for c in cuts if c.sender_id not in keep]
        kind.held = tracker_events.count(conn, kept)
        kind.count = tracker_events.count(conn, cuts) if dry_run else tracker_events.delete(conn, cuts)
    return kind


def run(
    session: Session,
    *,
    at: datetime | None = None,
    dry_run: bool = False,
    tracker: Engine | None = None,
    policy: Policy | None = None,
    actor: str = "worker",
) -> Report:
    """Prune (or, dry, count) every kind past its period at ``at``; records the run in the audit log."""
    at = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    policy = policy or load_policy()
    report = Report(at=at, dry_run=dry_run, version=policy.version)
    report.kinds.append(_message_bodies(session, policy, at, dry_run))
    report.kinds.append(_tracker_events(session, policy, at, dry_run, tracker, report))
    report.kinds.extend(_contact_records(session, policy, at, dry_run))
    if not dry_run:
        audit.record(
            session,
            actor=actor,
            action="retention.run",
            target_type="store",
            details={"version": policy.version, "totals": report.as_json()["totals"]},
        )
    return report
