"""What every Recobra action shares: the turn as plain data, the replies it collects, the
identity gate, and the async shell that runs the blocking store work in a thread.

The bottom of ``actions/``: it imports no feature module and not the dialogue, so that every feature can
import it and none has to import another. What a turn means in the conversation (the checks before every
action, "sí" to the last proposal, the answer to the open question) is ``actions.dialogue``'s; the shell
here only leaves it a place (``RecobraAction.answered_before``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import choices, parsing
from actions.store import session_scope
from bot.billing import accounts, debtors
from bot.billing.money import format_money
from bot.conversation import handoffs, identity, reasons
from bot.desk import team_hours
from bot.language import invoice_refs
from bot.language.payment_terms import hardship_spans
from bot.platform import logs, metrics
from bot.platform.config import get_settings

logger = logging.getLogger(__name__)

# Slots the actions keep (all influence_conversation: false; see domain/session.yml).
VERIFIED = "verified"
ATTEMPTS = "verification_attempts"
LOCKED = "identity_locked"
INTRODUCED = "introduced"
PENDING_REQUEST = "pending_request"
PENDING_CONFIRMATION = "pending_confirmation"
AWAITING = "awaiting"
FALLBACKS = "fallback_count"
GATED_TURN = "gated_turn"
AWAITING_TURN = "awaiting_turn"
# for a proposal that only the next message may answer (``actions.dialogue.PROPOSALS``): when it was made and what
# the debtor had said, e.g. {"turn": 3, "text": "no reconozco este número"}
PROPOSED = "proposed"
# the invoices (external ids) a promise, plan, date change or link is about, as the debtor chose them; and the
# request waiting for "¿cuál factura?" ({"intent", "text", "entities", "confidence"}) while AWAITING is "invoice"
CHOSEN_INVOICES = "chosen_invoices"
INVOICE_REQUEST = "invoice_request"
# questions whose answer must be the debtor's next message: a later "3" or "hoy" answers nothing
ONE_REPLY_QUESTIONS = ("promise_date", "due_date", "plan_count", "claim_details", "reason", "invoice")
# who Rasa says found the entities of an intent payload ("/inform{...}", a tapped choice: ``actions.choices``)
PAYLOAD_EXTRACTOR = "RegexMessageHandler"
# the classifier's confidence from which an intent may be acted on at once, when the words also say it plainly
CLEAR_CONFIDENCE = 0.8


@dataclass
class Turn:
    """The parts of the tracker an action needs, copied so the thread never touches the tracker."""

    sender_id: str
    text: str
    intent: str
    entities: list[dict[str, Any]]
    metadata: dict[str, Any]
    slots: dict[str, Any]
    user_texts: list[str]
    responses: dict[str, Any]
    number: int = 0  # how many user messages the conversation has had
    confidence: float = 1.0  # the classifier's confidence in ``intent``
    # Recobra's actions that already ran for this message (a multi-intent runs one action per part, in turn)
    acted: tuple[str, ...] = ()

    @classmethod
    def from_tracker(cls, tracker: Tracker, domain: dict[str, Any]) -> Turn:
        latest = tracker.latest_message or {}
        user_events = [e for e in tracker.events if e.get("event") == "user"]
        texts = [e.get("text") or "" for e in user_events][-6:]
        text = latest.get("text") or ""
        return cls(
            sender_id=tracker.sender_id,
            text=text,
            intent=(latest.get("intent") or {}).get("name") or "",
            entities=_without_hardship(text, list(latest.get("entities") or [])),
            metadata=dict(latest.get("metadata") or {}),
            slots=dict(tracker.current_slot_values()),
            user_texts=[t for t in texts if t and not t.startswith("/")],
            responses=dict((domain or {}).get("responses") or {}),
            number=len(user_events),
            confidence=float((latest.get("intent") or {}).get("confidence") or 0.0),
            acted=_acted_since_the_message(tracker.events),
        )

    def entity(self, name: str) -> Any:
        for ent in self.entities:
            if ent.get("entity") == name and ent.get("value") not in (None, ""):
                return ent.get("value")
        return None

    def entity_text(self, name: str) -> str | None:
        """The span the debtor wrote for an entity (the value may be normalised)."""
        for ent in self.entities:
            if ent.get("entity") == name:
                start, end = ent.get("start"), ent.get("end")
                # a choice's payload (``/inform{"installments": "3"}``): its span is the JSON, the value is the text
                from_payload = ent.get("extractor") == PAYLOAD_EXTRACTOR
                if isinstance(start, int) and isinstance(end, int) and self.text and not from_payload:
                    return self.text[start:end]
                return str(ent.get("value"))
        return None

    def slot(self, name: str) -> Any:
        return self.slots.get(name)

    @property
    def intents(self) -> list[str]:
        return [part for part in self.intent.split("+") if part]

    def read_confidently(self, intent: str) -> bool:
        """The classifier read ``intent`` (alone or as part of the message) with a high confidence. Alone it is no
        clear reading: the acts that cannot be undone also need the words (``bot.language.wording``)."""
        return intent in self.intents and self.confidence >= CLEAR_CONFIDENCE


# the actions Rasa runs on its own (``action_extract_slots`` after every message): not a part of the message acted on
RASA_OWN_ACTIONS = frozenset(
    {
        "action_listen",
        "action_session_start",
        "action_restart",
        "action_extract_slots",
        "action_unlikely_intent",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_back",
    }
)


def _acted_since_the_message(events: list[dict[str, Any]]) -> tuple[str, ...]:
    """The names of Recobra's actions run since the debtor's last message (Rasa sends every event)."""
    names: list[str] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        name = event.get("name") or ""
        if event.get("event") == "action" and name.startswith("action_") and name not in RASA_OWN_ACTIONS:
            names.append(name)
    return tuple(reversed(names))


# what a duration or a mention of the past is never: the day, the amount or the instalment count asked for
_NUMBERS = ("date", "amount", "installments")


def _without_hardship(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entities minus any date, amount or count lying in a mention of the past ("pasado" in "el mes pasado")
    or in a duration ("una semana" in "llevo una semana sin trabajo", "2 meses" in "llevo 2 meses sin laburo"):
    a debtor telling when and how long things went wrong is not giving the new date, nor an amount."""
    spans = hardship_spans(text)

    def in_the_hardship(entity: dict[str, Any]) -> bool:
        start, end = entity.get("start"), entity.get("end")
        if entity.get("entity") not in _NUMBERS or not isinstance(start, int) or not isinstance(end, int):
            return False
        return any(start < span_end and span_start < end for span_start, span_end in spans)

    return [e for e in entities if not in_the_hardship(e)]


@dataclass
class Out:
    """Replies and events an action produced; dispatched back on the event loop."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    proposed: bool = False  # a proposal («¿le envío el link?») was made this turn: its question gets «Sí» / «No»

    def utter(self, response: str, **kwargs: Any) -> None:
        self.messages.append((response, {k: _plain(v) for k, v in kwargs.items()}))

    def set(self, slot: str, value: Any) -> None:
        self.slots[slot] = value

    def all_events(self) -> list[dict[str, Any]]:
        return [SlotSet(k, v) for k, v in self.slots.items()] + self.events

    def offer_yes_no(self) -> None:
        """A proposal made this turn and still standing: its question (the turn's last message) carries «Sí» and
        «No» buttons, unless it offers choices of its own. The question may be said before or after the
        slot is set (``promises``: the proposal first, then the read-back), hence here, once the turn is done."""
        if not (self.proposed and self.slots.get(PENDING_CONFIRMATION) and self.messages):
            return
        question = self.messages[-1][1]
        if not question.get("buttons"):
            question["buttons"] = [dict(b) for b in choices.YES_NO]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return parsing.spanish_date(value)
    return value


class Ctx:
    """One action's unit of work: the store session, the debtor behind the phone, the turn, the replies."""

    def __init__(self, session, debtor, turn: Turn, out: Out) -> None:
        self.session = session
        self.debtor = debtor
        self.turn = turn
        self.out = out
        self.told_when_answered = False  # this turn already said when a person answers (one promise a turn)

    # --- what the debtor sees -------------------------------------------------------------------
    @property
    def first_name(self) -> str:
        if self.debtor is None:
            return ""
        return (self.debtor.name or "").split()[0] if self.debtor.name else ""

    def money(self, amount: Decimal, currency: str) -> str:
        return format_money(amount, currency, self.debtor.country if self.debtor else None)

    @property
    def today(self) -> date:
        return accounts.local_today(self.debtor)

    def render(self, response: str, **kwargs: Any) -> str:
        """A domain response's text with its variables filled (for lines inside one message)."""
        variations = self.turn.responses.get(response) or [{"text": ""}]
        text = variations[0].get("text") or ""
        values = {k: _plain(v) for k, v in kwargs.items()}
        return re.sub(r"{(\w+)}", lambda m: str(values.get(m[1], m[0])), text)

    def utter(self, response: str, **kwargs: Any) -> None:
        kwargs.setdefault("first_name", self.first_name)
        if "buttons" not in kwargs and response in choices.BY_RESPONSE:
            kwargs["buttons"] = [dict(b) for b in choices.BY_RESPONSE[response]]
        if "buttons" not in kwargs and response == "utter_ask_promise_date" and self.debtor is not None:
            kwargs["buttons"] = choices.promise_dates(self.today, kwargs["max_date"])  # days to tap, or type another
        self.out.utter(response, **kwargs)

    def slot(self, name: str) -> Any:
        if name in self.out.slots:
            return self.out.slots[name]
        value = self.turn.slot(name)
        if name == AWAITING and value in ONE_REPLY_QUESTIONS:
            asked = self.turn.slot(AWAITING_TURN)
            if asked is not None and self.turn.number > int(asked) + 1:
                return None  # asked before the debtor's last message, which did not answer it
        if name == PENDING_CONFIRMATION and value and self.proposal_expired():
            return None
        return value

    def proposal_expired(self) -> bool:
        """A proposal («¿le envío el link?», «¿es correcto?») is answered by the debtor's very next message only:
        after a «no entendí» or another request in between, a «sí» means something else. A «sí» already given
        and waiting for the identity check (``pending_request``) still answers it."""
        asked = (self.turn.slot(PROPOSED) or {}).get("turn")
        if asked is None or self.turn.number <= int(asked) + 1:
            return False
        return self.turn.slot(PENDING_REQUEST) != "confirm_pending"  # as the message came (the check clears it)

    def set(self, slot: str, value: Any) -> None:
        self.out.set(slot, value)
        if slot == AWAITING:
            self.out.set(AWAITING_TURN, self.turn.number if value else None)
        if slot == PENDING_CONFIRMATION and value:
            self.out.proposed = True
        if slot == PENDING_CONFIRMATION and value and PROPOSED not in self.out.slots:
            # when it was made (and what the debtor had said): only the next message answers it
            self.out.set(PROPOSED, {"turn": self.turn.number, "text": self.turn.text})

    def keep_open(self) -> None:
        """The debtor put the answer off ("lo hablo con mi esposa y le confirmo") or repeated what was already
        settled: the open question and the proposal wait for the next message again."""
        awaiting = self.slot(AWAITING)
        if awaiting in ONE_REPLY_QUESTIONS:
            self.set(AWAITING, awaiting)
        proposal = self.slot(PENDING_CONFIRMATION)
        if proposal:
            proposed = dict(self.slot(PROPOSED) or {})
            self.out.set(PROPOSED, {**proposed, "turn": self.turn.number})
            self.out.set(PENDING_CONFIRMATION, proposal)

    def propose(self, proposal: str, response: str, **kwargs: Any) -> None:
        """Ask whether to do something the debtor could not undo: only their next message answers it («sí» /
        «no», ``actions.dialogue.PROPOSALS``), and what they had said is kept for the record."""
        self.utter(response, **kwargs)
        self.set(PENDING_CONFIRMATION, proposal)
        self.set(PROPOSED, {"turn": self.turn.number, "text": self.turn.text})

    # --- identity gate --------------------------------------------------------------------------
    @property
    def verified(self) -> bool:
        return bool(self.slot(VERIFIED))

    def require_verified(self, request: str) -> bool:
        """True when the person proved who they are; otherwise ask for the document digits and
        remember ``request`` to carry it out right after a successful check."""
        if self.verified:
            return True
        if self.slot(GATED_TURN) == self.turn.number:
            return False  # the other part of a multi-intent message already asked
        self.set(GATED_TURN, self.turn.number)
        if self.slot(LOCKED):
            self.utter("utter_identity_locked")
            self.hand_off_locked()
            return False
        if request in self.turn.intents and len(self.turn.intents) > 1:
            request = self.turn.intent
        self.set(PENDING_REQUEST, request)
        self.set(
            "pending_entities",
            {"text": self.turn.text, "entities": self.turn.entities, "confidence": self.turn.confidence},
        )
        self.set(AWAITING, "document_digits")
        self.utter("utter_ask_document_digits")
        return False

    def hand_off_locked(self) -> None:
        """A person takes over a debtor locked out of the identity check, and reads why and until when
        (the hand-off already open, if any, is kept)."""
        until = identity.locked_until(self.session, self.debtor) if self.debtor is not None else None
        if self.debtor is not None and not self.debtor.document_last4:
            note = "Sin dígitos del documento en el registro: no se puede verificar la identidad"
        elif until is not None:
            note = (
                f"Identidad bloqueada hasta {until:%Y-%m-%d %H:%M} UTC: {identity.MAX_ATTEMPTS} respuestas "
                "incorrectas de los dígitos del documento"
            )
        else:
            note = "Respuestas incorrectas de los dígitos del documento"
        self.open_handoff("failed_verification", note)

    def open_invoices_for(self, request: str) -> list:
        """How every account request starts (a promise, a date change, a plan): verified first, a volunteered reason
        recorded, then every open invoice (oldest due first); empty after saying there is no debt. The request then
        reads which of them the debtor named (``named_invoices``) or asks (``ask_which_invoice``)."""
        if not self.require_verified(request):
            return []
        self.record_volunteered_reason()
        invoices = accounts.open_invoices(self.session, self.debtor)
        if not invoices:
            self.utter("utter_no_debt")
        return invoices

    def named_invoices(self, invoices: list) -> list:
        """The invoices this message names among ``invoices`` (none: it names none). Chosen this turn, in answer to
        "¿cuál factura?", they were set before the request was carried out; a button's payload carries the
        ``invoice`` entity; otherwise the words are read (``bot.language.invoice_refs``)."""
        if CHOSEN_INVOICES in self.out.slots and self.out.slots[CHOSEN_INVOICES]:
            ids = set(self.out.slots[CHOSEN_INVOICES])
            return [inv for inv in invoices if inv.external_id in ids]
        tagged = self.turn.entity("invoice")
        if tagged:
            by_id = invoice_refs.read(str(tagged), candidates(invoices), self.today, answering=True)
            if by_id is not None:
                return [inv for inv in invoices if inv.external_id in by_id.chosen]
        ref = invoice_refs.read(self.turn.text or "", candidates(invoices), self.today, answering=self.answering())
        if ref is not None:
            return [inv for inv in invoices if inv.external_id in ref.chosen]
        if self.follows_up():  # "el 20" after "¿para qué fecha?": still the invoice chosen for the request
            ids = set(self.slot(CHOSEN_INVOICES) or [])
            return [inv for inv in invoices if inv.external_id in ids]
        return []

    def follows_up(self) -> bool:
        """The message answers the bot's question about the request in hand (a date, a count) or its read-back: the
        invoices chosen for it still hold. A new request starts afresh."""
        awaiting = self.slot(AWAITING)
        if awaiting == "invoice":
            return False
        if self.slot(PENDING_CONFIRMATION) == "handoff" and self.slot("handoff_reason") == "due_date_refused":
            return True  # the chosen invoice's date could not move: "pago el 20" is about that invoice still
        return awaiting in ("promise_date", "due_date", "plan_count") or self.slot(PENDING_CONFIRMATION) in (
            "promise",
            "due_date",
            "payment_plan",
            "plan_offer",
        )

    def answering(self) -> bool:
        """The message answers "¿cuál factura?" (so a bare "2" or "noviembre" is the choice)."""
        return self.slot(AWAITING) == "invoice"

    def ask_which_invoice(self, request: str, invoices: list, everything: bool = False) -> None:
        """Ask which invoice the request is about, each one a button (a numbered option where buttons cannot go);
        the answer carries the request out on it (``actions.dialogue.answers_which_invoice``)."""
        # the buttons are the list (a numbered one where buttons cannot go: ``rasa_client.bot_texts``)
        buttons = [
            {
                "title": f"{invoice_title(inv)} ({self.money(inv.balance, inv.currency)})",
                "payload": "/inform" + json.dumps({"invoice": inv.external_id}, ensure_ascii=False),
            }
            for inv in invoices
        ]
        if everything:
            buttons.append({"title": self.render("utter_all_invoices_option"), "payload": '/inform{"invoice": "all"}'})
        self.utter("utter_ask_which_invoice", buttons=buttons)
        self.set(AWAITING, "invoice")
        self.set(CHOSEN_INVOICES, None)
        self.set(PENDING_CONFIRMATION, None)
        self.set(
            INVOICE_REQUEST,
            {
                "intent": request,
                "text": self.turn.text,
                # a reason given with the request is recorded already: not again when it is carried out
                "entities": [e for e in self.turn.entities if e.get("entity") != "reason"],
                "confidence": self.turn.confidence,
                "offered": [inv.external_id for inv in invoices],
                "all": everything,  # the last option is "Todas"
            },
        )

    def name_the_invoice(self, invoice) -> None:
        """With more than one open invoice, say which one a promise, plan or date change is about, so that the
        debtor does not believe the whole debt is covered."""
        others = [i for i in accounts.open_invoices(self.session, self.debtor) if i.id != invoice.id]
        if not others:
            return
        self.utter(
            "utter_invoice_in_question",
            invoice=invoice_title(invoice),
            balance=self.money(invoice.balance, invoice.currency),
            due_date=invoice.due_date,
        )

    def record_volunteered_reason(self) -> None:
        """A reason given along with another request is understood and recorded too."""
        value = self.turn.entity("reason")
        if not value or "report_nonpayment_reason" in self.turn.intents:
            return
        reason = reasons.read(str(value), self.turn.text).reason  # as far as the words bear it out
        reasons.record(
            self.session, self.debtor, reason, self.turn.text, accounts.primary_invoice(self.session, self.debtor)
        )
        self.set("last_reason", reason)

    def open_handoff(self, reason: str, note: str = "", says_when: bool = False) -> None:
        """Open (or keep) the conversation's hand-off. A caller whose own reply says when a person answers
        passes ``says_when`` (``actions.handoff.say_handed_off``); otherwise, outside the team's hours, a new
        hand-off adds the notice of when the team opens, in the debtor's time zone."""
        summary = " | ".join(
            filter(None, [f"Motivo: {reason}", note, "Últimos mensajes: " + " / ".join(self.turn.user_texts[-4:])])
        )
        _handoff, created = handoffs.open(self.session, self.turn.sender_id, self.debtor, reason, summary)
        if created and not says_when and not self.told_when_answered:
            notice = team_hours.out_of_hours_notice(debtor=self.debtor)
            if notice:  # outside the team's hours the debtor is told when a person will answer
                self.utter("utter_handoff_out_of_hours", notice=notice)
                self.told_when_answered = True


class RecobraAction(Action, ABC):
    """Finds the debtor by the conversation's phone, names the creditor on the first reply,
    runs ``handle`` in a worker thread inside one store transaction, then sends the replies.

    Between the account checks and ``handle`` stands ``answered_before``: the dialogue's checks that run
    before every action (``actions.dialogue.DialogueAction``). The hook lives here, empty, so that this
    module needs none of the features those checks call."""

    needs_debtor = True  # a phone with no debtor gets a polite reply that discloses nothing
    resets_fallbacks = True
    introduces = True

    @abstractmethod
    def handle(self, ctx: Ctx) -> None: ...

    def answered_before(self, ctx: Ctx) -> bool:
        """True when the turn was answered before the action's own ``handle`` (none here)."""
        return False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        turn = Turn.from_tracker(tracker, domain)
        started = time.perf_counter()
        outcome = "error"
        # The turn's ids from the message metadata (bot/platform/logs.py); to_thread carries them to the thread.
        with logs.bound(action=self.name(), **logs.turn_ids(turn.metadata)):
            try:
                out = await asyncio.to_thread(self.work, turn)
                outcome = "ok"
            finally:
                seconds = time.perf_counter() - started
                metrics.ACTION_SECONDS.labels(self.name(), outcome).observe(seconds)
            logger.info("%s ran in %.0f ms: %d responses", self.name(), seconds * 1000, len(out.messages))
        for response, kwargs in out.messages:
            dispatcher.utter_message(response=response, **kwargs)
        return out.all_events()

    def work(self, turn: Turn) -> Out:
        out = Out()
        with session_scope() as session:
            debtor = debtors.get_by_phone(session, turn.sender_id)
            if debtor is None and turn.metadata.get("debtor_external_id"):
                debtor = debtors.get_by_external_id(session, str(turn.metadata["debtor_external_id"]))
            ctx = Ctx(session, debtor, turn, out)
            if debtor is not None:
                self.refresh_identity_lock(ctx)
            if not turn.slot(INTRODUCED) and self.introduces:
                ctx.utter("utter_intro", business_name=get_settings().business_name)
                ctx.set(INTRODUCED, True)
            if debtor is None and self.needs_debtor:
                ctx.utter("utter_no_account")
            elif debtor is not None and debtor.contact_status == "wrong_number" and self.needs_debtor:
                ctx.utter("utter_no_account")
            elif not self.answered_before(ctx):
                self.handle(ctx)
        if self.resets_fallbacks and turn.slot(FALLBACKS) and FALLBACKS not in out.slots:
            out.set(FALLBACKS, 0)  # (a turn that counted itself as not understood keeps its count)
        out.offer_yes_no()
        return out

    @staticmethod
    def refresh_identity_lock(ctx: Ctx) -> None:
        """The ``identity_locked`` slot mirrors the store's lock, which outlives the conversation session
        (a new session starts unlocked in Rasa) and ends when its time is up. A debtor with no document
        digits on file stays locked for the session: there is nothing to check an answer against."""
        if identity.locked_until(ctx.session, ctx.debtor) is not None:
            if not ctx.turn.slot(LOCKED):
                ctx.set(LOCKED, True)
        elif ctx.turn.slot(LOCKED) and ctx.debtor.document_last4:
            ctx.set(LOCKED, False)


def first_open_invoice(ctx: Ctx):
    """The invoice a proposal was about: the one the debtor chose, while still open; else the oldest."""
    chosen = chosen_invoices(ctx)
    return chosen[0] if chosen else accounts.primary_invoice(ctx.session, ctx.debtor)


def chosen_invoices(ctx: Ctx) -> list:
    """The open invoices the debtor chose for the request in hand (``CHOSEN_INVOICES``), oldest due first."""
    ids = ctx.slot(CHOSEN_INVOICES) or []
    if not ids or ctx.debtor is None:
        return []
    return [inv for inv in accounts.open_invoices(ctx.session, ctx.debtor) if inv.external_id in ids]


def candidates(invoices: list) -> list[invoice_refs.Candidate]:
    return [
        invoice_refs.Candidate(inv.external_id, inv.due_date, inv.description, inv.original_due_date)
        for inv in invoices
    ]


def invoice_title(invoice) -> str:
    """How an invoice is named to the debtor: its number, and its concept when the lender sent one."""
    return f"{invoice.external_id} · {invoice.description}" if invoice.description else invoice.external_id
