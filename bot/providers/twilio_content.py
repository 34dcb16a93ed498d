"""WhatsApp buttons through Twilio's Content API: the session content for a message's choices, created once per shape.

Inside the 24-hour window a WhatsApp message may carry content that no one approved: quick-reply buttons (up to 3),
a list picker (up to 10 rows) or a call-to-action link button. Each is a Content resource (``HX…``) created with the
twilio SDK (``client.content.v1.contents``) and sent with ``content_sid`` and ``content_variables``. The text, the
titles and the ids are variables, so that one content serves every message of the same shape (quick reply with 2
buttons, list with 5 rows, a link to the same host; the text in one variable per 255 characters): its sid is kept
per shape (in Redis, shared by every worker, and in the process) and not created for every message. A value Twilio
would not take as a variable (a link's path over 255 characters) makes a content of its own, kept by its digest.

A choice is ``{"id", "title"}`` (a reply: ``ButtonPayload`` when tapped) or ``{"id", "title", "url"}`` (a link).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.platform.redis_client import get_redis

log = logging.getLogger(__name__)

QUICK_REPLY_MAX = 3
LIST_MAX = 10
BODY_MAX = 1024  # a quick reply's or list's body
VARIABLE_MAX = 255  # Twilio's limit for one variable's value
QUICK_REPLY_TITLE = 20
LIST_ITEM_TITLE = 24
LIST_DESCRIPTION = 72
LINK_TITLE = 20
LIST_BUTTON = "Ver opciones"
CACHE_KEY = "recobra:twilio:content"


class NoContent(ValueError):
    """These choices cannot be WhatsApp buttons (too many, a body too long, replies and links mixed): the caller
    sends the text with the choices written in it."""


@dataclass(frozen=True)
class Content:
    """A content to send: its shape's key, the types to create it with, the variables to send it with."""

    key: str
    types: dict[str, Any]
    variables: dict[str, str]


def build(body: str, choices: list[dict[str, str]], language: str = "es") -> Content:
    """The content for ``body`` and its ``choices``; raises ``NoContent`` when WhatsApp cannot show them.

    The text goes in as many variables as its length needs (255 characters each, ``{{1}}{{2}}``: a session message
    needs no approval, which would refuse variables side by side), so that the shape depends on the text's length
    in steps of 255, not on the text."""
    replies = [c for c in choices if c.get("id") and not c.get("url")]
    links = [c for c in choices if c.get("url")]
    if not body.strip() or len(body) > BODY_MAX:
        raise NoContent("the body is empty or too long for buttons")
    if replies and links:
        raise NoContent("replies and a link together")
    chunks = [body[i : i + VARIABLE_MAX] for i in range(0, len(body), VARIABLE_MAX)]
    variables = {str(n): chunk for n, chunk in enumerate(chunks, start=1)}
    text = "".join(_var(str(n)) for n in range(1, len(chunks) + 1))
    shape = f"{len(chunks)}"

    def add(value: str) -> str:
        name = str(len(variables) + 1)
        variables[name] = value
        return _var(name)

    if links:
        if len(links) != 1:
            raise NoContent("one link button at a time")
        parts = urlsplit(links[0]["url"])
        if parts.scheme != "https" or not parts.netloc:
            raise NoContent("a link button needs an https URL")
        base = f"{parts.scheme}://{parts.netloc}/"
        title, path = add(links[0]["title"][:LINK_TITLE]), add(links[0]["url"][len(base) :])
        types = {
            "twilio/call-to-action": {"body": text, "actions": [{"type": "URL", "title": title, "url": base + path}]}
        }
        return _finish(f"cta:{base}:{shape}", types, variables, language)
    if not replies or len(replies) > LIST_MAX:
        raise NoContent("no replies, or more than a list holds")
    if len(replies) <= QUICK_REPLY_MAX and all(len(c["title"]) <= QUICK_REPLY_TITLE for c in replies):
        actions = [
            {"type": "QUICK_REPLY", "title": add(c["title"][:QUICK_REPLY_TITLE]), "id": add(c["id"])} for c in replies
        ]
        types = {"twilio/quick-reply": {"body": text, "actions": actions}}
        return _finish(f"quick-reply:{len(replies)}:{shape}", types, variables, language)
    # a list: a title too long for a row ("Celular Samsung A15 ($185.000)") is shown whole as the row's description
    described = any(len(c["title"]) > LIST_ITEM_TITLE for c in replies)
    items = []
    for c in replies:
        item = {"item": add(c["title"][:LIST_ITEM_TITLE]), "id": add(c["id"])}
        if described:
            item["description"] = add(c["title"][:LIST_DESCRIPTION])
        items.append(item)
    types = {"twilio/list-picker": {"body": text, "button": LIST_BUTTON, "items": items}}
    return _finish(f"list-picker:{len(replies)}{':described' if described else ''}:{shape}", types, variables, language)


def _var(name: str) -> str:
    return "{{" + name + "}}"


def _finish(key: str, types: dict[str, Any], variables: dict[str, str], language: str) -> Content:
    if all(len(v) <= VARIABLE_MAX for v in variables.values()):
        return Content(f"{key}:{language}", types, variables)
    # a value too long for a variable (a link's path): the values written into a content of its own, by digest
    fixed = _fill(types, variables)
    digest = hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:24]
    return Content(f"{key}:{language}:{digest}", fixed, {})


def _fill(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    if isinstance(value, str):
        return re.sub(r"\{\{(\d+)\}\}", lambda m: variables.get(m.group(1), m.group(0)), value)
    return value


class ContentCache:
    """ContentSids by shape: in this process, and in Redis for every worker (Redis away: this process only)."""

    def __init__(self, redis_client: Any = None) -> None:
        self._redis = redis_client
        self._local: dict[str, str] = {}
        self._lock = threading.Lock()

    def _r(self) -> Any:
        return self._redis if self._redis is not None else get_redis()

    def get(self, key: str) -> str | None:
        with self._lock:
            if key in self._local:
                return self._local[key]
        try:
            value = self._r().hget(CACHE_KEY, key)
        except Exception as exc:  # Redis away: create it again (a few extra contents, no lost message)
            log.warning("content cache unavailable: %s", exc)
            return None
        if value is None:
            return None
        sid = value.decode() if isinstance(value, bytes) else str(value)
        with self._lock:
            self._local[key] = sid
        return sid

    def put(self, key: str, sid: str) -> None:
        with self._lock:
            self._local[key] = sid
        try:
            self._r().hset(CACHE_KEY, key, sid)
        except Exception as exc:
            log.warning("content cache unavailable: %s", exc)


def create(client: Any, content: Content, language: str = "es") -> str:
    """Create the content with the twilio SDK; returns its ``HX…`` sid. Errors are the SDK's."""
    from twilio.rest.content.v1.content import ContentList

    samples = {name: "x" for name in content.variables}
    request = ContentList.ContentCreateRequest(
        {
            "friendly_name": "recobra_" + hashlib.sha256(content.key.encode()).hexdigest()[:16],
            "language": language,
            "variables": samples,
            "types": content.types,
        }
    )
    created = client.content.v1.contents.create(request)
    if not created.sid:
        raise NoContent("Twilio created no content")
    return str(created.sid)
