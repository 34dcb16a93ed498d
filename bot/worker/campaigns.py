"""Campaign sends in the worker, and the periodic run that plans them.

A send re-checks, at the moment it happens, what may have changed since it was planned (opted out,
paid, a due date moved so that the stage's day has not come, the contact policy), enters the Rasa
conversation as ``EXTERNAL_reminder`` (so the debtor's reply is understood in context; Rasa's reply
text is the campaign's text), and goes out through the messaging service exactly like a reply: on
WhatsApp inside the 24-hour window as text, outside it as the stage's approved template, else by SMS.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.billing import payment_plans
from bot.conversation import handoffs, rasa_client
from bot.lifecycle import erased_phones
from bot.messaging import contact_gate, contact_policy, outbox
from bot.outreach import campaigns
from bot.platform import logs, metrics
from bot.platform.config import get_settings
from bot.platform.queue import Job
from bot.store import session_scope
from bot.store.models import ContactAttempt, Debtor, Instalment, Invoice, PaymentPlan, Promise
from bot.worker.jobs import handles
from bot.worker.main import periodic

log = logging.getLogger(__name__)


def now() -> datetime:
    """The clock of a send (tests move it)."""
    return datetime.now(timezone.utc)


def trigger_reminder(phone: str, stage: str, text: str) -> list[tuple[str, list[dict] | None]]:
    """Inject EXTERNAL_reminder into the debtor's Rasa conversation; returns the bot's texts and their choices."""
    return rasa_client.trigger_intent_answers(
        phone, "EXTERNAL_reminder", {"reminder_text": text, "campaign_stage": stage}
    )


def _variant(attempt: ContactAttempt) -> campaigns.Variant | None:
    config = campaigns.load()
    if attempt.campaign == "followup":
        return config.followups.get(attempt.stage)
    for c in config.campaigns:
        if c.name != attempt.campaign:
            continue
        for stage in c.stages:
            if stage.name == attempt.stage:
                if attempt.variant:
                    return next((v for v in stage.variants if v.name == attempt.variant), stage.variants[0])
                return stage.variants[0]
    return None


def _promise_settled(session, attempt: ContactAttempt) -> bool:
    """The promise a follow-up is about was kept or replaced since it was planned."""
    promise_id = campaigns.followup_promise_id(attempt.key)
    if promise_id is None:
        return False
    promise = session.get(Promise, promise_id)
    if promise is None:
        return True
    if attempt.stage == "promise_reminder":
        return promise.status != "open"
    return promise.status not in ("open", "broken")  # promise_broken: unless kept or replaced meanwhile


def _plan_settled(session, attempt: ContactAttempt) -> bool:
    """A payment plan's follow-up that is no longer true: the instalment was paid (or its plan is no longer
    active) since a reminder was planned, or a broken plan was replaced by a new one."""
    about = attempt.key.split(":")[3]
    if attempt.stage == "instalment_reminder":
        inst = session.get(Instalment, int(about))
        return inst is None or inst.status != "pending" or inst.plan.status != "active"
    plan = session.get(PaymentPlan, int(about))
    return plan is None or plan.status != "broken"


def _plan_invoice(session, attempt: ContactAttempt) -> Invoice | None:
    """For a follow-up of a plan over several invoices: the oldest of them still owed (the last one when all are
    paid), so that one invoice paid since planning does not silence the plan's reminder. None for any other."""
    about = int(attempt.key.split(":")[3])
    if attempt.stage == "instalment_reminder":
        inst = session.get(Instalment, about)
        plan = inst.plan if inst is not None else None
    else:
        plan = session.get(PaymentPlan, about)
    if plan is None or plan.invoice_id is not None:
        return None
    invoices = payment_plans.plan_invoices(session, plan)
    return next(
        (inv for inv in invoices if inv.balance > 0 and inv.status == "open"), invoices[-1] if invoices else None
    )


def _before_its_day(attempt: ContactAttempt, invoice: Invoice, debtor: Debtor, at: datetime) -> bool:
    """A campaign stage whose day has not come in the debtor's zone (a D0 before the due date).

    The planner only plans a stage on its day, but the due date can move after planning (a new date was
    agreed), and an attempt planned at a pretend clock (before ``campaign run --at`` became dry-run only)
    may still be waiting: whatever the cause, a stage never goes out before its day. Later is fine (the
    contact policy defers, never drops)."""
    offset = campaigns.stage_offset(attempt.campaign, attempt.stage)
    if offset is None:
        return False
    today = at.astimezone(ZoneInfo(debtor.timezone)).date()
    return (today - invoice.due_date).days < offset


def _still_due(session, attempt: ContactAttempt, debtor: Debtor, at: datetime) -> str | None:
    """Why this contact should no longer go out (things change between plan and send)."""
    if debtor.erased_at is not None or erased_phones.is_erased(session, debtor.phone):
        return "erased"  # the number's owner asked to be erased: never contacted again
    if debtor.opted_out:
        return "opted_out"
    if debtor.contact_status in campaigns.BAD_CONTACT:
        return "invalid_contact"
    invoice = session.get(Invoice, attempt.invoice_id) if attempt.invoice_id else None
    if attempt.stage in campaigns.PLAN_FOLLOWUPS:
        invoice = _plan_invoice(session, attempt) or invoice
    if invoice is not None and (invoice.balance <= 0 or invoice.status in ("paid", "cancelled")):
        return "paid"
    if invoice is not None and invoice.reminders_paused:
        return "reminders_paused"
    if invoice is not None and _before_its_day(attempt, invoice, debtor, at):
        return "before_stage_day"
    if attempt.stage in campaigns.PLAN_FOLLOWUPS:
        if _plan_settled(session, attempt):
            return "plan_settled"
    elif attempt.campaign == "followup" and _promise_settled(session, attempt):
        return "promise_settled"
    conv = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
    if conv.mode == "human" and not _handed_off_for_it(session, attempt, conv.id):
        return "in_human_hands"
    return None


def _handed_off_for_it(session, attempt: ContactAttempt, conversation_id: int) -> bool:
    """The conversation is in human hands because this very plan broke: the debtor is still told, once, that
    someone will write (the agent takes the reply)."""
    if attempt.stage != "plan_broken":
        return False
    live = handoffs.live(session, conversation_id)
    return live is not None and live.reason == "plan_broken"


@handles("campaign_send")
def campaign_send(job: Job) -> None:
    at = now()
    with session_scope() as session:
        attempt = session.get(ContactAttempt, job.payload["attempt_id"])
        if attempt is None:
            return
        debtor = session.get(Debtor, attempt.debtor_id)
        conv = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
        logs.bind(conversation_id=conv.id, campaign=attempt.campaign, stage=attempt.stage)
        if attempt.status == "sent":  # a retried job: finish delivering what was prepared
            outbox.deliver_pending(session, conv.id)
            return
        if attempt.status != "planned":
            return
        reason = _still_due(session, attempt, debtor, at)
        if reason:
            attempt.status, attempt.reason = "suppressed", reason
            _count(attempt, "suppressed", reason)
            return
        decision = contact_policy.decide(
            debtor.country, debtor.timezone, at, contact_gate.history(session, debtor.id, at), attempt.channel or "sms"
        )  # the agent's and the system's contacts count toward the caps too
        if not decision.allowed:
            attempt.status, attempt.reason = "deferred", ",".join(decision.reasons)
            attempt.scheduled_for = decision.next_allowed_at or at
            _count(attempt, "deferred", attempt.reason)
            return
        decided = contact_gate.Gate(contact_gate.CAMPAIGN, rules_version=decision.rules_version)  # counted by attempt
        variant = _variant(attempt)
        if variant is None:
            attempt.status, attempt.reason = "failed", "unknown stage"
            _count(attempt, "failed", "unknown_stage")
            return
        text = variant.text.format(business=get_settings().business_name)
        answers = trigger_reminder(debtor.phone, attempt.stage, text) or [(text, None)]
        if attempt.channel == "whatsapp" and not outbox.in_whatsapp_window(conv, at):
            values: dict[str, object] = {"business": get_settings().business_name}
            rows = [outbox.prepare_template(session, conv, variant.whatsapp_template, values, gate=decided)]
        else:
            rows = []
            for t, offered in answers:  # on WhatsApp inside the window with its buttons, on SMS numbered
                rows += outbox.prepare_text(
                    session, conv, t, author="bot", channel=attempt.channel, now=at, gate=decided, choices=offered
                )
        attempt.status, attempt.sent_at = "sent", at
        attempt.rules_version = decision.rules_version
        attempt.message_id = rows[0].id if rows else None
        session.commit()
        _count(attempt, "sent", None)
        outbox.deliver_pending(session, conv.id)


def _count(attempt: ContactAttempt, outcome: str, reason: str | None) -> None:
    metrics.CAMPAIGN_SENDS.labels(metrics.label(attempt.campaign), outcome, metrics.label(reason)).inc()


@periodic("campaigns", 300)
def run_campaigns() -> None:
    """Plan and hand out what is due now; safe with several workers (idempotent attempt keys)."""
    if not get_settings().campaigns_scheduled:
        return
    with session_scope() as session:
        the_plan = campaigns.plan(session)
        report = campaigns.execute(session, the_plan, enqueue=campaigns.enqueue_send)
    if report.due:
        log.info("campaign run: %s", ", ".join(f"{k}={v}" for k, v in report.rows() if v))
