"""Compliance keywords the edge answers itself, before the bot: opt-out, opt-in, help.

Only a message that *is* a keyword counts (case, accents, spaces and punctuation aside): "BAJA",
"Stop!", "  alto. ". Looser wordings ("ya no me escriban") go to the bot, whose ``opt_out`` intent
handles them. Twilio answers its English keywords on SMS itself; on WhatsApp and in Spanish that is
Recobra's job (docs/platform.md).
"""

from __future__ import annotations

import re
import unicodedata

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"

KEYWORDS: dict[str, dict[str, str]] = {
    OPT_OUT: {
        "baja": "es",
        "darme de baja": "es",
        "dar de baja": "es",
        "alto": "es",
        "cancelar": "es",
        "salir": "es",
        "parar": "es",
        "detener": "es",
        "no mas": "es",
        "no mas mensajes": "es",
        "stop": "en",
        "stopall": "en",
        "stop all": "en",
        "unsubscribe": "en",
        "cancel": "en",
        "end": "en",
        "quit": "en",
        "revoke": "en",
        "optout": "en",
        "opt out": "en",
    },
    OPT_IN: {"alta": "es", "darme de alta": "es", "reanudar": "es", "start": "en", "unstop": "en", "yes": "en"},
    HELP: {"ayuda": "es", "info": "es", "informacion": "es", "help": "en"},
}


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation or emoji, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s]", " ", plain.casefold())
    return " ".join(plain.replace("_", " ").split())


def classify(text: str) -> tuple[str, str] | None:
    """(kind, language) when the whole message is a keyword, else None."""
    key = normalise(text)
    if not key or len(key) > 40:
        return None
    for kind, words in KEYWORDS.items():
        if key in words:
            return kind, words[key]
    return None
