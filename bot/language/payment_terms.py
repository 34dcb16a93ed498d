"""Which date and which amount in a debtor's message are the payment's.

Debtors explain before they promise: "llevo dos semanas enfermo, pero el lunes le abono", "debo como 3 meses de
cuota pero le abono 200 mil el viernes". The NLU tags every date- or money-like span and the first one used to
win, so the hardship's length became the promise day and a count of months became money. Two rules fix that,
for the five countries' wording alike:

1. A *duration* of the hardship ("llevo una semana sin trabajo", "hace dos meses", "por dos meses", "estuve
   3 semanas hospitalizado", "debo 3 meses") and a mention of the past ("el mes pasado") are never a payment
   date, an amount or an instalment count. A count of time *is* a date when it says when the debtor will pay:
   "en 3 días", "dentro de 15 días", "dame una semana", "una semana más", "dos semanas le pago", or a bare
   "una semana" given as the whole answer to "¿cuándo?".
2. Of what is left, the date or amount in the clause that holds a payment verb ("le pago", "abono", "cancelo",
   "le deposito", "le giro", "le hago el pago", ...) comes first; "me pagan el 15" is the debtor's income,
   and "hoy no puedo pagar" a refusal, not the promise.

Pure text work: offsets are kept (``fold`` maps one character to one), so spans found here line up with the
spans the NLU tags. The actions pass their own resolvers (``actions.parsing``) for the tagged text; scanning
untagged text uses ``bot.language.dates`` / ``bot.language.amounts``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.language import amounts, dates
from bot.language.text import strip_accents

Span = tuple[int, int]


@dataclass(frozen=True)
class Tagged:
    """A span the NLU tagged (``start``/``end`` may be unknown) and the text to resolve it from, in order of
    preference (the span as written, then the normalised value)."""

    start: int | None
    end: int | None
    texts: tuple[str, ...]


@dataclass(frozen=True)
class PaymentReading:
    """What a whole message says about the payment: when (``None``: the bot must ask) and how much."""

    when: dt.date | None
    amount: Decimal | None


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so that a match's offsets are the original's."""
    out = []
    for ch in text:
        plain = strip_accents(ch.lower())
        out.append(plain if len(plain) == 1 else " ")
    return "".join(out)


# --- clauses and the payment verb ---------------------------------------------------------------------------

# a clause ends at punctuation (not inside "120.000" or "1,5") or before a joining word, as voice-to-text run-ons
# join them ("llevo dos semanas enfermo pero el lunes le abono"); "y" before a number is part of it ("y medio")
_CLAUSE_BREAK = re.compile(
    r"(?:[;:!?¡¿\n]|[.,](?!\d)|(?<!\d)[.,])+"
    r"|\s(?:pero|porque|por que|pq|xq|aunque|asi que|entonces|ya que|igual|o sea|osea|sino|sin embargo|mientras)\b"
    r"|\s(?:y|e)\b(?!\s+(?:medi[oa]|\d|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)\b)"
)

# paying the creditor, in the countries' wording: "le pago", "abono", "cancelo", "le deposito", "transfiero",
# "consigno" (CO), "le giro", "le mando", "le hago el pago", "me pongo al día", "cuente con el pago"
_PAYMENT_VERB = re.compile(
    r"\b(?:pag(?:o|a|ar|are|aria|amos|ando|arle|arles|arlo|arla|ue|uemos)"
    r"|abon(?:o|ar|are|aria|amos|ando|arle|arles|e)"
    r"|cancel(?:o|ar|are|aria|amos|ando|arle|arlo|arla|e)"
    r"|deposit(?:o|ar|are|aria|amos|ando|arle|e)"
    r"|transfier(?:o|e)|transfer(?:ir|ire|iria|irle|imos)"
    r"|consign(?:o|ar|are|aria|amos|ando|arle|e)"
    r"|gir(?:o|ar|are|arle)|mand(?:o|are|arle)|envi(?:o|are|arle)"
    r"|cubro|liquido|hago (?:el|un|la) (?:pago|abono|deposito|transferencia|consignacion|giro)"
    r"|(?:el|un|mi) (?:pago|abono|deposito)|pongo al dia)\b"
)
# "me pagan el 15", "cuando me depositen", "me van a pagar": the debtor's income, not the payment
_INCOME = re.compile(r"\b(?:me|nos)\s+(?:(?:van|vayan|vuelven|tienen que|deben)\s+(?:a\s+)?)?$")
# "no puedo pagar hoy", "ni modo de pagar", "imposible abonar": a refusal, not a promise
_NEGATED = re.compile(r"\b(?:no|ni|nunca|tampoco|imposible)\b(?:\s+\S+){0,3}\s*$")


def clauses(text: str) -> list[Span]:
    """The message cut into clauses (start, end), whitespace-trimmed, empty ones left out."""
    folded = fold(text)
    cuts = [0]
    for match in _CLAUSE_BREAK.finditer(folded):
        cuts += [match.start(), match.start() if match.group(0)[:1].isspace() else match.end()]
    cuts.append(len(folded))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=True):
        while start < end and folded[start].isspace():
            start += 1
        while end > start and folded[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


# "siempre pago el 15", "normalmente abono a fin de mes": a habit, not this payment's day
_HABIT = re.compile(r"\b(?:siempre|normalmente|usualmente|por lo general|todos los meses|generalmente)\b")
# "la fecha de pago", "sin pagar": the word, not the act
_NOT_THE_ACT = re.compile(r"\b(?:de|sin|del|para el)\s+$")


def pays_in(clause: str) -> bool:
    """Does the (folded) clause promise a payment: a payment verb, not income, a refusal, a habit or a noun?"""
    if _HABIT.search(clause):
        return False
    for match in _PAYMENT_VERB.finditer(clause):
        left = clause[: match.start()]
        if match.group(0) == "pongo al dia":
            return True
        if not (_INCOME.search(left) or _NEGATED.search(left) or _NOT_THE_ACT.search(left)):
            return True
    return False


def payment_clauses(text: str) -> list[Span]:
    """The clauses that promise a payment, in the order written."""
    folded = fold(text)
    return [(start, end) for start, end in clauses(text) if pays_in(folded[start:end])]


# --- durations -----------------------------------------------------------------------------------------------

_COUNT_WORD = (
    r"\d+|un par de|par de|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce"
    r"|quince|dieciseis|diecisiete|dieciocho|diecinueve|veinte|veintiun|veintiuno|veinticinco|treinta|cuarenta"
    r"|varios|varias|muchos|muchas|pocos|pocas|algunos|algunas|unos cuantos|unas cuantas"
)
_HEDGE = r"(?:(?:ya|casi|como|unos|unas|otros|otras|mas de|menos de|mas o menos|apenas|cerca de|alrededor de)\s+)*"
_UNIT = r"(?:d[i]as?|semanas?|semanitas?|smanas?|semans|mes|meses|meces|anos?|quincenas?)"
_COUNT = re.compile(rf"\b{_HEDGE}(?:{_COUNT_WORD})\s+{_UNIT}\b(?:\s+y\s+medi[oa]\b)?")

# the word just before a count that makes it a length of time gone by, or of arrears: "hace", "llevo",
# "desde hace", "por", "durante", "tengo", "estuve", "van", "son", "cada", "debo"
_DURATION_BEFORE = re.compile(
    r"\b(?:hace|desde|llev[oa]|llevamos|llevas|llevan|llevaba|llevabamos|lleve|tengo|tiene|tenemos|tenia|teniamos"
    r"|estuve|estuvo|estuvimos|estoy|estaba|estado|pase|paso|pasaron|pasamos|van|van para|va para|son|fueron|cada"
    r"|debo|debe|debemos|debia|adeudo|por|durante|hara)\s+$"
)
# the words just before a count that make it a time from now: "en", "dentro de", "de aquí a", "a", "al cabo de"
_FUTURE_BEFORE = re.compile(
    r"\b(?:en|dentro de|de aqui a|de aca a|a|al cabo de|despues de|luego de|para dentro de|hasta dentro de)\s+$"
)
# after the count: more time ("una semana más", "de plazo") or the payment itself ("dos semanas le pago")
_FUTURE_AFTER = re.compile(
    r"^\s*(?:mas\b|de plazo|de prorroga|para (?:pagar|abonar|cancelar|ponerme|el pago|pagarle|juntar)"
    r"|(?:y|e)?\s*(?:le|les|te|se lo|se la)\s+(?:pago|abono|cancelo|deposito|transfiero|consigno|giro|mando)\b)"
)
# asked for in the clause before the count: "dame una semana", "me esperan una semana?", "aplazar ... una semana"
_GRANT = re.compile(
    r"\b(?:dame|deme|denme|dem|da|dan|das|dar|darme|regal\w*|esper\w*|aguant\w*|necesito|ocupo|plazo|prorroga"
    r"|aplaz\w*|corr[ae]\w*|corr[ae]n|mover|muev\w*|mov\w*|pas[ae]n?|pasar|pate\w*|estir\w*|extend\w*|extiend\w*"
    r"|alarg\w*|ampli\w*|posterg\w*|pospon\w*|deja\w*)\b"
)
# after the count: what the time was spent on ("dos semanas enfermo", "3 meses de atraso", "2 meses sin laburo")
_HARDSHIP_AFTER = re.compile(
    r"^\s*(?:sin|de atraso|atrasad|de retraso|retrasad|de mora|en mora|vencid|enferm|internad|hospitalizad"
    r"|incapacitad|desemplead|parad|en cama|en el hospital|en la clinica|de incapacidad|de licencia|de reposo"
    r"|de baja|atras|que (?:no|me|estoy|estuve|llevo|ando|tengo|estamos)|de cuotas?|de la cuota|de deuda|debiendo"
    r"|buscando|de vacaciones|fuera|afuera|con (?:covid|dengue|gripe|la|el|una|un)|mal|malo|mala|grave|operad)"
)


def _is_duration(folded: str, clause: Span, match: re.Match[str]) -> bool:
    """Is this count of time a length of time (True) or when the debtor will pay (False)?"""
    before = folded[clause[0] : match.start()]
    after = folded[match.end() : clause[1]]
    if (marker := _DURATION_BEFORE.search(before)) is not None:
        # "me dan plazo por una semana": time asked for, not time gone by
        return not (marker.group(0).strip() in ("por", "durante") and _GRANT.search(before[: marker.start()]))
    if _FUTURE_BEFORE.search(before) or _FUTURE_AFTER.search(after):
        return False
    if _GRANT.search(before):
        return False
    if _HARDSHIP_AFTER.search(after):
        return True
    # a bare "una semana" answering "¿cuándo?" is from today; inside a longer message it tells how long
    return bool(re.search(r"\S", folded[: match.start()] + folded[match.end() :]))


def durations(text: str) -> list[Span]:
    """The spans of ``text`` that tell how long something has lasted ("llevo dos semanas", "hace 15 días",
    "por dos meses", "debo como 3 meses"), with the word that makes them so."""
    folded = fold(text)
    found: list[Span] = []
    for clause in clauses(text):
        for match in _COUNT.finditer(folded, clause[0], clause[1]):
            if _is_duration(folded, clause, match):
                marker = _DURATION_BEFORE.search(folded[clause[0] : match.start()])
                start = clause[0] + marker.start() if marker else match.start()
                found.append((start, match.end()))
    return found


def hardship_spans(text: str) -> list[Span]:
    """What is never the payment's date, amount or count: durations and mentions of the past."""
    return sorted(durations(text) + dates.past_references(text))


def without_hardship(text: str) -> str:
    """``text`` with its durations and mentions of the past blanked (offsets kept)."""
    for start, end in hardship_spans(text):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def readable(text: str) -> str:
    """``without_hardship``, and a count of time that says when ("dame una semana", "dos semanas le pago")
    written as the resolver reads it ("en una semana"). Offsets are not kept: for scanning only."""
    folded = fold(text)
    hardship = hardship_spans(text)
    inserts = []
    for clause in clauses(text):
        for match in _COUNT.finditer(folded, clause[0], clause[1]):
            before = folded[clause[0] : match.start()]
            if overlaps(*match.span(), hardship) or _FUTURE_BEFORE.search(before):
                continue
            if not re.match(r"\s*mas\b", folded[match.end() : clause[1]]):
                inserts.append(match.start())
    blanked = without_hardship(text)
    for at in reversed(inserts):
        blanked = blanked[:at] + "en " + blanked[at:]
    return blanked


def overlaps(start: int | None, end: int | None, spans: Sequence[Span]) -> bool:
    if start is None or end is None:
        return False
    return any(start < span_end and span_start < end for span_start, span_end in spans)


def _inside(tag: Tagged, spans: Sequence[Span]) -> bool:
    return tag.start is not None and tag.end is not None and overlaps(tag.start, tag.end, spans)


# --- the payment's date and amount ---------------------------------------------------------------------------


# a payment clause that names no day on purpose: "le pago cuando pueda", "apenas tenga"
_UNDATED = re.compile(
    r"\b(?:cuando (?:pueda|podamos|tenga|tengamos|se pueda|consiga|me recupere|salga|me acomode)"
    r"|apenas (?:pueda|tenga|consiga)|en cuanto (?:pueda|tenga)|no se cuando|lo antes posible|cuanto antes)\b"
)
# "le pago el 30", "le giro para el 15": a bare day of the month, read only beside the payment verb
_DAY_OF_MONTH = re.compile(
    r"\b(?:para el|hasta el|el|al|pal)\s+(?:dia\s+)?(\d{1,2})\b(?![.,]\d)"
    r"(?!\s*(?:mil|lucas?|lukas|k|palos?|pesos|soles|%|cuotas?|pagos?|dias?|semanas?|mes(?:es)?|anos?)\b)"
)


def payment_date(
    text: str,
    today: dt.date,
    tz: str = dates.DEFAULT_TZ,
    *,
    tagged: Sequence[Tagged] = (),
    resolve: Callable[[str], dt.date | None] | None = None,
    allow_today: bool = True,
) -> dt.date | None:
    """The day the debtor says they will pay, or ``None`` (the bot asks).

    In this order: a tagged date in a payment clause; a date read from a payment clause; any other tagged date;
    and, when nothing was tagged, a date read from the whole message. Durations and the past are never read.
    ``resolve`` reads a tagged span (default ``dates.resolve_date``). ``allow_today=False`` when the message
    also tells a reason: "hoy me despidieron" is the bad news, unless "hoy" sits with the payment verb.
    """
    resolve = resolve or (lambda said: dates.resolve_date(said, today, tz))
    hardship = hardship_spans(text)
    usable = [tag for tag in tagged if not _inside(tag, hardship)]
    blanked = without_hardship(text)
    paying = payment_clauses(text)
    undated = False
    for start, end in paying:
        for tag in usable:
            if _inside(tag, [(start, end)]) and (found := _first(resolve, tag.texts)) is not None:
                return found
        clause = blanked[start:end]
        if (found := _scan_date(readable(clause), today, tz)) is not None:
            return found
        if (day := _DAY_OF_MONTH.search(fold(clause))) and (found := _scan_date(day.group(0), today, tz)):
            return found
        undated = undated or bool(_UNDATED.search(fold(clause)))
    for tag in usable:
        if (found := _first(resolve, tag.texts)) is not None:
            return found
    if usable or undated:
        return None  # tagged but unreadable, or "cuando pueda": the bot asks rather than guess from the rest
    found = _scan_date(readable(text), today, tz)
    return found if found is not None and (allow_today or found > today) else None


# "¿me puede mover el vencimiento al 14?", "pásela para el 20": the day a thing is moved to
_NOT_A_DAY = r"(?!\s*(?:mil|lucas?|lukas|k|palos?|pesos|soles|%|cuotas?|pagos?|dias?|semanas?|mes(?:es)?|anos?)\b)"
_MOVED_TO = re.compile(r"\b(?:al|para el|hasta el|pal)\s+(?:dia\s+)?\d{1,2}\b(?![.,]\d)" + _NOT_A_DAY)


def day_moved_to(text: str, today: dt.date, tz: str = dates.DEFAULT_TZ) -> dt.date | None:
    """The day a request to move the due date names ("¿me podés mover el vencimiento al 14? cobro ese día"), from
    today on; None when it names none ("el 14" alone may be when the debtor is paid, not the day wanted)."""
    found = _MOVED_TO.search(fold(without_hardship(text)))
    return _scan_date(found.group(0), today, tz) if found else None


def _first(resolve: Callable[[str], object], texts: Sequence[str]):
    for said in texts:
        if said and (found := resolve(said)) is not None:
            return found
    return None


def _scan_date(text: str, today: dt.date, tz: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        found = dates.resolve_date(text, today, tz)
    except Exception:  # a resolver bug must not stop the conversation
        return None
    return found if isinstance(found, dt.date) and found >= today else None


# amounts in a clause that says what is owed or earned are not what the debtor will pay: "debo 800 mil"
_NOT_PAID = re.compile(
    r"\b(?:debo|debia|debemos|adeudo|me cobran|me cobraron|me estan cobrando|deuda (?:es|era|de)|saldo (?:es|era|de)"
    r"|me llego|me sale|cuota (?:es|era|de)|me pagan|me pagaron|me paguen|me depositan|me depositen|gano|cobro)\b"
)


def payment_amount(
    text: str,
    balance: Decimal | None = None,
    currency: str | None = None,
    *,
    tagged: Sequence[Tagged] = (),
    resolve: Callable[[str], Decimal | None] | None = None,
) -> Decimal | None:
    """The amount the debtor says they will pay, or ``None`` (then the balance, or the instalment due).

    A tagged amount or money written as money ("200 mil", "$50.000", "la mitad", "20 lucas") in a payment clause
    first; then any other, except in a clause about what is owed or earned ("debo 800 mil", "me pagan 500").
    A count ("3 meses", "ocho días") is never money.
    """
    resolve = resolve or (lambda said: amounts.resolve_amount(said, balance, currency))
    hardship = hardship_spans(text)
    usable = [tag for tag in tagged if not _inside(tag, hardship)]
    folded = fold(without_hardship(text))
    every = clauses(text)
    paying = [clause for clause in every if pays_in(folded[clause[0] : clause[1]])]
    owed = [clause for clause in every if clause not in paying and _NOT_PAID.search(folded[clause[0] : clause[1]])]
    for start, end in paying:
        for tag in usable:
            if _inside(tag, [(start, end)]) and (found := _first(resolve, tag.texts)) is not None:
                return found
        for match in amounts.MONEY.finditer(folded, start, end):
            if (found := resolve(match.group(0))) is not None:
                return found
    others = [tag for tag in usable if not _inside(tag, owed)]
    for tag in others:
        if (found := _first(resolve, tag.texts)) is not None:
            return found
    if usable:
        return None
    for match in amounts.MONEY.finditer(folded):
        if not overlaps(match.start(), match.end(), owed) and (found := resolve(match.group(0))) is not None:
            return found
    return None


def read_payment(
    text: str,
    today: dt.date,
    tz: str = dates.DEFAULT_TZ,
    balance: Decimal | None = None,
    currency: str | None = None,
) -> PaymentReading:
    """A whole message, nothing tagged: the payment's day and amount."""
    return PaymentReading(payment_date(text, today, tz), payment_amount(text, balance, currency))
