"""Which invoice a debtor means: "la de noviembre", "la F-2026-014", "la del celular", "la primera", "la 2", "todas".

A debtor who owes several invoices names one the way people do: by the month it fell due (in any of the five
countries' Spanish: "setiembre" in Peru, "nov." typed on a phone, "la del mes pasado"), by its number as printed
(with or without dashes, in any case), by what it was for (the concept the lender sent), by its place in the list
the bot showed ("la 2") or in age ("la más vieja", "la última"), or all at once ("todas", "las dos", "todo").

Deterministic and pure: the actions pass the debtor's open invoices (oldest due first) and their own today, and
get back the ones named, or None when the words name none. A word that fits every invoice tells nothing (a
"préstamo" when all are loans), and a month inside a day to pay ("le pago el 20 de noviembre") is a date, not an
invoice. Nothing here knows Rasa, the store or Flask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.language.dates import MONTH_BY_PREFIX, SPANISH_MONTHS
from bot.language.text import strip_accents

_MONTHS = [strip_accents(m) for m in SPANISH_MONTHS]
# a month by its name or its abbreviation ("nov", "nov.", "sept", "set", "setiembre")
_MONTH_WORD = r"(?:setiembre|" + "|".join(_MONTHS) + r"|sept?|" + "|".join(MONTH_BY_PREFIX) + r")"
# what a debtor calls an invoice in the five countries (Colombia, Mexico, Peru, Chile, Argentina)
_NOUN = r"(?:factura|fact|fra|boleta|recibo|cuenta|cuota|deuda|credito|prestamo|mensualidad|saldo)"
# the invoice's month, asked as an invoice ("la de noviembre", "la factura de oct", "el recibo del mes de octubre",
# "la que vence en diciembre"), never a day's month ("el 20 de noviembre": no article or noun before "de")
_MONTH_REF = re.compile(
    rf"\b(?:la|el|lo|{_NOUN})\s+(?:de|del)\s+(?:mes\s+de\s+)?(?P<month>{_MONTH_WORD})\b\.?"
    rf"|\b(?:vence|vencio|vencia|vencida|vencen)\s+(?:en|el\s+mes\s+de)\s+(?P<month2>{_MONTH_WORD})\b"
)
# a bare month, read only as the answer to "¿cuál factura?" and not as a day's month
_BARE_MONTH = re.compile(rf"(?<!\d )(?<!\d de )\b(?P<month>{_MONTH_WORD})\b")
_RELATIVE_MONTH = re.compile(
    rf"\b(?:la|el|lo|{_NOUN})\s+(?:del|de este)\s+(?P<which>mes pasado|mes anterior|ultimo mes|mes que viene|"
    r"proximo mes|mes actual|mes(?! de))\b"
    r"|\b(?:la|el|lo)\s+de\s+(?P<which2>este mes)\b"
)
_EVERYTHING = re.compile(
    r"\b(?:todas|todos|ambas|ambos|todo|el total|toda la deuda|todo lo que debo|la totalidad|cada una)\b"
    r"|\blas (?P<count>dos|tres|cuatro|cinco|\d)\b(?! (?:primeras|ultimas|cuotas|semanas|quincenas))"
)
_COUNTS = {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5}
_ORDINALS = {"primera": 1, "primer": 1, "segunda": 2, "tercera": 3, "cuarta": 4, "quinta": 5}
# "la primera", "la factura segunda", "la más vieja": never "la primera cuota" of a plan, "la última semana"
_ORDINAL = re.compile(
    r"\b(?:la|el|lo)\s+(?:" + _NOUN + r"\s+)?(?P<ord>primera|primer|segunda|tercera|cuarta|quinta|ultima|ultimo|"
    r"mas vieja|mas antigua|mas atrasada|mas vencida|mas vieja de todas|mas reciente|mas nueva|mas nuevo|"
    r"mas viejo|mas antiguo)\b(?!\s+(?:cuota|vez|semana|quincena|pago|mitad|parte|dia))"
)
# a number from the list the bot showed: "2", "la 2", "opción 2", "el número 2", "la segunda opción"
_LIST_NUMBER = re.compile(r"^(?:(?:la|el|opcion|numero|nro|no|#|la opcion|el numero|la numero|la factura)\s*)?(\d)$")
# an invoice's number given after a noun: "la factura 014", "recibo #2031"
_NUMBER_AFTER_NOUN = re.compile(rf"\b{_NOUN}\s*(?:n[o°]\.?|numero|nro\.?|#)?\s*(?P<num>\d{{3,}})\b")
_STOPWORDS = frozenset(
    "para pago pagos pagar factura facturas cuenta cuota cuotas deuda saldo mensualidad "
    "compra plan total valor monto recibo boleta pedido orden cargo".split()
)


@dataclass(frozen=True)
class Candidate:
    """One open invoice as the reader needs it."""

    external_id: str
    due_date: date
    description: str | None = None
    original_due_date: date | None = None


@dataclass(frozen=True)
class Reference:
    """The invoices the words named (external ids, in the candidates' order); ``everything`` when all were."""

    chosen: tuple[str, ...]
    everything: bool = False


def fold(text: str) -> str:
    """Lower case, no accents, punctuation (other than dashes inside ids) as spaces, single spaces."""
    text = strip_accents((text or "").lower())
    text = re.sub(r"[¿?¡!,;:()\"'“”]", " ", text)
    return " ".join(text.split())


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", strip_accents(text.lower()))


def _month_number(word: str) -> int | None:
    word = word.rstrip(".")
    if word in ("setiembre", "set", "sept", "sep"):
        return 9
    if word in _MONTHS:
        return _MONTHS.index(word) + 1
    full = MONTH_BY_PREFIX.get(word[:3])
    return _MONTHS.index(strip_accents(full)) + 1 if full and word == word[:3] else None


def _by_id(text: str, candidates: Sequence[Candidate]) -> list[str]:
    """External ids as written, with or without dashes or spaces, in any case ("f2026014", "F 2026-014")."""
    found = []
    for c in candidates:
        chars = _alnum(c.external_id)
        if len(chars) < 2:
            continue
        pattern = r"(?<![a-z0-9])" + r"[\s\-_/.]?".join(re.escape(ch) for ch in chars) + r"(?![a-z0-9])"
        if re.search(pattern, text):
            found.append(c.external_id)
    if found:
        return found
    # "la factura 014", "recibo #2031": the number at the end of one invoice's id
    for m in _NUMBER_AFTER_NOUN.finditer(text):
        num = m["num"]
        ends = [c.external_id for c in candidates if _ends_with_number(c.external_id, num)]
        if len(ends) == 1:
            return ends
    return []


def _ends_with_number(external_id: str, num: str) -> bool:
    """``num`` is the id's last group of digits ("014" or "14" of "F-2026-014"), or how the id ends."""
    groups = re.findall(r"\d+", external_id)
    return bool(groups) and (int(groups[-1]) == int(num) or _alnum(external_id).endswith(num))


def _by_month(text: str, candidates: Sequence[Candidate], today: date, answering: bool) -> list[str]:
    months: set[int] = set()
    for m in _MONTH_REF.finditer(text):
        number = _month_number(m["month"] or m["month2"])
        if number:
            months.add(number)
    for m in _RELATIVE_MONTH.finditer(text):
        which = m["which"] or m["which2"]
        if which in ("mes pasado", "mes anterior", "ultimo mes"):
            months.add((today.month - 2) % 12 + 1)
        elif which in ("mes que viene", "proximo mes"):
            months.add(today.month % 12 + 1)
        else:
            months.add(today.month)
    if not months and answering:
        for m in _BARE_MONTH.finditer(text):
            number = _month_number(m["month"])
            # a bare abbreviation ("mar", "ago") is too often a word: only full names when unprompted by "la de"
            if number and (m["month"].rstrip(".") in _MONTHS or m["month"] in ("setiembre", "sept", "set")):
                months.add(number)
    if not months:
        return []
    return [
        c.external_id
        for c in candidates
        if c.due_date.month in months or (c.original_due_date is not None and c.original_due_date.month in months)
    ]


def _words(text: str) -> set[str]:
    out = set()
    for word in re.findall(r"[a-z]{4,}", fold(text)):
        if word in _STOPWORDS:
            continue
        out.add(word[:-2] if word.endswith("es") and len(word) > 5 else word.rstrip("s"))
    return out


def _by_description(text: str, candidates: Sequence[Candidate]) -> list[str]:
    """The concept's own words ("la del celular", "lo de la moto"); a word every invoice shares tells nothing."""
    said = _words(text)
    if not said:
        return []
    per = {c.external_id: _words(c.description or "") for c in candidates}
    found = []
    for c in candidates:
        telling = {w for w in per[c.external_id] if not all(w in other for other in per.values())}
        if telling & said:
            found.append(c.external_id)
    return found


def _by_place(text: str, candidates: Sequence[Candidate], answering: bool) -> list[str]:
    """Its place by age ("la primera", "la más vieja", "la última") or in the list the bot showed ("2")."""
    by_age = sorted(candidates, key=lambda c: c.due_date)
    if answering:
        m = _LIST_NUMBER.match(text.strip().rstrip("."))
        if m and 1 <= int(m[1]) <= len(candidates):
            return [candidates[int(m[1]) - 1].external_id]
    m = _ORDINAL.search(text)
    if m is None:
        return []
    word = m["ord"]
    if word in _ORDINALS:
        n = _ORDINALS[word]
        return [by_age[n - 1].external_id] if n <= len(by_age) else []
    if word.startswith(("ultim", "mas reciente", "mas nuev")):
        return [by_age[-1].external_id]
    return [by_age[0].external_id]  # the oldest, the most overdue


def read(text: str, candidates: Sequence[Candidate], today: date, *, answering: bool = False) -> Reference | None:
    """The invoices ``text`` names among ``candidates`` (as listed to the debtor), or None when it names none.

    ``answering``: the message answers "¿cuál factura?", so a bare list number ("2") or a bare month
    ("noviembre") is the choice. Precedence: an id is exact; then "todas"; then a place in the list or by age;
    then the month and the concept (both when they agree, else whichever named some)."""
    if not candidates or not text:
        return None
    folded = fold(text)
    ids = _by_id(folded, candidates)
    if ids:
        return Reference(tuple(ids))
    every = _EVERYTHING.search(folded)
    if every is not None:
        count = every["count"]
        wanted = _COUNTS.get(count, int(count) if count and count.isdigit() else 0) if count else len(candidates)
        if wanted == len(candidates):
            return Reference(tuple(c.external_id for c in candidates), everything=True)
    placed = _by_place(folded, candidates, answering)
    if placed:
        return Reference(tuple(placed))
    by_month = _by_month(folded, candidates, today, answering)
    by_concept = _by_description(folded, candidates)
    both = [e for e in by_month if e in by_concept]
    chosen = both or by_month or by_concept
    if not chosen:
        return None
    ordered = tuple(c.external_id for c in candidates if c.external_id in chosen)
    return Reference(ordered, everything=len(ordered) == len(candidates) and len(candidates) > 1)
