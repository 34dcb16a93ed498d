"""Table-driven tests of bot.language: Spanish date and amount expressions against a fixed clock."""

import datetime as dt
from decimal import Decimal

import pytest

from bot.language import local_today, resolve_amount, resolve_date, resolve_installments

MONDAY = dt.date(2026, 11, 23)  # a Monday; the month has 30 days
FRIDAY = dt.date(2026, 11, 27)
ON_15TH = dt.date(2026, 12, 15)  # a Tuesday, a quincena day
LAST_DAY = dt.date(2026, 12, 31)  # a Thursday, a quincena day, the year's last day
EARLY = dt.date(2026, 2, 3)  # a Tuesday in a 28-day month

DATES = [
    # (text, today, expected)
    ("hoy", MONDAY, dt.date(2026, 11, 23)),
    ("hoy mismo", MONDAY, dt.date(2026, 11, 23)),
    ("ya mismo", MONDAY, dt.date(2026, 11, 23)),
    ("en un rato", MONDAY, dt.date(2026, 11, 23)),
    ("al ratito", MONDAY, dt.date(2026, 11, 23)),
    ("esta noche", MONDAY, dt.date(2026, 11, 23)),
    ("mañana en la tarde", MONDAY, dt.date(2026, 11, 24)),
    ("al 22", MONDAY, dt.date(2026, 12, 22)),
    ("me das 5 días más?", MONDAY, dt.date(2026, 11, 28)),
    ("una semanita más", MONDAY, dt.date(2026, 11, 30)),
    ("dos semanas más", MONDAY, dt.date(2026, 12, 7)),
    ("pal 30", MONDAY, dt.date(2026, 11, 30)),
    ("a fines de enero", MONDAY, dt.date(2027, 1, 31)),
    ("el 2 de dic", MONDAY, dt.date(2026, 12, 2)),
    ("15 sept.", MONDAY, dt.date(2027, 9, 15)),
    ("a finales de noviembre", MONDAY, dt.date(2026, 11, 30)),
    ("a mediados de febrero", MONDAY, dt.date(2027, 2, 15)),
    ("a principios de marzo", MONDAY, dt.date(2027, 3, 1)),
    ("a principios de noviembre", MONDAY, None),
    ("mañana", MONDAY, dt.date(2026, 11, 24)),
    ("manana", MONDAY, dt.date(2026, 11, 24)),
    ("MAÑANA!!", MONDAY, dt.date(2026, 11, 24)),
    ("pasado mañana", MONDAY, dt.date(2026, 11, 25)),
    ("pasado manana", MONDAY, dt.date(2026, 11, 25)),
    ("pasadomañana", MONDAY, dt.date(2026, 11, 25)),
    ("el viernes", MONDAY, dt.date(2026, 11, 27)),
    ("este viernes", MONDAY, dt.date(2026, 11, 27)),
    ("el viernez", MONDAY, dt.date(2026, 11, 27)),
    ("el juebes", MONDAY, dt.date(2026, 11, 26)),
    ("el miercoles", MONDAY, dt.date(2026, 11, 25)),
    ("el sábado", MONDAY, dt.date(2026, 11, 28)),
    ("el lunes", MONDAY, dt.date(2026, 11, 30)),  # never today's weekday: the next one
    ("el próximo lunes", MONDAY, dt.date(2026, 11, 30)),
    ("el lunes que viene", MONDAY, dt.date(2026, 11, 30)),
    ("prox viernes", MONDAY, dt.date(2026, 11, 27)),
    ("el viernes", FRIDAY, dt.date(2026, 12, 4)),
    ("este viernes", FRIDAY, dt.date(2026, 11, 27)),
    ("el otro viernes", MONDAY, dt.date(2026, 12, 4)),
    ("el martes de la semana que viene", MONDAY, dt.date(2026, 12, 1)),
    ("el finde", MONDAY, dt.date(2026, 11, 28)),
    ("el 15", MONDAY, dt.date(2026, 12, 15)),  # the 15th of this month is past
    ("15", MONDAY, dt.date(2026, 12, 15)),
    ("el quince", MONDAY, dt.date(2026, 12, 15)),
    ("el 30", MONDAY, dt.date(2026, 11, 30)),
    ("el 31", MONDAY, dt.date(2026, 11, 30)),  # November has no 31st: its last day
    ("el día 25", MONDAY, dt.date(2026, 11, 25)),
    ("el 30", EARLY, dt.date(2026, 2, 28)),
    ("el 2 del otro mes", MONDAY, dt.date(2026, 12, 2)),
    ("el 10 del mes que viene", MONDAY, dt.date(2026, 12, 10)),
    ("15 de diciembre", MONDAY, dt.date(2026, 12, 15)),
    ("el 5 de diciembre", MONDAY, dt.date(2026, 12, 5)),
    ("15/12", MONDAY, dt.date(2026, 12, 15)),
    ("3 de enero", MONDAY, dt.date(2027, 1, 3)),
    ("10/01/2027", MONDAY, dt.date(2027, 1, 10)),
    ("20 de noviembre", MONDAY, dt.date(2027, 11, 20)),  # past this year: next year's
    ("a fin de mes", MONDAY, dt.date(2026, 11, 30)),
    ("fin de mes", EARLY, dt.date(2026, 2, 28)),
    ("a finales de mes", MONDAY, dt.date(2026, 11, 30)),
    ("a fin del mes que viene", MONDAY, dt.date(2026, 12, 31)),
    ("en la quincena", MONDAY, dt.date(2026, 11, 30)),
    ("la quincena", EARLY, dt.date(2026, 2, 15)),
    ("la quinsena", MONDAY, dt.date(2026, 11, 30)),
    ("el día de pago", MONDAY, dt.date(2026, 11, 30)),
    ("la otra quincena", MONDAY, dt.date(2026, 12, 15)),
    ("la otra quincena", EARLY, dt.date(2026, 2, 28)),
    ("en la quincena", ON_15TH, dt.date(2026, 12, 15)),  # today is payday
    ("la próxima quincena", ON_15TH, dt.date(2026, 12, 31)),
    ("la otra quincena", ON_15TH, dt.date(2026, 12, 31)),
    ("la otra quincena", LAST_DAY, dt.date(2027, 1, 15)),
    ("en 5 días", MONDAY, dt.date(2026, 11, 28)),
    ("en cinco dias", MONDAY, dt.date(2026, 11, 28)),
    ("dentro de 3 dias", LAST_DAY, dt.date(2027, 1, 3)),
    ("en 2 semanas", MONDAY, dt.date(2026, 12, 7)),
    ("la próxima semana", MONDAY, dt.date(2026, 11, 30)),
    ("la semana que viene", FRIDAY, dt.date(2026, 11, 30)),
    ("el mes que viene", MONDAY, dt.date(2026, 12, 1)),
    ("mañana", LAST_DAY, dt.date(2027, 1, 1)),
    ("ayer", MONDAY, None),
    # the past is never the date meant, however it is said
    ("el lunes pasado", MONDAY, None),
    ("la semana pasada", MONDAY, None),
    ("el mes pasado", MONDAY, None),
    ("hace 3 días", MONDAY, None),
    ("el pasado 15", MONDAY, None),
    ("", MONDAY, None),
    ("cuando pueda", MONDAY, None),
    # a long bare number is document digits or money, not the year dateparser reads in it
    ("4821", MONDAY, None),
    ("1500", MONDAY, None),
    # ISO dates, as date pickers and apps write them: never read day-first
    ("2026-12-05", MONDAY, dt.date(2026, 12, 5)),
    ("el 2027/01/15 le pago", MONDAY, dt.date(2027, 1, 15)),
    ("2020-01-01", MONDAY, None),
    ("2026-02-30", MONDAY, None),
]


@pytest.mark.parametrize(("text", "today", "expected"), DATES)
def test_resolve_date(text, today, expected):
    assert resolve_date(text, today) == expected


UTC = dt.timezone.utc
ZONES = [
    # (text, now in UTC, debtor time zone, expected): near midnight UTC the Americas are still on the day before
    ("hoy", dt.datetime(2026, 11, 24, 3, 30, tzinfo=UTC), "America/Bogota", dt.date(2026, 11, 23)),
    ("mañana", dt.datetime(2026, 11, 24, 3, 30, tzinfo=UTC), "America/Bogota", dt.date(2026, 11, 24)),
    ("mañana", dt.datetime(2026, 11, 24, 3, 30, tzinfo=UTC), "UTC", dt.date(2026, 11, 25)),
    ("el lunes", dt.datetime(2026, 11, 24, 4, 59, tzinfo=UTC), "America/Lima", dt.date(2026, 11, 30)),
    ("el martes", dt.datetime(2026, 11, 24, 4, 59, tzinfo=UTC), "America/Lima", dt.date(2026, 11, 24)),
    ("hoy", dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "America/Argentina/Buenos_Aires", dt.date(2026, 11, 30)),
    ("fin de mes", dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "America/Santiago", dt.date(2026, 11, 30)),
    ("fin de mes", dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "Europe/Madrid", dt.date(2026, 12, 31)),
    ("el 15", dt.datetime(2026, 11, 16, 5, 0, tzinfo=UTC), "America/Mexico_City", dt.date(2026, 11, 15)),
    ("hoy", dt.datetime(2026, 11, 24, 3, 30), "America/Bogota", dt.date(2026, 11, 23)),  # naive = UTC
]


@pytest.mark.parametrize(("text", "now", "tz", "expected"), ZONES)
def test_resolve_date_in_the_debtors_time_zone(text, now, tz, expected):
    assert resolve_date(text, now, tz=tz) == expected


def test_local_today():
    assert local_today(dt.datetime(2027, 1, 1, 4, 0, tzinfo=UTC), "America/Bogota") == dt.date(2026, 12, 31)
    assert local_today(dt.datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "America/Bogota") == dt.date(2027, 1, 1)


BALANCE = Decimal("300000")
AMOUNTS = [
    # (text, balance, currency, expected)
    ("50 mil", None, None, Decimal("50000")),
    ("cincuenta mil pesos", None, None, Decimal("50000")),
    ("$120.000", None, "COP", Decimal("120000.00")),
    ("$120.000", None, "CLP", Decimal("120000")),
    ("120,000", None, "MXN", Decimal("120000.00")),
    ("1.500,50", None, "ARS", Decimal("1500.50")),
    ("1,500.50", None, "MXN", Decimal("1500.50")),
    ("99,90", None, "PEN", Decimal("99.90")),
    ("$ 300", None, None, Decimal("300")),
    ("200 soles", None, "PEN", Decimal("200.00")),
    ("mil quinientos", None, None, Decimal("1500")),
    ("doscientos cincuenta mil", None, None, Decimal("250000")),
    ("cien mil", None, None, Decimal("100000")),
    ("150 mil pesos", None, None, Decimal("150000")),
    ("50 mil 500", None, None, Decimal("50500")),
    ("2 millones 500 mil", None, None, Decimal("2500000")),
    ("un millón y medio", None, None, Decimal("1500000")),
    ("dos millones y medio", None, None, Decimal("2500000")),
    ("$1.200.000", None, "COP", Decimal("1200000.00")),
    ("la mitad", BALANCE, "COP", Decimal("150000.00")),
    ("la mitad", Decimal("99999"), "CLP", Decimal("50000")),
    ("la mitad", None, None, None),
    ("todo", BALANCE, None, BALANCE),
    ("el total", BALANCE, None, BALANCE),
    ("todo lo que debo", BALANCE, None, BALANCE),
    ("20 lucas", None, None, Decimal("20000")),
    ("veinte lucas", None, "ARS", Decimal("20000.00")),
    ("una luca", None, None, Decimal("1000")),
    ("2 palos", None, "COP", Decimal("2000000.00")),
    ("un palo", None, None, Decimal("1000000")),
    ("medio palo", None, None, Decimal("500000")),
    ("dos palos y medio", None, None, Decimal("2500000")),
    ("un melón", None, None, Decimal("1000000")),
    ("50k", None, None, Decimal("50000")),
    ("en 3 cuotas", BALANCE, None, None),
    ("", BALANCE, None, None),
    ("no tengo nada", BALANCE, None, None),
]


@pytest.mark.parametrize(("text", "balance", "currency", "expected"), AMOUNTS)
def test_resolve_amount(text, balance, currency, expected):
    result = resolve_amount(text, balance=balance, currency=currency)
    assert result == expected
    if result is not None:
        assert isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("en 3 cuotas", 3), ("6", 6), ("doce meses", 12), ("4 pagos", 4), ("seis", 6), ("mañana", None)],
)
def test_resolve_installments(text, expected):
    assert resolve_installments(text) == expected


def test_resolve_amount_quantises_to_the_currency_minor_unit():
    assert resolve_amount("1.234,567", currency="MXN") == Decimal("1234.57")
    assert resolve_amount("$120.000", currency="CLP").as_tuple().exponent == 0
