"""The pure half of the dialogue instrument (issue #28): the conversations' YAML, the dates they expect, and
the checks every conversation must pass. No network here, so the fast suite tests all of it
(``tests/dialogues/test_spec.py``); ``tests/dialogues/run.py`` drives the webhooks.

A conversation file (``tests/dialogues/conversations/*.yml``) holds a list under ``conversations:``::

    - id: co-balance-1
      country: CO                       # CO MX AR PE CL: the account's country, zone and currency
      category: balance                 # the row of the pass-rate table
      channel: whatsapp                 # or sms (default whatsapp)
      debtor:                           # optional; a fresh account is made for every run anyway
        name: Ana María Restrepo
        last4: "4821"
        invoices: [{amount: "187450", due: -12}]     # due: days from the debtor's local today; optional id
                                                     # (default F-1, F-2…) and description (the concept)
      turns:
        - say: "hola buenas quien habla"
        - say: "4821"
          mentions: ["187.450"]         # every one of these in the turn's replies (accents and case ignored)
          not_mentions: ["cuotas"]      # none of these
        - say: "Sí"
          tap: true                     # WhatsApp: tap the button of the bot's last message with this title
      expect:                           # the end state, read through GET /api/v1/debtors/{external_id}
        verified: true
        promise: {date: "weekday:monday", invoice: F-2}   # invoice: the open promises' invoices include it
        reason: health
        offer: {status: accepted, kind: discount}   # the newest settlement offer (no_offer: none made)

A turn's text may name dates relative to the debtor's local today, so that a conversation means the same on
any day it runs: ``{day+12}`` is the day of the month twelve days from today ("mejor para el {day+12}"),
``{weekday+3}`` that day's Spanish weekday name. The expected dates use the same vocabulary (``relative_date``).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CONVERSATIONS_DIR = Path(__file__).resolve().parent / "conversations"

COUNTRIES: dict[str, dict[str, str]] = {
    "CO": {"timezone": "America/Bogota", "currency": "COP", "prefix": "+57399", "digits": "12"},
    "MX": {"timezone": "America/Mexico_City", "currency": "MXN", "prefix": "+5240", "digits": "12"},
    "AR": {"timezone": "America/Argentina/Buenos_Aires", "currency": "ARS", "prefix": "+549119", "digits": "13"},
    "PE": {"timezone": "America/Lima", "currency": "PEN", "prefix": "+5180", "digits": "11"},
    "CL": {"timezone": "America/Santiago", "currency": "CLP", "prefix": "+5690", "digits": "11"},
}
# An account per country when a conversation names none: distinctive amounts, so a leaked one is found.
DEFAULT_DEBTORS: dict[str, dict[str, Any]] = {
    "CO": {"name": "Luz Marina Ocampo", "last4": "4821", "invoices": [{"amount": "187450", "due": -12}]},
    "MX": {"name": "Jesús Alberto Treviño", "last4": "7305", "invoices": [{"amount": "3275.50", "due": -9}]},
    "AR": {"name": "Mariela Soledad Gauna", "last4": "6190", "invoices": [{"amount": "48730", "due": -15}]},
    "PE": {"name": "Wilmer Huamán Quispe", "last4": "5528", "invoices": [{"amount": "689.40", "due": -10}]},
    "CL": {"name": "Camila Fernanda Soto", "last4": "9064", "invoices": [{"amount": "213870", "due": -8}]},
}

CATEGORIES: dict[str, str] = {
    "balance": "balance check",
    "reason_promise": "reason + promise",
    "two_in_one": "two things in one message",
    "in_context": "answers in context",
    "right_date": "the right date",
    "no_harmful_guess": "no harmful guesses",
    "wrong_number": "wrong number",
    "opt_out": "opt-out",
    "dispute": "dispute",
    "payment_plan": "payment plan",
    "due_date": "due-date change",
    "payment_link": "payment link",
    "already_paid": "already paid",
    "handoff": "hand-off to a person",
    "identity": "identity (wrong, then right)",
    "statement": "statement PDF",
    "several_invoices": "several invoices",
    "settlement_offer": "settlement offer",
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SPANISH_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

# The bot's "I did not understand" lines (domain/misc.yml utter_default*, utter_offer_human_after_fallback, the
# date and amount re-asks of domain/promises.yml and domain/due_dates.yml): at most one per conversation.
FALLBACK = re.compile(r"\bno (?:le )?entend[ií]|sigo sin entender", re.IGNORECASE)
# The bot's lines that say the debtor proved who they are (domain/identity.yml); from then on the account may show.
VERIFIED = re.compile(r"verificamos su identidad|su identidad ya est[aá] verificada", re.IGNORECASE)

END_STATE_KEYS = frozenset(
    {
        "verified",
        "promise",
        "no_promise",
        "reason",
        "no_reason",
        "not_reason",
        "plan",
        "no_plan",
        "due_date_change",
        "no_due_date_change",
        "handoff",
        "no_handoff",
        "opted_out",
        "contact_status",
        "not_contact_status",
        "dispute",
        "no_dispute",
        "link",
        "no_link",
        "identity_locked",
        "offer",
        "no_offer",
    }
)


class SpecError(ValueError):
    """A conversation file that does not say what the instrument needs."""


@dataclass(frozen=True)
class Turn:
    say: str
    mentions: tuple[str, ...] = ()
    not_mentions: tuple[str, ...] = ()
    tap: bool = False  # a tapped WhatsApp button (its title is ``say``), not typed text


@dataclass(frozen=True)
class Conversation:
    id: str
    country: str
    category: str
    turns: tuple[Turn, ...]
    debtor: Mapping[str, Any]
    expect: Mapping[str, Any]
    channel: str = "whatsapp"
    note: str = ""
    source: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last4(self) -> str:
        return str(self.debtor["last4"])


# --- loading -------------------------------------------------------------------------------------------------


def load(directory: Path = CONVERSATIONS_DIR) -> list[Conversation]:
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for raw in body.get("conversations") or []:
            convo = parse(raw, source=path.name)
            if convo.id in seen:
                raise SpecError(f"{path.name}: conversation id {convo.id!r} is used twice")
            seen.add(convo.id)
            conversations.append(convo)
    return conversations


def parse(raw: Mapping[str, Any], source: str = "") -> Conversation:
    where = f"{source}: {raw.get('id', '?')}"
    for key in ("id", "country", "category", "turns"):
        if key not in raw:
            raise SpecError(f"{where}: missing {key!r}")
    country = str(raw["country"]).upper()
    if country not in COUNTRIES:
        raise SpecError(f"{where}: country {country!r} is not one of {', '.join(COUNTRIES)}")
    if raw["category"] not in CATEGORIES:
        raise SpecError(f"{where}: category {raw['category']!r} is not one of {', '.join(CATEGORIES)}")
    channel = raw.get("channel", "whatsapp")
    if channel not in ("whatsapp", "sms"):
        raise SpecError(f"{where}: channel must be whatsapp or sms")
    turns = []
    for t in raw["turns"]:
        t = {"say": t} if isinstance(t, str) else t
        if not isinstance(t, Mapping) or not str(t.get("say", "")).strip():
            raise SpecError(f"{where}: every turn needs a non-empty 'say'")
        if t.get("tap") and channel != "whatsapp":
            raise SpecError(f"{where}: only WhatsApp has buttons to tap")
        turns.append(
            Turn(
                str(t["say"]),
                tuple(map(str, t.get("mentions") or ())),
                tuple(map(str, t.get("not_mentions") or ())),
                bool(t.get("tap")),
            )
        )
    expect = dict(raw.get("expect") or {})
    unknown = set(expect) - END_STATE_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown expectation(s) {sorted(unknown)}")
    for key in ("promise", "due_date_change"):
        value = expect.get(key)
        if isinstance(value, Mapping) and "date" in value:
            relative_date(str(value["date"]), date(2026, 1, 1))  # a typo in a date expression fails at load
    debtor = dict(DEFAULT_DEBTORS[country])
    debtor.update(raw.get("debtor") or {})
    return Conversation(
        id=str(raw["id"]),
        country=country,
        category=str(raw["category"]),
        turns=tuple(turns),
        debtor=debtor,
        expect=expect,
        channel=channel,
        note=str(raw.get("note", "")),
        source=source,
        tags=tuple(raw.get("tags") or ()),
    )


# --- dates relative to the debtor's local today ---------------------------------------------------------------


def relative_date(expr: str, today: date) -> list[date]:
    """The dates an expectation accepts (usually one). Vocabulary:

    ``today``, ``tomorrow``, ``+N`` (days from today), ``weekday:monday`` (the next Monday after today; said on a
    Monday, "el lunes" is today or next week, both accepted), ``day:22`` (the 22nd of this month if still ahead,
    else of next month; said on the 22nd itself, today or next month), ``end_of_month`` (this month's last day),
    ``day+N`` (the date N days ahead: what a turn's ``{day+N}`` names), and ``A|B`` for either."""
    expr = expr.strip().lower()
    if "|" in expr:
        return sorted({d for part in expr.split("|") for d in relative_date(part, today)})
    if expr == "today":
        return [today]
    if expr == "tomorrow":
        return [today + timedelta(days=1)]
    if m := re.fullmatch(r"(?:day)?\+(\d+)", expr):
        return [today + timedelta(days=int(m.group(1)))]
    if m := re.fullmatch(r"weekday:([a-z]+)", expr):
        if m.group(1) not in WEEKDAYS:
            raise SpecError(f"unknown weekday in {expr!r}")
        ahead = (WEEKDAYS.index(m.group(1)) - today.weekday()) % 7
        return [today, today + timedelta(days=7)] if ahead == 0 else [today + timedelta(days=ahead)]
    if m := re.fullmatch(r"day:(\d{1,2})", expr):
        day = int(m.group(1))
        if not 1 <= day <= 31:
            raise SpecError(f"no day {day} in a month: {expr!r}")
        this = _day_in_month(today.year, today.month, day)
        following = _day_in_month(*_next_month(today.year, today.month), day)
        if this is not None and this > today:
            return [this]
        if this == today:
            return [today] + ([following] if following else [])
        return [following] if following else []
    if expr == "end_of_month":
        return [today.replace(day=calendar.monthrange(today.year, today.month)[1])]
    raise SpecError(f"unknown date expression {expr!r}")


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _day_in_month(year: int, month: int, day: int) -> date | None:
    return date(year, month, day) if day <= calendar.monthrange(year, month)[1] else None


def render(text: str, today: date) -> str:
    """A turn's words on the day it runs: ``{day+N}`` → that date's day of the month, ``{weekday+N}`` → its
    Spanish weekday name."""

    def one(m: re.Match[str]) -> str:
        when = today + timedelta(days=int(m.group(2)))
        return str(when.day) if m.group(1) == "day" else SPANISH_WEEKDAYS[when.weekday()]

    return re.sub(r"\{(day|weekday)\+(\d+)\}", one, text)


# --- the checks every conversation must pass ------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents, for matching what the bot says."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def _number_forms(token: str) -> set[str]:
    """The plain digits a number written in the bot's style may stand for: "$187.450" and "$187,450" → 187450;
    "$3,275.50" → 3275 (and 327550); "S/ 689.40" → 689."""
    digits = re.sub(r"\D", "", token)
    forms = {digits}
    m = re.fullmatch(r"(.*\d)[.,](\d{2})", token)
    if m:
        forms.add(re.sub(r"\D", "", m.group(1)))
    return forms


def secrets_of(account: Mapping[str, Any]) -> dict[str, set[str]]:
    """What an unverified person must not read: the account's amounts (each invoice's amount and balance and
    their total, as whole numbers) and the debtor's names."""
    amounts: set[Decimal] = set()
    total = Decimal(0)
    for invoice in account.get("invoices") or []:
        for key in ("amount", "balance"):
            if invoice.get(key) is not None:
                amounts.add(Decimal(str(invoice[key])))
        total += Decimal(str(invoice.get("balance", invoice.get("amount", 0))))
    if len(account.get("invoices") or []) > 1:
        amounts.add(total)
    names = {fold(part) for part in str(account.get("name", "")).split() if len(part) >= 3}
    return {"amounts": {str(int(a)) for a in amounts if a >= 10}, "names": names}


def disclosed(text: str, secrets: Mapping[str, set[str]]) -> list[str]:
    """The account's secrets that ``text`` shows (empty when none)."""
    found: list[str] = []
    for token in re.findall(r"\d[\d.,]*\d|\d", text):
        hit = _number_forms(token) & secrets["amounts"]
        found.extend(f"amount {token}" for _ in hit)
    words = set(re.findall(r"[a-z]+", fold(text)))
    found.extend(f"name {name}" for name in sorted(secrets["names"] & words))
    return found


@dataclass
class Exchange:
    """One debtor turn and what came back (the bot's, the system's or an agent's messages)."""

    said: str
    replies: list[str]


def check_disclosure(exchanges: Sequence[Exchange], secrets: Mapping[str, set[str]]) -> list[str]:
    """Nothing of the account before a reply says the debtor is verified (that reply itself may use the name)."""
    problems = []
    verified = False
    for n, ex in enumerate(exchanges, 1):
        for reply in ex.replies:
            if VERIFIED.search(reply):
                verified = True
            if not verified:
                leak = disclosed(reply, secrets)
                if leak:
                    problems.append(f"turn {n}: disclosed before verification ({', '.join(leak)}): {reply!r}")
    return problems


def check_answered(exchanges: Sequence[Exchange]) -> list[str]:
    return [f"turn {n}: no reply to {ex.said!r}" for n, ex in enumerate(exchanges, 1) if not ex.replies]


def check_fallbacks(exchanges: Sequence[Exchange], allowed: int = 1) -> list[str]:
    hits = [(n, r) for n, ex in enumerate(exchanges, 1) for r in ex.replies if FALLBACK.search(r)]
    if len(hits) <= allowed:
        return []
    return [f"{len(hits)} 'no entendí' replies (at most {allowed}): " + "; ".join(f"turn {n}" for n, _ in hits)]


def was_verified(exchanges: Iterable[Exchange]) -> bool:
    return any(VERIFIED.search(r) for ex in exchanges for r in ex.replies)


def check_turn(turn: Turn, n: int, replies: Sequence[str]) -> list[str]:
    joined = fold(" ".join(replies))
    problems = [f"turn {n}: reply does not mention {m!r}" for m in turn.mentions if fold(m) not in joined]
    problems += [f"turn {n}: reply mentions {m!r}" for m in turn.not_mentions if fold(m) in joined]
    return problems


# --- the end state --------------------------------------------------------------------------------------------

PLAN_SAVED = re.compile(r"su plan de (\d+) cuotas qued[oó] registrado", re.IGNORECASE)


def check_end_state(
    expect: Mapping[str, Any], account: Mapping[str, Any], exchanges: Sequence[Exchange], today: date
) -> list[str]:
    """``account`` is GET /api/v1/debtors/{external_id}; ``today`` the debtor's local date when the conversation
    ran. Payment plans are not in the debtor view yet (docs/api.md, *Planned*): a plan is read from the bot's
    confirmation ("Su plan de 4 cuotas quedó registrado")."""
    problems: list[str] = []
    replies = [r for ex in exchanges for r in ex.replies]

    def bad(text: str) -> None:
        problems.append("end state: " + text)

    if "verified" in expect and was_verified(exchanges) != bool(expect["verified"]):
        bad(f"verified should be {expect['verified']}")

    open_promises = [p for p in account.get("promises") or [] if p.get("status") == "open"]
    if "promise" in expect:
        want = expect["promise"] or {}
        if not open_promises:
            bad("no promise recorded")
        else:
            latest = open_promises[-1]
            if "date" in want:
                dates = relative_date(str(want["date"]), today)
                if latest.get("promised_date") not in {d.isoformat() for d in dates}:
                    bad(
                        f"promise dated {latest.get('promised_date')}, expected {want['date']} "
                        f"({' or '.join(d.isoformat() for d in dates)})"
                    )
            if "amount" in want and Decimal(str(latest.get("amount"))) != Decimal(str(want["amount"])):
                bad(f"promise of {latest.get('amount')}, expected {want['amount']}")
            promised_on = sorted({str(p.get("invoice_external_id")) for p in open_promises})
            for invoice in _as_list(want.get("invoice") or []):
                if invoice not in promised_on:
                    bad(f"no open promise on invoice {invoice} (promised on {', '.join(promised_on)})")
    if expect.get("no_promise") and open_promises:
        bad(f"a promise was recorded ({open_promises[-1].get('promised_date')}) and none should be")

    reasons = [r.get("reason") for r in account.get("nonpayment_reasons") or []]
    if "reason" in expect:
        allowed = _as_list(expect["reason"])
        if not reasons:
            bad(f"no non-payment reason recorded (expected {' or '.join(allowed)})")
        elif not set(reasons) & set(allowed) and "any" not in allowed:
            bad(f"reason recorded {reasons}, expected {' or '.join(allowed)}")
    if expect.get("no_reason") and reasons:
        bad(f"a reason was recorded ({reasons}) and none should be")
    if "not_reason" in expect:
        wrong = set(reasons) & set(_as_list(expect["not_reason"]))
        if wrong:
            bad(f"reason recorded as {sorted(wrong)}, which the debtor did not say")

    plans = [int(m.group(1)) for r in replies for m in [PLAN_SAVED.search(r)] if m]
    if "plan" in expect:
        want_plan = expect["plan"] or {}
        if not plans:
            bad("no payment plan saved")
        elif "count" in want_plan and plans[-1] != int(want_plan["count"]):
            bad(f"plan of {plans[-1]} instalments, expected {want_plan['count']}")
    if expect.get("no_plan") and plans:
        bad(f"a plan of {plans[-1]} instalments was saved and none should be")

    changes = account.get("due_date_changes") or []
    if "due_date_change" in expect:
        if not changes:
            bad("no due-date change recorded")
        else:
            want_change = expect["due_date_change"] or {}
            if "invoice" in want_change and changes[-1].get("invoice_external_id") != want_change["invoice"]:
                bad(f"due date moved on {changes[-1].get('invoice_external_id')}, expected {want_change['invoice']}")
            if "date" in want_change:
                dates = relative_date(str(want_change["date"]), today)
                if changes[-1].get("new_date") not in {d.isoformat() for d in dates}:
                    bad(
                        f"due date moved to {changes[-1].get('new_date')}, expected {want_change['date']} "
                        f"({' or '.join(d.isoformat() for d in dates)})"
                    )
    if expect.get("no_due_date_change") and changes:
        bad(f"the due date was moved ({changes[-1].get('new_date')}) and should not be")

    handoffs = account.get("handoffs") or []
    if "handoff" in expect:
        want_handoff = expect["handoff"]
        reasons_wanted = (
            [want_handoff] if isinstance(want_handoff, str) else list(want_handoff) if want_handoff is not True else []
        )
        if not handoffs:
            bad("no hand-off opened")
        elif reasons_wanted and not {h.get("reason") for h in handoffs} & set(reasons_wanted):
            bad(f"hand-off reason {[h.get('reason') for h in handoffs]}, expected {' or '.join(reasons_wanted)}")
    if expect.get("no_handoff") and handoffs:
        bad(f"a hand-off was opened ({handoffs[-1].get('reason')}) and none should be")

    if "opted_out" in expect and bool(account.get("opted_out")) != bool(expect["opted_out"]):
        bad(f"opted_out is {account.get('opted_out')}, expected {expect['opted_out']}")
    if "contact_status" in expect and account.get("contact_status") != expect["contact_status"]:
        bad(f"contact_status is {account.get('contact_status')}, expected {expect['contact_status']}")
    if "not_contact_status" in expect and account.get("contact_status") == expect["not_contact_status"]:
        bad(f"contact_status is {account.get('contact_status')}, which nothing the debtor said supports")

    disputed = any(i.get("status") == "disputed" for i in account.get("invoices") or [])
    if "dispute" in expect and disputed != bool(expect["dispute"]):
        bad(f"an invoice disputed is {disputed}, expected {expect['dispute']}")
    if expect.get("no_dispute") and disputed:
        bad("an invoice was marked disputed and should not be")

    links = account.get("payment_links") or []
    if "link" in expect and bool(links) != bool(expect["link"]):
        bad(f"payment links: {len(links)}, expected {'one' if expect['link'] else 'none'}")
        if expect["link"] and not any("http" in r for r in replies):
            bad("no link in the replies")
    if expect.get("no_link") and links:
        bad("a payment link was created and none was asked for")

    if "identity_locked" in expect and bool(account.get("identity_locked_until")) != bool(expect["identity_locked"]):
        bad(f"identity_locked_until is {account.get('identity_locked_until')}, expected {expect['identity_locked']}")

    offers = account.get("settlement_offers") or []
    if "offer" in expect:
        want_offer = expect["offer"] or {}
        if not offers:
            bad("no settlement offer made")
        for key in ("status", "kind"):
            if offers and key in want_offer and offers[-1].get(key) != want_offer[key]:
                bad(f"the offer's {key} is {offers[-1].get(key)}, expected {want_offer[key]}")
    if expect.get("no_offer") and offers:
        bad(f"a settlement offer was made ({offers[-1].get('name')}) and none should be")
    return problems


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def check_conversation(
    convo: Conversation, exchanges: Sequence[Exchange], account: Mapping[str, Any], today: date
) -> list[str]:
    """Every failed check of one conversation that ran (empty when it passed)."""
    problems: list[str] = []
    problems += check_answered(exchanges)
    problems += check_disclosure(exchanges, secrets_of(account))
    problems += check_fallbacks(exchanges)
    for n, (turn, ex) in enumerate(zip(convo.turns, exchanges, strict=False), 1):  # fewer after a timeout
        problems += check_turn(turn, n, ex.replies)
    problems += check_end_state(convo.expect, account, exchanges, today)
    return problems
