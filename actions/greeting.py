"""Greeting and the bot challenge: who is writing, and what the debtor may ask. The offer of help names
the debtor, so an unverified greeting asks for the document digits first (and keeps what was pending)."""

from __future__ import annotations

from actions.base import INTRODUCED, PENDING_REQUEST, Ctx
from bot.platform.config import get_settings


def greet(ctx: Ctx) -> None:
    if ctx.verified:
        ctx.utter("utter_how_can_i_help")
    else:
        ctx.require_verified(ctx.slot(PENDING_REQUEST) or "check_balance")


def answer_bot_challenge(ctx: Ctx) -> None:
    """ "¿Eres un robot?": yes, on behalf of the creditor (which also counts as the introduction)."""
    ctx.set(INTRODUCED, True)
    ctx.utter("utter_bot_challenge", business_name=get_settings().business_name)
