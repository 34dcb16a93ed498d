"""Resolve a Spanish money expression ("50 mil", "$120.000", "la mitad", "20 lucas") to a Decimal.

Number words go through ``text2num`` (``alpha2digit``), digit groups through ``babel``'s
``parse_decimal`` with the right separator convention, and the result is rounded to the currency's
minor unit (CLP has none). Money is never a float.

Separators: with both "." and "," the last one is the decimal mark ("1.500,50", "1,500.50"); with
only one kind, a mark repeated or followed by exactly three digits groups thousands ("$120.000" in
CO/CL/AR, "120,000" in MX), otherwise it is the decimal mark ("99,90").
Slang: "luca(s)" = 1,000, "palo(s)" = 1,000,000 (CO/CL), "k" = 1,000, "medio palo" = 500,000.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal
from text_to_num import alpha2digit

from bot.language.text import normalise

_MULTIPLIERS = {
    "mil": Decimal(1000),
    "k": Decimal(1000),
    "luca": Decimal(1000),
    "lucas": Decimal(1000),
    "lukas": Decimal(1000),
    "millon": Decimal(1_000_000),
    "millones": Decimal(1_000_000),
    "palo": Decimal(1_000_000),
    "palos": Decimal(1_000_000),
    "melon": Decimal(1_000_000),
    "melones": Decimal(1_000_000),
}
# the multiplier words as one regex alternative, longest first ("millones" before "millon")
MULTIPLIER_WORDS = "(?:" + "|".join(sorted(_MULTIPLIERS, key=len, reverse=True)) + ")"
_NUMBER = r"\$?\s?\d[\d.,]*"
_MONEY_NUMBER_WORD = (
    r"(?:un|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|quince|veinte|veinticinco|treinta|"
    r"cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|ciento|doscientos|trescientos|"
    r"cuatrocientos|quinientos|medio)"
)
# Money written so that it cannot be a day, a count or a time (on lower-case text without accents): "la mitad",
# "$120.000", "150.000", "500 pesos", "50 mil", "cincuenta mil", "un millon", "20 lucas". A bare number ("el 15",
# "ocho dias") never is.
MONEY = re.compile(
    rf"\b(?:la\s+)?mitad\b|\$\s?\d[\d.,]*(?:\s*{MULTIPLIER_WORDS}\b)?|\b\d[\d.,]*\s*{MULTIPLIER_WORDS}\b(?:\s+y\s+medio\b)?"
    rf"|\b{_MONEY_NUMBER_WORD}(?:\s+y\s+{_MONEY_NUMBER_WORD})?\s+{MULTIPLIER_WORDS}\b(?:\s+y\s+medio\b)?"
    r"|\b\d[\d.,]*\s*(?:pesos|soles|varos|dolares|mxn|cop|clp|ars|pen|usd)\b"
    r"|\b\d{1,3}(?:[.,]\d{3})+(?![.,]?\d)"  # "150.000", "1,500": grouped thousands are no day or count
)
_INSTALMENT_UNITS = r"cuotas?|pagos?|meses|mensualidades|partes|quincenas|semanas|abonos"
_HALF = re.compile(r"\b(?:la\s+)?mitad\b")
_WHOLE = re.compile(
    r"^(?:(?:pago|pagar|abono|abonar|doy|te doy|le doy)\s+)?(?:todo|el total|total|la totalidad|todo lo que debo"
    r"|completo|todo completo|el saldo|el saldo total|todito|toda la deuda|la deuda completa)$"
)


def _parse_number(token: str) -> Decimal | None:
    """'$120.000' -> 120000, '120,000' -> 120000, '1.500,50' -> 1500.50, '99,90' -> 99.90."""
    token = token.replace("$", "").replace(" ", "").strip(".,")
    if not token:
        return None
    dots, commas = token.count("."), token.count(",")
    if dots and commas:
        decimal_mark = "," if token.rfind(",") > token.rfind(".") else "."
    elif dots or commas:
        mark = "." if dots else ","
        tail = token.rsplit(mark, 1)[1]
        decimal_mark = "," if mark == "." else "."  # the mark groups thousands ...
        if token.count(mark) == 1 and len(tail) != 3:
            decimal_mark = mark  # ... unless it appears once not followed by three digits
    else:
        decimal_mark = "."
    locale = "es_AR" if decimal_mark == "," else "en_US"  # es_AR: ',' decimal, '.' groups
    try:
        return Decimal(parse_decimal(token, locale=locale))
    except (NumberFormatError, InvalidOperation, ValueError):
        return None


def _quantize(value: Decimal, currency: str | None) -> Decimal:
    if currency:
        try:
            precision = get_currency_precision(currency.upper())
        except Exception:
            return value
        return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)
    return value


def resolve_amount(text: str, balance: Decimal | None = None, currency: str | None = None) -> Decimal | None:
    """The amount of money ``text`` means, or ``None``.

    ``balance`` answers "la mitad" / "todo" / "el total"; ``currency`` (ISO 4217) sets the rounding.
    """
    if not text or not text.strip():
        return None
    cleaned = normalise(text)
    cleaned = re.sub(
        r"\b(?:pesos|peso|soles|sol|dolares|dolar|bolivares|mxn|cop|clp|ars|pen|uyu|usd|varos|pe)\b", "", cleaned
    )
    cleaned = " ".join(cleaned.split())

    if _HALF.search(cleaned):
        return None if balance is None else _quantize(Decimal(balance) / 2, currency)
    if _WHOLE.match(cleaned):
        return None if balance is None else _quantize(Decimal(balance), currency)

    cleaned = re.sub(r"\bmedio (palo|melon)\b", "500000", cleaned)
    cleaned = re.sub(r"\bmedia (luca|luka)\b", "500", cleaned)
    cleaned = re.sub(r"\b(?:un|una)\s+(luca|luka|lucas|palo|melon|millon)\b", r"1 \1", cleaned)
    # text2num leaves a lone small number word alone ("dos palos"): before a multiplier it is a number
    cleaned = re.sub(rf"\b(dos)\s+{MULTIPLIER_WORDS}\b", lambda m: "2 " + m[0].split(None, 1)[1], cleaned)
    # keep "50 mil" / "2 millones" (digits + a multiplier word) away from alpha2digit ("50 1000")
    cleaned = re.sub(r"(\d)\s*(mil|millon|millones)\b", r"\1 x\2", cleaned)
    try:
        cleaned = alpha2digit(cleaned, "es")  # "cincuenta mil" -> "50000", "veinte lucas" -> "20 lucas"
    except Exception:
        pass
    cleaned = re.sub(r"\bx(mil|millon|millones)\b", r"\1", cleaned)
    # text2num turns "dos millones" into "2000000" and leaves "y medio" behind
    cleaned = re.sub(r"\b(\d+)000000 y medio\b", lambda m: f"{int(m[1]) * 1_000_000 + 500_000}", cleaned)
    cleaned = re.sub(r"(\d)\s*k\b", r"\1 k", cleaned)

    if re.search(rf"{_NUMBER}\s*(?:{_INSTALMENT_UNITS})\b", cleaned) and not re.search(r"\$", cleaned):
        return None  # "3 cuotas" is a number of instalments, not money

    match = re.search(rf"({_NUMBER})(?:\s*(mil|k|lucas?|lukas|millon(?:es)?|palos?|melon(?:es)?)\b)?", cleaned)
    if not match:
        return None
    value = _parse_number(match.group(1))
    if value is None:
        return None
    if match.group(2):
        value *= _MULTIPLIERS[match.group(2)]
        rest = cleaned[match.end() :]
        # "2 millones 500 mil", "1 millon y medio", "50 mil 500"
        if match.group(2).startswith(("millon", "palo", "melon")):
            if re.match(r"\s*y medio\b", rest):
                value += _MULTIPLIERS[match.group(2)] / 2
            else:
                more = re.match(r"\s*(?:y\s+)?(\d+)\s*(mil)?\b", rest)
                if more:
                    value += Decimal(more.group(1)) * (1000 if more.group(2) else 1)
        elif match.group(2) == "mil":
            more = re.match(r"\s*(?:y\s+)?(\d{1,3})\b(?!\s*(?:mil|lucas?|k)\b)", rest)
            if more:
                value += Decimal(more.group(1))
    if value <= 0:
        return None
    return _quantize(value, currency)


def resolve_installments(text: str) -> int | None:
    """The number of instalments in "en 3 cuotas", "6 meses", "doce pagos", "6" (1..60), or ``None``."""
    if not text or not text.strip():
        return None
    cleaned = normalise(text)
    try:
        cleaned = alpha2digit(cleaned, "es")
    except Exception:
        pass
    match = re.search(rf"\b(\d{{1,2}})\s*(?:{_INSTALMENT_UNITS})\b", cleaned) or re.fullmatch(
        r"(?:en\s+)?(\d{1,2})", cleaned
    )
    if not match:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= 60 else None
