"""Which invoice a debtor means (``bot.language.invoice_refs``), as debtors in the five countries write it."""

from __future__ import annotations

from datetime import date

import pytest

from bot.language.invoice_refs import Candidate, read

TODAY = date(2026, 12, 5)
LOAN = Candidate("F-2026-009", date(2026, 9, 15), "Préstamo personal")
PHONE = Candidate("F-2026-014", date(2026, 11, 10), "Celular Samsung A15")
MOTO = Candidate("F-2026-020", date(2026, 12, 1), "Crédito moto")
ALL = [LOAN, PHONE, MOTO]


def chosen(text: str, answering: bool = False, candidates=ALL) -> tuple[str, ...] | None:
    ref = read(text, candidates, TODAY, answering=answering)
    return ref.chosen if ref is not None else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Colombia
        ("le pago la de noviembre el 20", "F-2026-014"),
        ("la factura del celular se la pago el viernes", "F-2026-014"),
        ("la F-2026-014", "F-2026-014"),
        # Mexico: "el recibo", ids typed any way
        ("el recibo de nov lo pago en la quincena", "F-2026-014"),
        ("la f2026014 porfa", "F-2026-014"),
        ("F 2026 014", "F-2026-014"),
        # Peru: "setiembre"
        ("la boleta de setiembre", "F-2026-009"),
        ("la del préstamo pe", "F-2026-009"),
        # Chile: "la cuenta", "la más antigua"
        ("la cuenta de la moto po", "F-2026-020"),
        ("la más antigua", "F-2026-009"),
        # Argentina: "la última", "la del mes pasado"
        ("la última, che", "F-2026-020"),
        ("la del mes pasado", "F-2026-014"),
        ("la que vence en diciembre", "F-2026-020"),
        ("la factura 014", "F-2026-014"),
        ("la segunda", "F-2026-014"),
    ],
)
def test_one_invoice_named(text, expected):
    assert chosen(text) == (expected,)


@pytest.mark.parametrize("text", ["todas", "pago todo el viernes", "las tres", "ambas no, todas"])
def test_all_of_them(text):
    ref = read(text, ALL, TODAY)
    assert ref is not None and ref.everything and ref.chosen == tuple(c.external_id for c in ALL)


@pytest.mark.parametrize(
    "text",
    [
        "le pago el 20 de noviembre",  # a day's month, not the invoice's
        "la primera cuota el viernes",  # a plan's instalment
        "le pago el viernes",
        "2",  # a bare number only answers "¿cuál factura?"
        "noviembre",
        "las dos",  # two of three: which two?
        "hola",
    ],
)
def test_words_that_name_no_invoice(text):
    assert chosen(text) is None


def test_a_bare_number_or_month_answers_the_question_of_which():
    assert chosen("2", answering=True) == ("F-2026-014",)
    assert chosen("la 3", answering=True) == ("F-2026-020",)
    assert chosen("opción 1", answering=True) == ("F-2026-009",)
    assert chosen("noviembre", answering=True) == ("F-2026-014",)
    assert chosen("9", answering=True) is None  # not on the list


def test_a_word_every_invoice_shares_tells_nothing():
    loans = [
        Candidate("A-1", date(2026, 10, 1), "Préstamo libre inversión"),
        Candidate("A-2", date(2026, 11, 1), "Préstamo vehículo"),
    ]
    assert chosen("lo del préstamo", candidates=loans) is None
    assert chosen("el préstamo del vehículo", candidates=loans) == ("A-2",)


def test_a_month_two_invoices_share_names_both():
    twins = [Candidate("B-1", date(2026, 11, 5)), Candidate("B-2", date(2026, 11, 25)), MOTO]
    assert chosen("la de noviembre", candidates=twins) == ("B-1", "B-2")
