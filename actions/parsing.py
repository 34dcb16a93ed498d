"""Turning what the debtor wrote into dates, amounts and counts.

The NLU side owns ``bot.language.dates.resolve_date(text, today, tz)`` and
``bot.language.amounts.resolve_amount(text, balance, currency)``; they are asked first.
The small fallbacks here cover the common phrasings when they return nothing. Which of a message's dates
and amounts is the payment's is ``bot.language.payment_terms`` (through ``actions.reading``).
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from bot.language.amounts import resolve_amount as nlu_resolve_amount
from bot.language.amounts import resolve_installments
from bot.language.dates import MONTH_BY_PREFIX, SPANISH_MONTHS, SPANISH_WEEKDAYS
from bot.language.dates import resolve_date as nlu_resolve_date
from bot.language.payment_terms import readable
from bot.language.text import NUMBER_WORDS, strip_accents

MONTHS = list(SPANISH_MONTHS)
WEEKDAYS = [strip_accents(day) for day in SPANISH_WEEKDAYS]


def _plain(text: str) -> str:
    return strip_accents(text.lower()).strip()


def spanish_date(d: date) -> str:
    """``16 de noviembre`` (the year only when it is not this one's)."""
    out = f"{d.day} de {MONTHS[d.month - 1]}"
    if d.year != date.today().year:
        out += f" de {d.year}"
    return out


def resolve_date(text: str | None, today: date, tz: str) -> date | None:
    """A date from a tagged span or a short answer. Durations and the past are blanked first ("llevo una semana
    sin trabajo" answers no "¿cuándo?"), a bare count that says when is read from today ("dos semanas")."""
    if not text:
        return None
    explicit = fallback_date(text, today) if EXPLICIT_DATE.search(text) else None
    if explicit is not None:
        return explicit  # a full written date, even a past one (so the debtor hears it is past)
    text = readable(text)
    if not text.strip():
        return None
    try:
        found = nlu_resolve_date(text, today, tz)
    except Exception:  # a resolver bug must not stop the conversation
        found = None
    if isinstance(found, datetime):
        found = found.date()
    if isinstance(found, date):
        return _recent_past(found, text, today)
    return fallback_date(text, today)


# "el 1 de noviembre", "3 nov": a day of a named month, without a year
DAY_OF_NAMED_MONTH = re.compile(rf"\b\d{{1,2}}\s+(?:de\s+)?(?:{'|'.join(MONTH_BY_PREFIX)})[a-z]*\b")
# how far back a named day still means this year's: further back, the debtor means the next one
RECENT_PAST_DAYS = 183


def _recent_past(found: date, text: str, today: date) -> date:
    """The resolver reads every date forward: on 3 December, "el 1 de noviembre" is next November, which
    a promise would refuse as too far off. The debtor means the one a month ago, and should hear that it
    has passed."""
    if found <= today or not DAY_OF_NAMED_MONTH.search(_plain(text)):
        return found
    try:
        last = found.replace(year=found.year - 1)
    except ValueError:  # 29 February
        return found
    return last if last < today and (today - last).days <= RECENT_PAST_DAYS else found


# A date written in full (2026-12-05, 5/12/2026, 5 de diciembre de 2026), or "ayer": resolved here
# exactly, past or not; the NLU resolver only returns dates from today on.
EXPLICIT_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{2,4}\b|\bde \d{4}\b|\bayer\b", re.IGNORECASE
)


def _day_in_month(year: int, month: int, day: int) -> date | None:
    if not 1 <= month <= 12 or not 1 <= day <= monthrange(year, month)[1]:
        return None
    return date(year, month, day)


def fallback_date(text: str, today: date) -> date | None:
    t = _plain(text)
    if m := re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", t):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if re.search(r"\bayer\b", t):
        return today - timedelta(days=1)
    if "pasado manana" in t:
        return today + timedelta(days=2)
    if "manana" in t:
        return today + timedelta(days=1)
    if re.search(r"\bhoy\b", t):
        return today
    if m := re.search(r"\ben (\d+|\w+) dias?\b", t):
        n = int(m[1]) if m[1].isdigit() else NUMBER_WORDS.get(m[1])
        return today + timedelta(days=n) if n else None
    if "fin de mes" in t or "fin del mes" in t:
        return date(today.year, today.month, monthrange(today.year, today.month)[1])
    if "proxima semana" in t or "semana que viene" in t:
        return today + timedelta(days=7 - today.weekday())
    if "quincena" in t:
        mid = _day_in_month(today.year, today.month, 15)
        if mid and mid >= today:
            return mid
        return date(today.year, today.month, monthrange(today.year, today.month)[1])
    for i, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", t):
            ahead = (i - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    if m := re.search(r"\b(\d{1,2})\s*(?:/|-)\s*(\d{1,2})(?:\s*(?:/|-)\s*(\d{2,4}))?\b", t):
        year = int(m[3]) if m[3] else today.year
        year = year + 2000 if year < 100 else year
        found = _day_in_month(year, int(m[2]), int(m[1]))
        if found and not m[3] and found < today:
            found = _day_in_month(year + 1, int(m[2]), int(m[1]))
        return found
    for prefix, name in MONTH_BY_PREFIX.items():
        # "5 de diciembre", "el 2 de dic", "2 dic.", "15 set" (how the month's name starts)
        if m := re.search(rf"\b(\d{{1,2}}) (?:de )?{prefix}[a-z]*\.?(?: de (\d{{4}}))?(?!\w)", t):
            month = MONTHS.index(name) + 1
            if m[2]:
                return _day_in_month(int(m[2]), month, int(m[1]))
            found = _day_in_month(today.year, month, int(m[1]))
            if found and found < today - timedelta(days=31):
                found = _day_in_month(today.year + 1, month, int(m[1]))
            return found
    if m := re.search(r"\b(?:el|para el|dia)\s+(\d{1,2})\b", t) or re.fullmatch(r"(\d{1,2})", t):
        day = int(m[1])
        found = _day_in_month(today.year, today.month, day)
        if found is None or found < today:
            year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            found = _day_in_month(year, month, day)
        return found
    return None


def resolve_amount(text: str | None, balance: Decimal, currency: str) -> Decimal | None:
    if not text:
        return None
    try:
        found = nlu_resolve_amount(text, balance, currency)
    except Exception:
        found = None
    if isinstance(found, Decimal):
        return found
    return fallback_amount(text, balance)


def fallback_amount(text: str, balance: Decimal) -> Decimal | None:
    t = _plain(text)
    if re.search(r"\b(todo|total|completo)\b", t):
        return balance
    if "mitad" in t:
        return (balance / 2).quantize(Decimal("0.01"))
    m = re.search(r"(\d[\d.,]*)\s*(mil|k)?\b", t)
    if not m:
        return None
    raw = m[1]
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)
    else:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if m[2]:
        value *= 1000
    return value.quantize(Decimal("0.01"))


def resolve_count(text: str | None) -> int | None:
    """``3``, ``en 3 cuotas``, ``tres``, ``6 meses``."""
    if not text:
        return None
    try:
        found = resolve_installments(text)
    except Exception:
        found = None
    if isinstance(found, int) and found > 0:
        return found
    t = _plain(text)
    if m := re.search(r"\b(\d{1,2})\b", t):
        return int(m[1])
    for word, n in NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", t):
            return n
    return None
