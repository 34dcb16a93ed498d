"""Issue #28 §4: no harmful guesses. Acts the person cannot undo in the chat (marking the number wrong, an opt-out, a
dispute) happen at once only on a clear reading, otherwise after a «sí» to a short question; empathy lines name only
what the debtor said."""

import pytest
from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionDeclinePending,
    ActionGreet,
    ActionMarkWrongNumber,
    ActionOptOut,
    ActionProcessInform,
    ActionRecordDispute,
    ActionRecordReason,
)
from bot.store.models import AuditLog, Debtor, Handoff, Invoice, NonpaymentReason
from tests.actions.conftest import ent

PHONE = "+573001112233"
# what the debtor's file would give away to whoever holds the phone: the name, the amount, the debt itself
UNDISCLOSED = ("Ana", "Restrepo", "185", "deuda", "saldo", "factura", "cobro", "pago")


def discloses(texts: list[str]) -> list[str]:
    joined = " ".join(texts)
    return [word for word in UNDISCLOSED if word.lower() in joined.lower()]


def status(session) -> str:
    return session.execute(select(Debtor)).scalar_one().contact_status


# --- the wrong number ---------------------------------------------------------------------------------------


async def test_who_is_writing_is_answered_not_read_as_a_wrong_number(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE)
    # read as wrong_number with 0.74 by the trained model: the person asks who writes, and may be the debtor
    replies = await c.say(
        "¿de parte de quién? no reconozco este número", "wrong_number", ActionMarkWrongNumber, confidence=0.74
    )
    assert replies == ["utter_intro", "utter_who_is_writing_ask_digits"]
    assert status(session) != "wrong_number"
    assert not discloses(c.texts())
    assert "Financiera Aurora" in c.texts()[0] and "4 dígitos" in c.texts()[1]
    assert c.slots["awaiting"] == "document_digits"
    # the debtor it was: the digits, then the conversation goes on
    assert (await c.say("4821", "inform", ActionProcessInform))[:2] == [
        "utter_identity_verified",
        "utter_balance_single",
    ]


async def test_who_is_writing_later_in_the_chat_names_the_creditor_again(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("quién es?", "wrong_number", ActionMarkWrongNumber, confidence=0.9) == [
        "utter_who_is_writing",
        "utter_who_is_writing_ask_digits",
    ]
    assert "Financiera Aurora" in c.texts()[0]
    assert status(session) != "wrong_number" and not discloses(c.texts())


@pytest.mark.parametrize(
    "text",
    [
        "número equivocado, no conozco a esa persona",
        "no soy esa persona",
        "se equivocaron de número",
        "che, acá no vive ningún Sebastián, le erraron al número",
        "wey no soy yo, numero equivocado",
    ],
)
async def test_an_unambiguous_wrong_number_is_marked_at_once(convo, make_debtor, session, text):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say(text, "wrong_number", ActionMarkWrongNumber, confidence=0.99) == ["utter_wrong_number"]
    assert status(session) == "wrong_number"
    assert not discloses(c.texts())


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("no reconozco este número", 0.88),  # the trained model's reading
        ("número equivocado", 0.55),  # the words, but the classifier unsure
        ("ese no", 0.9),
    ],
)
async def test_an_unclear_wrong_number_is_asked_first_and_yes_marks_it(convo, make_debtor, session, text, confidence):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say(text, "wrong_number", ActionMarkWrongNumber, confidence=confidence) == [
        "utter_confirm_wrong_number"
    ]
    assert status(session) != "wrong_number" and not discloses(c.texts())
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_wrong_number"]
    assert status(session) == "wrong_number"


async def test_no_to_the_wrong_number_question_leads_to_the_identity_check(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    await c.say("no reconozco este número", "wrong_number", ActionMarkWrongNumber, confidence=0.88)
    assert await c.say("no", "deny", ActionDeclinePending) == [
        "utter_wrong_number_not_marked",
        "utter_ask_document_digits",
    ]
    assert status(session) != "wrong_number" and not discloses(c.texts())
    assert (await c.say("4821", "inform", ActionProcessInform))[:2] == [
        "utter_identity_verified",
        "utter_balance_single",
    ]


async def test_a_later_yes_does_not_answer_the_wrong_number_question(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    await c.say("no reconozco este número", "wrong_number", ActionMarkWrongNumber, confidence=0.88)
    await c.say("hola", "greet", ActionGreet)
    assert "utter_wrong_number" not in await c.say("sí", "affirm", ActionConfirmPending)
    assert status(session) != "wrong_number"


# --- opting out through the NLU ----------------------------------------------------------------------------


def opted_out(session) -> bool:
    return session.execute(select(Debtor)).scalar_one().opted_out


async def test_an_unambiguous_opt_out_is_recorded_at_once(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("no me escriban más por favor", "opt_out", ActionOptOut) == ["utter_opted_out"]
    assert opted_out(session)


@pytest.mark.parametrize(("text", "confidence"), [("déjenme en paz", 0.96), ("ya no quiero nada", 0.6)])
async def test_an_unclear_opt_out_is_asked_first_and_yes_records_it(convo, make_debtor, session, text, confidence):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say(text, "opt_out", ActionOptOut, confidence=confidence) == ["utter_confirm_opt_out"]
    assert not opted_out(session) and not discloses(c.texts())
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_opted_out"]
    assert opted_out(session)
    # the record keeps what the person had said, not only "sí"
    audit = session.execute(select(AuditLog).where(AuditLog.action == "opted_out")).scalar_one()
    assert audit.details["text"] == text


async def test_no_to_the_opt_out_question_keeps_the_chat(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    await c.say("déjenme en paz", "opt_out", ActionOptOut)
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_opt_out_not_recorded"]
    assert not opted_out(session) and not discloses(c.texts())


# --- disputes -------------------------------------------------------------------------------------------------


def invoice_status(session) -> str:
    return session.execute(select(Invoice)).scalar_one().status


async def test_an_unambiguous_dispute_is_recorded_at_once(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say("no reconozco esa deuda", "dispute_debt", ActionRecordDispute) == [
        "utter_dispute_recorded",
        "utter_handoff_opened",
    ]
    assert invoice_status(session) == "disputed"


@pytest.mark.parametrize(("text", "confidence"), [("y eso qué es? no entiendo", 0.7), ("esto está raro", 0.93)])
async def test_an_unclear_dispute_is_asked_first_and_yes_records_it(convo, make_debtor, session, text, confidence):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    assert await c.say(text, "dispute_debt", ActionRecordDispute, confidence=confidence) == ["utter_confirm_dispute"]
    assert invoice_status(session) != "disputed"
    assert session.execute(select(Handoff)).first() is None
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_dispute_recorded", "utter_handoff_opened"]
    invoice = session.execute(select(Invoice)).scalar_one()
    assert invoice.status == "disputed" and invoice.reminders_paused
    assert text in session.execute(select(Handoff)).scalar_one().summary


async def test_no_to_the_dispute_question_records_nothing(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True, verified=True)
    await c.say("esto está raro", "dispute_debt", ActionRecordDispute, confidence=0.93)
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_dispute_not_recorded"]
    assert invoice_status(session) != "disputed"
    assert session.execute(select(Handoff)).first() is None


async def test_an_unclear_dispute_before_the_identity_check_discloses_nothing_then_asks(convo, make_debtor, session):
    make_debtor()
    c = convo(PHONE, introduced=True)
    assert await c.say("qué es esto?", "dispute_debt", ActionRecordDispute, confidence=0.7) == [
        "utter_ask_document_digits"
    ]
    assert not discloses(c.texts())
    # after the digits the request is carried out: still a question, since the reading was not clear
    assert await c.say("4821", "inform", ActionProcessInform) == ["utter_identity_verified", "utter_confirm_dispute"]
    assert invoice_status(session) != "disputed"
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_dispute_recorded", "utter_handoff_opened"]
    assert invoice_status(session) == "disputed"


# --- empathy names only what the debtor said ---------------------------------------------------------------


async def reason(convo, text: str, value: str) -> tuple[list[str], str, str]:
    c = convo(PHONE, introduced=True, verified=True)
    replies = await c.say(text, "report_nonpayment_reason", ActionRecordReason, entities=[ent("reason", value)])
    return replies, c.texts()[0], c.slots["last_reason"]


async def test_being_broke_is_no_job_loss(convo, make_debtor, session):
    make_debtor()
    replies, line, recorded = await reason(convo, "estoy pelado este mes", "job_loss")
    assert replies[0] != "utter_reason_empathy_job_loss" and "trabajo" not in line
    assert recorded == "other"
    assert session.execute(select(NonpaymentReason)).scalar_one().reason == "other"


async def test_losing_the_job_gets_the_job_line(convo, make_debtor, session):
    make_debtor()
    replies, line, recorded = await reason(convo, "me quedé sin trabajo", "job_loss")
    assert replies[0] == "utter_reason_empathy_job_loss" and "trabajo" in line
    assert recorded == "job_loss"


# (country, what the debtor wrote, what the classifier said) -> (recorded reason, empathy line)
REASONS = [
    # broke or short, no cause named: other, a neutral line
    ("CO", "estoy pelado este mes", "job_loss", "other", "short_of_money"),
    ("CO", "ando sin plata, la verdad", "job_loss", "other", "short_of_money"),
    ("MX", "no tengo lana ahorita", "job_loss", "other", "short_of_money"),
    ("MX", "ando bien corto este mes", "other_debts", "other", "short_of_money"),
    ("AR", "no tengo un mango", "job_loss", "other", "short_of_money"),
    ("AR", "no tengo guita", "health", "other", "short_of_money"),
    ("PE", "ando misio", "job_loss", "other", "short_of_money"),
    ("CL", "no tengo ni una luca", "job_loss", "other", "short_of_money"),
    ("CL", "estoy seco este mes", "job_loss", "other", "short_of_money"),
    ("CO", "no me alcanza", "other_debts", "other", "short_of_money"),
    # broke because the pay has not come: income_delay
    ("MX", "estoy pelado hasta que me paguen la quincena", "job_loss", "income_delay", "income_delay"),
    ("AR", "no tengo un mango, todavía no cobré el sueldo", "job_loss", "income_delay", "income_delay"),
    ("PE", "ando misio, no me han depositado", "health", "income_delay", "income_delay"),
    # losing the work, in the words of each country: job_loss
    ("CO", "me echaron del trabajo", "job_loss", "job_loss", "job_loss"),
    ("CO", "me botaron del camello", "job_loss", "job_loss", "job_loss"),
    ("MX", "me quedé sin chamba", "job_loss", "job_loss", "job_loss"),
    ("AR", "me rajaron del laburo", "job_loss", "job_loss", "job_loss"),
    ("PE", "estoy desempleado desde marzo", "job_loss", "job_loss", "job_loss"),
    ("CL", "quedé sin pega", "job_loss", "job_loss", "job_loss"),
    ("CL", "me despidieron y estoy cesante", "job_loss", "job_loss", "job_loss"),
    # health only when the words speak of it
    ("MX", "estuve internado en el hospital", "health", "health", "health"),
    ("CO", "ando como aburrido", "health", "other", "other"),
    # other causes, kept when named, else neutral
    ("PE", "se me pasó la fecha", "forgot", "forgot", "forgot"),
    ("CL", "tengo la tarjeta al tope y el dividendo", "other_debts", "other_debts", "other_debts"),
    ("AR", "bajaron mucho las ventas en el negocio", "income_delay", "income_delay", "income_low"),
    ("MX", "la cosa está difícil", "job_loss", "other", "other"),
]


@pytest.mark.parametrize(("country", "text", "classified", "recorded", "line"), REASONS)
async def test_reason_phrasings_across_countries(
    convo, make_debtor, session, country, text, classified, recorded, line
):
    make_debtor(country=country)
    replies, said, slot = await reason(convo, text, classified)
    assert (slot, replies[0]) == (recorded, f"utter_reason_empathy_{line}")
    assert session.execute(select(NonpaymentReason)).scalar_one().reason == recorded
    if recorded != "job_loss":
        assert "trabajo" not in said
    if recorded != "health":
        assert "salud" not in said
