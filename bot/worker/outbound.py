"""``send_message`` jobs: send a conversation's pending outbound messages, in order.

Agent replies and any other outbound message recorded outside an inbound turn go through here:
``bot.messaging.send_queue.queue_send`` after the rows are committed. Keyed by the debtor's phone, the
job shares the partition of that conversation's inbound messages, so the order holds. A transient
provider failure raises ``Retry`` (the queue backs off with jitter and tries again); a sweeper queues
again what stayed pending (Redis was down at the time). ``release_held`` releases the messages the contact
gate held (outside the debtor's allowed window) when their time comes (``bot.messaging.held``).
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from sqlalchemy import select

from bot.messaging import contact_gate, held, outbox
from bot.messaging.send_queue import SEND_JOB, enqueue_send, queue_send
from bot.platform.queue import Job
from bot.platform.redis_client import get_redis
from bot.store.db import session_scope
from bot.store.models import Conversation, Message
from bot.worker.jobs import handles
from bot.worker.main import periodic

log = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=2)


def send_agent_message(session, conversation: Conversation, body: str, agent_id: int | None) -> list[Message]:
    """Record an agent's reply on the conversation's last channel, commit it, and queue its sending."""
    rows = outbox.prepare_text(session, conversation, body, author="agent", agent_id=agent_id)
    session.commit()
    queue_send(conversation)
    return rows


@periodic("release_held", 60)
def release_held() -> int:
    """Release (or hold further, or cancel) the held messages whose time has come; safe with several workers:
    each row leaves ``held`` once (``held.release``'s conditional update), and the send is idempotent."""
    now = contact_gate.utcnow()
    with session_scope() as session:
        due = held.due_conversations(session, now)
    released = 0
    for conversation_id, phone in due:
        with session_scope() as session:
            outcome = outbox.retry_on_lock(session, functools.partial(held.release, session, conversation_id, now))
        if outcome.sent:
            enqueue_send(phone, conversation_id)
            released += outcome.sent
    return released


@handles(SEND_JOB)
def handle_send(job: Job) -> None:
    with session_scope() as session:
        outbox.deliver_pending(session, int(job.payload["conversation_id"]))


@periodic("outbound_sweeper", 60)
def sweep_pending() -> int:
    cutoff = outbox.utcnow() - SWEEP_AFTER
    with session_scope() as session:
        rows = session.execute(
            select(Conversation.id, Conversation.phone)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(
                Message.direction == "out",
                Message.status == "pending",
                Message.provider_sid.is_(None),
                Message.created_at < cutoff,
            )
            .distinct()
        ).all()
    redis, queued = get_redis(), 0
    for conversation_id, phone in rows:
        if redis.set(f"recobra:swept-out:{conversation_id}", 1, nx=True, ex=600):
            enqueue_send(phone, conversation_id)
            queued += 1
    return queued
