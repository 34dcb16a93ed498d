"""What a message means now: the one place that knows the conversation's state and sends each turn to the
feature that answers it. The features (``actions/balance.py``, ``promises.py``, ...) each do one thing and
import only the base; this module imports them and owns the tables that choose between them:

* ``BEFORE_EVERY_ACTION``: the checks that run before any action's own work (``DialogueAction``): a bare
  4-digit answer to the identity question, the digits again after the check, the details of a claimed
  payment. Whatever intent the classifier read, such a message is that answer.
* ``PROPOSALS``: what «sí» and «no» mean while the bot's last proposal (``pending_confirmation``) stands.
* ``ANSWERS``: what an answer to the bot's open question (``awaiting``) is carried out as, and how a short
  reply the classifier did not place is read as one.
* ``BY_INTENT``: which handler carries out a request, by intent name, so that a request made before the
  identity check is carried out right after it (``carry_out_pending``; multi-intents: each part in order).

The Action classes Rasa calls by name are in ``actions.catalogue``, above this module.
"""

from __future__ import annotations

import hmac
import re
from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass, replace

from actions import (
    balance,
    due_dates,
    greeting,
    handoff,
    identity,
    optout,
    parsing,
    payment_links,
    payment_plans,
    promises,
    reading,
    reasons,
)
from actions.base import (
    AWAITING,
    FALLBACKS,
    LOCKED,
    ONE_REPLY_QUESTIONS,
    PENDING_CONFIRMATION,
    PENDING_REQUEST,
    PROPOSED,
    Ctx,
    RecobraAction,
)
from bot.billing import countries
from bot.conversation import identity as identity_check
from bot.language import payment_terms, wording

Handler = Callable[[Ctx], None]

# a message of digits only ("4821", "48 21", "4.821"): the document digits, whatever the classifier read
DIGITS_ONLY = re.compile(r"[\s\d.\-]+")


# --- the identity check, and what was asked before it ----------------------------------------------------


def verify(ctx: Ctx) -> None:
    """The answer to the identity question; right after a good one, what the debtor had asked for."""
    if identity.verify(ctx):
        carry_out_pending(ctx)


def carry_out_pending(ctx: Ctx) -> None:
    """After a successful identity check: do what the debtor asked for (default: the balance)."""
    request = ctx.slot(PENDING_REQUEST) or "check_balance"
    saved = ctx.slot("pending_entities") or {}
    ctx.set(PENDING_REQUEST, None)
    ctx.set("pending_entities", None)
    turn = replace(
        ctx.turn,
        intent=request,
        text=saved.get("text") or "",
        entities=saved.get("entities") or [],
        confidence=float(saved.get("confidence", 1.0)),
    )
    inner = Ctx(ctx.session, ctx.debtor, turn, ctx.out)
    for part in request.split("+"):
        handler = BY_INTENT.get(part)
        if handler is not None:
            handler(inner)


def take_reason(ctx: Ctx) -> None:
    """A reason for not paying, then the step that fits it: a dispute goes to a person (the hand-off
    feature's), any other step is the reasons feature's own offer."""
    step = reasons.record_reason(ctx)
    if step == "dispute":
        handoff.dispute(ctx)
    elif step is not None:
        reasons.offer_next_step(ctx, step)


# --- the checks before every action ---------------------------------------------------------------------


def is_digits_answer(ctx: Ctx) -> bool:
    """Digits only, while the identity question is open: "4821" read as some other intent is still the answer."""
    return (
        ctx.debtor is not None
        and not ctx.verified
        and not ctx.slot(LOCKED)
        and ctx.slot(AWAITING) == "document_digits"
        and DIGITS_ONLY.fullmatch(ctx.turn.text or "") is not None
        and identity_check.extract_digits(ctx.turn.text) is not None
    )


def repeats_verified_digits(ctx: Ctx) -> bool:
    """The document digits again, after the check: a reply to an older question, or to a date question
    mistaken for the identity one ("4821" is no day, and must not be read as the year 4821)."""
    expected = ctx.debtor.document_last4 if ctx.debtor is not None else None
    digits = identity_check.extract_digits(ctx.turn.text) if ctx.verified and expected else None
    return (
        digits is not None
        and DIGITS_ONLY.fullmatch(ctx.turn.text or "") is not None
        and hmac.compare_digest(digits, expected)
    )


def say_already_verified(ctx: Ctx) -> None:
    ctx.utter("utter_identity_already_verified")
    if ctx.slot(AWAITING) in ONE_REPLY_QUESTIONS:
        ctx.set(AWAITING, ctx.slot(AWAITING))  # the open question waits for the next reply


# (does the message answer this?, then answer it): the first that fits answers the turn, in this order
BEFORE_EVERY_ACTION: tuple[tuple[Callable[[Ctx], bool], Handler], ...] = (
    (is_digits_answer, verify),
    (repeats_verified_digits, say_already_verified),
    (handoff.answers_claim_question, handoff.note_claim_details),
)


class DialogueAction(RecobraAction, ABC):
    """A Recobra action whose turn first goes through ``BEFORE_EVERY_ACTION``: every action Rasa calls
    (``actions.catalogue``) is one."""

    def answered_before(self, ctx: Ctx) -> bool:
        for answers, answer in BEFORE_EVERY_ACTION:
            if answers(ctx):
                answer(ctx)
                return True
        return False


# --- by awaited answer ----------------------------------------------------------------------------------


def _read_date(ctx: Ctx, text: str) -> object:
    return parsing.resolve_date(text, ctx.today, ctx.debtor.timezone)


def _read_count(ctx: Ctx, text: str) -> object:
    return parsing.resolve_count(text)


@dataclass(frozen=True)
class Answer:
    """An answer the bot waits for (``awaiting``): the request it is carried out as, the entities that give it
    even when the bot did not ask, how a bare reply is read as it, and whether the request is remembered when
    the answer comes before the identity check (otherwise the balance is)."""

    awaiting: str
    intent: str
    tagged: tuple[str, ...] = ()
    read: Callable[[Ctx, str], object] | None = None
    remembered: bool = True


# in this order: the first whose question is open, or whose entity the message carries, takes the answer
# (the document digits and a claim's details are answered before every action: BEFORE_EVERY_ACTION)
ANSWERS: tuple[Answer, ...] = (
    Answer("due_date", "request_due_date_change", read=_read_date),
    Answer("plan_count", "choose_plan", tagged=("installments",), read=_read_count),
    Answer("promise_date", "promise_to_pay", tagged=("date", "amount"), read=_read_date),
    Answer("reason", "report_nonpayment_reason", tagged=("reason",), remembered=False),
)
AWAITED = {answer.awaiting: answer for answer in ANSWERS}

# a reply longer than this is a remark of its own, not the bare answer to the bot's question
OPEN_ANSWER_MAX_WORDS = 6
# a one-word reply to "¿qué le ha impedido pagar?" ("jaja", "asdf") tells no reason
MIN_REASON_WORDS = 2


def process_inform(ctx: Ctx) -> None:
    """The debtor answers what the bot asked: document digits, a date, an instalment count."""
    awaiting = ctx.slot(AWAITING)
    digits = ctx.turn.entity("document_digits") or identity_check.extract_digits(ctx.turn.text)
    if not ctx.verified:
        if digits or awaiting == "document_digits":
            verify(ctx)
            return
        answer = AWAITED.get(awaiting or "")
        ctx.require_verified(answer.intent if answer is not None and answer.remembered else "check_balance")
        return
    for answer in ANSWERS:
        if awaiting == answer.awaiting or any(ctx.turn.entity(name) for name in answer.tagged):
            BY_INTENT[answer.intent](ctx)
            return
    ctx.utter("utter_inform_unclear")


def answers_open_question(ctx: Ctx) -> bool:
    """A short reply the classifier did not place ("hoy", "HOY x la noche", "doce") may still answer
    the question the bot just asked: the day of a promise or of a due-date change, an instalment count.
    If it reads as that answer, carry it out as one (the debtor still confirms before anything is saved).
    Asked what kept them from paying, any reply of a few words is the reason, however long."""
    awaiting = ctx.slot(AWAITING)
    text = (ctx.turn.text or "").strip()
    if ctx.debtor is None or not ctx.verified or not text:
        return False
    if awaiting == "reason" and len(text.split()) >= MIN_REASON_WORDS:
        # "un tema familiar", "la cosa está fea": recorded in their words (as "other" when it named no category)
        process_inform(ctx)
        return True
    if len(text.split()) > OPEN_ANSWER_MAX_WORDS:
        return answers_inside_a_remark(ctx, awaiting, text)
    answer = AWAITED.get(awaiting or "")
    if answer is None or answer.read is None or answer.read(ctx, text) is None:
        return False
    process_inform(ctx)
    return True


# the day named as the one wanted, on folded text: "mejor para el 22", "hasta el viernes", "que sea a fin de mes"
NAMED_DAY = re.compile(
    r"\b(mejor|para|hasta|sea|seria|queda|quedaria)( (el|la|este|esta|el proximo|la proxima|a))? "
    rf"(\d{{1,2}}|{'|'.join(parsing.WEEKDAYS)}|fin de mes|quincena|manana|pasado manana|otra semana|semana que viene)\b"
)


def answers_inside_a_remark(ctx: Ctx, awaiting: str | None, text: str) -> bool:
    """A longer reply that carries the answer inside a remark: "que sean 4, así se me hace más fácil" (one count,
    nothing else that reads as one), "mejor el 22 que es cuando me depositan" (a date beside a payment word, or a
    day named as the one wanted). The debtor still confirms what the bot reads back."""
    if awaiting == "plan_count":
        counts = set(re.findall(r"\b\d{1,2}\b", text))
        if len(counts) != 1 or parsing.resolve_count(text) != int(next(iter(counts))):
            return False
    elif awaiting in ("promise_date", "due_date"):
        # the day must be the answer, not chatter that happens to say "hoy": beside a payment word, or named
        # as the day wanted ("mejor para el 22 que es cuando me depositan")
        named = NAMED_DAY.search(payment_terms.fold(text))
        if payment_terms.payment_clauses(text):
            if reading.message_date(ctx, ctx.today) is None:
                return False
        elif named is not None:
            start, end = named.start(3) if named.group(3) else named.start(4), named.end(4)
            said = text[start:end]
            if parsing.resolve_date(said, ctx.today, ctx.debtor.timezone) is None:
                return False
            # read as if the NLU had tagged it, so the feature resolves the same day
            ctx.turn.entities.append({"entity": "date", "value": said, "start": start, "end": end})
        else:
            return False
    else:
        return False
    process_inform(ctx)
    return True


def answers_with_a_tagged_value(ctx: Ctx) -> bool:
    """``answers_open_question`` for a message whose date or count the NLU tagged: "no, el 10 de diciembre"
    read as a "no", "bueno, entonces el 5" read as a goodbye."""
    tagged = ctx.turn.entity("date") or ctx.turn.entity("installments")
    return bool(tagged) and answers_open_question(ctx)


# --- by pending confirmation: what «sí» and «no» mean now ---------------------------------------------


def hand_over(ctx: Ctx) -> None:
    """ "Sí" to the offer of a person, for the reason the offer was made."""
    handoff.request_human(ctx, reason=ctx.slot("handoff_reason") or "request_human")
    ctx.set("handoff_reason", None)


def drop_proposal(ctx: Ctx) -> None:
    """ "No" to a promise, due-date change or plan the bot read back: nothing is saved."""
    ctx.set("promise_date", None)
    ctx.set("new_due_date", None)
    ctx.set("plan_count", None)
    ctx.utter("utter_declined_not_saved")


def ask_what_instead(ctx: Ctx) -> None:
    """ "No" to the link or to a plan: why not (once, where the country allows asking), or the other help."""
    if countries.may_ask_reason(ctx.debtor.country) and not ctx.slot("last_reason"):
        ctx.utter("utter_ask_reason")
        ctx.set(AWAITING, "reason")
    else:
        ctx.utter("utter_offer_plan_or_promise")


@dataclass(frozen=True)
class Proposal:
    """What «sí» (``yes``) and «no» (``no``; None: nothing special) mean after a proposal, and which of the two
    may only be acted on once the debtor proved who they are. Unverified, «sí» asks for the digits first
    (and is carried out after them); «no» is read as if nothing had been proposed."""

    yes: Handler
    no: Handler | None = None
    yes_needs_check: bool = True
    no_needs_check: bool = False
    next_reply_only: bool = False  # an act the debtor cannot undo: only the very next message answers it


PROPOSALS: dict[str, Proposal] = {
    "promise": Proposal(yes=promises.confirm_promise, no=drop_proposal),
    "due_date": Proposal(yes=due_dates.confirm_change, no=drop_proposal),
    "payment_plan": Proposal(yes=payment_plans.confirm_plan, no=drop_proposal),
    "payment_link": Proposal(yes=payment_links.send_link, no=ask_what_instead, no_needs_check=True),
    "plan_offer": Proposal(yes=payment_plans.offer_plan, no=ask_what_instead, no_needs_check=True),
    "handoff": Proposal(yes=hand_over, yes_needs_check=False),
    # the acts the person cannot undo in the chat, asked about when the reading was not clear (not yet the debtor:
    # nothing in the question or the answers discloses the debt)
    "wrong_number": Proposal(
        yes=optout.record_wrong_number, no=optout.keep_number, yes_needs_check=False, next_reply_only=True
    ),
    "opt_out": Proposal(
        yes=optout.confirm_opt_out, no=optout.keep_writing, yes_needs_check=False, next_reply_only=True
    ),
    "dispute": Proposal(yes=handoff.confirm_dispute, no=handoff.no_dispute, no_needs_check=True, next_reply_only=True),
}


def pending_proposal(ctx: Ctx) -> Proposal | None:
    """The proposal «sí» or «no» answers now: none when a next-reply-only one was made before the last message."""
    name = ctx.slot(PENDING_CONFIRMATION) or ""
    proposal = PROPOSALS.get(name)
    if proposal is not None and proposal.next_reply_only:
        asked = (ctx.slot(PROPOSED) or {}).get("turn")
        if asked is None or ctx.turn.number != int(asked) + 1:
            ctx.set(PENDING_CONFIRMATION, None)
            return None
    return proposal


def put_off(ctx: Ctx) -> bool:
    """ "Lo hablo con mi esposa y le confirmo": the answer comes later. Nothing is saved or dropped, the
    question stays open, and it is not a misunderstanding."""
    if not wording.defers(ctx.turn.text or ""):
        return False
    ctx.utter("utter_take_your_time")
    ctx.set(FALLBACKS, 0)
    return True


def confirm_pending(ctx: Ctx) -> None:
    """ "Sí" to what the bot proposed last (not "sí, lo hablo con mi esposa y le confirmo")."""
    if answers_with_a_tagged_value(ctx) or put_off(ctx):
        return
    proposal = pending_proposal(ctx)
    if proposal is not None and proposal.yes_needs_check and not ctx.verified:
        ctx.require_verified("confirm_pending")
        return
    ctx.set(PENDING_CONFIRMATION, None)
    if proposal is not None:
        proposal.yes(ctx)
    elif ctx.slot(AWAITING) == "document_digits" and not ctx.verified:
        ctx.utter("utter_identity_need_digits")
    elif ctx.verified and ctx.slot(AWAITING) in ("plan_count", "promise_date", "due_date"):
        process_inform(ctx)  # "sí" to an open question ("¿en cuántas cuotas?"): ask it again, concretely
    elif ctx.debtor is not None and not ctx.verified:
        greeting.greet(ctx)  # the offer of help names the debtor: only after the identity check
    else:
        ctx.utter("utter_how_can_i_help")


def decline_pending(ctx: Ctx) -> None:
    """ "No" to what the bot proposed last, unless it comes with the answer to the open question or puts it off."""
    if answers_with_a_tagged_value(ctx) or put_off(ctx):
        return
    proposal = pending_proposal(ctx)
    ctx.set(PENDING_CONFIRMATION, None)
    if proposal is not None and proposal.no is not None and (ctx.verified or not proposal.no_needs_check):
        proposal.no(ctx)
    elif ctx.slot(AWAITING) == "document_digits" and not ctx.verified:
        ctx.utter("utter_identity_need_digits")
    else:
        ctx.utter("utter_anything_else")


# --- not understood, and the social replies ------------------------------------------------------------


def not_understood(ctx: Ctx, response: str) -> None:
    """Unless the message answers the bot's open question: say so; the second time in a row (not understood
    or out of scope, "asdfgh" then "qwerty"), offer a person."""
    if answers_open_question(ctx):
        ctx.set(FALLBACKS, 0)
        return
    if ctx.slot(AWAITING) or ctx.slot(PENDING_CONFIRMATION):
        if put_off(ctx):
            return
    count = int(ctx.slot(FALLBACKS) or 0) + 1
    if count >= 2:
        ctx.utter("utter_offer_human_after_fallback")
        ctx.set(PENDING_CONFIRMATION, "handoff")
        ctx.set("handoff_reason", "fallback")
        ctx.set(FALLBACKS, 0)
    elif (
        ctx.debtor is not None and not ctx.verified and not ctx.slot(LOCKED) and ctx.slot(AWAITING) == "document_digits"
    ):
        # "no me acuerdo", "cuáles dígitos?": where to find them, and a person if they cannot
        ctx.utter("utter_identity_help")
        ctx.set(PENDING_CONFIRMATION, "handoff")
        ctx.set("handoff_reason", "request_human")
        ctx.set(FALLBACKS, count)
    else:
        ctx.utter(unclear_reply(ctx) if response == "utter_default" else response)
        ctx.set(FALLBACKS, count)


# What the bot waits for -> the "no entendí" that says what answer fits.
UNCLEAR_BY_AWAITED = {
    "promise_date": "utter_default_date",
    "due_date": "utter_default_date",
    "plan_count": "utter_default_plan_count",
}


def unclear_reply(ctx: Ctx) -> str:
    """A first "no entendí" that leads on: the answer the bot waits for (a date, a count), the digits a known
    number must give first, or else what the bot can do and a person. (Not «¿sí o no?» for a pending proposal:
    one may stand from several turns back, and the debtor has moved on.)"""
    awaited = UNCLEAR_BY_AWAITED.get(ctx.slot(AWAITING) or "")
    if awaited:
        return awaited
    if ctx.debtor is not None and not ctx.verified and not ctx.slot(LOCKED):
        return "utter_default_unverified"
    return "utter_default"


def fallback(ctx: Ctx) -> None:
    """Not understood. A 4-digit answer to the identity question, or a short answer to the bot's open
    question, is taken as that answer whatever the classifier thought."""
    if (
        ctx.debtor is not None
        and not ctx.verified
        and identity_check.extract_digits(ctx.turn.text)
        and ctx.slot(AWAITING) == "document_digits"
    ):
        verify(ctx)
        ctx.set(FALLBACKS, 0)
        return
    not_understood(ctx, "utter_default")


def reply_unless_answer(ctx: Ctx, response: str) -> None:
    """A social reply, unless the message carries the answer to the bot's open question (then that)."""
    # only when the NLU tagged the answer: "gracias, hasta el lunes" without a tagged date is a goodbye
    if not answers_with_a_tagged_value(ctx):
        ctx.utter(response)


# --- by intent ----------------------------------------------------------------------------------------

# (last: it names this module's own handlers above)
BY_INTENT: dict[str, Handler] = {
    "check_balance": balance.show_balance,
    "request_payment_link": payment_links.send_link,
    "ask_payment_methods": payment_links.payment_methods,
    "report_nonpayment_reason": take_reason,
    "promise_to_pay": promises.propose_promise,
    "request_due_date_change": due_dates.request_change,
    "request_payment_plan": payment_plans.offer_plan,
    "choose_plan": payment_plans.choose_plan,
    "claim_already_paid": handoff.claim_paid,
    "dispute_debt": handoff.dispute,
    "confirm_pending": confirm_pending,
    "inform": process_inform,
}
