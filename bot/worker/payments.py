"""Payment jobs: ``mp_notification`` (fetch the payment from the provider, apply it once) and the periodic
reconciliation (notifications can be lost: re-check active links and open payments, expire old links).

Each job opens its own session; the debtor's messages prepared while applying are queued for sending
only after the transaction committed. A provider that cannot be reached raises ``Retry``: the queue
keeps the job and tries again later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from bot.billing import offers, payment_events, payment_links
from bot.conversation import payment_notices
from bot.messaging.send_queue import enqueue_send
from bot.platform.queue import Job, Retry
from bot.platform.redis_client import get_redis
from bot.providers import factory
from bot.providers.ports import OPEN_STATUSES, PaymentProviderError, ProviderUnavailable
from bot.store.db import session_scope
from bot.store.models import Payment, PaymentLink
from bot.worker.jobs import handles
from bot.worker.main import periodic

log = logging.getLogger(__name__)

NOTIFICATION_JOB = "mp_notification"
# Links that expired this recently are still searched: a cash ticket can be paid up to its own deadline.
LATE_PAYMENT_WINDOW = timedelta(days=3)


def queue_sends(conversations: list[tuple[int, str]]) -> None:
    for conversation_id, phone in conversations:
        try:
            enqueue_send(phone, conversation_id)
        except Exception:  # Redis down: the outbound sweeper sends what stayed pending
            log.exception("could not queue the sending for conversation %s", conversation_id)


def apply_info(provider_name: str, info: dict[str, Any], now: datetime | None = None) -> payment_events.Outcome:
    """Apply one fetched payment in its own transaction (billing moves the money, the conversation tells the
    debtor and opens hand-offs), then queue the debtor's messages."""
    with session_scope() as session:
        outcome = payment_events.apply(session, provider_name, info, now=now, notices=payment_notices)
    queue_sends(outcome.conversations)
    return outcome


def process_payment(
    payment_id: str, provider_name: str | None = None, now: datetime | None = None
) -> payment_events.Outcome:
    """Fetch the payment from the provider (never trust a notification's body) and apply it."""
    provider = factory.payment_provider(provider_name)
    try:
        info = provider.get_payment(str(payment_id))
    except ProviderUnavailable as exc:
        raise Retry(str(exc)) from exc
    try:
        return apply_info(provider.name, info, now=now)
    except ProviderUnavailable as exc:  # a fresh link could not be created for a rejected payment
        raise Retry(str(exc)) from exc


@handles(NOTIFICATION_JOB)
def handle_notification(job: Job) -> None:
    payment_id = str(job.payload.get("payment_id") or "")
    if not payment_id:
        return
    try:
        outcome = process_payment(payment_id, job.payload.get("provider") or None)
    except PaymentProviderError as exc:  # not found, bad credentials: retrying the same job will not help
        if isinstance(exc, ProviderUnavailable):
            raise
        log.warning("Mercado Pago notification for payment %s dropped: %s", payment_id, exc)
        return
    log.info("payment %s: %s (%s)", payment_id, outcome.action, outcome.status)


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Re-check active (and recently expired) links and open payments with the provider, then expire
    links past their time. Returns counts (for logs and tests)."""
    now = now or datetime.now(timezone.utc)
    counts = {"links_checked": 0, "payments_checked": 0, "changed": 0, "expired": 0, "errors": 0}
    window = (PaymentLink.status.in_(("active", "expired")), PaymentLink.expires_at > now - LATE_PAYMENT_WINDOW)
    with session_scope() as session:
        links = session.execute(
            select(PaymentLink.reference, PaymentLink.provider).where(*window).order_by(PaymentLink.id)
        ).all()
        open_payments = session.execute(
            select(Payment.provider_id, Payment.provider, Payment.status).where(
                Payment.status.in_(tuple(OPEN_STATUSES))
            )
        ).all()
        known = {
            (p, pid): st
            for pid, p, st in session.execute(
                select(Payment.provider_id, Payment.provider, Payment.status)
                .join(PaymentLink, PaymentLink.id == Payment.payment_link_id)
                .where(*window)
            ).all()
        }
    seen: set[tuple[str, str]] = set()
    for reference, provider_name in links:
        counts["links_checked"] += 1
        try:
            provider = factory.payment_provider(provider_name)
            found = provider.search_payments(reference)
        except (PaymentProviderError, LookupError) as exc:
            counts["errors"] += 1
            log.warning("reconciliation: cannot search payments of %s: %s", reference, exc)
            continue
        for info in found:
            key = (provider.name, str(info.get("id")))
            seen.add(key)
            if known.get(key) == info.get("status"):
                continue
            counts["changed"] += _apply_safely(provider.name, info, now, counts)
    for provider_id, provider_name, status in open_payments:
        if (provider_name, provider_id) in seen:
            continue
        counts["payments_checked"] += 1
        try:
            info = factory.payment_provider(provider_name).get_payment(provider_id)
        except (PaymentProviderError, LookupError) as exc:
            counts["errors"] += 1
            log.warning("reconciliation: cannot fetch payment %s: %s", provider_id, exc)
            continue
        if info.get("status") != status:
            counts["changed"] += _apply_safely(provider_name, info, now, counts)
    with session_scope() as session:
        counts["expired"] = payment_links.expire_links(session, now)
        counts["offers_expired"] = offers.expire_offers(session, now)
    if counts["changed"] or counts["expired"] or counts["offers_expired"] or counts["errors"]:
        log.info("payments reconciled: %s", counts)
    return counts


def _apply_safely(provider_name: str, info: dict[str, Any], now: datetime, counts: dict[str, int]) -> int:
    try:
        outcome = apply_info(provider_name, info, now=now)
    except Exception:  # one bad payment must not stop the others; it is tried again next run
        counts["errors"] += 1
        log.exception("reconciliation: payment %s could not be applied", info.get("id"))
        return 0
    return int(outcome.action not in ("unchanged", "ignored"))


@periodic("payments_reconcile", 300)
def reconcile_job() -> None:
    """Every 5 minutes, in one worker process at a time (a Redis lock shared by all of them)."""
    if not get_redis().set("recobra:lock:payments_reconcile", 1, nx=True, ex=240):
        return
    reconcile()
