"""Hand-offs to a person: on request, when the debtor says they already paid, and on disputes."""

from __future__ import annotations

from actions.base import AWAITING, PENDING_CONFIRMATION, PROPOSED, Ctx, first_open_invoice
from bot.billing import accounts, countries
from bot.conversation import handoffs
from bot.desk import team_hours
from bot.language import wording
from bot.language.claims import read_claim


def _wait(ctx: Ctx) -> str:
    return countries.settings(ctx.debtor.country if ctx.debtor else None).handoff_wait


def say_handed_off(ctx: Ctx) -> None:
    """The one promise of a hand-off turn: the usual wait while the debtor's team is at work, otherwise
    only when it opens, in the debtor's time zone ("mañana a partir de las 8:00"). Never both."""
    if ctx.told_when_answered:
        return
    ctx.told_when_answered = True
    state = team_hours.availability(ctx.debtor)
    if state.open:
        ctx.utter("utter_handoff_opened", wait=_wait(ctx))
    else:
        ctx.utter("utter_handoff_opened_after_hours", when=state.when)


def request_human(ctx: Ctx, reason: str = "request_human") -> None:
    ctx.open_handoff(reason, f"Intención: {ctx.turn.intent}", says_when=True)
    ctx.set(PENDING_CONFIRMATION, None)
    say_handed_off(ctx)


# what to ask after "ya pagué", by what the message already says: (when known, how known) -> response
CLAIM_PAID_REPLIES = {
    (False, False): "utter_claim_paid",
    (True, False): "utter_claim_paid_ask_how",
    (False, True): "utter_claim_paid_ask_when",
    (True, True): "utter_claim_paid_noted",
}


def claim_paid(ctx: Ctx) -> None:
    if not ctx.require_verified("claim_already_paid"):
        return
    invoices = accounts.open_invoices(ctx.session, ctx.debtor)
    accounts.pause_reminders(ctx.session, invoices, "claims_paid")
    ctx.open_handoff("claims_paid", "El deudor dice que ya pagó: " + (ctx.turn.text or ""), says_when=True)
    ctx.set(PENDING_CONFIRMATION, None)
    claim = read_claim(ctx.turn.text, said_date=ctx.turn.entity_text("date") is not None)
    ctx.utter(CLAIM_PAID_REPLIES[claim.when, claim.how])
    say_handed_off(ctx)
    if not (claim.when and claim.how):
        ctx.set(AWAITING, "claim_details")


# what the answer to "¿cuándo y por qué medio pagó?" is read as: "el lunes por nequi" is a promise to the
# classifier, "por transferencia" a question about payment methods, "ayer en el oxxo" another claim
CLAIM_DETAIL_INTENTS = frozenset(
    {"inform", "promise_to_pay", "claim_already_paid", "ask_payment_methods", "affirm", "out_of_scope", "nlu_fallback"}
)


def answers_claim_question(ctx: Ctx) -> bool:
    """The debtor's next message after the bot asked when and how they paid, if it tells either: it is
    the claim's detail for the person who verifies it, not a new promise or request."""
    if ctx.debtor is None or not ctx.verified or ctx.slot(AWAITING) != "claim_details":
        return False
    if not set(ctx.turn.intents) <= CLAIM_DETAIL_INTENTS:
        return False  # "cuánto debo?", "quiero hablar con alguien": a new request, answered as such
    claim = read_claim(ctx.turn.text, said_date=ctx.turn.entity_text("date") is not None)
    return claim.when or claim.how or ctx.turn.intent in ("inform", "claim_already_paid")


def note_claim_details(ctx: Ctx) -> None:
    handoffs.add_note(ctx.session, ctx.turn.sender_id, "Cuándo y cómo pagó: " + (ctx.turn.text or ""))
    ctx.set(AWAITING, None)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_claim_details_noted")


def dispute(ctx: Ctx) -> None:
    """ "No reconozco esa deuda": recorded at once (after the identity check). A reading with less evidence ("qué
    es esto?", a service complaint given as the reason for not paying): asked first, since the invoice is paused
    and a person takes over."""
    if not ctx.require_verified("dispute_debt"):
        return
    if not (ctx.turn.read_confidently("dispute_debt") and wording.says_dispute(ctx.turn.text)):
        ctx.propose("dispute", "utter_confirm_dispute")
        return
    record_dispute(ctx, ctx.turn.text)


def confirm_dispute(ctx: Ctx) -> None:
    """ "Sí" to "¿quiere que registre un reclamo?": recorded with what the debtor had said."""
    proposed = ctx.slot(PROPOSED) or {}
    record_dispute(ctx, str(proposed.get("text") or ctx.turn.text or ""))


def no_dispute(ctx: Ctx) -> None:
    """ "No" to "¿quiere que registre un reclamo?": nothing recorded, and what else the bot can do."""
    ctx.utter("utter_dispute_not_recorded")


def record_dispute(ctx: Ctx, text: str) -> None:
    invoice = first_open_invoice(ctx)
    if invoice is not None:
        accounts.mark_disputed(ctx.session, invoice, text)
    ctx.open_handoff("dispute", "Reclamo: " + (text or ""), says_when=True)
    ctx.set(PENDING_CONFIRMATION, None)
    ctx.utter("utter_dispute_recorded")
    say_handed_off(ctx)


def on_request(ctx: Ctx) -> None:
    """ "Quiero hablar con alguien": a person takes over; with "ya pagué" in the same message, as a claim."""
    if "claim_already_paid" in ctx.turn.intents:
        if not ctx.verified:
            request_human(ctx, reason="claims_paid")
        return  # verified: the claim's action opened the hand-off and said so
    request_human(ctx)


def on_claim_paid(ctx: Ctx) -> None:
    """ "Ya pagué": the claim, unless a person was asked for in the same message before the identity check."""
    if "request_human" in ctx.turn.intents and not ctx.verified:
        return  # "ya pagué pero quiero hablar con alguien": the person verifies it (action_open_handoff)
    claim_paid(ctx)
