"""The requests a message makes in so many words, whatever the classifier read as its main intent.

Debtors put two things in one message: "me quedé sin trabajo, ¿y cuánto es lo que debo?", "se me olvidó, mándeme
el link", "el internet no sirve hace un mes, quiero hablar con alguien". The classifier names one intent (only six
pairs have examples of their own), so the second half used to be lost. These checks find the other requests in
the words: the balance asked for, the payment link asked for, a person asked for, a payment plan asked for, and the
instalment count already given. The actions carry them out after the main one (``actions.dialogue``), so a check
here must be plain: a wording not listed is not a request, and a negated one ("no me mande el link", "no quiero
hablar con nadie") or a complaint ("el link no abre") is none.

Pure functions over ``text.normalise`` (lower case, no accents, no emoji), tolerant of the colloquial Spanish of
Colombia, Mexico, Argentina, Peru and Chile.
"""

from __future__ import annotations

import re

from bot.language.text import NUMBER_WORDS, normalise


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# the request names, as the classifier's intents (``domain/intents.yml``)
BALANCE = "check_balance"
LINK = "request_payment_link"
PERSON = "request_human"
PLAN = "request_payment_plan"
# no intent of the classifier's: found in the words only, and carried out by the action that runs the turn
STATEMENT = "request_statement"

# "cuánto debo", "¿y cuánto es lo que debo?", "cuál es mi saldo", "a cuánto asciende la deuda", "cuánto me falta"
_BALANCE = _any(
    r"\bcuanto (es )?(lo )?(que )?(le |les |te )?(debo|adeudo|estoy debiendo|quedo debiendo|tengo que (pagar|cancelar)"
    r"|hay que pagar|tengo pendiente|me falta|falta|me queda|queda|me sale|sale|seria|saldria|es en total|va|llevo)\b",
    r"\bcuanto (es|seria|sale|esta|da|suma) (el|la|mi|todo el|en) ?(total|deuda|saldo|monto|adeudo|pendiente"
    r"|importe)\b",
    r"\b(cual|cuanto|como) (es|esta|anda|va|quedo|queda) (el|mi) (saldo|deuda|adeudo|total|pendiente)\b",
    r"\bde cuanto (es|era|seria) (la|mi|el) (deuda|saldo|total|cuenta)\b",
    r"\ba cuanto (asciende|llega|sube|esta|va|anda)\b",
    r"\bque tanto (debo|le debo|les debo|es)\b",
    r"\b(saber|ver|consultar|conocer|revisar|decirme|dime|digame|pasame|paseme|mandame|mandeme|confirmame|dame|deme"
    r"|confirmeme|indiqueme|informeme) (el|mi|cual es mi|cuanto es mi|cuanto es el) (saldo|total|deuda|monto)\b",
    r"\bcuanto tengo (que pagar|de deuda|pendiente|debiendo|vencido)\b",
)

_LINK_WORD = r"(?:link|links|enlace|liga|linck|linc|lin|url)"
# "mándeme el link", "pásame el enlace", "me regalas el link", "necesito el link de pago", "el link para pagar?"
_LINK = _any(
    r"\b(mand|envi|pas|compart|regal|reenvi|gener|hac|dam|dem|den|necesit|quier|ocup|requier|solicit|pid)\w*"
    rf"( \w+){{0,4}} {_LINK_WORD}\b",
    rf"\b(me|nos) (puede|podria|puedes|podrias|podes|pueden|podrian|van a)( \w+){{0,3}} {_LINK_WORD}\b",
    rf"\b{_LINK_WORD} (de pago|para pagar|pa pagar|para (hacer|realizar) el pago|de mercado ?pago)\b",
)
# "el link no abre", "el enlace que me mandaron no funciona": a complaint, not a request
_LINK_COMPLAINT = _any(
    rf"\b{_LINK_WORD}( \w+){{0,4}} (no (funciona|sirve|abre|abrio|carga|cargo|anda|jala|me deja|deja|funciono"
    r"|sirvio|paso|pasa)|esta (caido|malo|roto|vencido)|fallo|falla|da error|dio error|vencio|expiro)",
)

# "quiero hablar con alguien", "comuníqueme con un asesor", "me pasa con una persona", "que me llame un humano"
_WHO = (
    r"(persona|personas|humano|humana|asesor|asesora|asesores|agente|ejecutivo|ejecutiva|operador|operadora|alguien"
    r"|encargado|encargada|supervisor|supervisora|gerente|representante|funcionario|funcionaria|empleado"
    r"|de carne y hueso)"
)
_PERSON = _any(
    rf"\b(hablar|comunicar\w*|conversar|charlar|platicar|contactar\w*|comuniqu\w*|conect\w*|transfier\w*|transferir"
    rf"|pas\w*|derive\w*|derivar\w*|comunicarse) (me )?(con )?(un |una |algun |alguna |el |la |otra |otro )?{_WHO}\b",
    rf"\b(quiero|necesito|prefiero|pido|solicito|exijo|ocupo|deseo|quisiera) (a )?(un |una |algun |alguna )?{_WHO}\b",
    rf"\bque me (llame|atienda|contacte|escriba|responda|ayude) (un |una |algun |alguna )?{_WHO}\b",
    r"\batencion (humana|personal|personalizada)\b",
)
# "no quiero hablar con nadie", "no necesito un asesor"
_NEGATED_BEFORE = re.compile(r"\b(no|ni|nunca|tampoco)\s+(\w+\s+){0,2}$")

# "quiero pagar en cuotas", "¿tienen plan de pagos?", "a plazos", "puedo diferirlo", "en 3 partes"
_PLAN = _any(
    r"\b(en|a|por) (\w+ )?(cuotas|cuotitas|plazos|partes|mensualidades|abonos|pagos parciales)\b",
    r"\bplan(es)? de (pago|pagos|cuotas|financiamiento)\b",
    r"\b(diferir|diferirlo|diferirla|fraccionar|fraccionarlo|financiar|financiarlo|refinanciar|refinanciarlo"
    r"|prorratear|parcializar|parcelar)\b",
    r"\bpor partes\b|\bde a poco\b|\bde a poquito\b|\ben pagos\b",
)

# "mándeme la factura", "pásame el recibo", "quiero ver mi estado de cuenta", "mándame el detalle de lo que debo en
# pdf", "me pasás el resumen", "ocupo la boleta", "me regala la cuenta de cobro": a document of what is owed, asked
# for by a verb that has the bot give it to the debtor (never "le mando el comprobante": that is the debtor's)
_DOCUMENT = (
    r"(?:estados? de cuenta|estado de mi cuenta|extractos?|resumen(?:es)?(?: de (?:mi )?cuenta)?|facturas?|recibos?"
    r"|boletas?|cuentas? de cobro|comprobantes?|detalle|desglose|constancia|documento|pdf)"
)
# what may stand between the verb and the document: articles, "una copia de", "de nuevo", "porfa"
_FILLER = (
    r"(?:(?:el|la|los|las|mi|mis|un|una|su|sus|me|nos|lo|de|del|nuevo|otra|vez|nuevamente|copia|porfa|porfis|pf"
    r"|por|favor|todo|toda|ultimo|ultima|actual|actualizado|completo|completa|ahi|aca|aqui|ya|tu|tus)\s+){0,4}"
)
_GIVE_ME = (
    r"(?:(?:mand|envi|pas|regal|compart|reenvi|facilit|hag|haz)(?:a|e|as|es|an|en)?(?:me|nos)(?:lo|la|los|las)?"
    r"(?: llegar)?|da(?:me|nos)(?:lo|la|los|las)?|de(?:me|nos)(?:lo|la|los|las)?|denme|regalame)"
)
_TO_ME = (
    r"(?:me|nos) (?:lo |la |los |las )?(?:(?:puede|puedes|podes|podria|podrias|pueden|podrian|podra|quiere|quieres"
    r"|va a|vas a|van a) )?(?:mand\w*|envi\w*|pas\w*|regal\w*|compart\w*|reenvi\w*|facilit\w*|da|das|dan|dar"
    r"|hace llegar|haces llegar|hacen llegar|hacer llegar|hagan llegar|haga llegar)"
)
_WANT = (
    r"(?:quiero|quisiera|necesito|necesitaria|ocupo|requiero|solicito|pido|me gustaria|deseo|queria|puedo|como|donde"
    r"|se puede)(?: (?:ver|veo|tener|recibir|revisar|consultar|consulto|descargar|descargo|bajar|obtener|sacar|pedir"
    r"|pedirle|pedirles|solicitar|solicitarle|que me (?:manden|mande|envien|envie|pasen|pase|hagan llegar"
    r"|haga llegar|den|de|compartan|comparta)))?"
)
_STATEMENT = _any(
    rf"\b(?:{_GIVE_ME}|{_TO_ME}|{_WANT}) {_FILLER}{_DOCUMENT}\b",
    r"\b(?:debo|deuda|saldo|adeudo|cuenta|facturas?|detalle|pendiente)( \w+){0,3} (?:en|por|como) pdf\b",
    rf"\b(?:{_GIVE_ME}|{_TO_ME}|{_WANT})( \w+){{0,3}} (?:en|por|como) pdf\b",
    r"^(?:el |mi )?(?:estado de cuenta|extracto|resumen de cuenta)(?: (?:por favor|porfa|porfavor|pls|en pdf))?$",
)
# "el link de la factura", "el enlace para pagar el recibo": a payment link, not the document
_DOCUMENT_OF_A_LINK = re.compile(rf"\b{_LINK_WORD} (?:de|del|para|pa)( \w+){{0,3}} {_DOCUMENT}\b")


def asks_statement(text: str) -> bool:
    """ "Mándeme la factura", "pásame el recibo", "quiero ver mi estado de cuenta", "el detalle de lo que debo en
    pdf": the statement of what is owed, as a PDF (not "le mando el comprobante", nor "el link de la factura")."""
    plain = normalise(text or "").strip(" ?!.,")
    plain = _DOCUMENT_OF_A_LINK.sub(lambda m: " " * len(m.group(0)), plain)
    return _said(_STATEMENT, plain)


# a plan has two instalments or more ("en una cuota" is no plan)
_COUNT_WORDS = {word: n for word, n in NUMBER_WORDS.items() if n >= 2}
# "en 3 cuotas", "a seis meses", "en 4 pagos", "dividido en dos partes": the count of a plan (never "3 meses de
# atraso": the count must follow "en", "a" or "de a" and name instalments)
_COUNT = re.compile(
    rf"\b(?:en|a|de a|por|dividido en|dividirlo en|partirlo en) (\d{{1,2}}|{'|'.join(_COUNT_WORDS)}) "
    r"(?:cuotas|cuotitas|pagos|partes|mensualidades|abonos|meses|quincenas)\b"
)


def _said(pattern: re.Pattern[str], plain: str) -> bool:
    """A match of ``pattern`` that no negation right before it takes back."""
    return any(not _NEGATED_BEFORE.search(plain[: m.start()]) for m in pattern.finditer(plain))


def asks_balance(text: str) -> bool:
    """ "¿Y cuánto es lo que debo?", "cuál es mi saldo", "a cuánto asciende", "cuánto me falta"."""
    return _said(_BALANCE, normalise(text or ""))


def asks_link(text: str) -> bool:
    """ "Mándeme el link", "pásame el enlace porfa", "me regala la liga de pago" (not "el link no abre")."""
    plain = normalise(text or "")
    return _said(_LINK, plain) and not _LINK_COMPLAINT.search(plain)


def asks_person(text: str) -> bool:
    """ "Quiero hablar con alguien", "comuníqueme con un asesor", "que me llame una persona"."""
    return _said(_PERSON, normalise(text or ""))


def asks_plan(text: str) -> bool:
    """ "Quiero pagar en cuotas", "¿tienen plan de pagos?", "a plazos", "puedo diferirlo"."""
    return _said(_PLAN, normalise(text or ""))


# "en 3 o en 4 cuotas", "3 o 4": the debtor has not chosen yet
_CHOICE = re.compile(rf"\b(\d{{1,2}}|{'|'.join(_COUNT_WORDS)}) (o|u) (en |a )?(\d{{1,2}}|{'|'.join(_COUNT_WORDS)})\b")


def plan_count(text: str) -> int | None:
    """The number of instalments the message already gives ("en 3 cuotas", "a seis meses"), when it gives one."""
    plain = normalise(text or "")
    found = {m.group(1) for m in _COUNT.finditer(plain)}
    if len(found) != 1 or _CHOICE.search(plain):
        return None
    said = found.pop()
    return int(said) if said.isdigit() else _COUNT_WORDS[said]


# "quiero dar una fecha para pagar", "le pongo fecha de pago": a promise to come, not the due date moved
_GIVE_A_DATE = re.compile(
    r"\b(dar|darle|darte|doy|poner|ponerle|pongo|anotar|anote|fijar|fijo|proponer|propongo|agendar|acordar"
    r"|comprometerme con|comprometo a)( \w+){0,2} (una )?fecha (para (pagar|pagarle|cancelar|abonar|hacer el pago)"
    r"|de pago|en que (pago|voy a pagar|puedo pagar))\b"
)
_MOVE_THE_DATE = re.compile(r"\b(mover|muev|cambi|pasar|corr|posterg|aplaz|extend|prorrog|vencimiento|venc|otra fecha)")


def offers_a_date(text: str) -> bool:
    """ "Quiero dar una fecha para pagar": the debtor will say when they pay (a promise), not move the due date."""
    plain = normalise(text or "")
    return _said(_GIVE_A_DATE, plain) and not _MOVE_THE_DATE.search(plain)


# what each check finds, in the order the actions carry them out: a question answered before a request is taken,
# a person last (the conversation leaves the bot)
CHECKS = (
    (BALANCE, asks_balance),
    (STATEMENT, asks_statement),
    (LINK, asks_link),
    (PLAN, asks_plan),
    (PERSON, asks_person),
)


def asks_in(text: str) -> tuple[str, ...]:
    """Every request the words make plainly, as intent names, in the order to carry them out."""
    return tuple(name for name, check in CHECKS if check(text))


def without_asks(text: str) -> str:
    """``text`` (normalised) with its requests blanked: what is left to tell a reason by. "Mándeme el link" names
    no trouble with the service, though "link" is one of its words."""
    plain = normalise(text or "")
    for _name, pattern in (
        (BALANCE, _BALANCE),
        (STATEMENT, _STATEMENT),
        (LINK, _LINK),
        (PLAN, _PLAN),
        (PERSON, _PERSON),
    ):
        plain = pattern.sub(lambda m: " " * len(m.group(0)), plain)
    return plain
