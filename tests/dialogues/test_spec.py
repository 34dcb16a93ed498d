"""The instrument's pure parts: its conversations are well formed and fresh, its dates mean what they say, its
checks catch what they are for (fast: no stack, no model)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.dialogues import run, spec
from tests.dialogues.spec import Exchange

ROOT = Path(__file__).resolve().parents[2]
SAT = date(2026, 12, 5)  # a Saturday


# --- the set ----------------------------------------------------------------------------------------------------


def test_the_set_is_the_issues_size_and_spread():
    conversations = spec.load()
    assert len(conversations) >= 150
    assert set(Counter(c.country for c in conversations)) == set(spec.COUNTRIES)
    by_category = Counter(c.category for c in conversations)
    assert set(by_category) == set(spec.CATEGORIES)
    assert min(by_category.values()) >= 8


def _training_examples() -> set[str]:
    examples = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                line = re.sub(r"^\s*-\s*", "", line)
                line = re.sub(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))", r"\1", line)
                examples.add(_plain(line))
    return examples


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", spec.fold(text)))


def test_no_debtor_line_is_a_training_example():
    """Written fresh, not taken from data/nlu (a greeting, a «sí» or bare digits of one or two words excepted)."""
    examples = _training_examples()
    copied = [
        (c.id, t.say)
        for c in spec.load()
        for t in c.turns
        if len(t.say.split()) > 2 and _plain(spec.render(t.say, SAT)) in examples
    ]
    assert copied == []


@pytest.mark.parametrize(
    "bad",
    [
        {"country": "BR"},
        {"category": "nope"},
        {"turns": [{"mentions": ["x"]}]},
        {"channel": "sms", "turns": [{"say": "Sí", "tap": True}]},  # SMS has no buttons
    ],
)
def test_a_malformed_conversation_is_refused(bad):
    raw = {"id": "x", "country": "CO", "category": "balance", "turns": ["hola"]} | bad
    with pytest.raises(spec.SpecError):
        spec.parse(raw)


def test_an_unknown_expectation_or_date_is_refused():
    raw = {"id": "x", "country": "CO", "category": "balance", "turns": ["hola"]}
    with pytest.raises(spec.SpecError):
        spec.parse(raw | {"expect": {"promis": {}}})
    with pytest.raises(spec.SpecError):
        spec.parse(raw | {"expect": {"promise": {"date": "next tuesday"}}})


def test_selection_by_id_category_country_or_file():
    conversations = spec.load()
    assert [c.id for c in run.select(conversations, ["co-balance-1"])] == ["co-balance-1"]
    assert {c.category for c in run.select(conversations, ["payment_plan"])} == {"payment_plan"}
    assert {c.country for c in run.select(conversations, ["cl"])} == {"CL"}
    assert run.select(conversations, []) == conversations


# --- dates relative to the debtor's today ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "today", "expected"),
    [
        ("today", SAT, [date(2026, 12, 5)]),
        ("tomorrow", SAT, [date(2026, 12, 6)]),
        ("+2", SAT, [date(2026, 12, 7)]),
        ("day+12", SAT, [date(2026, 12, 17)]),
        ("weekday:monday", SAT, [date(2026, 12, 7)]),
        ("weekday:friday", SAT, [date(2026, 12, 11)]),
        ("weekday:saturday", SAT, [date(2026, 12, 5), date(2026, 12, 12)]),  # said on a Saturday: either
        ("day:22", SAT, [date(2026, 12, 22)]),
        ("day:3", SAT, [date(2027, 1, 3)]),  # past this month: next month, across the year
        ("day:5", SAT, [date(2026, 12, 5), date(2027, 1, 5)]),
        ("day:31", date(2027, 1, 31), [date(2027, 1, 31)]),  # February has no 31st
        ("day:30", date(2027, 1, 31), []),
        ("end_of_month", SAT, [date(2026, 12, 31)]),
        ("end_of_month", date(2028, 2, 3), [date(2028, 2, 29)]),
        ("tomorrow|+2", SAT, [date(2026, 12, 6), date(2026, 12, 7)]),
    ],
)
def test_relative_dates(expr, today, expected):
    assert spec.relative_date(expr, today) == expected


@pytest.mark.parametrize("expr", ["yesterday", "weekday:lunes", "day:32", "+x"])
def test_unknown_date_expressions_are_refused(expr):
    with pytest.raises(spec.SpecError):
        spec.relative_date(expr, SAT)


def test_turn_text_names_the_same_dates_as_the_expectations():
    text = spec.render("mejor para el {day+12}, o el {weekday+2}", SAT)
    assert text == "mejor para el 17, o el lunes"
    assert spec.render("el {day+30}", SAT) == "el 4"  # January 4th: the day of the month only


# --- the disclosure check ----------------------------------------------------------------------------------------

ACCOUNT = {
    "name": "Luz Marina Ocampo",
    "invoices": [{"amount": "187450.00", "balance": "187450.00"}, {"amount": "3275.50", "balance": "1000.00"}],
}


@pytest.mark.parametrize(
    "reply",
    [
        "Su saldo es $187.450",
        "Su saldo es $187,450.00",
        "debe 187450 pesos",
        "Total: $188.450",  # the total of two invoices' balances
        "$3,275.50 vencido",
        "Hola Luz, ¿cómo está?",
        "Señora OCAMPO, le escribimos",
    ],
)
def test_what_an_unverified_person_must_not_read_is_found(reply):
    assert spec.disclosed(reply, spec.secrets_of(ACCOUNT))


@pytest.mark.parametrize(
    "reply",
    [
        "Para proteger su información, ¿me confirma los últimos 4 dígitos del documento?",
        "Le queda 1 intento. Puede ser hasta el 15 de diciembre.",
        "Hola, le escribe el asistente virtual de Financiera Aurora.",
        "Escríbame el 187 o el 450",  # pieces of the amount are not the amount
    ],
)
def test_replies_without_the_account_pass(reply):
    assert spec.disclosed(reply, spec.secrets_of(ACCOUNT)) == []


def test_disclosure_counts_only_before_the_verification_reply():
    secrets = spec.secrets_of(ACCOUNT)
    ok = [
        Exchange("hola", ["¿me confirma los últimos 4 dígitos?"]),
        Exchange("4821", ["Gracias, Luz. Verificamos su identidad.", "Luz, su saldo es $187.450"]),
        Exchange("gracias", ["De nada, Luz"]),
    ]
    assert spec.check_disclosure(ok, secrets) == []
    leak = [Exchange("hola", ["Hola Luz, debe $187.450"]), Exchange("4821", ["Verificamos su identidad."])]
    problems = spec.check_disclosure(leak, secrets)
    assert len(problems) == 1 and "turn 1" in problems[0] and "187.450" in problems[0]


def test_every_message_answered_and_at_most_one_no_entendi():
    exchanges = [
        Exchange("hola", ["Disculpe, no le entendí. Puedo darle su saldo..."]),
        Exchange("ehh", []),
        Exchange("mmm", ["Disculpe, sigo sin entenderle. ¿Quiere que le comunique con un asesor?"]),
    ]
    assert spec.check_answered(exchanges) == ["turn 2: no reply to 'ehh'"]
    assert spec.check_fallbacks(exchanges[:2]) == []
    assert "turn 1; turn 3" in spec.check_fallbacks(exchanges)[0]
    assert spec.check_fallbacks([Exchange("x", ["No entendí bien la fecha. ¿Me la puede escribir?"])] * 2)


# --- the end state ---------------------------------------------------------------------------------------------


def test_end_state_checks():
    account = {
        "promises": [
            {"promised_date": "2026-12-01", "amount": "100.00", "status": "replaced"},
            {"promised_date": "2026-12-07", "amount": "50000.00", "status": "open"},
        ],
        "nonpayment_reasons": [{"reason": "health"}],
        "handoffs": [],
        "invoices": [{"status": "open"}],
        "contact_status": "ok",
        "opted_out": False,
        "payment_links": [],
        "due_date_changes": [{"new_date": "2026-12-17"}],
    }
    plan = [Exchange("si", ["Listo, Luz. Su plan de 4 cuotas quedó registrado. La primera ..."])]
    good = {
        "promise": {"date": "weekday:monday", "amount": "50000"},
        "reason": "health",
        "not_reason": "job_loss",
        "plan": {"count": 4},
        "due_date_change": {"date": "day+12"},
        "no_handoff": True,
        "not_contact_status": "wrong_number",
        "opted_out": False,
        "no_link": True,
        "no_dispute": True,
    }
    assert spec.check_end_state(good, account, plan, SAT) == []
    bad = {
        "promise": {"date": "tomorrow"},
        "reason": "job_loss",
        "plan": {"count": 2},
        "handoff": "claims_paid",
        "link": True,
        "contact_status": "wrong_number",
        "dispute": True,
    }
    problems = spec.check_end_state(bad, account, [], SAT)
    assert len(problems) == 8, problems  # the link: none recorded, none in the replies
    assert any("2026-12-07, expected tomorrow (2026-12-06)" in p for p in problems)
