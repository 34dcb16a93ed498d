"""The transcript list and what managers mark on transcripts: tags on conversations, flags on bot replies.

The list is the other half of every dashboard figure: it selects the conversations with the predicates of
``filters`` (``conditions``), so a figure's link shows exactly the conversations it counted. Each row carries
its outcomes in the period and the debtor's last message, masked (``masks``). Flags feed the NLU export
(``exports.nlu_export``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.review.filters import INTENTS, C, D, Filters, conditions, conversations_from, events, replied_clause
from bot.review.masks import staff_text
from bot.store.models import Conversation, Debtor, Message, MessageFlag

PAGE_SIZE = 50


@dataclass
class Row:
    """One conversation of the list, as the page and the CSV export show it."""

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


# The outcomes a row shows, in this order (fewer than the dashboard's: those a manager scans a list for).
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
    """How many conversations the list of ``f`` holds (its pages); the same conditions as the list itself."""
    return session.execute(
        select(func.count()).select_from(conversations_from(f)).where(*conditions(session, f))
    ).scalar_one()


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
        .select_from(conversations_from())
        .where(*conditions(session, f))
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


# --- Tags and flags ------------------------------------------------------------------------------------
TAG_RE = re.compile(r"[^\w\- ]+", re.UNICODE)


def clean_tag(tag: str) -> str:
    """A tag as stored: lower case, letters, digits, dashes and spaces, at most 40 characters (the tag filter
    matches the stored form exactly)."""
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
    """The flags of a conversation's messages, by message id (the transcript marks the replies already flagged)."""
    return {
        fl.message_id: fl
        for fl in session.execute(select(MessageFlag).where(MessageFlag.conversation_id == conversation_id)).scalars()
    }
