"""Resolve a Spanish date expression ("el viernes", "pasado mañana", "la otra quincena") to a date.

A small normalisation layer (accents, typos, slang, weekday and quincena arithmetic) runs in front
of ``dateparser``, which alone returns nothing for "el viernes", "pasado mañana", "fin de mes" or
"el próximo lunes". Dates are resolved against the debtor's *local* today (``local_today``) and are
never in the past: an expression that can only mean a past day resolves to ``None``.

Conventions (documented in docs/nlu.md):
* weekday ("el viernes", "viernes", "el próximo viernes", "el viernes que viene"): the next such day
  strictly after today; "este viernes" may be today; "el otro viernes" / "el viernes de la semana
  que viene": that weekday in next (Monday-based) week;
* "el 15" / "15": this month if not past, else next month (clamped to the month's last day);
* quincena days are the 15th and the last day of the month: "la quincena", "en la quincena",
  "el día de pago" = the next one (today included); "la próxima / siguiente quincena" = the next
  one strictly after today; "la otra quincena" = the one after the next;
* "la próxima semana" / "la semana que viene" = Monday of next week; "fin de mes" = the month's
  last day; "el mes que viene" / "el próximo mes" = the 1st of next month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from zoneinfo import ZoneInfo

import dateparser
from babel.dates import get_day_names, get_month_names
from text_to_num import alpha2digit

from bot.language.text import NUMBER_WORDS, normalise

DEFAULT_TZ = "America/Bogota"
# Names as the debtor reads them (CLDR through babel): Monday first, January first, accented.
SPANISH_WEEKDAYS: tuple[str, ...] = tuple(str(get_day_names("wide", locale="es")[i]) for i in range(7))
SPANISH_MONTHS: tuple[str, ...] = tuple(str(get_month_names("wide", locale="es")[m]) for m in range(1, 13))

WEEKDAYS = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
}
# words whose typos we repair by fuzzy matching (only words of 5+ letters, cutoff 0.8)
_VOCABULARY = [
    *WEEKDAYS,
    "manana",
    "pasado",
    "proximo",
    "proxima",
    "quincena",
    "semana",
    "siguiente",
    "despues",
    "dentro",
    "finales",
    "entrante",
]
# real words close to the vocabulary that must not be "repaired" ("viene" is not "viernes")
_KNOWN_WORDS = {"viene", "vienen", "vienes", "quince", "martillo", "semanal", "pasada", "pasados", "manana"}
# slang and abbreviations -> canonical words
_REWRITES = [
    (r"\bpasadomanana\b", "pasado manana"),
    (r"\bmnn\b|\bmñn\b|\bmñna\b|\bmanan\b", "manana"),
    (r"\bprox\b|\bprx\b|\bproxim\b", "proximo"),
    (r"\bq viene\b", "que viene"),
    (r"\bfinde\b|\bfin de semana\b", "sabado"),
    (r"\bfin de mes\b|\bfinales de mes\b|\bfinal de mes\b|\bfin del mes\b|\bultimo del mes\b", "findemes"),
    (r"\bultimo dia del mes\b", "findemes"),
    (r"\bdia de pago\b|\bdia de paga\b|\bcuando me paguen\b|\bcuando cobre\b", "quincena"),
    (
        r"\bhoy mismo\b|\bahorita\b|\bahora\b|\bya mismo\b|\bmas tarde\b|\besta (?:tarde|noche)\b"
        r"|\b(?:en|al) un? rat(?:o|ito)\b|\bal rat(?:o|ito)\b",
        "hoy",
    ),
    (r"\bsemana entrante\b", "semana que viene"),
]
# "el lunes pasado", "la semana pasada", "el mes pasado", "hace 3 días", "el pasado 15": the past, never
# the date a debtor promises or asks for ("pasado mañana" is the future); accents optional
DAY_NAMES = r"lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo"
_PAST_REFERENCE = re.compile(
    rf"\b(?:(?:{DAY_NAMES}|semana|mes|a[nñ]o|quincena|finde|fin de semana)\s+pasad[oa]s?\b(?!\s+ma[nñ]ana)"
    rf"|(?:el|la)\s+pasad[oa]\s+(?:\d{{1,2}}|{DAY_NAMES}|semana|mes)\b"
    r"|hace\s+(?:\d+|un|una|unos|unas|dos|tres|cuatro|cinco|varios|varias|pocos|pocas)\s+"
    r"(?:d[ií]as?|semanas?|mes(?:es)?|a[nñ]os?)\b)",
    re.IGNORECASE,
)
MONTH_NAMES = r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
_MONTHS = MONTH_NAMES.replace("|setiembre", "").split("|")
# how a month's name starts, as debtors abbreviate it ("dic", "sept", "set" for setiembre) -> its full name
MONTH_BY_PREFIX = {name[:3]: name for name in _MONTHS} | {"set": "septiembre"}
# a day and a month's abbreviation ("el 2 de dic", "15 sept."), as debtors type on a phone
_ABBREVIATED_MONTH = re.compile(rf"\b(\d{{1,2}})\s+(?:de\s+)?({'|'.join(MONTH_BY_PREFIX)})(?:t|tiembre)?\b\.?")


def local_today(now: dt.datetime | None = None, tz: str = DEFAULT_TZ) -> dt.date:
    """The calendar day in ``tz`` at the instant ``now`` (a naive ``now`` is taken as UTC)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(ZoneInfo(tz)).date()


def _as_local_date(today: dt.date | dt.datetime, tz: str) -> dt.date:
    if isinstance(today, dt.datetime):
        return local_today(today, tz)
    return today


def _fix_typos(text: str) -> str:
    words = []
    for word in text.split():
        if len(word) >= 5 and word not in _VOCABULARY and word not in _KNOWN_WORDS and word.isalpha():
            match = difflib.get_close_matches(word, _VOCABULARY, n=1, cutoff=0.8)
            if match:
                word = match[0]
        words.append(word)
    return " ".join(words)


def _clean(text: str) -> str:
    text = normalise(text)
    try:
        text = alpha2digit(text, "es")  # "en cinco dias" -> "en 5 dias", "el quince" -> "el 15"
    except Exception:
        pass
    text = _fix_typos(text)
    text = _ABBREVIATED_MONTH.sub(lambda m: f"{m[1]} de {MONTH_BY_PREFIX[m[2]]}", text)  # "2 dic" -> "2 de diciembre"
    for pattern, replacement in _REWRITES:
        text = re.sub(pattern, replacement, text)
    text = _PAST_REFERENCE.sub(" ", text)  # "el lunes pasado" is not next Monday
    text = _TRAILING_PARTICLE.sub("", " ".join(text.split()))  # "al 19 pe", "el lunes po", "el 15 nomas"
    return " ".join(text.split())


# the particles a short answer may end in (Peru's "pe", Chile's "po", Argentina's "che"): no part of the date
_TRAILING_PARTICLE = re.compile(r"(?:\s+(?:pe|po|pues|pue|che|nomas|no mas|oiga|porfa|por favor|gracias|ya))+$")


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(day: dt.date, months: int, day_of_month: int | None = None) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    wanted = day.day if day_of_month is None else day_of_month
    return dt.date(year, month, min(wanted, _last_day(year, month)))


def _quincenas_from(today: dt.date):
    """Quincena days (15th and month's last day) from today on, today included."""
    day = today
    while True:
        for candidate in (
            dt.date(day.year, day.month, 15),
            dt.date(day.year, day.month, _last_day(day.year, day.month)),
        ):
            if candidate >= today:
                yield candidate
        day = _add_months(dt.date(day.year, day.month, 1), 1)


def _next_weekday(today: dt.date, weekday: int, include_today: bool) -> dt.date:
    delta = (weekday - today.weekday()) % 7
    if delta == 0 and not include_today:
        delta = 7
    return today + dt.timedelta(days=delta)


def _day_of_month(today: dt.date, day: int, months_ahead: int = 0) -> dt.date | None:
    if not 1 <= day <= 31:
        return None
    if months_ahead:
        return _add_months(dt.date(today.year, today.month, 1), months_ahead, day)
    this_month = dt.date(today.year, today.month, min(day, _last_day(today.year, today.month)))
    if this_month >= today:
        return this_month
    return _add_months(dt.date(today.year, today.month, 1), 1, day)


# "5 días más", "una semana más" ("semanita" is repaired to "semana"), "dos meses más": more time
# small counts text2num leaves as words ("en dos semanas": it converts no lone number below ten)
_COUNT_WORDS = {
    **{word: n for word, n in NUMBER_WORDS.items() if n <= 9 and word != "uno"},
    "un par de": 2,
    "par de": 2,
}
_COUNT = r"(\d+|" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True)) + ")"
_MORE_TIME = re.compile(rf"\b{_COUNT}\s+(dia|dias|semana|semanas|mes|meses)\s+mas\b")


def _after(start: dt.date, count: str, unit: str) -> dt.date:
    """``start`` plus a matched count ("5", "una", "dos", "un par de") of days, weeks or months."""
    number = _COUNT_WORDS.get(count) or int(count)
    if unit.startswith("dia"):
        return start + dt.timedelta(days=number)
    if unit.startswith("semana"):
        return start + dt.timedelta(weeks=number)
    return _add_months(start, number)


def _more_time(text: str, start: dt.date) -> dt.date | None:
    match = _MORE_TIME.search(text)
    return _after(start, match.group(1), match.group(2)) if match else None


def more_time(text: str, start: dt.date) -> dt.date | None:
    """The day "5 días más" or "una semanita más" names, counted from ``start``: from today for a promise
    (``resolve_date``), from the current due date when the debtor asks to move it (actions/due_dates.py)."""
    return _more_time(_clean(text), start) if text else None


def _rules(text: str, today: dt.date) -> dt.date | None:
    if re.search(r"\bayer\b|\bantier\b|\banteayer\b", text):
        return None
    if re.search(r"\bpasado manana\b", text):
        return today + dt.timedelta(days=2)
    if re.search(r"\bmanana\b", text):
        return today + dt.timedelta(days=1)
    if re.search(r"\bhoy\b", text):
        return today

    # "en 5 dias", "dentro de 3 semanas", "de aqui a 2 dias", "a 10 dias"
    match = re.search(
        rf"\b(?:en|dentro de|de aqui a|a)\s+(?:unos\s+|unas\s+)?{_COUNT}\s+(dia|dias|semana|semanas|mes|meses)\b", text
    )
    if match:
        return _after(today, match.group(1), match.group(2))

    found = _more_time(text, today)
    if found is not None:
        return found

    if "quincena" in text:
        upcoming = _quincenas_from(today)
        first = next(upcoming)
        if re.search(r"\botra quincena\b", text):
            return next(upcoming)
        if re.search(r"\b(?:proxima|siguiente)\s+quincena\b|\bquincena (?:que viene|siguiente)\b", text):
            return first if first > today else next(upcoming)
        return first

    if "findemes" in text:
        months_ahead = (
            1
            if re.search(
                r"\b(?:mes que viene|proximo mes|otro mes|siguiente mes|findemes (?:que viene|siguiente))\b", text
            )
            else 0
        )
        base = _add_months(dt.date(today.year, today.month, 1), months_ahead)
        return dt.date(base.year, base.month, _last_day(base.year, base.month))

    for name, weekday in WEEKDAYS.items():
        if re.search(rf"\b{name}\b", text):
            if re.search(
                rf"\botro {name}\b|\b{name} de la (?:otra semana|semana que viene|proxima semana|semana siguiente)\b",
                text,
            ):
                next_monday = today + dt.timedelta(days=7 - today.weekday())
                return next_monday + dt.timedelta(days=weekday)
            include_today = bool(re.search(rf"\beste {name}\b", text))
            return _next_weekday(today, weekday, include_today)

    if re.search(r"\b(?:proxima semana|semana que viene|semana siguiente|siguiente semana|otra semana)\b", text):
        return today + dt.timedelta(days=7 - today.weekday())
    next_month = r"(?:del |de )?(?:mes que viene|proximo mes|otro mes|siguiente mes|mes siguiente)"
    match = re.search(rf"\b(?:el\s+)?(?:dia\s+)?(\d{{1,2}})\s+{next_month}\b", text)
    if match:
        return _day_of_month(today, int(match.group(1)), months_ahead=1)
    if re.search(rf"\b{next_month}\b", text):
        return _add_months(dt.date(today.year, today.month, 1), 1)

    # "a fines de enero", "a principios de marzo", "a mediados de febrero": that part of the named month
    match = re.search(
        rf"\b(fin|fines|final|finales|principios?|inicios?|comienzos?|mediados)\s+de\s+({MONTH_NAMES})\b", text
    )
    if match:
        month = _MONTHS.index(match.group(2).replace("setiembre", "septiembre")) + 1
        year = today.year if month >= today.month else today.year + 1
        part = match.group(1)
        day = _last_day(year, month) if part.startswith("fin") else 15 if part == "mediados" else 1
        found = dt.date(year, month, day)
        return found if found >= today else None

    # "el 15", "15", "el dia 15", "para el 30", "al 22", "pal 30" (but not "15 de diciembre", "15/12")
    match = re.fullmatch(
        r"(?:(?:para|hasta|a partir de)\s+)?(?:el\s+|al\s+|pal\s+)?(?:dia\s+)?(\d{1,2})(?:\s+(?:sin falta|seguro))?",
        text,
    )
    if match:
        return _day_of_month(today, int(match.group(1)))
    return None


def _with_dateparser(text: str, today: dt.date) -> dt.date | None:
    base = dt.datetime(today.year, today.month, today.day, 12, 0)
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "DATE_ORDER": "DMY",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    # keep only the date-looking part: "15 de diciembre", "15/12", "diciembre 15", "3 de enero 2027"
    match = re.search(
        rf"\d{{1,2}}\s*(?:de\s+)?(?:{MONTH_NAMES})(?:\s+(?:de\s+)?\d{{4}})?"
        rf"|(?:{MONTH_NAMES})\s+\d{{1,2}}"
        r"|\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?",
        text,
    )
    iso = re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", text)  # "2026-12-05", as apps write it
    if iso:
        try:
            result = dt.date(*(int(part) for part in iso.groups()))
        except ValueError:
            return None
        return result if result >= today else None
    if not match and re.search(r"\d{3,}", text):
        return None  # "4821", "1500": dateparser reads a long bare number as a year, no debtor means one
    candidate = match.group(0) if match else text
    parsed = dateparser.parse(candidate, languages=["es"], settings=settings)
    if parsed is None:
        return None
    result = parsed.date()
    if not match and re.fullmatch(rf"(?:el\s+|en\s+|para\s+)?(?:mes de\s+)?(?:{MONTH_NAMES})", text):
        # a bare month ("en diciembre"): its first day, or today if it is this month
        result = dt.date(result.year, result.month, 1)
        if result < today and (result.year, result.month) == (today.year, today.month):
            result = today
    if result < today and match and not re.search(r"\d{4}", candidate):
        result = dt.date(result.year + 1, result.month, result.day)
    return result if result >= today else None


def past_references(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of ``text`` that speak of the past ("el mes pasado", "hace dos días").

    The NLU may tag only a piece of one as a ``date`` ("pasado" in "me quedé sin trabajo el mes
    pasado"); the actions drop a date entity inside such a span rather than read it as the new date.
    """
    return [match.span() for match in _PAST_REFERENCE.finditer(text)]


def resolve_date(text: str, today: dt.date | dt.datetime, tz: str = DEFAULT_TZ) -> dt.date | None:
    """The future (or today's) date a debtor means by ``text``, or ``None``.

    ``today`` is the injectable clock: a ``date`` already local to the debtor, or a ``datetime``
    (aware, or naive meaning UTC) converted to the debtor's IANA time zone ``tz`` first.
    """
    if not text or not text.strip():
        return None
    local = _as_local_date(today, tz)
    cleaned = _clean(text)
    result = _rules(cleaned, local)
    if result is None and not re.search(r"\bayer\b|\bantier\b|\banteayer\b", cleaned):
        result = _with_dateparser(cleaned, local)
    return result
