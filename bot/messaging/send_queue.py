"""Queueing the sending of a conversation's pending messages: the ``send_message`` job.

Whoever prepares outbound rows outside an inbound turn (an agent's reply or quick action in the console,
a payment's notice) commits them and then calls ``queue_send``; the worker's ``send_message`` handler
runs ``outbox.deliver_pending``. It lives here, beside the outbox, so the web and the worker both reach
it from below instead of through each other. Keyed by the debtor's phone, the job shares the partition
of that conversation's inbound messages, so the order holds.
"""

from __future__ import annotations

from bot.platform.redis_client import get_queue
from bot.store.models import Conversation

SEND_JOB = "send_message"


def enqueue_send(phone: str, conversation_id: int) -> str:
    """Queue a ``send_message`` job for the conversation (call after committing its rows)."""
    return get_queue().enqueue(phone, SEND_JOB, {"conversation_id": conversation_id})


def queue_send(conversation: Conversation) -> str:
    """Queue the sending of the conversation's pending messages (call after committing them)."""
    return enqueue_send(conversation.phone, conversation.id)
