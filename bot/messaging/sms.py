"""SMS formatting: GSM-7 or UCS-2, segment counts, transliteration, WhatsApp markup, splitting.

GSM-7 (3GPP TS 23.038) fits 160 characters in one SMS and 153 per part of a longer one; any
character outside it switches the whole message to UCS-2: 70, and 67 per part. GSM-7 has
``é ñ Ñ ü ¿ ¡`` but not ``á í ó ú``, so one "está" can turn a one-part message into three
(docs/platform.md). Characters of the extension table (``€ [ ] { } ^ ~ \\ |``) take two septets.
UCS-2 counts UTF-16 code units: an emoji takes two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€\f"
GSM7_CHARS = frozenset(_GSM7_BASIC)
GSM7_EXT_CHARS = frozenset(_GSM7_EXTENDED)

SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}
TWILIO_MAX_BODY = 1600  # Twilio rejects longer bodies
MAX_SEGMENTS_PER_MESSAGE = 10  # Twilio's advice: longer messages are delivered less reliably

# Characters that would force UCS-2 and have a harmless GSM-7 stand-in. The accented vowels are
# the ones Spanish needs and GSM-7 lacks; é, ñ, ü, ¿, ¡ are GSM-7 and stay.
_TRANSLITERATION = {
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "Á": "A",
    "Í": "I",
    "Ó": "O",
    "Ú": "U",
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ã": "a",
    "õ": "o",
    "ç": "c",
    "ï": "i",
    "ë": "e",
    "È": "E",
    "Ì": "I",
    "Ò": "O",
    "Ù": "U",
    "À": "A",
    "“": '"',
    "”": '"',
    "„": '"',
    "‘": "'",
    "’": "'",
    "´": "'",
    "`": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "•": "-",
    "·": "-",
}
_TRANS_TABLE = str.maketrans(_TRANSLITERATION)


@dataclass(frozen=True)
class SmsInfo:
    encoding: str
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_CHARS or ch in GSM7_EXT_CHARS for ch in text)


def encoding_of(text: str) -> str:
    return GSM7 if is_gsm7(text) else UCS2


def _units(ch: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if ch in GSM7_EXT_CHARS else 1
    return 2 if ord(ch) > 0xFFFF else 1


def sms_info(text: str) -> SmsInfo:
    """Encoding and number of segments, packed as handsets do: an escape pair or a surrogate pair
    is never split across two parts."""
    encoding = encoding_of(text)
    total = sum(_units(ch, encoding) for ch in text)
    if total <= SINGLE[encoding]:
        return SmsInfo(encoding, 1 if text else 0, total)
    per_part = PART[encoding]
    segments, used = 1, 0
    for ch in text:
        u = _units(ch, encoding)
        if used + u > per_part:
            segments += 1
            used = 0
        used += u
    return SmsInfo(encoding, segments, total)


def segment_count(text: str) -> int:
    return sms_info(text).segments


def transliterate(text: str) -> str:
    """Replace characters that would force UCS-2 by GSM-7 stand-ins (á→a, “→"); leave the rest."""
    return text.translate(_TRANS_TABLE)


# WhatsApp markup: *bold*, _italic_, ~strike~, ```monospace```. Only a marker that opens after a
# non-word character and closes before one counts, so snake_case words and URLs stay untouched.
_MONO = re.compile(r"```(.+?)```", re.S)
_MARKUP = [
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"),
    re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"),
]


def strip_markup(text: str) -> str:
    text = _MONO.sub(r"\1", text)
    for pattern in _MARKUP:
        text = pattern.sub(r"\1", text)
    return text


def format_for_sms(text: str, transliterate_accents: bool = True) -> str:
    text = strip_markup(text)
    if transliterate_accents:
        text = transliterate(text)
    return text


def fits_sms(text: str, max_segments: int = MAX_SEGMENTS_PER_MESSAGE, max_chars: int = TWILIO_MAX_BODY) -> bool:
    return len(text) <= max_chars and sms_info(text).segments <= max_segments


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def _sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace kept, so joining them gives the text back."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into parts that each satisfy ``fits``: at sentence boundaries when possible,
    else between words; a single word is cut only when it alone does not fit (a giant URL).

    Whitespace at the joints is dropped; the words, in order, are exactly those of ``text``.
    """
    text = text.strip()
    if not text or fits(text):
        return [text] if text else []
    pieces: list[str] = []
    for sentence in _sentences(text):
        if fits(sentence.strip()):
            pieces.append(sentence)
        else:
            pieces.extend(_words(sentence))
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + piece
        if fits(candidate.strip()):
            current = candidate
            continue
        if current.strip():
            parts.append(current.strip())
        current = piece
        if not fits(current.strip()):
            # One word longer than a part: cut it, character by character.
            chunk = ""
            for ch in current.strip():
                if chunk and not fits(chunk + ch):
                    parts.append(chunk)
                    chunk = ""
                chunk += ch
            current = chunk
    if current.strip():
        parts.append(current.strip())
    return parts


def prepare_sms(
    text: str, transliterate_accents: bool = True, max_segments: int = MAX_SEGMENTS_PER_MESSAGE
) -> list[tuple[str, SmsInfo]]:
    """The SMS bodies to send for one reply, each with its encoding and segment count."""
    body = format_for_sms(text, transliterate_accents)
    parts = split_text(body, lambda t: fits_sms(t, max_segments))
    return [(p, sms_info(p)) for p in parts]


WHATSAPP_MAX_BODY = 4096


def prepare_whatsapp(text: str) -> list[str]:
    return split_text(text, lambda t: len(t) <= WHATSAPP_MAX_BODY)
