"""Greeting, yes/no to what the bot just proposed, what the debtor informs, not-understood turns,
the bot challenge, and the messages the scheduler injects (EXTERNAL_ intents)."""

from __future__ import annotations

from actions.common import (
    AWAITING,
    FALLBACKS,
    INTRODUCED,
    LOCKED,
    PENDING_CONFIRMATION,
    PENDING_REQUEST,
    Ctx,
    RecobraAction,
)


def greet(ctx: Ctx) -> None:
    if ctx.verified:
        ctx.utter("utter_how_can_i_help")
    else:
        ctx.require_verified(ctx.slot(PENDING_REQUEST) or "check_balance")


def process_inform(ctx: Ctx) -> None:
    """The debtor answers what the bot asked: document digits, a date, an instalment count."""
    from actions import due_dates, payment_plans, promises
    from actions.identity import verify
    from bot.conversation import identity

    awaiting = ctx.slot(AWAITING)
    digits = ctx.turn.entity("document_digits") or identity.extract_digits(ctx.turn.text)
    if not ctx.verified:
        if digits or awaiting == "document_digits":
            verify(ctx)
            return
        request = {
            "promise_date": "promise_to_pay",
            "due_date": "request_due_date_change",
            "plan_count": "choose_plan",
        }.get(awaiting or "", "check_balance")
        ctx.require_verified(request)
        return
    if awaiting == "due_date":
        due_dates.request_change(ctx)
    elif awaiting == "plan_count" or ctx.turn.entity("installments"):
        payment_plans.choose_plan(ctx)
    elif awaiting == "promise_date" or ctx.turn.entity("date") or ctx.turn.entity("amount"):
        promises.propose_promise(ctx)
    elif ctx.turn.entity("reason") or awaiting == "reason":
        from actions.reasons import record_reason

        record_reason(ctx)
    else:
        ctx.utter("utter_inform_unclear")


# a reply longer than this is a remark of its own, not the bare answer to the bot's question
OPEN_ANSWER_MAX_WORDS = 6
# a one-word reply to "¿qué le ha impedido pagar?" ("jaja", "asdf") tells no reason
MIN_REASON_WORDS = 2


def answers_open_question(ctx: Ctx) -> bool:
    """A short reply the classifier did not place ("hoy", "HOY x la noche", "doce") may still answer
    the question the bot just asked: the day of a promise or of a due-date change, an instalment count.
    If it reads as that answer, carry it out as one (the debtor still confirms before anything is saved).
    Asked what kept them from paying, any reply of a few words is the reason, however long."""
    from actions import parsing

    awaiting = ctx.slot(AWAITING)
    text = (ctx.turn.text or "").strip()
    if ctx.debtor is None or not ctx.verified or not text:
        return False
    if awaiting == "reason" and len(text.split()) >= MIN_REASON_WORDS:
        # "un tema familiar", "la cosa está fea": recorded in their words (as "other" when it named no category)
        process_inform(ctx)
        return True
    if len(text.split()) > OPEN_ANSWER_MAX_WORDS:
        return False
    if awaiting in ("promise_date", "due_date"):
        found = parsing.resolve_date(text, ctx.today, ctx.debtor.timezone)
    elif awaiting == "plan_count":
        found = parsing.resolve_count(text)
    else:
        return False
    if found is None:
        return False
    process_inform(ctx)
    return True


def answers_with_a_tagged_value(ctx: Ctx) -> bool:
    """``answers_open_question`` for a message whose date or count the NLU tagged: "no, el 10 de diciembre"
    read as a "no", "bueno, entonces el 5" read as a goodbye."""
    tagged = ctx.turn.entity("date") or ctx.turn.entity("installments")
    return bool(tagged) and answers_open_question(ctx)


def confirm_pending(ctx: Ctx) -> None:
    """ "Sí" to what the bot proposed last."""
    from actions import due_dates, handoff, payment_links, payment_plans, promises

    if answers_with_a_tagged_value(ctx):
        return
    pending = ctx.slot(PENDING_CONFIRMATION)
    if pending in ("promise", "due_date", "payment_plan", "payment_link", "plan_offer") and not ctx.verified:
        ctx.require_verified("confirm_pending")
        return
    ctx.set(PENDING_CONFIRMATION, None)
    if pending == "promise":
        promises.confirm_promise(ctx)
    elif pending == "due_date":
        due_dates.confirm_change(ctx)
    elif pending == "payment_plan":
        payment_plans.confirm_plan(ctx)
    elif pending == "payment_link":
        payment_links.send_link(ctx)
    elif pending == "plan_offer":
        payment_plans.offer_plan(ctx)
    elif pending == "handoff":
        handoff.request_human(ctx, reason=ctx.slot("handoff_reason") or "request_human")
        ctx.set("handoff_reason", None)
    elif ctx.slot(AWAITING) == "document_digits" and not ctx.verified:
        ctx.utter("utter_identity_need_digits")
    elif ctx.verified and ctx.slot(AWAITING) in ("plan_count", "promise_date", "due_date"):
        process_inform(ctx)  # "sí" to an open question ("¿en cuántas cuotas?"): ask it again, concretely
    elif ctx.debtor is not None and not ctx.verified:
        greet(ctx)  # the offer of help names the debtor: only after the identity check
    else:
        ctx.utter("utter_how_can_i_help")


def decline_pending(ctx: Ctx) -> None:
    """ "No" to what the bot proposed last, unless it comes with the answer to the open question."""
    from bot.billing import countries

    if answers_with_a_tagged_value(ctx):
        return
    pending = ctx.slot(PENDING_CONFIRMATION)
    ctx.set(PENDING_CONFIRMATION, None)
    if pending in ("promise", "due_date", "payment_plan"):
        ctx.set("promise_date", None)
        ctx.set("new_due_date", None)
        ctx.set("plan_count", None)
        ctx.utter("utter_declined_not_saved")
    elif pending in ("payment_link", "plan_offer") and ctx.verified:
        if countries.may_ask_reason(ctx.debtor.country) and not ctx.slot("last_reason"):
            ctx.utter("utter_ask_reason")
            ctx.set(AWAITING, "reason")
        else:
            ctx.utter("utter_offer_plan_or_promise")
    elif ctx.slot(AWAITING) == "document_digits" and not ctx.verified:
        ctx.utter("utter_identity_need_digits")
    else:
        ctx.utter("utter_anything_else")


class ActionGreet(RecobraAction):
    def name(self) -> str:
        return "action_greet"

    def handle(self, ctx: Ctx) -> None:
        greet(ctx)


class ActionProcessInform(RecobraAction):
    def name(self) -> str:
        return "action_process_inform"

    def handle(self, ctx: Ctx) -> None:
        process_inform(ctx)


class ActionConfirmPending(RecobraAction):
    def name(self) -> str:
        return "action_confirm_pending"

    def handle(self, ctx: Ctx) -> None:
        confirm_pending(ctx)


class ActionDeclinePending(RecobraAction):
    def name(self) -> str:
        return "action_decline_pending"

    def handle(self, ctx: Ctx) -> None:
        decline_pending(ctx)


class ActionAnswerBotChallenge(RecobraAction):
    needs_debtor = False
    introduces = False

    def name(self) -> str:
        return "action_answer_bot_challenge"

    def handle(self, ctx: Ctx) -> None:
        from bot.platform.config import get_settings

        ctx.set(INTRODUCED, True)
        ctx.utter("utter_bot_challenge", business_name=get_settings().business_name)


class ActionReplyUnlessAnswer(RecobraAction):
    """A social reply, unless the message carries the answer to the bot's open question (then that)."""

    needs_debtor = False  # the replies say nothing about any account
    response = ""
    action_name = ""

    def name(self) -> str:
        return self.action_name

    def handle(self, ctx: Ctx) -> None:
        # only when the NLU tagged the answer: "gracias, hasta el lunes" without a tagged date is a goodbye
        if not answers_with_a_tagged_value(ctx):
            ctx.utter(self.response)


class ActionOutOfScope(RecobraAction):
    """Out of scope ("cuál es el clima hoy"), or a bare answer misread as such ("hoy"). It counts as not
    understood: gibberish often lands here rather than in the fallback."""

    needs_debtor = False  # the reply says nothing about any account
    resets_fallbacks = False

    def name(self) -> str:
        return "action_out_of_scope"

    def handle(self, ctx: Ctx) -> None:
        not_understood(ctx, "utter_out_of_scope")


class ActionGoodbye(ActionReplyUnlessAnswer):
    """Goodbye, or "bueno, entonces el 5" read as one."""

    response = "utter_goodbye"
    action_name = "action_goodbye"


class ActionThank(ActionReplyUnlessAnswer):
    """Thanks, or "gracias, el viernes entonces" read as such."""

    response = "utter_thanks"
    action_name = "action_thank"


class ActionHandleFallback(RecobraAction):
    """Not understood: say so; after two in a row, offer a person. A bare 4-digit answer to the
    identity question, or a short answer to the bot's open question, is taken as that answer whatever
    the classifier thought."""

    resets_fallbacks = False
    needs_debtor = False

    def name(self) -> str:
        return "action_handle_fallback"

    def handle(self, ctx: Ctx) -> None:
        from bot.conversation import identity

        if (
            ctx.debtor is not None
            and not ctx.verified
            and identity.extract_digits(ctx.turn.text)
            and ctx.slot(AWAITING) == "document_digits"
        ):
            from actions.identity import verify

            verify(ctx)
            ctx.set(FALLBACKS, 0)
            return
        not_understood(ctx, "utter_default")


def not_understood(ctx: Ctx, response: str) -> None:
    """Unless the message answers the bot's open question: say so; the second time in a row (not understood
    or out of scope, "asdfgh" then "qwerty"), offer a person."""
    if answers_open_question(ctx):
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
        ctx.utter(response)
        ctx.set(FALLBACKS, count)


def may_contact(ctx: Ctx) -> bool:
    """An unprompted message goes only to a known, reachable debtor who has not opted out."""
    return ctx.debtor is not None and not ctx.debtor.opted_out and ctx.debtor.contact_status == "ok"


class ActionSendReminder(RecobraAction):
    """EXTERNAL_reminder from the scheduler: name the creditor, disclose nothing, ask for the digits."""

    introduces = False
    needs_debtor = False  # an unprompted message to an unknown number says nothing at all

    def name(self) -> str:
        return "action_send_reminder"

    def handle(self, ctx: Ctx) -> None:
        from bot.platform.config import get_settings

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


class ActionPromiseFollowup(RecobraAction):
    """EXTERNAL_promise_followup: the promised day has come."""

    introduces = False
    needs_debtor = False

    def name(self) -> str:
        return "action_promise_followup"

    def handle(self, ctx: Ctx) -> None:
        from bot.platform.config import get_settings

        if not may_contact(ctx):
            return
        ctx.set(INTRODUCED, True)
        ctx.utter("utter_promise_followup", business_name=get_settings().business_name)
        ctx.set(PENDING_CONFIRMATION, "payment_link")
        if not ctx.verified:
            ctx.set(PENDING_REQUEST, "request_payment_link")
            ctx.set(AWAITING, "document_digits")


class ActionPaymentConfirmed(RecobraAction):
    """EXTERNAL_payment_confirmed: thank the debtor (no amounts: the message goes out unprompted)."""

    introduces = False
    needs_debtor = False

    def name(self) -> str:
        return "action_payment_confirmed"

    def handle(self, ctx: Ctx) -> None:
        from bot.platform.config import get_settings

        if not may_contact(ctx):
            return
        ctx.set(INTRODUCED, True)
        ctx.utter("utter_payment_confirmed", business_name=get_settings().business_name)
