"""The actions Rasa calls by name (``domain/*.yml``), each handing its turn to one handler. The action
server registers every concrete ``Action`` subclass it finds in the ``actions`` package; they are all here,
at the top of the package, so that neither the features nor the dialogue need to know Rasa's names.

Every one is a ``DialogueAction``: the dialogue's checks run first (``actions.dialogue.BEFORE_EVERY_ACTION``),
then ``handle``. Class attributes say what differs: ``needs_debtor = False`` for replies that disclose nothing
(a number we do not know gets them too), ``introduces = False`` for messages that introduce the creditor
themselves, ``resets_fallbacks = False`` for the not-understood turns that count, ``carries_requests = True`` for
the actions of a request, the first of which carries out a message that asks more than the model read
(``actions.dialogue.whole_message``).
"""

from __future__ import annotations

from abc import abstractmethod

from actions import (
    dialogue,
    greeting,
    handoff,
    optout,
    outreach,
    payment_links,
    promises,
)
from actions.base import Ctx
from actions.dialogue import DialogueAction

# --- account requests -----------------------------------------------------------------------------------


class ActionShowBalance(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_show_balance"

    def handle(self, ctx: Ctx) -> None:
        dialogue.balance_or_what_it_is(ctx)


class ActionSendPaymentLink(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_send_payment_link"

    def handle(self, ctx: Ctx) -> None:
        payment_links.send_link(ctx)


class ActionExplainPaymentMethods(DialogueAction):
    carries_requests = True
    needs_debtor = False

    def name(self) -> str:
        return "action_explain_payment_methods"

    def handle(self, ctx: Ctx) -> None:
        payment_links.payment_methods(ctx)


class ActionProposePromise(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_propose_promise"

    def handle(self, ctx: Ctx) -> None:
        promises.propose_promise(ctx)


class ActionRequestDueDateChange(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_request_due_date_change"

    def handle(self, ctx: Ctx) -> None:
        dialogue.due_date_or_promise(ctx)


class ActionOfferPaymentPlan(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_offer_payment_plan"

    def handle(self, ctx: Ctx) -> None:
        dialogue.plan_or_offer(ctx)


class ActionRecordReason(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_record_reason"

    def handle(self, ctx: Ctx) -> None:
        dialogue.take_reason(ctx)


# --- identity and hand-offs -----------------------------------------------------------------------------


class ActionVerifyIdentity(DialogueAction):
    def name(self) -> str:
        return "action_verify_identity"

    def handle(self, ctx: Ctx) -> None:
        dialogue.verify(ctx)


class ActionOpenHandoff(DialogueAction):
    carries_requests = True
    needs_debtor = False

    def name(self) -> str:
        return "action_open_handoff"

    def handle(self, ctx: Ctx) -> None:
        handoff.on_request(ctx)


class ActionRecordClaimedPaid(DialogueAction):
    def name(self) -> str:
        return "action_record_claimed_paid"

    def handle(self, ctx: Ctx) -> None:
        handoff.on_claim_paid(ctx)


class ActionRecordDispute(DialogueAction):
    def name(self) -> str:
        return "action_record_dispute"

    def handle(self, ctx: Ctx) -> None:
        dialogue.dispute_or_statement(ctx)


class ActionOptOut(DialogueAction):
    needs_debtor = False  # a number we do not know may opt out too: it is recorded, nothing disclosed

    def name(self) -> str:
        return "action_opt_out"

    def handle(self, ctx: Ctx) -> None:
        optout.opt_out(ctx)


class ActionMarkWrongNumber(DialogueAction):
    needs_debtor = False

    def name(self) -> str:
        return "action_mark_wrong_number"

    def handle(self, ctx: Ctx) -> None:
        optout.mark_wrong_number(ctx)


# --- the conversation: greeting, yes/no, answers, not understood --------------------------------------------


class ActionGreet(DialogueAction):
    carries_requests = True

    def name(self) -> str:
        return "action_greet"

    def handle(self, ctx: Ctx) -> None:
        greeting.greet(ctx)


class ActionProcessInform(DialogueAction):
    def name(self) -> str:
        return "action_process_inform"

    def handle(self, ctx: Ctx) -> None:
        dialogue.process_inform(ctx)


class ActionConfirmPending(DialogueAction):
    def name(self) -> str:
        return "action_confirm_pending"

    def handle(self, ctx: Ctx) -> None:
        dialogue.confirm_pending(ctx)


class ActionDeclinePending(DialogueAction):
    def name(self) -> str:
        return "action_decline_pending"

    def handle(self, ctx: Ctx) -> None:
        dialogue.decline_pending(ctx)


class ActionAnswerBotChallenge(DialogueAction):
    needs_debtor = False
    introduces = False

    def name(self) -> str:
        return "action_answer_bot_challenge"

    def handle(self, ctx: Ctx) -> None:
        greeting.answer_bot_challenge(ctx)


class ActionReplyUnlessAnswer(DialogueAction):
    """A social reply, unless the message carries the answer to the bot's open question (then that)."""

    needs_debtor = False  # the replies say nothing about any account
    response = ""

    # abstract, so that rasa_sdk registers the two replies below and not this base under the name ""
    @abstractmethod
    def name(self) -> str: ...

    def handle(self, ctx: Ctx) -> None:
        dialogue.reply_unless_answer(ctx, self.response)


class ActionGoodbye(ActionReplyUnlessAnswer):
    """Goodbye, or "bueno, entonces el 5" read as one."""

    response = "utter_goodbye"

    def name(self) -> str:
        return "action_goodbye"


class ActionThank(ActionReplyUnlessAnswer):
    """Thanks, or "gracias, el viernes entonces" read as such."""

    response = "utter_thanks"

    def name(self) -> str:
        return "action_thank"


class ActionOutOfScope(DialogueAction):
    """Out of scope ("cuál es el clima hoy"), or a bare answer misread as such ("hoy"). It counts as not
    understood: gibberish often lands here rather than in the fallback."""

    needs_debtor = False  # the reply says nothing about any account
    resets_fallbacks = False

    def name(self) -> str:
        return "action_out_of_scope"

    def handle(self, ctx: Ctx) -> None:
        dialogue.not_understood(ctx, "utter_out_of_scope")


class ActionHandleFallback(DialogueAction):
    """Not understood: say so; after two in a row, offer a person (``dialogue.fallback``)."""

    resets_fallbacks = False
    needs_debtor = False

    def name(self) -> str:
        return "action_handle_fallback"

    def handle(self, ctx: Ctx) -> None:
        dialogue.fallback(ctx)


# --- the messages the scheduler injects (EXTERNAL_ intents) -------------------------------------------------


class ActionSendReminder(DialogueAction):
    """EXTERNAL_reminder from the scheduler: name the creditor, disclose nothing, ask for the digits."""

    introduces = False
    needs_debtor = False  # an unprompted message to an unknown number says nothing at all

    def name(self) -> str:
        return "action_send_reminder"

    def handle(self, ctx: Ctx) -> None:
        outreach.send_reminder(ctx)


class ActionPromiseFollowup(DialogueAction):
    """EXTERNAL_promise_followup: the promised day has come."""

    introduces = False
    needs_debtor = False

    def name(self) -> str:
        return "action_promise_followup"

    def handle(self, ctx: Ctx) -> None:
        outreach.promise_followup(ctx)


class ActionPaymentConfirmed(DialogueAction):
    """EXTERNAL_payment_confirmed: thank the debtor (no amounts: the message goes out unprompted)."""

    introduces = False
    needs_debtor = False

    def name(self) -> str:
        return "action_payment_confirmed"

    def handle(self, ctx: Ctx) -> None:
        outreach.payment_confirmed(ctx)
