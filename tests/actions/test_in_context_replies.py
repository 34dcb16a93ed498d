"""#28, the dialogue set's remaining failures: what the bot waits for decides how a reply is read.

* A proposal («¿le envío el link?», «¿es correcto?») is answered by the very next message only: after a «no entendí»
  or another request, a «sí» means something else.
* A correction at a confirmation, short or long ("no perdón, mejor al 16", "no, mejor en 4"), replaces what was
  proposed and is read back; the same day said again ("sí así es, el miércoles") is a «sí».
* An answer inside a remark the classifier read as a reason ("mejor en 6 porque con menos no me alcanza") is the
  answer; an answer put off ("lo hablo con mi esposa y le confirmo") keeps the question open, whatever the reading.
* "Sí, imposible antes de esa fecha" confirms the debtor's own day; "quiero dar una fecha para pagar" is a promise;
  "¿qué es este cobro?" asks whether to register a claim; plain words of an opt-out are clear.

The intents, confidences and entities are what the trained model gives these messages (``/tmp`` parses of the
shipped model, December 2026); the actions may not rely on one reading."""

from datetime import timedelta

from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionDeclinePending,
    ActionHandleFallback,
    ActionOfferPaymentPlan,
    ActionOptOut,
    ActionProcessInform,
    ActionProposePromise,
    ActionRecordReason,
    ActionRequestDueDateChange,
    ActionSendPaymentLink,
    ActionShowBalance,
    ActionVerifyIdentity,
)
from bot.billing import accounts
from bot.store.models import (
    Debtor,
    DueDateChange,
    Handoff,
    Invoice,
    NonpaymentReason,
    PaymentLink,
    PaymentPlan,
    Promise,
)
from tests.actions.conftest import MX_PHONE, PHONE, ent, mx_debtor, verified


def reasons_recorded(session) -> list[str]:
    return [r.reason for r in session.execute(select(NonpaymentReason)).scalars()]


# --- a proposal is answered by the next message only ----------------------------------------------------------


async def test_a_yes_after_a_no_entendi_does_not_answer_the_link_offer_of_an_earlier_turn(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    assert (await c.say("cuánto debo?", "check_balance", ActionShowBalance))[-1] == "utter_offer_payment_link"
    assert await c.say("uff la verdad no sé qué decirle jajaja", "nlu_fallback", ActionHandleFallback) == [
        "utter_default"
    ]
    replies = await c.say("sí", "affirm", ActionConfirmPending)
    assert not any(r.startswith("utter_payment_link") for r in replies)
    assert session.execute(select(PaymentLink)).first() is None


async def test_a_yes_after_another_question_does_not_send_the_link(convo, make_debtor, session):
    """The due date asked for after the balance: «sí» answers that question (asked again), never the old offer."""
    mx_debtor(make_debtor, due_in_days=3)
    c = convo(MX_PHONE, introduced=True, verified=True)
    await c.say("cuánto debo?", "check_balance", ActionShowBalance)
    assert await c.say("se puede postergar el vencimiento?", "request_due_date_change", ActionRequestDueDateChange) == [
        "utter_ask_new_due_date"
    ]
    replies = await c.say("sí", "affirm", ActionConfirmPending)
    assert not any(r.startswith("utter_payment_link") for r in replies)
    assert session.execute(select(PaymentLink)).first() is None


async def test_a_yes_given_before_the_identity_check_still_answers_the_offer_after_the_digits(
    convo, make_debtor, session
):
    make_debtor()
    c = convo(PHONE, introduced=True, pending_confirmation="payment_link", proposed={"turn": 0})
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_ask_document_digits"]
    replies = await c.say("4821", "inform", ActionVerifyIdentity)
    assert "utter_payment_link_balance" in replies
    assert session.execute(select(PaymentLink)).scalar_one()


# --- corrections at a confirmation, short or long --------------------------------------------------------------


async def test_a_short_correction_of_the_due_date_replaces_it_and_the_yes_saves_the_new_day(
    convo, make_debtor, session
):
    debtor = mx_debtor(make_debtor, due_in_days=2)
    c = convo(MX_PHONE, introduced=True, verified=True)
    today = accounts.local_today(debtor)
    first, wanted = today + timedelta(days=5), today + timedelta(days=8)
    await c.say("quiero mover mi fecha de pago", "request_due_date_change", ActionRequestDueDateChange)
    assert await c.say(f"al {first.day}", "inform", ActionProcessInform) == ["utter_confirm_due_date"]
    replies = await c.say(f"no perdón, mejor al {wanted.day}", "nlu_fallback", ActionHandleFallback)
    assert replies == ["utter_confirm_due_date"]
    assert wanted.strftime(" %d ").replace(" 0", " ").strip() in c.texts()[0]
    await c.say("sí", "affirm", ActionConfirmPending)
    session.expire_all()
    assert session.execute(select(Invoice)).scalar_one().due_date == wanted  # never the first day
    assert session.execute(select(DueDateChange)).scalar_one()


async def test_no_and_another_count_replaces_the_plan(convo, make_debtor, session):
    mx_debtor(make_debtor, due_in_days=0)
    c = convo(MX_PHONE, introduced=True, verified=True)
    await c.say("quiero pagar en cuotas", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("en 2", "inform", ActionProcessInform) == ["utter_confirm_plan"]
    assert await c.say("no, mejor en 4", "deny", ActionDeclinePending) == ["utter_confirm_plan"]
    assert c.slots["plan_count"] == 4
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(PaymentPlan)).scalar_one().instalment_count == 4


async def test_the_same_day_said_again_with_a_yes_confirms_the_promise(convo, make_debtor, session):
    debtor = make_debtor()
    c = verified(convo)
    await c.say("le pago el miércoles", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el miércoles")])
    assert c.slots["pending_confirmation"] == "promise"
    replies = await c.say(
        "sí así es, el miércoles", "affirm", ActionConfirmPending, entities=[ent("date", "el miércoles")]
    )
    assert replies == ["utter_promise_saved"]
    promise = session.execute(select(Promise)).scalar_one()
    assert promise.promised_date.weekday() == 2 and promise.promised_date > accounts.local_today(debtor)


async def test_a_yes_that_says_no_day_sooner_works_confirms_the_debtors_own_day(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("le pago el 20", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el 20")])
    assert await c.say("si, imposible antes de esa fecha", "affirm", ActionConfirmPending) == ["utter_promise_saved"]
    assert session.execute(select(Promise)).scalar_one().promised_date.day == 20


# --- the answer inside a remark, or put off ----------------------------------------------------------------------


async def test_a_count_inside_a_remark_read_as_a_reason_is_the_count(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("lo puedo pagar en parcialidades?", "request_payment_plan", ActionOfferPaymentPlan)
    replies = await c.say(
        "mejor en 6 porque con menos no me alcanza",
        "report_nonpayment_reason",
        ActionRecordReason,
        entities=[ent("reason", "other_debts")],
    )
    assert replies == ["utter_confirm_plan"]
    assert c.slots["plan_count"] == 6
    assert reasons_recorded(session) == []


async def test_an_answer_put_off_read_as_a_promise_keeps_the_count_question_open(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("me gustaria pagar en cuotas", "request_payment_plan", ActionOfferPaymentPlan)
    assert await c.say("lo hablo con mi esposa y le confirmo", "promise_to_pay", ActionProposePromise) == [
        "utter_take_your_time"
    ]
    assert await c.say("ya hablé con ella, que sean 4", "nlu_fallback", ActionHandleFallback) == ["utter_confirm_plan"]
    await c.say("si", "affirm", ActionConfirmPending)
    assert session.execute(select(PaymentPlan)).scalar_one().instalment_count == 4


async def test_an_answer_put_off_read_as_a_reason_records_no_reason(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    assert await c.say("quiero dar una fecha para pagar", "request_due_date_change", ActionRequestDueDateChange) == [
        "utter_ask_promise_date"
    ]
    replies = await c.say(
        "déjeme checarlo con mi esposo y ahorita le digo",
        "report_nonpayment_reason",
        ActionRecordReason,
        entities=[ent("reason", "health")],
    )
    assert replies == ["utter_take_your_time"]
    assert reasons_recorded(session) == [] and session.execute(select(Promise)).first() is None
    assert c.slots["awaiting"] == "promise_date"


# --- dates the debtor names ------------------------------------------------------------------------------------


async def test_a_due_date_request_that_names_the_day_reads_it_back(convo, make_debtor):
    debtor = mx_debtor(make_debtor, due_in_days=3)
    c = convo(MX_PHONE, introduced=True, verified=True)
    wanted = accounts.local_today(debtor) + timedelta(days=9)
    replies = await c.say(
        f"me podés mover el vencimiento al {wanted.day}? cobro ese día",
        "request_due_date_change",
        ActionRequestDueDateChange,
    )
    assert replies == ["utter_confirm_due_date"]
    assert c.slots["new_due_date"] == wanted.isoformat()


async def test_a_day_followed_by_pe_is_the_day(convo, make_debtor):
    debtor = mx_debtor(make_debtor, due_in_days=3)
    c = convo(MX_PHONE, introduced=True, verified=True)
    wanted = accounts.local_today(debtor) + timedelta(days=8)
    await c.say("se puede postergar la fecha de vencimiento?", "request_due_date_change", ActionRequestDueDateChange)
    assert await c.say(f"al {wanted.day} pe", "inform", ActionProcessInform) == ["utter_confirm_due_date"]
    assert c.slots["new_due_date"] == wanted.isoformat()


# --- a question about the charge, an opt-out in plain words ------------------------------------------------------


async def test_a_question_about_the_charge_asks_whether_to_register_a_claim(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    assert await c.say("y esto de qué es?", "check_balance", ActionShowBalance, confidence=0.74) == [
        "utter_confirm_dispute"
    ]
    assert "reclamo" in c.texts()[0]
    assert session.execute(select(Handoff)).first() is None  # nothing recorded on the question alone
    await c.say("sí por favor, regístrelo", "affirm", ActionConfirmPending)
    session.expire_all()
    assert session.execute(select(Invoice)).scalar_one().status == "disputed"
    assert session.execute(select(Handoff)).scalar_one().reason == "dispute"


async def test_a_balance_question_is_still_the_balance(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    assert (await c.say("cuánto debo?", "check_balance", ActionShowBalance))[0] == "utter_balance_single"


async def test_an_opt_out_in_plain_words_is_recorded_at_once(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    text = "ok gracias, pero ya no quiero que me sigan escribiendo por aca"
    assert await c.say(text, "opt_out", ActionOptOut, confidence=0.68) == ["utter_opted_out"]
    session.expire_all()
    assert session.execute(select(Debtor)).scalar_one().opted_out


async def test_a_less_sure_opt_out_in_other_words_is_still_asked(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    assert await c.say("no me manden el link todavía", "opt_out", ActionOptOut, confidence=0.68) == [
        "utter_confirm_opt_out"
    ]
    session.expire_all()
    assert not session.execute(select(Debtor)).scalar_one().opted_out


# --- reasons with something else ------------------------------------------------------------------------------


async def test_late_pay_and_the_balance_in_an_unplaced_message_records_both(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say(
        "se me atrasó el sueldo che, cuánto te debo en total?",
        "nlu_fallback",
        ActionHandleFallback,
        entities=[ent("reason", "income_delay")],
        confidence=0.5,
    )
    assert replies[:2] == ["utter_reason_empathy_income_delay", "utter_balance_single"]
    assert reasons_recorded(session) == ["income_delay"]


async def test_trouble_paying_and_the_link_records_the_reason_and_sends_the_link(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    text = "tuve problemas con mi tarjeta y no podia pagar en linea, me manda el link porfa"
    replies = await c.say(
        text, "request_payment_link", ActionSendPaymentLink, entities=[ent("reason", "other")], confidence=0.51
    )
    assert "utter_payment_link_balance" in replies
    assert reasons_recorded(session) == ["other"]


async def test_a_plain_cause_stands_for_the_one_the_classifier_named(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say(
        "por dos meses estuve cesante, el sábado le pago",
        "report_nonpayment_reason+promise_to_pay",
        ActionRecordReason,
        ActionProposePromise,
        entities=[ent("date", "el sábado"), ent("reason", "health")],
    )
    assert reasons_recorded(session) == ["job_loss"]
    assert "utter_reason_empathy_health" not in c.last and c.slots["pending_confirmation"] == "promise"


async def test_a_reason_with_the_day_asked_for_records_the_reason_and_reads_the_day_back(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    assert c.slots["awaiting"] == "promise_date"
    replies = await c.say(
        "es que no me han pagado el sueldo, le pago el 30",
        "report_nonpayment_reason",
        ActionRecordReason,
        entities=[ent("reason", "income_delay")],
    )
    assert replies[0] == "utter_reason_empathy_income_delay" and replies[-1] == "utter_confirm_promise"
    assert reasons_recorded(session) == ["income_delay"]


async def test_a_day_given_with_a_later_word_is_no_answer_put_off(convo, make_debtor):
    make_debtor()
    c = verified(convo)
    await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise)
    replies = await c.say(
        "el viernes le pago y le aviso", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el viernes")]
    )
    assert replies == ["utter_confirm_promise"]


async def test_a_question_about_the_charge_the_model_did_not_place_asks_about_a_claim(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say("de dónde sale esta deuda? no entiendo", "nlu_fallback", ActionHandleFallback, confidence=0.5)
    assert replies == ["utter_confirm_dispute"]
    assert await c.say("no, gracias", "deny", ActionDeclinePending) == ["utter_dispute_not_recorded"]
    session.expire_all()
    assert session.execute(select(Invoice)).scalar_one().status == "open"
    assert session.execute(select(Handoff)).first() is None
