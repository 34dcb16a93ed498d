"""The messages the worker's scheduler injects (``EXTERNAL_`` intents through ``trigger_intent``): a reminder,
the promised day, a payment received. They go out unprompted, so they reach only a known, reachable debtor
who has not opted out, name the creditor, and disclose nothing before the identity check."""

from __future__ import annotations

from actions.base import AWAITING, INTRODUCED, PENDING_CONFIRMATION, PENDING_REQUEST, Ctx
from bot.platform.config import get_settings


def may_contact(ctx: Ctx) -> bool:
    """An unprompted message goes only to a known, reachable debtor who has not opted out."""
    return ctx.debtor is not None and not ctx.debtor.opted_out and ctx.debtor.contact_status == "ok"


def send_reminder(ctx: Ctx) -> None:
    """EXTERNAL_reminder: name the creditor, disclose nothing, ask for the digits."""
    if not may_contact(ctx):
        return
    ctx.set(INTRODUCED, True)
    if ctx.verified and not ctx.turn.entity("reminder_text"):
        ctx.utter("utter_reminder_verified", business_name=get_settings().business_name)
        ctx.set(PENDING_CONFIRMATION, "payment_link")
        return
    campaign_text = ctx.turn.entity("reminder_text")
    if campaign_text:
        # the campaign's own text (config/campaigns.yml: names the creditor, discloses nothing);
        # the identity question comes when the debtor answers
        ctx.utter("utter_reminder_text", reminder_text=str(campaign_text))
        ctx.set(PENDING_REQUEST, "check_balance")
        return
    ctx.utter("utter_reminder", business_name=get_settings().business_name)
    ctx.set(PENDING_REQUEST, "check_balance")
    ctx.set(AWAITING, "document_digits")


def promise_followup(ctx: Ctx) -> None:
    """EXTERNAL_promise_followup: the promised day has come; "sí" then means the link."""
    if not may_contact(ctx):
        return
    ctx.set(INTRODUCED, True)
    ctx.utter("utter_promise_followup", business_name=get_settings().business_name)
    ctx.set(PENDING_CONFIRMATION, "payment_link")
    if not ctx.verified:
        ctx.set(PENDING_REQUEST, "request_payment_link")
        ctx.set(AWAITING, "document_digits")


def payment_confirmed(ctx: Ctx) -> None:
    """EXTERNAL_payment_confirmed: thank the debtor (no amounts: the message goes out unprompted)."""
    if not may_contact(ctx):
        return
    ctx.set(INTRODUCED, True)
    ctx.utter("utter_payment_confirmed", business_name=get_settings().business_name)
