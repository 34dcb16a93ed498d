"""Text normalisation shared by the date and amount resolvers."""

from __future__ import annotations

import re
import unicodedata

# Small numbers debtors write as words (text2num converts no lone number below ten): counts of instalments, days
NUMBER_WORDS = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
}

_EMOJI_AND_SYMBOLS = re.compile(r"[^\w\s$.,/\-:]", re.UNICODE)
_REPEATS = re.compile(r"([a-z])\1{2,}")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise(text: str) -> str:
    """Lower-case, without accents (ñ -> n), emoji or punctuation noise, letters repeated 3+ times
    squeezed ("siiii" -> "si"), single spaces."""
    text = strip_accents(text.lower())
    text = _EMOJI_AND_SYMBOLS.sub(" ", text)
    text = _REPEATS.sub(r"\1", text)
    return " ".join(text.split())
