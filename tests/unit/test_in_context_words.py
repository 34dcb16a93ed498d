"""#28, the dialogue set's remaining failures, in the pure helpers: the words that make a reading clear (a question
about the charge, an opt-out no other request shares, a reason with no listed cause, "cuánto te debo", a day to pay
offered), the day a due-date request names, the particle after a day ("al 19 pe"), and the cause the words name
when the classifier named another. Written for these tests; none is a training example."""

import datetime as dt

import pytest

from bot.conversation import reasons
from bot.language import asks, dates, payment_terms, wording

SATURDAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    "text",
    [
        "qué es este cobro? no entiendo de dónde sale",
        "y esto de qué es?",
        "de dónde sale esta deuda?",
        "no entiendo por qué me cobran",
        "a qué se debe este cobro",
    ],
)
def test_a_question_about_the_charge(text):
    assert wording.asks_what_it_is(text)


@pytest.mark.parametrize("text", ["cuánto debo?", "cuál es mi saldo", "qué días puedo pagar?", "y el link?"])
def test_no_question_about_the_charge(text):
    assert not wording.asks_what_it_is(text)


@pytest.mark.parametrize(
    "text",
    [
        "ok gracias, pero ya no quiero que me sigan escribiendo por aca",
        "dejen de escribirme por favor",
        "no me escriban más",
        "no me vuelvan a escribir",
    ],
)
def test_an_opt_out_no_other_request_shares(text):
    assert wording.says_opt_out_plainly(text)


@pytest.mark.parametrize("text", ["no me manden el link todavía", "no me escriba tan temprano", "basta", "ok"])
def test_not_an_opt_out_in_so_many_words(text):
    assert not wording.says_opt_out_plainly(text)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tuve problemas con mi tarjeta y no podia pagar en linea", True),
        ("no he podido pagar, disculpe", True),
        ("mándeme el link", False),
        ("puedo pagar el viernes", False),
    ],
)
def test_could_not_pay(text, said):
    assert wording.says_could_not_pay(text) is said


def test_a_pay_day_moved_at_work_is_late_pay():
    assert "late_pay" in wording.reason_cues("me atrase porque me cambiaron la fecha de pago en la empresa")


@pytest.mark.parametrize(
    "text", ["se me atrasó el sueldo che, cuánto te debo en total?", "cuánto te debo?", "y cuanto les debo"]
)
def test_the_balance_asked_to_you(text):
    assert asks.BALANCE in asks.asks_in(text)


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        ("quiero dar una fecha para pagar", True),
        ("le doy una fecha de pago", True),
        ("quiero poner una fecha para pagarle", True),
        ("quiero cambiar la fecha de pago", False),
        ("me mueve la fecha de vencimiento?", False),
        ("no quiero dar una fecha para pagar", False),
    ],
)
def test_a_day_to_pay_offered(text, offered):
    assert asks.offers_a_date(text) is offered


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("me podés mover el vencimiento al 14? cobro ese día", dt.date(2026, 12, 14)),
        ("pásela para el 2", dt.date(2027, 1, 2)),
        ("cobro el 14", None),  # the day the debtor is paid, not the day wanted
        ("me la mueven 3 dias?", None),
        ("al 20 mil", None),
    ],
)
def test_the_day_a_due_date_request_names(text, when):
    assert payment_terms.day_moved_to(text, SATURDAY) == when


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("al 19 pe", dt.date(2026, 12, 19)),
        ("el lunes po", dt.date(2026, 12, 7)),
        ("el 15 nomas", dt.date(2026, 12, 15)),
        ("mañana pe", dt.date(2026, 12, 6)),
    ],
)
def test_a_particle_after_the_day(text, when):
    assert dates.resolve_date(text, SATURDAY) == when


@pytest.mark.parametrize(
    ("classified", "text", "reason"),
    [
        ("health", "por dos meses estuve cesante, el sábado le pago", "job_loss"),
        ("job_loss", "estuve internada en la clínica", "health"),
        ("income_delay", "me atrase porque me cambiaron la fecha de pago en la empresa", "income_delay"),
        ("job_loss", "estoy pelado este mes", "other"),  # no cause named: never another one guessed
        ("other", "me robaron la billetera, igual te deposito el miércoles", "other"),  # "other" stays
    ],
)
def test_the_cause_the_words_name(classified, text, reason):
    assert reasons.read(classified, text).reason == reason
