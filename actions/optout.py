"""Opt-out of automated messages, and the wrong number: both recorded, nothing disclosed.

Neither can be undone by the person in the chat, so each is done at once only on a clear reading: the
classifier is confident *and* the words say it plainly ("número equivocado", "no me escriban más"). Otherwise
the bot asks first, and only the next message answers (``actions.dialogue.PROPOSALS``). The compliance keywords
(BAJA, STOP...) never get here: the edge answers them at once (``bot.conversation.keywords``).
"""

from __future__ import annotations

from actions.base import AWAITING, LOCKED, PENDING_CONFIRMATION, PROPOSED, Ctx
from bot.conversation import contact, optout
from bot.language import wording
from bot.platform.config import get_settings


def opt_out(ctx: Ctx) -> None:
    """ "No me escriban más": recorded at once. "Basta", "déjenme en paz": asked first. Words no other request shares
    ("ya no quiero que me sigan escribiendo") are clear even when the classifier was less sure."""
    text = ctx.turn.text
    clear = (ctx.turn.read_confidently("opt_out") and wording.says_opt_out(text)) or (
        "opt_out" in ctx.turn.intents and wording.says_opt_out_plainly(text)
    )
    if ctx.debtor is not None and not clear:
        ctx.propose("opt_out", "utter_confirm_opt_out")
        return
    record_opt_out(ctx, ctx.turn.text)


def record_opt_out(ctx: Ctx, text: str) -> None:
    """A number we do not know may opt out too: it is recorded, nothing disclosed."""
    if ctx.debtor is not None:
        optout.opt_out(ctx.session, ctx.debtor, channel=ctx.turn.metadata.get("channel"), text=text)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_opted_out")


def confirm_opt_out(ctx: Ctx) -> None:
    """ "Sí" to "¿quiere que dejemos de escribirle?"."""
    record_opt_out(ctx, proposed_text(ctx))


def keep_writing(ctx: Ctx) -> None:
    """ "No" to "¿quiere que dejemos de escribirle?": nothing changes."""
    ctx.utter("utter_opt_out_not_recorded")


def mark_wrong_number(ctx: Ctx) -> None:
    """ "Número equivocado, no conozco a esa persona": marked at once. "¿De parte de quién? no reconozco este
    número": who writes, and the identity question (the person may well be the debtor). Anything else: asked
    first. No reply names the debtor or the debt."""
    text = ctx.turn.text
    if ctx.debtor is None or (ctx.turn.read_confidently("wrong_number") and wording.says_wrong_number(text)):
        record_wrong_number(ctx)
    elif wording.asks_who_is_writing(text) and not ctx.verified and not ctx.slot(LOCKED):
        say_who_is_writing(ctx)
    else:
        ctx.propose("wrong_number", "utter_confirm_wrong_number")


def record_wrong_number(ctx: Ctx) -> None:
    if ctx.debtor is not None:
        contact.mark_wrong_number(ctx.session, ctx.debtor, ctx.turn.sender_id)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_wrong_number", first_name="")


def say_who_is_writing(ctx: Ctx) -> None:
    """Who writes (unless the introduction was this very turn), then the document digits: nothing else is said
    before the person proves who they are."""
    if not any(response == "utter_intro" for response, _ in ctx.out.messages):
        ctx.utter("utter_who_is_writing", business_name=get_settings().business_name, first_name="")
    ctx.utter("utter_who_is_writing_ask_digits", first_name="")
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.set(AWAITING, "document_digits")


def keep_number(ctx: Ctx) -> None:
    """ "No" to "¿este número no es de la persona que buscamos?": nothing is marked; the identity question next."""
    ctx.utter("utter_wrong_number_not_marked", first_name="")
    if ctx.debtor is not None and not ctx.verified:
        ctx.require_verified("check_balance")
    else:
        ctx.utter("utter_anything_else")


def proposed_text(ctx: Ctx) -> str:
    """What the person had said when the bot asked (``Ctx.propose``), for the record."""
    proposed = ctx.slot(PROPOSED) or {}
    return str(proposed.get("text") or ctx.turn.text or "")
