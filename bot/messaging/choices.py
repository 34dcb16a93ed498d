"""The choices a bot message offers, and reading the debtor's pick of one, deterministically, without the NLU.

The bot offers choices as Rasa's standard buttons (``actions/choices.py``): ``{"title": "Sí", "payload":
"/affirm"}``, or ``{"title": "Pagar", "url": ...}`` for a link. The outbox keeps them on the message's row
(``Message.choices``) and sends them as the channel allows:

- WhatsApp, inside the 24-hour window: quick-reply buttons (up to 3), a list picker (up to 10), a link as a
  call-to-action button (the Twilio adapter builds the session content: ``bot.providers.twilio``). Each option's id
  is ``ButtonPayload`` when tapped: ``c<row id>.<n>`` names the question and the option, never the intent.
- SMS (and WhatsApp past 10 options): numbered lines, "Responda 1, 2 o 3". Where the titles are numbers themselves
  ("3 cuotas", "6 cuotas"), they are listed as they are and a bare "6" means "6 cuotas", not the sixth line.

An answer comes back to ``pick``: a tapped button (``ButtonPayload``), or on any channel a bare number ("2",
"la 2", "opción 2") while the bot's last question with choices is the open one. The pick is **current** when that
question is still open (``is_open``: nothing said after it in the same go, and the debtor wrote nothing else since);
then the option's own payload goes to Rasa as the turn's text, flagged in the metadata so the channel lets it
through (a debtor typing "/affirm" is defused there).
A button of an older question is **stale**. Its «Sí» or «No» answered that question, not the one open now: the
debtor is told to answer the latest question, and nothing is carried out. An option that says what it is by itself
(a request such as "Ver mi saldo", a value such as "6 cuotas" or an invoice) is still carried out, read in the
conversation as it stands now (``metadata.choice.stale``), as if the debtor had typed it.

An approved template (a campaign reminder, the re-engagement outside the 24-hour window) carries quick replies with
static ids (``recobra.check_balance``, ``bot.messaging.templates``). A tap on one comes back as that id and is its
intent, carried out whenever it comes (it is a request that names itself, never a «Sí» or «No»), flagged in the
metadata with the template's name. A number typed after a template picks none of its buttons (they are not numbered
in its text), and an id that no template declares is read as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messaging import templates
from bot.providers.twilio_content import BODY_MAX, LIST_MAX, QUICK_REPLY_MAX, QUICK_REPLY_TITLE
from bot.store.models import Message

Option = dict[str, Any]  # {"title", "payload"} or {"title", "url"}
# WhatsApp's limits (the Twilio adapter's, bot.providers.twilio_content): up to 3 quick replies of 20 characters, else a
# list of up to 10, a text of at most 1,024 characters with buttons

PAYLOAD_MAX = 200
# what the metadata of a picked choice's turn carries (``channels/recobra_input.py`` reads it)
METADATA_KEY = "choice"

_BUTTON_ID = re.compile(r"^c(\d{1,12})\.(\d{1,2})$")
# "2", "la 2", "opción 2", "#2", "el 2.", "2)": a bare option number (two digits at most: "4821", the document
# digits, is never an option)
_BARE_NUMBER = re.compile(
    r"^\s*(?:(?:la|el|opci[oó]n|opc|op|n[uú]mero|nro|#)\.?\s*)*(\d{1,2})\s*[.)!]?\s*$", re.IGNORECASE
)
# a text that already tells the debtor to answer with the number
_ASKS_FOR_A_NUMBER = re.compile(r"\bn[uú]mero\b", re.IGNORECASE)
# a title that is a number itself: "3 cuotas", "15 de diciembre", "el 15"
# (a number glued to letters or a dash, an invoice's "F-1" or "MX-A1", is a name, not a number to answer with)
_TITLE_NUMBER = re.compile(r"^(?:[^\W\d]{1,3}\s+)?(\d{1,2})(?!\d)")


def clean(buttons: Any) -> list[Option]:
    """Rasa's buttons as options to keep: a title and an intent payload ("/…") or an http(s) link; the rest dropped."""
    out: list[Option] = []
    for b in buttons if isinstance(buttons, list) else []:
        if not isinstance(b, dict) or not str(b.get("title") or "").strip():
            continue
        title = str(b["title"]).strip()
        url, payload = b.get("url"), b.get("payload")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            out.append({"title": title, "url": url})
        elif isinstance(payload, str) and payload.startswith("/") and len(payload) <= PAYLOAD_MAX:
            out.append({"title": title, "payload": payload})
    return out


def replies(options: list[Option] | None) -> list[Option]:
    """The options the debtor answers with (not the links)."""
    return [o for o in options or [] if o.get("payload")]


def links(options: list[Option] | None) -> list[Option]:
    return [o for o in options or [] if o.get("url")]


def as_buttons(body: str, options: list[Option], media_url: str | None = None) -> bool:
    """WhatsApp can show these as buttons with this text: up to ten replies, or one https link, not both, a text of
    at most 1,024 characters and no document attached; otherwise they are written in the text."""
    answers, urls = replies(options), links(options)
    if media_url or not body.strip() or len(body) > BODY_MAX or (answers and urls):
        return False
    if urls:
        return len(urls) == 1 and str(urls[0]["url"]).startswith("https://")
    return 0 < len(answers) <= LIST_MAX


def behind_a_list(options: list[Option]) -> bool:
    """WhatsApp will show these replies as a list picker (more than three, or a title too long for a quick reply),
    whose rows stay hidden behind its button until the debtor opens it: the text lists them too, numbered, so the
    question can be read (and answered by number) at a glance."""
    answers = replies(options)
    return len(answers) > QUICK_REPLY_MAX or any(len(str(o.get("title") or "")) > QUICK_REPLY_TITLE for o in answers)


def title_numbers(options: list[Option]) -> list[int] | None:
    """Each title's own number when every title is one ("3 cuotas", "6 cuotas"), else None."""
    numbers = []
    for o in options:
        found = _TITLE_NUMBER.match(str(o.get("title") or ""))
        if found is None:
            return None
        numbers.append(int(found.group(1)))
    return numbers if len(set(numbers)) == len(numbers) else None


def numbered_text(body: str, options: list[Option]) -> str:
    """The body with its choices as text (SMS): numbered and "Responda 1, 2 o 3", or the numeric titles as they
    are. A link's URL goes at the end unless the body already gives it."""
    answers = replies(options)
    lines = [body.rstrip()] if body.strip() else []
    if answers:
        numeric = title_numbers(answers) is not None
        block = "\n".join(f"- {o['title']}" if numeric else f"{i}. {o['title']}" for i, o in enumerate(answers, 1))
        if block not in body:  # written already (a list picker's text, a held message sent again): not twice
            lines.append(block)
        if not numeric and block not in body:
            if not _ASKS_FOR_A_NUMBER.search(body):  # "Responda con el número:" says it already
                numbers = [str(i) for i in range(1, len(answers) + 1)]
                said = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " o " + numbers[-1]
                lines.append(f"Responda {said}.")
    for o in links(options):
        if o["url"] not in body:
            lines.append(f"{o['title']}: {o['url']}")
    return "\n".join(lines)


def button_id(message_id: int, index: int) -> str:
    """What WhatsApp gives back as ``ButtonPayload`` for option ``index`` (0-based) of message ``message_id``."""
    return f"c{message_id}.{index + 1}"


def read_button_id(payload: str | None) -> tuple[int, int] | None:
    found = _BUTTON_ID.match((payload or "").strip())
    return (int(found.group(1)), int(found.group(2)) - 1) if found else None


def option_by_number(text: str, options: list[Option]) -> int | None:
    """The option a bare number names (0-based), or None: "2" is the second line, or, where the titles are
    numbers themselves, the title "2 …" (and no line at all when no title has it)."""
    found = _BARE_NUMBER.match(text or "")
    answers = replies(options)
    if found is None or not answers:
        return None
    number = int(found.group(1))
    numbers = title_numbers(answers)
    if numbers is not None:
        return numbers.index(number) if number in numbers else None
    return number - 1 if 1 <= number <= len(answers) else None


# the answers whose meaning is the question's own (a «Sí» to which proposal?): from an older question, never acted on
ANSWERS_TO_THE_QUESTION = frozenset({"/affirm", "/deny"})


@dataclass(frozen=True)
class Pick:
    """The debtor's pick of an option of the bot's message ``question_id``; ``current`` when that question was still
    the open one."""

    question_id: int | None
    index: int
    title: str
    payload: str
    current: bool = True
    template: str | None = None  # the approved template whose static button it was (no question id may be known)

    @property
    def acts(self) -> bool:
        """The option is carried out: a pick of the open question; or, from an older one, an option that says what it
        is by itself (a request, "Ver mi saldo"; a value, "6 cuotas", an invoice; the bot then reads it in the
        conversation as it stands now). A «Sí» or «No» of an older question is not: it answered that question."""
        return self.current or self.payload.split("{")[0] not in ANSWERS_TO_THE_QUESTION

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"question": self.question_id, "option": self.index + 1, "title": self.title}
        if self.template is not None:
            out["template"] = self.template
        return out if self.current else {**out, "stale": True}


def latest_question(session: Session, conversation_id: int, before_id: int) -> Message | None:
    """The bot's last message with options to answer with, before message ``before_id``."""
    for row in session.execute(
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "out",
            Message.choices.is_not(None),
            Message.id < before_id,
        )
        .order_by(Message.id.desc())
        .limit(5)
    ).scalars():
        if replies(row.choices):
            return row
    return None


def is_open(session: Session, question: Message, message: Message) -> bool:
    """The question still waits for its answer when ``message`` comes: nothing was said after it in the same go (more
    of the bot's turn, an agent, a payment notice), and the debtor wrote nothing else in between. A tap on an older
    question's button in between does not count, nor the bot's answer to it (it was told to answer this one)."""
    between = session.execute(
        select(Message.id, Message.direction, Message.button_payload)
        .where(
            Message.conversation_id == question.conversation_id,
            Message.id > question.id,
            Message.id < message.id,
        )
        .order_by(Message.id)
    ).all()
    written = False
    for _id, direction, payload in between:
        if direction == "in":
            tapped = read_button_id(payload)
            if tapped is None or tapped[0] >= question.id:
                return False  # the debtor wrote (or answered this question already)
            written = True
        elif not written:
            return False  # the question was followed by something else before the debtor answered
    return True


def pick(session: Session, message: Message) -> Pick | None:
    """What the inbound ``message`` picks: a tapped button (current or stale), a bare number for the open
    question, or None (then it is read as any text is)."""
    tapped = read_button_id(message.button_payload)
    if tapped is None and message.button_payload:
        return template_pick(session, message)
    if tapped is not None:
        question = session.get(Message, tapped[0])
        if (
            question is None
            or question.conversation_id != message.conversation_id
            or question.direction != "out"
            or not question.choices
        ):
            return None
        options = replies(question.choices)
        index = tapped[1]
        if not 0 <= index < len(options):
            return None
        current = latest_question(session, message.conversation_id, message.id)
        fresh = current is not None and current.id == question.id and is_open(session, question, message)
        option = options[index]
        return Pick(question.id, index, str(option["title"]), str(option["payload"]), fresh)
    if message.media:
        return None
    question = latest_question(session, message.conversation_id, message.id)
    if question is None or question.content_sid or not is_open(session, question, message):
        return None  # a template's buttons are not numbered in its text: a number there is just a number
    index_or_none = option_by_number(message.body, question.choices or [])
    if index_or_none is None:
        return None
    option = replies(question.choices)[index_or_none]
    return Pick(question.id, index_or_none, str(option["title"]), str(option["payload"]))


def template_pick(session: Session, message: Message) -> Pick | None:
    """A tapped quick reply of an approved template: its static id names the request (``templates.quick_reply``),
    carried out whenever it comes. The template message it came with is named when it is found (the latest that
    offered this id), for the record; None for an id no template declares (read as text)."""
    reply_id = (message.button_payload or "").strip()
    found = templates.quick_reply(reply_id)
    if found is None:
        return None
    template, index, reply = found
    for row in session.execute(
        select(Message)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.direction == "out",
            Message.content_sid.is_not(None),
            Message.choices.is_not(None),
            Message.id < message.id,
        )
        .order_by(Message.id.desc())
        .limit(20)
    ).scalars():
        ids = [str(o.get("id") or "") for o in replies(row.choices)]
        if reply_id in ids:
            sent_as = templates.by_content_sid(row.content_sid or "")
            name = sent_as.name if sent_as is not None else template.name
            return Pick(row.id, ids.index(reply_id), reply.title, reply.payload, template=name)
    return Pick(None, index, reply.title, reply.payload, template=template.name)
