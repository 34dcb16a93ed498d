"""Which date and amount in a debtor's message are the payment's (issue #28 §3): durations of the hardship are
never a date or money, and the date or amount beside the payment verb wins. "Today" is Thursday 3 December 2026
in the debtor's zone; the balance is 185.000."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.language import payment_terms
from bot.language.payment_terms import Tagged, payment_date, read_payment

TODAY = date(2026, 12, 3)  # a Thursday
BALANCE = Decimal("185000")
MON, TUE, FRI, SAT = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 4), date(2026, 12, 5)
END_OF_MONTH, QUINCENA = date(2026, 12, 31), date(2026, 12, 15)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


# (message, expected date or None: the bot must ask when, expected amount or None: the balance)
CASES = [
    # the hardship's length first, then the promise (the issue's own example)
    ("llevo dos semanas enfermo, pero el lunes le abono", MON, None),
    ("llevo una semana sin trabajo pero el viernes le pago", FRI, None),
    ("estuve 3 semanas hospitalizado, le pago el 30", date(2026, 12, 30), None),
    ("desde hace 15 días estoy sin chamba, le deposito la otra semana", MON, None),
    ("por dos meses no me pagaron, le cancelo pasado mañana", SAT, None),
    ("hace como dos semanas que no trabajo pero le giro el 15", QUINCENA, None),
    ("llevo un mes desempleado le hago el pago pasado mañana", SAT, None),  # voice-to-text, no commas
    ("llevo 2 meses sin laburo, te pago 50 lucas a fin de mes", END_OF_MONTH, Decimal("50000")),  # AR/CL
    ("tengo 2 meses sin chamba wey pero la otra semana le deposito 500 pesos", MON, Decimal("500")),  # MX
    ("debo como 3 meses de cuota pero le abono 200 mil el viernes", FRI, Decimal("200000")),
    ("debo 800 mil pero le abono 200 mil la otra quincena", END_OF_MONTH, Decimal("200000")),
    ("hace un mes me operaron y ya el martes le consigno", TUE, None),  # CO
    ("estuve internado 3 semanas, dos semanas le pago", days(14), None),
    ("llevo ya casi dos meses parado pero en ocho dias le transfiero", days(8), None),
    ("hace tres semanas me echaron del laburo, te pago la mitad el lunes", MON, Decimal("92500")),  # AR
    ("uff llevo 2 semanas en cama con dengue pero mañana le cancelo 100 soles", days(1), Decimal("100")),  # PE
    ("estuve dos semanas con covid el viernes le deposito 30 lucas", FRI, Decimal("30000")),  # CL run-on
    ("por 3 meses estuve sin pega, le pago el 10", date(2026, 12, 10), None),  # CL
    ("llevo 15 dias incapacitado pero le abono 150.000 a fin de mes", END_OF_MONTH, Decimal("150000")),
    ("tengo tres meses de atraso lo se, le pago en 15 dias", days(15), None),
    # income, refusals and habits are not the promise
    ("me pagan el lunes y el viernes le pago", FRI, None),
    ("no puedo pagar hoy, le pago mañana", days(1), None),
    ("me depositan 500 mil el 15 y le abono 200 mil el 16", date(2026, 12, 16), Decimal("200000")),
    ("siempre pago el 15", None, None),
    # counts that say when the debtor will pay
    ("en 3 días le pago", days(3), None),
    ("le pago en una semana", days(7), None),
    ("en dos semanas le pago", days(14), None),
    ("dentro de 15 días le consigno", days(15), None),
    ("dame una semana y le pago", days(7), None),
    ("deme un par de dias y le cancelo", days(2), None),
    ("le pago en ocho días sin falta", days(8), None),
    ("una semana", days(7), None),  # the whole answer to "¿cuándo?"
    ("el proximo lunes le abono 80 mil", MON, Decimal("80000")),
    ("la otra semana le pago", MON, None),
    ("pasado mañana le deposito", SAT, None),
    ("a fin de mes le pago todo", END_OF_MONTH, None),
    ("le pago el 30", date(2026, 12, 30), None),
    ("la quincena le abono la mitad", QUINCENA, Decimal("92500")),
    ("okis mañana cancelo la cuota en el banco", days(1), None),
    ("el viernes le abono cien lucas", FRI, Decimal("100000")),
    # only a duration, or no day at all: the bot asks when
    ("hace un mes me quedé sin trabajo", None, None),
    ("hace dos meses me quedé sin empleo", None, None),
    ("llevo una semana sin trabajo", None, None),
    ("estuve 3 semanas hospitalizado", None, None),
    ("estoy enfermo hace una semana", None, None),
    ("llevo 2 meses sin laburo che", None, None),
    ("desde hace 15 dias no tengo chamba", None, None),
    ("por dos meses no me pagaron el sueldo", None, None),
    ("debo como 3 meses de cuota", None, None),
    ("hoy me despidieron, le pago cuando pueda", None, None),
    ("llevo dos semanas enfermo pero le pago", None, None),
    ("tengo 2 meses sin trabajo y debo 400 mil", None, None),
]


@pytest.mark.parametrize(("text", "when", "amount"), CASES)
def test_the_payments_date_and_amount(text, when, amount):
    reading = read_payment(text, TODAY, "America/Bogota", BALANCE, "COP")
    assert reading.when == when
    assert reading.amount == (amount.quantize(Decimal("1")) if amount is not None else None)


def test_the_table_covers_enough_messages():
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("text", "durations"),
    [
        ("llevo dos semanas enfermo, pero el lunes le abono", ["llevo dos semanas"]),
        ("hace 3 días me echaron", ["hace 3 días"]),
        ("estuve internado 3 semanas", ["3 semanas"]),
        ("en 3 días le pago", []),
        ("me esperan una semana?", []),  # more time asked for: a date, not a duration
        ("me dan dos semanas más de plazo?", []),
        ("me dan plazo por una semana?", []),  # "por" after asking for time: the time asked for
        ("por dos meses no me pagaron", ["por dos meses"]),
        ("me hacen la gauchada de correr la fecha un par de días?", []),
    ],
)
def test_durations(text, durations):
    assert [text[start:end] for start, end in payment_terms.durations(text)] == durations


def test_a_tagged_duration_loses_to_the_tagged_day_beside_the_payment_verb():
    """What the NLU does with the issue's message: it tags "una semana" and "el viernes" as dates."""
    text = "llevo una semana sin trabajo pero el viernes le pago"
    tagged = [Tagged(6, 16, ("una semana",)), Tagged(34, 44, ("el viernes",))]
    assert payment_date(text, TODAY, tagged=tagged) == FRI


def test_a_tagged_day_elsewhere_loses_to_a_day_read_beside_the_payment_verb():
    text = "me pagan el 15 y el 16 le pago"
    assert payment_date(text, TODAY, tagged=[Tagged(9, 14, ("el 15",))]) == date(2026, 12, 16)


def test_a_tagged_date_without_a_payment_verb_is_still_read():
    assert payment_date("me esperan una semana?", TODAY, tagged=[Tagged(11, 21, ("una semana",))]) == days(7)


def test_offsets_are_kept():
    text = "Llevo DOS semanas enfermo 🤒, pero el lúnes le abono"
    assert len(payment_terms.fold(text)) == len(text)
    assert payment_terms.without_hardship(text).index("enfermo") == text.index("enfermo")
