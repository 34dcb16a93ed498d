"""``inbound_message`` jobs: the worker's side of one debtor message, kept thin.

What a message does (keywords, hand-off, the bot, the answers) is ``bot.conversation.inbox``'s; the job
answers everything of the conversation up to the queued message, then sends what was prepared, in order.
A transient failure (Rasa down, a locked database) leaves the job queued for a retry with backoff.
A periodic sweeper queues again what Redis lost when the webhook could not enqueue it.
"""

from __future__ import annotations

from bot.conversation import inbox
from bot.messaging import outbox
from bot.platform.queue import Job
from bot.store.db import session_scope
from bot.worker.jobs import handles
from bot.worker.main import periodic


@handles(inbox.INBOUND_JOB)
def handle_inbound(job: Job) -> None:
    message_id = int(job.payload["message_id"])
    with session_scope() as session:
        conversation_id = inbox.answer(session, message_id)
        if conversation_id is not None:
            outbox.deliver_pending(session, conversation_id)


@periodic("inbound_sweeper", 60)
def sweep_unqueued() -> int:
    """Queue again inbound messages left unprocessed for a while (Redis was down when they came)."""
    return inbox.requeue_unqueued()
