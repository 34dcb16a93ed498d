from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.catalogue import (
    ActionConfirmPending,
    ActionDeclinePending,
    ActionProcessInform,
    ActionProposePromise,
    ActionRecordReason,
)
from bot.billing import accounts
from bot.store.models import Invoice, NonpaymentReason, Promise
from tests.actions.conftest import ent, verified


async def test_promise_confirmed_and_stored(convo, make_debtor, session):
    debtor = make_debtor()
    c = verified(convo)
    replies = await c.say(
        "pago mañana", "promise_to_pay", ActionProposePromise, entities=[ent("date", "mañana", "mañana", 5)]
    )
    assert replies == ["utter_confirm_promise"]
    assert "$185.000" in c.texts()[0]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_promise_saved"]
    promise = session.execute(select(Promise)).scalar_one()
    assert promise.amount == Decimal("185000.00") and promise.status == "open"
    assert promise.promised_date == accounts.local_today(debtor) + timedelta(days=1)


async def test_promise_asks_date_then_amount_given(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    assert await c.say("le voy a pagar", "promise_to_pay", ActionProposePromise) == ["utter_ask_promise_date"]
    replies = await c.say(
        "pasado mañana, 50 mil",
        "inform",
        ActionProcessInform,
        entities=[ent("date", "pasado mañana", "pasado mañana", 0), ent("amount", "50 mil", "50 mil", 15)],
    )
    assert replies == ["utter_confirm_promise"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().amount == Decimal("50000.00")


async def test_a_date_the_nlu_did_not_tag_is_read_from_the_message(convo, make_debtor, session):
    debtor = make_debtor()
    c = verified(convo)
    replies = await c.say("okis, mañana cancelo la cuota en el banco", "promise_to_pay", ActionProposePromise)
    assert replies == ["utter_confirm_promise"]
    await c.say("sí", "affirm", ActionConfirmPending)
    promise = session.execute(select(Promise)).scalar_one()
    assert promise.promised_date == accounts.local_today(debtor) + timedelta(days=1)


async def test_an_amount_the_nlu_did_not_tag_is_read_only_when_written_as_money(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("voy a abonar la mitad mañana", "promise_to_pay", ActionProposePromise)
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().amount == Decimal("92500.00")  # half of 185.000
    await c.say("en ocho días le pago", "promise_to_pay", ActionProposePromise)  # a count of days, not money
    await c.say("sí", "affirm", ActionConfirmPending)
    promise = session.execute(select(Promise).where(Promise.status == "open")).scalar_one()
    assert promise.amount == Decimal("185000.00")
    await c.say("el viernes le abono cien lucas", "promise_to_pay", ActionProposePromise)  # slang money
    await c.say("sí", "affirm", ActionConfirmPending)
    promise = session.execute(select(Promise).where(Promise.status == "open")).scalar_one()
    assert promise.amount == Decimal("100000.00")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("me quedé sin trabajo el mes pasado pero le voy a pagar", "promise_to_pay"),  # the past is not the date
        ("hoy me despidieron, le pago cuando pueda", "report_nonpayment_reason+promise_to_pay"),  # today is bad news
    ],
)
async def test_a_date_told_about_the_reason_is_not_read_as_the_promise_date(convo, make_debtor, session, text, intent):
    make_debtor()
    c = verified(convo)
    assert await c.say(text, intent, ActionProposePromise) == ["utter_ask_promise_date"]
    assert session.execute(select(Promise)).first() is None


async def test_past_and_far_dates_are_refused_with_an_alternative(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say(
        "pago el 2020-01-01",
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("date", "2020-01-01", "2020-01-01", 8)],
    )
    assert replies == ["utter_promise_date_past"]
    replies = await c.say(
        "2031-01-01", "inform", ActionProcessInform, entities=[ent("date", "2031-01-01", "2031-01-01", 0)]
    )
    assert replies == ["utter_promise_date_too_far"]
    assert session.execute(select(Promise)).first() is None


async def test_new_promise_replaces_old(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    for when in ("mañana", "pasado mañana"):
        await c.say(f"pago {when}", "promise_to_pay", ActionProposePromise, entities=[ent("date", when, when, 5)])
        await c.say("sí", "affirm", ActionConfirmPending)
    statuses = [p.status for p in session.execute(select(Promise).order_by(Promise.id)).scalars()]
    assert statuses == ["replaced", "open"]


async def test_declined_confirmation_saves_nothing(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    await c.say("pago mañana", "promise_to_pay", ActionProposePromise, entities=[ent("date", "mañana")])
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_declined_not_saved"]
    assert session.execute(select(Promise)).first() is None


async def test_reason_recorded_with_own_words_and_next_step(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say(
        "me quedé sin chamba", "report_nonpayment_reason", ActionRecordReason, entities=[ent("reason", "job_loss")]
    )
    assert replies == ["utter_reason_empathy_job_loss", "utter_offer_plan_question"]
    row = session.execute(select(NonpaymentReason)).scalar_one()
    assert (row.reason, row.text) == ("job_loss", "me quedé sin chamba")
    assert c.slots["pending_confirmation"] == "plan_offer"


async def test_reason_and_promise_in_one_message(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say(
        "me quedé sin chamba, puedo pagar mañana?",
        "report_nonpayment_reason+promise_to_pay",
        ActionRecordReason,
        ActionProposePromise,
        entities=[ent("reason", "job_loss"), ent("date", "mañana", "mañana", 33)],
    )
    assert replies == ["utter_reason_empathy_job_loss", "utter_confirm_promise"]
    await c.say("sí", "affirm", ActionConfirmPending)
    session.expire_all()
    assert session.execute(select(Promise)).scalar_one().status == "open"
    assert session.execute(select(NonpaymentReason)).scalar_one().reason == "job_loss"


async def test_asking_the_reason_depends_on_the_country(convo, make_debtor):
    make_debtor()  # Colombia: never ask
    c = verified(convo)
    c.slots["pending_confirmation"] = "payment_link"
    assert await c.say("no", "deny", ActionDeclinePending) == ["utter_offer_plan_or_promise"]
    make_debtor(
        "MX-1",
        phone="+525512340000",
        country="MX",
        timezone="America/Mexico_City",
        invoices=[{"external_id": "MX-F1", "amount": "899.50", "currency": "MXN", "due_date": "2026-11-01"}],
    )
    m = convo("+525512340000", introduced=True, verified=True, pending_confirmation="payment_link")
    assert await m.say("no", "deny", ActionDeclinePending) == ["utter_ask_reason"]


async def test_with_two_invoices_a_promise_of_the_whole_balance_covers_both(convo, make_debtor, session):
    make_debtor(
        invoices=[
            {"external_id": "F1", "amount": "420000", "currency": "COP", "due_date": "2026-10-01"},
            {"external_id": "F2", "amount": "140000", "currency": "COP", "due_date": "2026-11-10"},
        ]
    )
    c = verified(convo)
    replies = await c.say(
        "pago el viernes", "promise_to_pay", ActionProposePromise, entities=[ent("date", "el viernes", "el viernes", 5)]
    )
    assert replies == ["utter_promise_covers_invoices", "utter_confirm_promise"]
    assert "F1 ($420.000) y F2 ($140.000)" in c.texts()[0]
    assert "$560.000" in c.texts()[1]
    await c.say("sí", "affirm", ActionConfirmPending)
    made = session.execute(select(Promise).order_by(Promise.id)).scalars().all()
    assert [(session.get(Invoice, p.invoice_id).external_id, p.amount) for p in made] == [
        ("F1", Decimal("420000.00")),
        ("F2", Decimal("140000.00")),
    ]
    assert made[0].promised_date == made[1].promised_date


def _named(day) -> str:
    from actions.parsing import MONTHS

    return f"el {day.day} de {MONTHS[day.month - 1]}"


async def test_a_named_day_that_passed_weeks_ago_is_past_not_next_year(convo, make_debtor):
    """On 3 December "el 1 de noviembre" is the one that passed, not next November's ("too far")."""
    debtor = make_debtor()
    c = verified(convo)
    text = _named(accounts.local_today(debtor) - timedelta(days=25))
    replies = await c.say(
        f"le pago {text}", "promise_to_pay", ActionProposePromise, entities=[ent("date", text, text, 8)]
    )
    assert replies == ["utter_promise_date_past"]


async def test_no_with_a_new_date_after_a_refused_date_is_the_new_date(convo, make_debtor, session):
    debtor = make_debtor()
    c = verified(convo)
    today = accounts.local_today(debtor)
    far, near = _named(today + timedelta(days=90)), _named(today + timedelta(days=5))
    replies = await c.say(f"le pago {far}", "promise_to_pay", ActionProposePromise, entities=[ent("date", far, far, 8)])
    assert replies == ["utter_promise_date_too_far"]
    replies = await c.say(f"ah no, {near}", "deny", ActionDeclinePending, entities=[ent("date", near, near, 7)])
    assert replies == ["utter_confirm_promise"]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().promised_date == today + timedelta(days=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("el 2 de dic", date(2026, 12, 2)),  # yesterday: the debtor hears it has passed
        ("el 20 de dic", date(2026, 12, 20)),
        ("2 dic.", date(2026, 12, 2)),
        ("el 1 de noviembre", date(2026, 11, 1)),  # last month's, not next year's
        ("15 de enero", date(2027, 1, 15)),
        ("el 15 de setiembre", date(2026, 9, 15)),  # Peru's spelling; months ago: past, not next year
        ("el 5 de enero de 2027", date(2027, 1, 5)),
    ],
)
def test_named_month_days_resolve_against_a_fixed_clock(text, expected):
    from actions.parsing import resolve_date

    assert resolve_date(text, date(2026, 12, 3), "America/Bogota") == expected


async def test_a_promise_for_today_offers_the_link_now(convo, make_debtor, session):
    """No reminder comes before a same-day promise falls due: "Ese día le recordaremos" would be untrue, so the
    bot offers the link at once."""

    make_debtor()
    c = verified(convo)
    await c.say("hoy le pago", "promise_to_pay", ActionProposePromise, entities=[ent("date", "hoy", "hoy", 0)])
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_promise_saved_today"]
    assert "hoy" in c.texts()[0] and "recordaremos" not in c.texts()[0]
    assert await c.say("sí", "affirm", ActionConfirmPending) == ["utter_payment_link_promise"]
    assert session.execute(select(Promise)).scalar_one().status == "open"


async def test_the_answer_to_the_reason_question_is_the_reason_whatever_the_classifier_said(
    convo, make_debtor, session
):
    """Asked what kept them from paying, "un tema familiar" is the reason even when read as out of scope: it is
    recorded in the debtor's words, with empathy, not answered with "con eso no le puedo ayudar"."""
    from actions.catalogue import ActionHandleFallback, ActionOutOfScope

    make_debtor(
        "MX-1",
        phone="+525512340000",
        country="MX",
        timezone="America/Mexico_City",
        invoices=[{"external_id": "MX-F1", "amount": "899.50", "currency": "MXN", "due_date": "2026-11-01"}],
    )
    m = convo("+525512340000", introduced=True, verified=True, pending_confirmation="payment_link")
    assert await m.say("no", "deny", ActionDeclinePending) == ["utter_ask_reason"]
    assert await m.say("es un tema familiar, la verdad", "out_of_scope", ActionOutOfScope) == [
        "utter_reason_empathy_other",
        "utter_offer_plan_or_promise",
    ]
    row = session.execute(select(NonpaymentReason)).scalar_one()
    assert (row.reason, row.text) == ("other", "es un tema familiar, la verdad")
    # the question lasts one reply: later chatter is chatter
    assert await m.say("qué calor hace hoy", "out_of_scope", ActionOutOfScope) == ["utter_out_of_scope"]
    m.slots["pending_confirmation"] = "payment_link"
    m.slots["last_reason"] = None
    await m.say("no", "deny", ActionDeclinePending)
    assert await m.say("jaja", "nlu_fallback", ActionHandleFallback) == ["utter_default"]


async def test_a_split_payment_records_the_first_part_and_says_the_rest_is_still_due(convo, make_debtor, session):
    make_debtor()
    c = verified(convo)
    replies = await c.say(
        "la mitad en 5 días y la otra mitad a fin de mes",
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("amount", "la mitad", "la mitad", 0), ent("date", "en 5 días", "en 5 días", 9)],
    )
    assert replies == ["utter_promise_rest_later", "utter_confirm_promise"]
    assert "$92.500" in c.texts()[1]
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().amount == Decimal("92500.00")
    assert await c.say(
        "le pago todo en 5 días",
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("date", "en 5 días", "en 5 días", 13)],
    ) == ["utter_confirm_promise"]


# --- issue #28 §3: the date and amount tied to the payment, never the hardship's duration ---------------------


def _next(debtor, weekday: int) -> date:
    today = accounts.local_today(debtor)
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


@pytest.mark.parametrize(
    ("text", "entities", "weekday", "reason"),
    [
        # as the NLU may tag it: the duration is a "date" too, and comes first
        (
            "llevo dos semanas enfermo, pero el lunes le abono",
            [ent("date", "dos semanas", "dos semanas", 6), ent("date", "el lunes", "el lunes", 32)],
            0,
            "health",
        ),
        ("llevo dos semanas enfermo, pero el lunes le abono", [], 0, "health"),  # nothing tagged: read from the message
        # as the trained model tags it today
        (
            "llevo una semana sin trabajo pero el viernes le pago",
            [ent("date", "una semana", "una semana", 6), ent("date", "el viernes", "el viernes", 34)],
            4,
            "job_loss",
        ),
    ],
)
async def test_the_promise_is_the_day_beside_the_payment_verb_not_the_hardships_length(
    convo, make_debtor, session, text, entities, weekday, reason
):
    debtor = make_debtor()
    c = verified(convo)
    replies = await c.say(
        text,
        "report_nonpayment_reason+promise_to_pay",
        ActionRecordReason,
        ActionProposePromise,
        entities=[ent("reason", reason), *entities],
    )
    assert replies[-1] == "utter_confirm_promise"
    assert c.slots["promise_date"] == _next(debtor, weekday).isoformat()
    await c.say("sí", "affirm", ActionConfirmPending)
    assert session.execute(select(Promise)).scalar_one().promised_date == _next(debtor, weekday)
    assert session.execute(select(NonpaymentReason)).scalar_one().reason == reason


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        ("hace un mes me quedé sin trabajo", "report_nonpayment_reason", []),
        ("hace un mes me quedé sin trabajo", "report_nonpayment_reason", [ent("date", "un mes", "un mes", 5)]),
        ("llevo un mes sin trabajo", "report_nonpayment_reason", [ent("date", "un mes", "un mes", 6)]),
    ],
)
async def test_a_reason_with_only_a_duration_is_recorded_without_a_date(
    convo, make_debtor, session, text, intent, entities
):
    make_debtor()
    c = verified(convo)
    replies = await c.say(text, intent, ActionRecordReason, entities=[ent("reason", "job_loss"), *entities])
    assert replies == ["utter_reason_empathy_job_loss", "utter_offer_plan_question"]
    row = session.execute(select(NonpaymentReason)).scalar_one()
    assert (row.reason, row.text) == ("job_loss", text)
    assert not c.slots.get("promise_date")
    assert session.execute(select(Promise)).first() is None


@pytest.mark.parametrize(
    "text",
    ["llevo un mes sin trabajo", "llevo dos semanas enfermo, le voy a pagar", "hace 15 días me operaron"],
)
async def test_a_duration_told_with_a_promise_asks_when(convo, make_debtor, session, text):
    """With only the hardship's length in the message, the bot asks for the day instead of guessing one, even when
    the NLU tagged the length as a date."""
    make_debtor()
    c = verified(convo)
    span = next(s for s in ("un mes", "dos semanas", "15 días") if s in text)
    replies = await c.say(
        text,
        "report_nonpayment_reason+promise_to_pay",
        ActionRecordReason,
        ActionProposePromise,
        entities=[ent("reason", "health"), ent("date", span, span, text.index(span))],
    )
    assert replies[-1] == "utter_ask_promise_date"
    assert c.slots["awaiting"] == "promise_date"
    # and the same duration given as the answer to "¿cuándo?" is no answer either
    assert await c.say("llevo dos semanas sin trabajo", "inform", ActionProcessInform) == ["utter_ask_promise_date"]
    assert session.execute(select(Promise)).first() is None


async def test_the_amount_is_the_one_paid_not_the_debt_nor_a_count_of_months(convo, make_debtor, session):
    debtor = make_debtor()
    c = verified(convo)
    text = "debo 800 mil pero le abono 50 mil el viernes"
    replies = await c.say(
        text,
        "promise_to_pay",
        ActionProposePromise,
        entities=[
            ent("amount", "800 mil", "800 mil", 5),
            ent("amount", "50 mil", "50 mil", 27),
            ent("date", "el viernes", "el viernes", 34),
        ],
    )
    assert replies == ["utter_confirm_promise"]
    assert "$50.000" in c.texts()[0]
    text = "debo como 3 meses de cuota pero le abono 60 mil el viernes"
    replies = await c.say(
        text,
        "promise_to_pay",
        ActionProposePromise,
        entities=[ent("amount", "3", "3", 10), ent("date", "el viernes", "el viernes", 49)],
    )
    assert replies == ["utter_confirm_promise"]
    assert "$60.000" in c.texts()[0]
    await c.say("sí", "affirm", ActionConfirmPending)
    promise = session.execute(select(Promise)).scalar_one()
    assert (promise.amount, promise.promised_date) == (Decimal("60000.00"), _next(debtor, 4))
