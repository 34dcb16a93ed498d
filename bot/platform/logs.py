"""Log lines every process writes the same way: one JSON object a line, carrying the ids of the debtor's turn.

The code logs with the standard library (``logging.getLogger(__name__)``); ``configure`` puts structlog's
``ProcessorFormatter`` on the root logger, so every line (ours, the libraries', gunicorn's) is rendered by one
chain: the ids bound in this context, the level, the logger, a UTC timestamp, masking, then JSON (or readable
text for `make run`'s console: ``RECOBRA_LOG_FORMAT``, JSON by default in production). structlog because it is
already in every runtime of the project (Rasa depends on it), so the Rasa input channel can write the same lines.

Following one debtor message across processes: the webhook binds ``message_sid`` (Twilio's ``MessageSid``) and,
once stored, ``conversation_id`` and ``message_id`` (Recobra's rows); the worker binds the same for the job
(``bot.conversation.inbox``) plus ``job_id``/``job_kind``; Rasa receives them as message metadata
(``bot.conversation.rasa_client.turn_payload``), and the actions read them from the tracker's latest message.
Bound values live in ``contextvars``: per request thread, per job (the queue runs each job in a copy of the
context) and per action (``asyncio.to_thread`` copies the context).

Masking is a safety net, not the rule: code logs phones through ``bot.platform.masking.mask_phone``. Whatever
slips through is masked here: a ``+`` number as a phone, a bare run of eight or more digits (a phone without
its ``+``, a document number), and card numbers.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars, merge_contextvars

from bot.platform import masking
from bot.platform.config import get_settings

# The names of the ids, as they appear in every line and in Rasa's message metadata.
CONVERSATION_ID = "conversation_id"
MESSAGE_ID = "message_id"
MESSAGE_SID = "message_sid"

_HANDLER_MARK = "_recobra_handler"
# A phone (+ and 8-15 digits, separators allowed) or a bare run of 8+ digits that is not part of a longer token
# (a stream entry id "1733400000000-0", a hex sid, a decimal figure stay as they are).
_PHONE = re.compile(r"(?<![\w+])\+\d(?:[ \-.]?\d){7,14}(?![\w])")
_BARE = re.compile(r"(?<![\w.\-:+])\d{8,}(?![\w.\-:])")
# A Redis stream entry id (a job id): a 13-digit millisecond time, a dash, a sequence number. Some pass the Luhn
# check, so the card mask would hide them and a job could no longer be followed through the lines.
_STREAM_ID = re.compile(r"(?<![\w\-])1\d{12}-\d{1,6}(?![\w\-])")


def mask_text(text: str) -> str:
    """``text`` with phones, long digit runs and card numbers masked (``bot.platform.masking``'s masks)."""
    ids = _STREAM_ID.findall(text)
    if ids:  # set aside while the cards are masked, then put back
        parts = _STREAM_ID.split(text)
        text = "".join(masking.mask_cards(p) + (ids[i] if i < len(ids) else "") for i, p in enumerate(parts))
    else:
        text = masking.mask_cards(text)
    text = _PHONE.sub(lambda m: masking.mask_phone(m.group(0)), text)
    return _BARE.sub(lambda m: masking.mask_phone("+" + m.group(0)), text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_value(v) for v in value]
    return value


def mask_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every string of the line masked (``mask_text``)."""
    return {k: _mask_value(v) for k, v in event_dict.items()}


def formatter(json: bool, process: str = "") -> logging.Formatter:
    """The formatter of every handler: bound ids, level, logger, UTC time, masking, then JSON or text."""
    pre: list[Any] = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if process:
        pre.append(lambda _l, _m, event: {**event, "process": process})
    if json:
        tail: list[Any] = [
            structlog.processors.format_exc_info,
            mask_event,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    else:
        tail = [mask_event, structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        foreign_pre_chain=pre,
    )


def configure(process: str, stream: IO[str] | None = None, json: bool | None = None, level: int = logging.INFO) -> None:
    """Send the root logger's lines through ``formatter`` to ``stream`` (stderr); called once at a process's
    start (``python -m bot worker``, gunicorn's app, the action server). Idempotent: a second call replaces the
    handler it added, and leaves other handlers (pytest's) alone."""
    json = get_settings().json_logs if json is None else json
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(formatter(json, process))
    root.addHandler(handler)
    root.setLevel(level)
    # The Twilio SDK logs every request at INFO (URL, headers): noise at best; failures are logged by us.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


def bind(**ids: Any) -> None:
    """Add ids to every line logged from here on in this context (a request, a job); None values are left out."""
    bind_contextvars(**{k: v for k, v in ids.items() if v is not None and v != ""})


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """``bind`` for the block only."""
    with bound_contextvars(**{k: v for k, v in ids.items() if v is not None and v != ""}):
        yield


def clear() -> None:
    """Forget every bound id (a new request on a reused thread)."""
    clear_contextvars()


def turn_ids(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ids Rasa's message metadata carries (``rasa_client.turn_payload``), as log fields."""
    metadata = metadata or {}
    return {
        CONVERSATION_ID: metadata.get(CONVERSATION_ID),
        MESSAGE_SID: metadata.get(MESSAGE_SID) or metadata.get(MESSAGE_ID),
    }
