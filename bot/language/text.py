"""Text normalisation shared by the date and amount resolvers."""

from __future__ import annotations

import re
import unicodedata

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
