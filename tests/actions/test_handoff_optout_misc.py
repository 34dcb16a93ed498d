from sqlalchemy import select

from actions.catalogue import (
    ActionAnswerBotChallenge,
    ActionConfirmPending,
    ActionGoodbye,
    ActionGreet,
    ActionHandleFallback,
    ActionMarkWrongNumber,
    ActionOfferPaymentPlan,
    ActionOpenHandoff,
    ActionOptOut,
    ActionOutOfScope,
    ActionPaymentConfirmed,
    ActionProcessInform,
    ActionProposePromise,
    ActionRecordClaimedPaid,
    ActionRecordDispute,
    ActionSendReminder,
    ActionShowBalance,
    ActionThank,
)
from bot.billing import accounts
from bot.store.models import Conversation, Debtor, Handoff, Invoice, PaymentPlan, Promise
from tests.actions.conftest import ent

PHONE = "+573001112233"


async def test_claim_paid_pauses_and_hands_off(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("ya pagué", "claim_already_paid", ActionRecordClaimedPaid) == [
        "utter_claim_paid",
        "utter_handoff_opened",
    ]
    assert "foto" in c.texts()[0]
    assert session.execute(select(Invoice)).scalar_one().reminders_paused
    assert session.execute(select(Handoff)).scalar_one().reason == "claims_paid"
    assert session.execute(select(Conversation)).scalar_one().mode == "human"


async def test_dispute_recorded(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("esa deuda no es mía", "dispute_debt", ActionRecordDispute) == [
        "utter_dispute_recorded",
        "utter_handoff_opened",
    ]
    invoice = session.execute(select(Invoice)).scalar_one()
    assert invoice.status == "disputed" and invoice.reminders_paused
    assert session.execute(select(Handoff)).scalar_one().reason == "dispute"


async def test_human_please(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("quiero hablar con un asesor", "request_human", ActionOpenHandoff) == ["utter_handoff_opened"]
    handoff = session.execute(select(Handoff)).scalar_one()
    assert handoff.reason == "request_human" and "asesor" in handoff.summary
    assert "30 minutos" in c.texts()[0]


async def test_opt_out(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE)
    # the first message of a conversation names the creditor, even this one: who will stop writing?
    assert await c.say("BAJA", "opt_out", ActionOptOut) == ["utter_intro", "utter_opted_out"]
    assert session.execute(select(Debtor)).scalar_one().opted_out


async def test_a_yes_with_nothing_pending_asks_for_the_digits_before_naming_anyone(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("si", "affirm", ActionConfirmPending) == ["utter_ask_document_digits"]
    assert "Ana" not in " ".join(c.texts())
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("si", "affirm", ActionConfirmPending) == ["utter_how_can_i_help"]
    assert c.texts()[0].startswith("Ana,")


async def test_wrong_number_discloses_nothing(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE)
    assert await c.say("número equivocado", "wrong_number", ActionMarkWrongNumber) == [
        "utter_intro",
        "utter_wrong_number",
    ]
    assert session.execute(select(Debtor)).scalar_one().contact_status == "wrong_number"
    assert await c.say("hola", "greet", ActionGreet) == ["utter_no_account"]


async def test_bot_challenge_names_the_creditor(convo):
    c = convo("+573009999999")
    assert await c.say("eres un robot?", "bot_challenge", ActionAnswerBotChallenge) == ["utter_bot_challenge"]
    assert "Financiera Aurora" in c.texts()[0]


async def test_reminder_discloses_nothing_and_respects_opt_out(convo, make_debtor, session):
    debtor = make_debtor()
    c = convo(PHONE)
    assert await c.say("/EXTERNAL_reminder", "EXTERNAL_reminder", ActionSendReminder) == ["utter_reminder"]
    assert "185" not in c.texts()[0] and "Financiera Aurora" in c.texts()[0]
    debtor = session.get(Debtor, debtor.id)
    debtor.opted_out = True
    session.commit()
    assert await convo(PHONE).say("/EXTERNAL_reminder", "EXTERNAL_reminder", ActionSendReminder) == []


async def test_payment_confirmed(convo, make_debtor):
    make_debtor()
    c = convo(PHONE)
    assert await c.say("/EXTERNAL_payment_confirmed", "EXTERNAL_payment_confirmed", ActionPaymentConfirmed) == [
        "utter_payment_confirmed"
    ]


async def test_campaign_reminder_text_is_sent_as_is(convo, make_debtor):
    make_debtor()
    c = convo(PHONE)
    text = "Financiera Aurora: Hola, tenemos un recordatorio importante sobre su cuenta. Responda este mensaje."
    replies = await c.say(
        "/EXTERNAL_reminder",
        "EXTERNAL_reminder",
        ActionSendReminder,
        entities=[{"entity": "reminder_text", "value": text}, {"entity": "campaign_stage", "value": "D-3"}],
    )
    assert replies == ["utter_reminder_text"] and c.texts() == [text]
    assert await c.say("hola", "greet", ActionGreet) == ["utter_ask_document_digits"]


async def test_unprompted_messages_never_go_to_unknown_or_wrong_numbers(convo, make_debtor, session):
    from actions.catalogue import ActionPromiseFollowup

    for action, intent in (
        (ActionSendReminder, "EXTERNAL_reminder"),
        (ActionPromiseFollowup, "EXTERNAL_promise_followup"),
        (ActionPaymentConfirmed, "EXTERNAL_payment_confirmed"),
    ):
        assert await convo("+573009999999").say(f"/{intent}", intent, action) == []
    debtor = make_debtor()
    debtor = session.get(Debtor, debtor.id)
    debtor.contact_status = "wrong_number"
    session.commit()
    assert await convo(PHONE).say("/EXTERNAL_reminder", "EXTERNAL_reminder", ActionSendReminder) == []


async def test_out_of_hours_handoff_tells_when_a_person_answers(convo, make_debtor, session, team_at_work):
    from datetime import datetime, timezone

    from bot.desk import settings as desk_settings

    sunday_night = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)  # Sunday 22:00 in Bogotá
    team_at_work.setattr(desk_settings, "utcnow", lambda: sunday_night)
    make_debtor()
    c = convo(PHONE, introduced=True)
    # One message: when a person answers, and not the usual wait as well (issue #28 §5).
    assert await c.say("quiero hablar con un asesor", "request_human", ActionOpenHandoff) == [
        "utter_handoff_opened_after_hours"
    ]
    assert "mañana a partir de las 8:00" in c.texts()[0] and "le responderá" in c.texts()[0]
    assert "30 minutos" not in c.texts()[0] and "hora de Colombia" not in c.texts()[0]  # the debtor's own zone
    # A second request in the same hand-off is answered the same way, once.
    assert await c.say("hola? alguien?", "request_human", ActionOpenHandoff) == ["utter_handoff_opened_after_hours"]


async def test_a_claim_that_says_when_and_how_is_not_asked_again(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say("ya pagué ayer por transferencia", "claim_already_paid", ActionRecordClaimedPaid)
    assert replies == ["utter_claim_paid_noted", "utter_handoff_opened"]
    assert "Cuándo" not in c.texts()[0] and "medio" not in c.texts()[0] and "foto" in c.texts()[0]
    assert "ayer por transferencia" in session.execute(select(Handoff)).scalar_one().summary


async def test_a_claim_is_asked_only_what_it_lacks(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert (await c.say("ya pagué en el oxxo", "claim_already_paid", ActionRecordClaimedPaid))[0] == (
        "utter_claim_paid_ask_when"
    )
    assert "¿Qué día" in c.texts()[0]
    c = convo("+573001112244", introduced=True, verified=True)
    make_debtor("D-2", phone="+573001112244")
    assert (await c.say("pagué el lunes pasado", "claim_already_paid", ActionRecordClaimedPaid))[0] == (
        "utter_claim_paid_ask_how"
    )
    assert "¿Por qué medio" in c.texts()[0]


async def test_a_claim_told_before_the_digits_is_remembered_after_them(convo, make_debtor):
    from actions.catalogue import ActionProcessInform
    from tests.actions.conftest import ent

    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("ya pagué ayer en efectivo en Efecty", "claim_already_paid", ActionRecordClaimedPaid) == [
        "utter_ask_document_digits"
    ]
    replies = await c.say("4821", "inform", ActionProcessInform, entities=[ent("document_digits", "4821")])
    assert replies[:2] == ["utter_identity_verified", "utter_claim_paid_noted"]


async def test_a_short_answer_misread_as_out_of_scope_still_answers_the_open_question(convo, make_debtor, session):
    """Asked "¿qué día puede hacer el pago?", the debtor says "hoy": the classifier may read that as out of
    scope or not understood; it is the date asked for."""

    debtor = make_debtor()
    c = convo("+573001112233", introduced=True, verified=True)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    assert await c.say("HOY x la noche", "out_of_scope", ActionOutOfScope) == ["utter_confirm_promise"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().promised_date == accounts.local_today(debtor)

    await c.say("puedo pagar en cuotas?", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("tres", "nlu_fallback", ActionHandleFallback) == ["utter_confirm_plan"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(PaymentPlan)).scalar_one().instalment_count == 3


async def test_out_of_scope_chatter_gets_the_out_of_scope_answer(convo, make_debtor, session):

    make_debtor()
    c = convo("+573001112233", introduced=True, verified=True)
    assert await c.say("cuál es el clima hoy", "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    long_remark = "hoy en la chamba trajeron pastel por el cumple del jefe y nos quedamos platicando"
    assert await c.say(long_remark, "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]
    assert session.execute(select(Promise)).first() is None
    stranger = convo("+573009999999", introduced=True)
    assert await stranger.say("hoy", "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]


async def test_an_open_question_is_answered_by_the_next_message_only(convo, make_debtor, session):
    """ "¿Qué día puede pagar?", then the debtor asks for the balance instead: a "3" after that is not the day."""

    make_debtor()
    c = convo("+573001112233", introduced=True, verified=True)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    await c.say("cuánto debo?", "check_balance", ActionShowBalance)
    assert await c.say("3", "inform", ActionProcessInform) == ["utter_inform_unclear"]
    assert session.execute(select(Promise)).first() is None
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    assert await c.say("el 28", "inform", ActionProcessInform) == ["utter_confirm_promise"]


async def test_a_date_answer_read_as_goodbye_or_thanks_is_still_the_answer(convo, make_debtor):
    make_debtor()
    c = convo("+573001112233", introduced=True, verified=True)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    assert await c.say(
        "bueno, entonces el 5", "goodbye", ActionGoodbye, entities=[ent("date", "el 5", "el 5", 16)]
    ) == ["utter_confirm_promise"]
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    assert await c.say("gracias, hasta mañana", "goodbye", ActionGoodbye) == ["utter_goodbye"]
    assert await c.say("mil gracias", "thank", ActionThank) == ["utter_thanks"]


async def test_two_out_of_scope_or_not_understood_turns_in_a_row_offer_a_person(convo, make_debtor):
    make_debtor()
    c = convo("+573001112233", introduced=True, verified=True)
    assert await c.say("asdfgh", "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]
    assert await c.say("qwerty zxcv", "nlu_fallback", ActionHandleFallback) == ["utter_offer_human_after_fallback"]
    assert await c.say("cuál es el clima hoy", "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]
    assert await c.say("y el de mañana?", "out_of_scope", ActionOutOfScope) == ["utter_offer_human_after_fallback"]


async def test_the_answer_to_when_and_how_goes_to_the_handoff_not_to_a_promise(convo, make_debtor, session):
    """ "¿Cuándo y por qué medio pagó?" → "el lunes por nequi": the classifier reads a promise (a weekday, a
    payment word); it is the claim's detail, for the person who verifies it."""

    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("ya pagué", "claim_already_paid", ActionRecordClaimedPaid)
    replies = await c.say(
        "el lunes por nequi", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el lunes", "el lunes", 0)]
    )
    assert replies == ["utter_claim_details_noted"]
    assert "comprobante" in c.texts()[0]
    assert session.execute(select(Promise)).first() is None
    assert "el lunes por nequi" in session.execute(select(Handoff)).scalar_one().summary
    # the question was answered: a later date is a promise again
    assert await c.say(
        "le pago el 28", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el 28", "el 28", 8)]
    ) == ["utter_confirm_promise"]


async def test_a_new_request_after_the_claim_question_is_answered_as_such(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("ya pagué en el oxxo", "claim_already_paid", ActionRecordClaimedPaid)
    assert (await c.say("cuánto debo?", "check_balance", ActionShowBalance))[0] == "utter_balance_single"
    assert "Cuándo y cómo pagó" not in session.execute(select(Handoff)).scalar_one().summary


async def test_the_digits_again_after_the_check_are_not_a_date(convo, make_debtor, session):
    """Asked for the day, the debtor sends the 4 document digits again (answering an older question): that
    is no year 4821 to refuse; the bot says they are verified and the day question stays open."""

    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    assert await c.say("4821", "inform", ActionProcessInform, entities=[ent("document_digits", "4821")]) == [
        "utter_identity_already_verified"
    ]
    assert await c.say("el 28", "inform", ActionProcessInform) == ["utter_confirm_promise"]
    assert session.execute(select(Promise)).first() is None


async def test_a_debtor_who_cannot_give_the_digits_is_told_where_to_find_them_and_offered_a_person(
    convo, make_debtor, session
):
    make_debtor()
    c = convo(PHONE, introduced=True)
    await c.say("hola", "greet", ActionGreet)
    assert await c.say("no me acuerdo", "nlu_fallback", ActionHandleFallback) == ["utter_identity_help"]
    assert "documento" in c.texts()[0] and "asesor" in c.texts()[0]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_handoff_opened"]
    assert session.execute(select(Handoff)).scalar_one().reason == "request_human"
