"""What managers and exports see of a debtor's words: card and document numbers masked, identity answers hidden.

Pages (the transcript list and detail) and the exports (CSV, the NLU training data) mask the same way, so the
masks live in one module below both; it builds on ``bot.platform.masking`` (cards, identity answers, phones) and
adds the managers' rule for any long ID-like digit run.
"""

from __future__ import annotations

import re
from typing import Any

from bot.platform import masking

_DIGIT_RUN = re.compile(r"(?<![\w$])\d(?:[ \-.]?\d){6,}(?!\w)")


def _mask_run(match: re.Match) -> str:
    run = match.group(0)
    digits = re.sub(r"\D", "", run)
    if "." in run and len(digits) < 9 and not (13 <= len(digits) <= 19):
        return run  # 1.250.000: an amount, not a document
    return "•" * max(len(digits) - 4, 0) + digits[-4:]


def mask(text: str | None) -> str:
    """Document numbers, card-like runs (13–19 digits, spaces or dashes allowed) and other long ID-like digit
    runs (7+ digits) become dots plus their last four digits. Amounts such as ``$150.000`` stay readable."""
    return _DIGIT_RUN.sub(_mask_run, text or "")


mask_phone = masking.mask_phone  # the one phone mask (console, manager, exports, logs)


def staff_text(body: str | None, entities: Any = None, document_last4: str | None = None, answer: bool = False) -> str:
    """A debtor's message as managers and exports see it: no card number, no identity answer (the document
    digits typed to verify, or the debtor's last four anywhere), document-like runs masked."""
    return mask(masking.mask_identity(masking.mask_cards(body or ""), entities, document_last4, answer=answer))


def mask_entities(entities: Any) -> list[dict[str, Any]]:
    out = []
    for e in masking.mask_identity_entities(entities or []):
        if isinstance(e, dict):
            out.append(
                {
                    "entity": e.get("entity"),
                    "value": mask(str(e.get("value", ""))),
                    "confidence": e.get("confidence_entity") or e.get("confidence"),
                }
            )
    return out
