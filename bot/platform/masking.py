"""What staff screens, exports and logs may show of a debtor's phone, cards and identity answers.

One function per kind of secret, used everywhere, because two different masks of the same value can be
combined into the whole value (the console once showed all but the last four digits of a phone, the manager
the first three and the last four: together, the number).

- ``mask_phone``: the country calling code and the last four digits, nothing else.
- ``mask_cards``: card numbers (13–19 digits passing the Luhn check, spaces or dashes allowed between
  digits) become ``[tarjeta oculta]``. Applied when a message is received, before it is stored or reaches
  Rasa, so no store, tracker, transcript or export ever holds one. No digit is kept: a kept "last four"
  could be read as the answer to the identity question.
- ``mask_identity``: the document digits a debtor typed to prove who they are become ``••••`` in what
  managers, agents and exports see (Rasa alone needs them, to check them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import phonenumbers

CARD_MASK = "[tarjeta oculta]"
DIGITS_MASK = "••••"
IDENTITY_ENTITY = "document_digits"

# A run of digits with at most one space or dash between two digits ("4111 1111-1111 1111").
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ \-]?\d)*(?!\d)")
_GROUP = re.compile(r"\d+")
# The groups ``bot.conversation.identity.extract_digits`` reads an answer from ("4821", "4 8 2 1", "48.21").
_ANSWER_GROUP = re.compile(r"\d[\d\s.\-]*\d|\d")


def mask_phone(phone: str | None) -> str:
    """``+573001234567`` → ``+57••••••4567``: the country code and the last four digits."""
    phone = (phone or "").strip()
    if phone.lower().startswith("whatsapp:"):
        phone = phone.split(":", 1)[1]
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 4:
        return "•" * len(digits)
    try:
        code = str(phonenumbers.parse("+" + digits, None).country_code)
    except phonenumbers.NumberParseException:
        code = ""
    if not digits.startswith(code) or len(digits) - len(code) <= 4:
        code = ""
    return ("+" if code else "") + code + "•" * (len(digits) - len(code) - 4) + digits[-4:]


def luhn_ok(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_spans(run: str) -> list[tuple[int, int]]:
    """Where card numbers sit in a run of digit groups: the longest Luhn-valid 13–19 digits from each start."""
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        found = None
        for j in range(len(groups) - 1, i - 1, -1):
            digits = "".join(run[a:b] for a, b in groups[i : j + 1])
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                found = j
                break
        if found is None:
            i += 1
            continue
        spans.append((groups[i][0], groups[found][1]))
        i = found + 1
    return spans


def mask_cards(text: str | None) -> str:
    """Card-like numbers (Luhn-valid, 13–19 digits, spaces or dashes between digits) become ``[tarjeta oculta]``."""
    if not text:
        return text or ""

    def replace(match: re.Match) -> str:
        run = match.group(0)
        if len(re.sub(r"\D", "", run)) < 13:
            return run
        out, last = [], 0
        for a, b in _card_spans(run):
            out.append(run[last:a])
            out.append(CARD_MASK)
            last = b
        out.append(run[last:])
        return "".join(out)

    return _DIGIT_RUN.sub(replace, text)


def is_identity_answer(entities: Any) -> bool:
    """The message carried the document digits (Rasa's ``document_digits`` entity)."""
    return any(isinstance(e, dict) and e.get("entity") == IDENTITY_ENTITY for e in _list(entities))


def mask_identity(
    text: str | None, entities: Any = None, document_last4: str | None = None, answer: bool = False
) -> str:
    """Hide the document digits a debtor typed to verify: every four-digit answer in a message that was an
    identity answer (``answer``, or a ``document_digits`` entity), and the debtor's own last four anywhere."""
    if not text:
        return text or ""
    answer = answer or is_identity_answer(entities)

    def replace(match: re.Match) -> str:
        group = match.group(0)
        digits = re.sub(r"\D", "", group)
        if len(digits) == 4 and (answer or (document_last4 and digits == document_last4)):
            return DIGITS_MASK
        return group

    return _ANSWER_GROUP.sub(replace, text)


def mask_identity_entities(entities: Any) -> list[Any]:
    """Entities as stored, with the ``document_digits`` values hidden."""
    out = []
    for e in _list(entities):
        if isinstance(e, dict) and e.get("entity") == IDENTITY_ENTITY:
            e = {**e, "value": DIGITS_MASK}
            if "text" in e:
                e["text"] = DIGITS_MASK
        out.append(e)
    return out


def _list(entities: Any) -> Iterable[Any]:
    return entities if isinstance(entities, list) else []


# A phone (after a "+") or any other run of four or more digits, single separators allowed between digits.
_NUMBER = re.compile(r"(\+?)(\d(?:[ \-.]?\d){3,})")


def mask_numbers(text: str | None) -> str:
    """Free text that may quote a debtor (an error message, a job's payload) as staff tools may show it:
    a ``+`` number is masked as a phone, any other run of four or more digits becomes ``••••`` (it could be
    a document number, or the digits that answer the identity question). Shorter numbers stay."""

    def one(match: re.Match[str]) -> str:
        return mask_phone(match.group(0)) if match.group(1) else DIGITS_MASK

    return _NUMBER.sub(one, text or "")
