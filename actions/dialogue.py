"""What a message means now: the one place that knows the conversation's state and sends each turn to the
feature that answers it. The features (``actions/balance.py``, ``promises.py``, ...) each do one thing and
import only the base; this module imports them and owns the tables that choose between them:

* ``BEFORE_EVERY_ACTION``: the checks that run before any action's own work (``DialogueAction``): the
  4-digit answer to the identity question (bare or in a short remark), the digits again after the check, the
  invoice picked in answer to "¿cuál factura?" (the request that waited for it then carried out on it), the
  details of a claimed payment, the day or count the bot waits for inside a remark (or a correction of what it
  read back), a limit the debtor cannot meet, an answer put off. Whatever intent the classifier read, such a
  message is that answer.
* ``PROPOSALS``: what «sí» and «no» mean while the bot's last proposal (``pending_confirmation``) stands: for
  the debtor's very next message only (``Ctx.proposal_expired``).
* ``ANSWERS``: what an answer to the bot's open question (``awaiting``) is carried out as, and how a short
  reply the classifier did not place is read as one.
* ``BY_INTENT``: which handler carries out a request, by intent name, so that a request made before the
  identity check is carried out right after it (``carry_out_pending``; multi-intents: each part in order).
* ``whole_message``: the requests a message makes beyond the model's reading (``bot.language.asks``), with a reason
  and a day to pay it already gives, in the order they are carried out (``ORDER``). The statement PDF is asked
  for in the words only (no intent of its own): carried out this way, after the balance (the summary in the
  chat), in place of the link or reason the classifier may have read it as.

The Action classes Rasa calls by name are in ``actions.catalogue``, above this module.
"""

from __future__ import annotations

import hmac
import json
import re
from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass, replace

from actions import (
    balance,
    choices,
    due_dates,
    greeting,
    handoff,
    identity,
    offers,
    optout,
    parsing,
    payment_links,
    payment_plans,
    promises,
    reading,
    reasons,
    statements,
)
from actions.base import (
    AWAITING,
    CHOSEN_INVOICES,
    FALLBACKS,
    INVOICE_REQUEST,
    LOCKED,
    PENDING_CONFIRMATION,
    PENDING_REQUEST,
    PROPOSED,
    Ctx,
    RecobraAction,
)
from bot.billing import accounts, countries
from bot.conversation import identity as identity_check
from bot.conversation import reasons as reason_words
from bot.language import amounts, asks, payment_terms, wording

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
    carry_out_saved(ctx, request, saved)


def carry_out_saved(ctx: Ctx, request: str, saved: dict) -> None:
    """A request kept from an earlier turn (its words, entities and confidence), carried out now as if just said."""
    turn = replace(
        ctx.turn,
        intent=request,
        text=saved.get("text") or "",
        entities=saved.get("entities") or [],
        confidence=float(saved.get("confidence", 1.0)),
    )
    carry_out(Ctx(ctx.session, ctx.debtor, turn, ctx.out), request.split("+"))


def carry_out(ctx: Ctx, parts: list[str] | tuple[str, ...]) -> None:
    """Each part of a message, in order, as one request of several (``ctx.turn.intent`` names them all, so that
    a part knows what follows it: no "¿plan o fecha?" after a reason when a date comes next; the identity
    question asked once, and the whole message carried out after it)."""
    inner = Ctx(ctx.session, ctx.debtor, replace(ctx.turn, intent="+".join(parts)), ctx.out)
    inner.told_when_answered = ctx.told_when_answered
    for part in parts:
        handler = BY_INTENT.get(part)
        if handler is not None:
            handler(inner)
    ctx.told_when_answered = inner.told_when_answered


def take_reason(ctx: Ctx) -> None:
    """A reason for not paying, then the step that fits it: a dispute goes to a person (the hand-off
    feature's); otherwise the settlement offer that fits the reason, if any, else the reasons feature's own
    offer. (A debtor who only forgot, whose step is the link, is offered a discount at most, not a plan.)"""
    step = reasons.record_reason(ctx)
    if step == "dispute":
        handoff.dispute(ctx)
    elif step is not None:
        kinds = ("discount",) if step == "payment_link" else ("discount", "first_instalment")
        if not offers.propose(ctx, ctx.slot("last_reason"), offers.AFTER_REASON, kinds):
            reasons.offer_next_step(ctx, step)


# --- settlement offers ---------------------------------------------------------------------------------------


def names_a_count(ctx: Ctx) -> bool:
    """ "¿Puedo pagar en 3 cuotas?": the debtor chose the plan already; no offer in its place."""
    return bool(ctx.turn.entity("installments")) or asks.plan_count(ctx.turn.text or "") is not None


def plan_or_offer(ctx: Ctx) -> None:
    """A plan asked for ("no puedo pagar todo de una", "¿en cuotas?"): the settlement offer that fits first (a
    larger first instalment, or a discount for paying in full), unless the debtor names a count or just heard an
    offer (asking for the plan then is a «no» to it); else, or after a «no», the plan options."""
    if ctx.slot(PENDING_CONFIRMATION) in (offers.AFTER_REASON, offers.INSTEAD_OF_PLAN):
        offers.decline(ctx, quietly=True)
        ctx.set(PENDING_CONFIRMATION, None)
    elif ctx.verified and not names_a_count(ctx) and (invoice := invoice_for_a_plan(ctx)) is not None:
        said = ctx.turn.entity("reason")
        reason = reason_words.read(str(said), ctx.turn.text).reason if said else ctx.slot("last_reason")
        if offers.propose(ctx, reason, offers.INSTEAD_OF_PLAN, invoice=invoice):
            ctx.record_volunteered_reason()
            return
    payment_plans.offer_plan(ctx)


def invoice_for_a_plan(ctx: Ctx):
    """The invoice a plan asked for is about, when it is plain without asking: the only one open, or the one the
    debtor named. None with several and none named: the plan asks which first, and the offer comes on the answer."""
    invoices = accounts.open_invoices(ctx.session, ctx.debtor)
    named = ctx.named_invoices(invoices) if len(invoices) > 1 else invoices
    return named[0] if len(named) == 1 else None


def after_reason_instead(ctx: Ctx) -> None:
    """What follows a reason when its offer is declined or closed: the usual step for the reason, no pressure."""
    step = reason_words.next_step(ctx.slot("last_reason"))
    if step == "dispute":
        ctx.utter("utter_anything_else")
    else:
        reasons.offer_next_step(ctx, step)


def take_offer_after_reason(ctx: Ctx) -> None:
    if not offers.accept(ctx):
        after_reason_instead(ctx)


def decline_offer_after_reason(ctx: Ctx) -> None:
    offers.decline(ctx)
    after_reason_instead(ctx)


def take_offer_instead_of_plan(ctx: Ctx) -> None:
    if not offers.accept(ctx):
        payment_plans.offer_plan(ctx)


def decline_offer_instead_of_plan(ctx: Ctx) -> None:
    offers.decline(ctx)
    payment_plans.offer_plan(ctx)


# "1", "2", "opción 1": the offer's buttons as a plain channel numbers them (bot.conversation.rasa_client.bot_texts)
OPTION_NUMBER = re.compile(r"\s*(?:(?:la\s+)?opci[oó]n\s*)?([12])\s*[.)]?\s*", re.IGNORECASE)


def picks_an_offer_option(ctx: Ctx) -> bool:
    """While an offer stands, a bare 1 or 2 is its «Sí, envíeme el link» or «No, gracias», whatever the
    classifier read (an instalment count, the digits)."""
    return (
        ctx.verified
        and one_reading_as_it_came(ctx)
        and ctx.slot(PENDING_CONFIRMATION) in (offers.AFTER_REASON, offers.INSTEAD_OF_PLAN)
        and OPTION_NUMBER.fullmatch(ctx.turn.text or "") is not None
    )


def answer_offer_by_number(ctx: Ctx) -> None:
    proposal = PROPOSALS[ctx.slot(PENDING_CONFIRMATION)]
    match = OPTION_NUMBER.fullmatch(ctx.turn.text or "")
    ctx.set(PENDING_CONFIRMATION, None)
    if match is not None and match.group(1) == "1":
        proposal.yes(ctx)
    elif proposal.no is not None:
        proposal.no(ctx)


# --- two things in one message -----------------------------------------------------------------------------

REASON = "report_nonpayment_reason"
PROMISE = "promise_to_pay"
# the readings after which the other requests the words make are carried out too. Not a dispute, a claim of
# payment, an opt-out or a wrong number (each asks its own question first), nor a «sí», «no» or an answer (what the
# bot waits for reads those). A guess (not understood, out of scope) only when the words ask plainly.
EXTENDED = frozenset(
    {
        "check_balance",
        "request_payment_link",
        "ask_payment_methods",
        REASON,
        PROMISE,
        "request_due_date_change",
        "request_payment_plan",
        "request_human",
        "greet",
    }
)
GUESSES = frozenset({"nlu_fallback", "out_of_scope"})
# the order the parts are carried out in: the reason recorded first, then the questions answered, then the
# requests taken, and a person last (the conversation leaves the bot)
ORDER = (
    REASON,
    "check_balance",
    asks.STATEMENT,
    "ask_payment_methods",
    "request_payment_link",
    PROMISE,
    "request_due_date_change",
    "request_payment_plan",
    "request_human",
)
# the requests that record a reason given with them on their own (``Ctx.open_invoices_for``, silently)
RECORD_THEIR_REASON = frozenset({PROMISE, "request_due_date_change", "request_payment_plan"})
# the requests a date to pay on answers: with none of them read, "a fin de mes le cancelo" is a promise
TAKE_A_DATE = frozenset({PROMISE, "request_due_date_change", "request_payment_plan"})


def tells_a_reason(ctx: Ctx) -> bool:
    """The classifier found a reason (it sets one beside another intent only when sure) and the words, outside
    the requests, name a cause: "mándeme el link" is no trouble with the service."""
    value = ctx.turn.entity("reason")
    if not value:
        return False
    left = asks.without_asks(ctx.turn.text or "")
    cues = wording.reason_cues(left)
    if wording.says_could_not_pay(left):
        return True  # "tuve problemas con mi tarjeta y no podía pagar": told, though no listed cause is named
    return bool(cues) and (reason_words.read(str(value), left).reason != "other" or "short_of_money" in cues)


def pays_on_a_day(ctx: Ctx) -> bool:
    """The message says when the debtor will pay, beside the payment verb ("a fin de mes le cancelo")."""
    if not payment_terms.payment_clauses(ctx.turn.text or ""):
        return False
    today = ctx.today
    return (reading.entity_date(ctx, "date", today) or reading.message_date(ctx, today)) is not None


def whole_message(ctx: Ctx) -> list[str] | None:
    """Every request of the message in the order to carry them out, when the words ask more than the classifier
    read ("me quedé sin trabajo, ¿y cuánto es lo que debo?" read as a balance question: the reason, then the
    balance); None when they do not (the classifier's parts are carried out as the rules say)."""
    read = ctx.turn.intents
    if ctx.debtor is None or not read or not (set(read) <= EXTENDED or set(read) <= GUESSES):
        return None
    parts = [part for part in read if part in BY_INTENT]
    extra = [name for name in asks.asks_in(ctx.turn.text or "") if name not in parts]
    if asks.STATEMENT in extra:
        parts = [part for part in parts if not statement_read_as(ctx, part)]
        if "check_balance" not in parts:
            extra.append("check_balance")  # the summary in the chat, the document attached
    if set(read) <= GUESSES and not extra and not pays_on_a_day(ctx):
        return None  # a guess, and no plain request in the words: not understood (or the open question's answer)
    if REASON not in parts and not set(parts) & RECORD_THEIR_REASON and tells_a_reason(ctx):
        extra.append(REASON)
    if not set(parts + extra) & TAKE_A_DATE and (REASON in parts + extra or set(read) <= GUESSES):
        if pays_on_a_day(ctx):
            extra.append(PROMISE)
    if not extra:
        return None
    whole = sorted(set(parts + extra), key=ORDER.index)
    if "request_human" in whole:
        # a person takes the rest; before the identity check the reason waits for them (the hand-off shows it)
        whole = [part for part in whole if part == "request_human" or (part == REASON and ctx.verified)]
    return whole


# what the classifier may read a request for the statement as ("mándeme la factura" as the link, "me regala la
# factura" as a reason), with the check that tells whether the words ask for that too. The balance is never dropped:
# the statement always comes with it, the summary in the chat and the document attached.
STATEMENT_READ_AS: dict[str, Callable[[str], bool]] = {
    "request_payment_link": asks.asks_link,
    "request_human": asks.asks_person,
    "request_payment_plan": asks.asks_plan,
    "ask_payment_methods": lambda _text: False,
    "greet": lambda _text: False,
}


def statement_read_as(ctx: Ctx, part: str) -> bool:
    """The classifier's ``part`` is only its reading of a request for the statement: the words ask no such
    thing ("pásame el recibo" asks no payment link; "mándeme la factura y el link" asks both)."""
    if part == REASON:
        return not tells_a_reason(ctx)  # "me regala la factura por favor": no trouble told, only a document asked
    check = STATEMENT_READ_AS.get(part)
    return check is not None and not check(ctx.turn.text or "")


def statement_not_dispute(ctx: Ctx) -> bool:
    """ "Dame la cuenta de cobro" read as a dispute: the words ask for the statement and question nothing."""
    text = ctx.turn.text or ""
    return ctx.debtor is not None and asks.asks_statement(text) and not wording.says_dispute(text)


def dispute_or_statement(ctx: Ctx) -> None:
    """A dispute, unless the words only ask for the statement ("dame la cuenta de cobro", "mándeme la factura")."""
    if statement_not_dispute(ctx):
        carry_out(ctx, ["check_balance", asks.STATEMENT])
    else:
        handoff.dispute(ctx)


def carries_out_whole_message(ctx: Ctx) -> bool:
    """Before an action's own work: a message that asks more than the classifier read is carried out whole by
    the first of the turn's actions, and the others of the turn (a multi-intent runs one per part) do nothing."""
    parts = whole_message(ctx)
    if parts is None:
        return False
    if not ctx.turn.acted:
        carry_out(ctx, parts)
    return True


# --- the checks before every action (the table is further down, after the answers it names) --------------


# one group of digits in a message ("son 4471", "4 4 7 1", "44-71")
DIGIT_GROUP = re.compile(r"\d[\d\s.\-]*\d|\d")
# four digits that are a year or money: "desde 2024", "del 2025", "5000 pesos", "$4500"
NOT_THE_DIGITS = re.compile(
    r"\b(?:de|del|desde|hasta|ano|año|para el)\s+\d{4}\b|\$\s?\d|\d{4}\s*(?:pesos|soles|mil|lucas)\b"
)
# a remark around the digits is short: "perdón, me equivoqué, son 4471" (not a story with a number in it)
DIGITS_REMARK_MAX_WORDS = 12


def digits_given(text: str) -> str | None:
    """The document digits the message gives: digits only ("4821"), or one group of four inside a short remark
    ("perdón me equivoqué, son 4471", "ah no, termina en 4471") that says nothing plainly of a wrong number, an
    opt-out or a dispute (those are answered as such)."""
    text = text or ""
    if DIGITS_ONLY.fullmatch(text):
        return identity_check.extract_digits(text)
    groups = [re.sub(r"\D", "", group) for group in DIGIT_GROUP.findall(text)]
    if len(groups) != 1 or len(groups[0]) != 4 or len(text.split()) > DIGITS_REMARK_MAX_WORDS:
        return None
    if wording.says_wrong_number(text) or wording.says_opt_out(text) or wording.says_dispute(text):
        return None
    folded = payment_terms.fold(text)
    if amounts.MONEY.search(folded) or payment_terms.payment_clauses(text) or NOT_THE_DIGITS.search(folded):
        return None  # "le pago 5000 mañana", "desde 2024 no pago": money or a year, not the answer (nor a wrong one)
    return groups[0]


def is_digits_answer(ctx: Ctx) -> bool:
    """While the identity question is open, the digits (alone or in a short remark, "perdón me equivoqué, son
    4471") are the answer, whatever intent the classifier read ("me equivoqué" is no wrong number)."""
    return (
        ctx.debtor is not None
        and not ctx.verified
        and not ctx.slot(LOCKED)
        and ctx.slot(AWAITING) == "document_digits"
        and digits_given(ctx.turn.text) is not None
    )


def repeats_verified_digits(ctx: Ctx) -> bool:
    """The document digits again, after the check: a reply to an older question, or to a date question
    mistaken for the identity one ("4821" is no day, and must not be read as the year 4821)."""
    expected = ctx.debtor.document_last4 if ctx.debtor is not None else None
    digits = digits_given(ctx.turn.text) if ctx.verified and expected else None
    return digits is not None and hmac.compare_digest(digits, expected)


def say_already_verified(ctx: Ctx) -> None:
    ctx.utter("utter_identity_already_verified")
    ctx.keep_open()  # the open question (or proposal) waits for the next reply


class DialogueAction(RecobraAction, ABC):
    """A Recobra action whose turn first goes through ``BEFORE_EVERY_ACTION`` (below, beside the answers it
    names): every action Rasa calls (``actions.catalogue``) is one. An action that carries out a request
    (``carries_requests``) then carries out the whole message when the words ask more than the classifier read
    (``whole_message``)."""

    carries_requests = False

    def answered_before(self, ctx: Ctx) -> bool:
        for answers, answer in BEFORE_EVERY_ACTION:
            if answers(ctx):
                answer(ctx)
                return True
        return self.carries_requests and carries_out_whole_message(ctx)


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


# a proposal the debtor may correct before saying «sí» ("mejor para el 22"): what the bot then waits for
CORRECTED_BY = {"promise": "promise_date", "due_date": "due_date", "payment_plan": "plan_count"}


def awaited(ctx: Ctx) -> str | None:
    """What the bot waits for: the answer to its open question, else (after the identity check) a correction of
    the promise, date change or plan it just read back."""
    awaiting = ctx.slot(AWAITING)
    if awaiting or not ctx.verified:
        return awaiting
    return CORRECTED_BY.get(ctx.slot(PENDING_CONFIRMATION) or "")


def process_inform(ctx: Ctx) -> None:
    """The debtor answers what the bot asked: document digits, a date, an instalment count (or corrects the one
    it read back: confirmed again)."""
    awaiting = awaited(ctx)
    digits = ctx.turn.entity("document_digits") or identity_check.extract_digits(ctx.turn.text)
    if not ctx.verified:
        if digits or awaiting == "document_digits":
            verify(ctx)
            return
        answer = AWAITED.get(awaiting or "")
        ctx.require_verified(answer.intent if answer is not None and answer.remembered else "check_balance")
        return
    if ctx.turn.entity("invoice"):  # a button of an older "¿cuál factura?" that no request waits for any more
        ctx.utter("utter_invoice_choice_stale")
        ctx.keep_open()
        return
    for answer in ANSWERS:
        if awaiting == answer.awaiting or any(ctx.turn.entity(name) for name in answer.tagged):
            BY_INTENT[answer.intent](ctx)
            return
    if awaiting == "invoice":  # "¿cuál?": the list again is in the question; the number, please
        ctx.utter("utter_invoice_unclear")
        ctx.keep_open()
        return
    not_understood(ctx, "utter_inform_unclear")  # it counts: a second one in a row offers a person


def answers_open_question(ctx: Ctx) -> bool:
    """A short reply the classifier did not place ("hoy", "HOY x la noche", "doce") may still answer
    the question the bot just asked: the day of a promise or of a due-date change, an instalment count.
    If it reads as that answer, carry it out as one (the debtor still confirms before anything is saved).
    Asked what kept them from paying, any reply of a few words is the reason, however long."""
    awaiting = awaited(ctx)
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
    r"\b(mejor|para|hasta|sea|seria|queda|quedaria)( (el|la|al|este|esta|el proximo|la proxima|a))? "
    rf"(\d{{1,2}}|{'|'.join(parsing.WEEKDAYS)}|fin de mes|quincena|manana|pasado manana|otra semana|semana que viene)\b"
)


def answers_inside_a_remark(ctx: Ctx, awaiting: str | None, text: str) -> bool:
    """A longer reply that carries the answer inside a remark: "que sean 4, así se me hace más fácil" (one count,
    nothing else that reads as one), "mejor el 22 que es cuando me depositan" (a date beside a payment word, or a
    day named as the one wanted). The debtor still confirms what the bot reads back."""
    if not carries_the_answer(ctx, awaiting, text):
        return False
    process_inform(ctx)
    return True


def carries_the_answer(ctx: Ctx, awaiting: str | None, text: str) -> bool:
    """Does ``text`` carry the answer to what the bot waits for, however many words surround it? A day it reads
    is tagged on the turn, as if the NLU had, so that the feature resolves the same day."""
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
    return True


# the readings a correction of what the bot read back may come as: "mejor para el 22 que es cuando me depositan"
# is read as a reason, a promise, a date change, a «no»; never a request of another kind ("¿cuánto debo?")
CORRECTION_READINGS = frozenset(
    {
        REASON,
        PROMISE,
        "request_due_date_change",
        "choose_plan",
        "inform",
        "affirm",
        "deny",
        "thank",
        "goodbye",
        "nlu_fallback",
        "out_of_scope",
    }
)


def one_reading_as_it_came(ctx: Ctx) -> bool:
    """The message has one reading and this is the turn's first action: what the bot waited for is still what it
    waited for when the message came (a pair the model knows runs one action per part, and the first may have
    asked something new; the pair is then carried out as the rules say)."""
    return len(ctx.turn.intents) == 1 and not ctx.turn.acted


def corrects_the_proposal(ctx: Ctx) -> bool:
    """While the bot waits for a day or a count (its open question, or a promise, date change or plan it read back
    and waits «sí» for), a reply that names one ("mejor para el 22 que es cuando me depositan", "no perdón, mejor
    al 16", "no, mejor en 4", "mejor en 6 porque con menos no me alcanza") is that answer, whatever the classifier
    read: a correction replaces what was proposed and is read back again (``process_inform``). The same day or
    count as the one read back ("sí así es, el miércoles") is a «sí»."""
    awaiting = awaited(ctx)
    if ctx.debtor is None or not ctx.verified or awaiting not in CORRECTED_BY.values():
        return False
    if not one_reading_as_it_came(ctx) or ctx.turn.intent not in CORRECTION_READINGS or put_off_words(ctx):
        return False
    text = (ctx.turn.text or "").strip()
    if len(text.split()) <= OPEN_ANSWER_MAX_WORDS and ctx.turn.intent in SOCIAL_READINGS:
        return False  # "gracias, hasta mañana" is a goodbye: a short social reply names a day only when tagged
    if not ctx.slot(AWAITING) and restates_the_proposal(ctx):
        return False  # «sí» to what was read back: ``confirm_pending``
    if awaiting == "promise_date" and ctx.turn.intent == REASON and PROMISE in (whole_message(ctx) or ()):
        return False  # "no me han pagado, le pago el 30": the reason recorded too, then the day read back
    return carries_the_answer(ctx, awaiting, text)


# the readings of a social reply ("gracias, hasta mañana"): short, they name no day unless the NLU tagged one
SOCIAL_READINGS = frozenset({"thank", "goodbye"})


def restates_the_proposal(ctx: Ctx) -> bool:
    """The message names the very day or count the bot read back ("sí así es, el miércoles"): no correction."""
    proposal = ctx.slot(PENDING_CONFIRMATION) or ""
    text = ctx.turn.text or ""
    if proposal == "payment_plan":
        tagged = ctx.turn.entity_text("installments") or ctx.turn.entity("installments")
        counts = set(re.findall(r"\b\d{1,2}\b", text))
        said = parsing.resolve_count(tagged) if tagged else asks.plan_count(text)
        if said is None and len(counts) == 1:
            said = int(next(iter(counts)))
        return said is not None and str(said) == str(ctx.slot("plan_count"))
    proposed = ctx.slot({"promise": "promise_date", "due_date": "new_due_date"}.get(proposal, "")) if proposal else None
    if not proposed:
        return False
    today = ctx.today
    said_day = (
        reading.entity_date(ctx, "date", today)
        or reading.message_date(ctx, today)
        or parsing.resolve_date(text, today, ctx.debtor.timezone)
    )
    if said_day is None:
        return False
    if proposal == "due_date" and proposed.startswith("{"):  # several invoices read back, each with its day
        return said_day.isoformat() in json.loads(proposed).values()
    return said_day.isoformat() == proposed


def cannot_meet_the_limit(ctx: Ctx) -> bool:
    """Asked for a day up to a limit (or told a day is too far), the debtor says no day that soon works:
    "imposible antes de esa fecha", "antes no puedo". What the bot offered instead is the next step."""
    return (
        ctx.debtor is not None
        and ctx.verified
        and one_reading_as_it_came(ctx)
        # the bot's question, not the debtor's own day read back ("sí, antes imposible" confirms it)
        and ctx.slot(AWAITING) in ("promise_date", "due_date")
        and wording.cannot_sooner(ctx.turn.text or "")
        and not payment_terms.payment_clauses(ctx.turn.text or "")  # "no puedo antes, le pago el 30": a date
    )


def offer_what_else(ctx: Ctx) -> None:
    """No day before the limit: a plan in instalments for a promise (as the bot offered), a person for a due date
    (which only a person may move further)."""
    waiting_for = ctx.slot(AWAITING)
    ctx.set(AWAITING, None)
    if waiting_for == "promise_date":
        ctx.set(PENDING_CONFIRMATION, None)
        plan_or_offer(ctx)
        return
    ctx.utter("utter_offer_human")
    ctx.set(PENDING_CONFIRMATION, "handoff")
    ctx.set("handoff_reason", "due_date_refused")


def put_off_words(ctx: Ctx) -> bool:
    return wording.defers(ctx.turn.text or "")


def put_off(ctx: Ctx) -> bool:
    """ "Lo hablo con mi esposa y le confirmo": the answer comes later. Nothing is saved or dropped, the
    question stays open, and it is not a misunderstanding."""
    if not put_off_words(ctx):
        return False
    ctx.utter("utter_take_your_time")
    ctx.set(FALLBACKS, 0)
    ctx.keep_open()
    return True


def answer_later(ctx: Ctx) -> None:
    put_off(ctx)


def puts_off_the_answer(ctx: Ctx) -> bool:
    """While the bot waits for an answer or a «sí», "lo hablo con mi esposa y le confirmo" puts it off, whatever
    the classifier read (a promise, a reason): the question stays open for the next message."""
    return (
        ctx.debtor is not None
        and one_reading_as_it_came(ctx)
        and ctx.turn.intent in CORRECTION_READINGS
        and bool(ctx.slot(AWAITING) or ctx.slot(PENDING_CONFIRMATION))
        and put_off_words(ctx)
        and not pays_on_a_day(ctx)  # "el viernes le pago y le aviso": the day is given
    )


# --- the checks before every action, in one table ---------------------------------------------------------

# (does the message answer this?, then answer it): the first that fits answers the turn, in this order
# --- the answer to "¿cuál factura?" ------------------------------------------------------------------


def chosen_in_answer(ctx: Ctx) -> list:
    """The invoices the debtor picked in answer to "¿cuál factura?": a button ("/inform{"invoice": …}", "all"), the
    list number, the id, the month, the concept, "la primera", "todas" (``bot.language.invoice_refs``). A button
    pressed later, after another message, still answers it while the request waits: its payload is unambiguous."""
    if ctx.debtor is None or not ctx.verified:
        return []
    if ctx.slot(AWAITING) != "invoice" and not (ctx.turn.entity("invoice") and ctx.slot(INVOICE_REQUEST)):
        return []
    open_now = accounts.open_invoices(ctx.session, ctx.debtor)
    offered = (ctx.slot(INVOICE_REQUEST) or {}).get("offered") or []
    invoices = [inv for inv in open_now if inv.external_id in offered] or open_now
    if ctx.turn.entity("invoice") == "all":
        return invoices
    saved = ctx.slot(INVOICE_REQUEST) or {}
    number = re.fullmatch(r"\s*(?:la |el |opci[oó]n )?(\d)\s*\.?\s*", ctx.turn.text or "")
    if saved.get("all") and number and int(number[1]) == len(invoices) + 1:
        return invoices  # the number of the "Todas" option
    return ctx.named_invoices(invoices)


def answers_which_invoice(ctx: Ctx) -> bool:
    return bool(chosen_in_answer(ctx))


def carry_out_on_invoice(ctx: Ctx) -> None:
    """The debtor said which invoice: the request that waited for it is carried out on that one (or those), as it
    was first made (its words, date and amount)."""
    chosen = chosen_in_answer(ctx)
    saved = ctx.slot(INVOICE_REQUEST) or {}
    ctx.set(INVOICE_REQUEST, None)
    ctx.set(AWAITING, None)
    ctx.set(CHOSEN_INVOICES, [inv.external_id for inv in chosen])
    carry_out_saved(ctx, saved.get("intent") or "check_balance", saved)


BEFORE_EVERY_ACTION: tuple[tuple[Callable[[Ctx], bool], Handler], ...] = (
    (is_digits_answer, verify),
    (picks_an_offer_option, answer_offer_by_number),
    (repeats_verified_digits, say_already_verified),
    (answers_which_invoice, carry_out_on_invoice),
    (handoff.answers_claim_question, handoff.note_claim_details),
    (corrects_the_proposal, process_inform),
    (cannot_meet_the_limit, offer_what_else),
    (puts_off_the_answer, answer_later),
)


def answers_with_a_tagged_value(ctx: Ctx) -> bool:
    """``answers_open_question`` for a message whose date or count the NLU tagged: "no, el 10 de diciembre"
    read as a "no", "bueno, entonces el 5" read as a goodbye."""
    tagged = ctx.turn.entity("date") or ctx.turn.entity("installments")
    if not tagged or (not ctx.slot(AWAITING) and restates_the_proposal(ctx)):
        return False  # "sí así es, el miércoles": the day read back, confirmed
    return answers_open_question(ctx)


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
        ctx.utter("utter_offer_plan_or_promise", buttons=choices.PLAN_OR_DATE)


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
    "plan_offer": Proposal(yes=plan_or_offer, no=ask_what_instead, no_needs_check=True),
    # a settlement offer (``actions.offers``): made only after the identity check
    offers.AFTER_REASON: Proposal(yes=take_offer_after_reason, no=decline_offer_after_reason),
    offers.INSTEAD_OF_PLAN: Proposal(yes=take_offer_instead_of_plan, no=decline_offer_instead_of_plan),
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
    if (parts := whole_message(ctx)) is not None:
        # the classifier was unsure, the words are not: "estoy sin chamba desde octubre, ¿cuánto debo?"
        carry_out(ctx, parts)
        ctx.set(FALLBACKS, 0)
        return
    if ctx.debtor is not None and wording.asks_what_it_is(ctx.turn.text or ""):
        handoff.dispute(ctx)  # "¿de dónde sale esta deuda?": whether to register a claim (after the digits)
        ctx.set(FALLBACKS, 0)
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
    "invoice": "utter_invoice_unclear",
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


def balance_or_what_it_is(ctx: Ctx) -> None:
    """ "¿Qué es este cobro? no entiendo de dónde sale" is read as a balance question: it questions the charge, so
    the bot asks whether to register a claim (nothing is recorded on the question alone)."""
    text = ctx.turn.text or ""
    if wording.asks_what_it_is(text) and not asks.asks_balance(text):
        handoff.dispute(ctx)
    else:
        balance.show_balance(ctx)


def due_date_or_promise(ctx: Ctx) -> None:
    """ "Quiero dar una fecha para pagar" is read as a due-date change: the debtor means a day to pay (a promise)."""
    if asks.offers_a_date(ctx.turn.text or ""):
        promises.propose_promise(ctx)
    else:
        due_dates.request_change(ctx)


# (last: it names this module's own handlers above)
BY_INTENT: dict[str, Handler] = {
    "check_balance": balance_or_what_it_is,
    "request_payment_link": payment_links.send_link,
    "ask_payment_methods": payment_links.payment_methods,
    "report_nonpayment_reason": take_reason,
    "promise_to_pay": promises.propose_promise,
    "request_due_date_change": due_date_or_promise,
    "request_payment_plan": plan_or_offer,
    "choose_plan": payment_plans.choose_plan,
    "claim_already_paid": handoff.claim_paid,
    "dispute_debt": dispute_or_statement,
    "request_human": handoff.on_request,
    asks.STATEMENT: statements.send_statement,
    "confirm_pending": confirm_pending,
    "inform": process_inform,
}
