"""The contact gate: may this outbound message go now, and if not, when? For every sender.

Campaign sends always passed the country's contact rules (``contact_policy``); an agent's reply from the
console, a follow-up the next day, the SMS fallback of either and the notices the system sends by itself
(a reversed payment) did not. ``check`` decides for any outbound message, and ``bot.messaging.outbox``
asks it for every row it prepares, so no sender can forget it:

- the bot's (or the system's) answer within the debtor's own inbound turn (``reply``), and a compliance
  answer (``force``: the opt-out confirmation), answer the message that just arrived: ``exempt``. A
  bot or system message prepared outside such a turn (a payment's notice) must not pass ``reply``;
- a campaign send was decided by the campaign worker already, with its own contact records: ``campaign``;
- an agent's or the system's message within the country's ``reply_minutes`` of the debtor's last message
  is an ``answer``: it does not count toward the caps, and goes outside the window only where the
  country's ``replies_outside_hours`` allows it;
- anything else is a ``contact``: the country's window, holidays and caps (which count the agent's and
  the system's earlier contacts as well as the campaign's), else held until the next allowed moment;
- a supervisor's ``override`` (with a reason, audited by the caller) sends now and still counts.

A burst (several messages within ``BURST`` of the last contact) is one contact: an agent who writes two
lines is not capped by their own first line. Pure of the outbox: it reads the store, decides, writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messaging import contact_policy
from bot.messaging.contact_policy import Contact
from bot.store.models import ContactAttempt, Conversation, Debtor, Message

HISTORY_DAYS = 35  # enough for a monthly cap
BURST = timedelta(minutes=10)
COUNTED = ("contact", "override")  # message kinds that count toward the caps (campaigns count by their attempts)
NOT_SENT = ("held", "cancelled")

EXEMPT, CAMPAIGN, ANSWER, CONTACT, OVERRIDE = "exempt", "campaign", "answer", "contact", "override"


def utcnow() -> datetime:
    """The gate's clock (tests move it)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Gate:
    kind: str
    hold_until: datetime | None = None  # aware UTC; None: send now
    reasons: tuple[str, ...] = ()  # why not now (outside_hours, daily_cap ...)
    rules_version: str = ""
    at: datetime | None = None  # the moment it was decided (the message's creation: the caps count from it)

    @property
    def send_now(self) -> bool:
        return self.hold_until is None


def history(session: Session, debtor_id: int, at: datetime) -> list[Contact]:
    """Every contact the caps count: campaign sends (their attempts) and the agent's and system's contacts."""
    since = at - timedelta(days=HISTORY_DAYS)
    attempts = session.execute(
        select(ContactAttempt.sent_at, ContactAttempt.channel).where(
            ContactAttempt.debtor_id == debtor_id,
            ContactAttempt.status == "sent",
            ContactAttempt.sent_at >= since,
        )
    ).all()
    found = [Contact(sent_at, channel or "sms") for sent_at, channel in attempts if sent_at is not None]
    messages = session.execute(
        select(Message.created_at, Message.hold_until, Message.channel)
        .where(
            Message.debtor_id == debtor_id,
            Message.direction == "out",
            Message.contact_kind.in_(COUNTED),
            Message.status.not_in(NOT_SENT),
            Message.created_at >= since,
        )
        .order_by(Message.created_at)
    ).all()
    last: datetime | None = None
    for created, held_until, channel in messages:
        went = max(created, held_until) if held_until else created  # a released message went at its hold
        if last is not None and went - last < BURST:
            continue  # the same burst: one contact
        found.append(Contact(went, channel))
        last = went
    return found


def _is_answer(conversation: Conversation, rules: contact_policy.CountryRules, now: datetime) -> bool:
    last = conversation.last_inbound_at
    return (
        bool(rules.reply_minutes)
        and last is not None
        and timedelta(0) <= now - last <= timedelta(minutes=rules.reply_minutes)
    )


def check(
    session: Session,
    conversation: Conversation,
    debtor: Debtor | None,
    author: str,
    channel: str,
    *,
    reply: bool = False,
    force: bool = False,
    override: bool = False,
    now: datetime | None = None,
) -> Gate:
    """How the gate treats a message ``author`` would send now on ``channel`` (see the module's docstring)."""
    now = now or utcnow()
    if force or debtor is None or (reply and author in ("bot", "system")):
        # no debtor: no country nor zone to apply (a stranger writing to us gets the bot's answers)
        return Gate(EXEMPT, at=now)
    rules = contact_policy.rules_for(debtor.country)
    if override:
        return Gate(OVERRIDE, rules_version=rules.version, at=now)
    if _is_answer(conversation, rules, now) and (
        rules.replies_outside_hours or contact_policy.in_window(rules, now, debtor.timezone)
    ):
        return Gate(ANSWER, rules_version=rules.version, at=now)
    past = [c for c in history(session, debtor.id, now) if not (timedelta(0) <= now - c.at < BURST)]
    decision = contact_policy.decide(debtor.country, debtor.timezone, now, past, channel, rules)
    if decision.allowed:
        return Gate(CONTACT, rules_version=decision.rules_version, at=now)
    # No allowed moment within the policy's search (a country with no window at all): a week on, re-checked then.
    return Gate(CONTACT, decision.next_allowed_at or now + timedelta(days=7), decision.reasons, decision.rules_version)
