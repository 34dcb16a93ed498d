"""Why a debtor has not paid: the normalised reason (docs/api.md) and the debtor's own words."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.language.wording import reason_cues
from bot.store.models import REASONS, Debtor, Invoice, NonpaymentReason

# The next step the bot offers for each reason.
NEXT_STEP = {
    "job_loss": "payment_plan",
    "health": "payment_plan",
    "income_delay": "promise",
    "forgot": "payment_link",
    "service_issue": "dispute",
    "other_debts": "plan_or_promise",
    "other": "plan_or_promise",
}


def normalise(reason: str | None) -> str:
    value = (reason or "").strip().lower()
    return value if value in REASONS else "other"


# the words that must be in the text for the classifier's reading to stand (wording.REASON_CUES' keys)
EVIDENCE: dict[str, frozenset[str]] = {
    "job_loss": frozenset({"job_loss"}),
    "health": frozenset({"health"}),
    "income_delay": frozenset({"late_pay", "low_income"}),
    "forgot": frozenset({"forgot"}),
    "other_debts": frozenset({"other_debts"}),
    "service_issue": frozenset({"service_issue"}),
}


# the causes the words name plainly enough to replace another cause the classifier named ("por dos meses estuve
# cesante" read as health: a job loss); the others (forgot, other debts, the service) only with the classifier's word
PLAIN_CAUSES = {"job_loss": "job_loss", "health": "health", "income_delay": "late_pay"}


@dataclass(frozen=True)
class Reading:
    """The reason as far as the debtor's words bear it out, and the empathy line that names only what they said
    (``utter_reason_empathy_<line>``)."""

    reason: str
    line: str


def read(reason: str | None, text: str | None) -> Reading:
    """The classifier's reason, kept only when the text names that cause: "estoy pelado este mes" read as a job
    loss is being short of money (``other``, or ``income_delay`` when the pay has not come yet), never "lamento lo
    de su trabajo". A text with no words of its own (an empty message) keeps the reading: there is nothing to
    check it against."""
    value = normalise(reason)
    words = (text or "").strip()
    cues = reason_cues(words)
    if value in EVIDENCE and (not words or cues & EVIDENCE[value]):
        return Reading(value, _line(value, cues))
    if value in EVIDENCE:  # the cause the classifier named is not in the words: the one they do name, if plain
        named = [reason for reason, cue in PLAIN_CAUSES.items() if cue in cues]
        value = named[0] if len(named) == 1 else "income_delay" if "late_pay" in cues else "other"
    return Reading(value, _line(value, cues))


def _line(reason: str, cues: frozenset[str]) -> str:
    if reason == "income_delay" and "late_pay" not in cues and "low_income" in cues:
        return "income_low"  # sales or hours fell: no "the pay is late"
    if reason == "other" and "short_of_money" in cues:
        return "short_of_money"
    return reason


def next_step(reason: str | None) -> str:
    return NEXT_STEP[normalise(reason)]


def record(
    session: Session, debtor: Debtor, reason: str | None, text: str = "", invoice: Invoice | None = None
) -> NonpaymentReason:
    row = NonpaymentReason(
        debtor_id=debtor.id,
        invoice_id=invoice.id if invoice is not None else None,
        reason=normalise(reason),
        text=(text or "").strip()[:2000],
    )
    session.add(row)
    session.flush()
    return row
