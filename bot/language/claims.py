"""What a debtor's "ya pagué" already says: when they paid and how.

The bot answers a claim by asking when and by what means the payment was made; a debtor who wrote
"ya pagué ayer por transferencia" has said both, and being asked again reads as not being listened
to. The words are the debtor's, not a payment record: the person who verifies the claim reads them
in the hand-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.language.dates import DAY_NAMES, MONTH_NAMES, past_references
from bot.language.text import normalise

# when: a day or a moment, today or before ("ayer", "el lunes", "el 15", "esta mañana"); the past spoken of as
# such ("hace dos días", "la semana pasada") is dates.past_references
_WHEN = re.compile(
    r"\b(?:ayer|antier|anteayer|antes de ayer|hoy|esta manana|esta tarde|anoche|hace (?:un )?rato|hace ratito"
    rf"|recien|el (?:{DAY_NAMES})|el (?:dia )?\d{{1,2}}|\d{{1,2}} de (?:{MONTH_NAMES})|el finde)\b"
)
# how: a channel, a place or an instrument of payment, as debtors across the region name them
_HOW = re.compile(
    r"\b(?:transferencia|transferi|transfer|deposite|deposito|consignacion|consigne|efectivo|cash"
    r"|tarjeta|debito|credito|oxxo|seven|7 ?eleven|paycash|spei|efecty|baloto|pse|nequi|daviplata"
    r"|bancolombia|yape|plin|rapipago|pago ?facil|servipag|caja vecina|sencillito|mercado ?pago|mp"
    r"|cbu|cvu|alias|abitab|redpagos|banco|cajero|ventanilla|sucursal|corresponsal|app|aplicacion"
    r"|link|enlace|pagina|web|en linea|online|por internet|homebanking|home banking|la tienda|tienda"
    r"|farmacia|el super|walmart|chedraui|soriana|elektra|coppel|agente|pago movil)\b"
)


@dataclass(frozen=True)
class PaymentClaim:
    """Whether the debtor's message already says when (``when``) and how (``how``) they paid."""

    when: bool
    how: bool


def read_claim(text: str | None, said_date: bool = False) -> PaymentClaim:
    """What ``text`` tells about the payment; ``said_date``: the NLU found a ``date`` in it (which also
    says when)."""
    raw = text or ""
    clean = normalise(raw)
    when = said_date or bool(past_references(raw)) or bool(_WHEN.search(clean))
    return PaymentClaim(when=when, how=bool(_HOW.search(clean)))
