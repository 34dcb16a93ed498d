"""Approved WhatsApp templates (``config/whatsapp_templates.yml``): Content SID, variables and quick replies.

A template may carry quick-reply buttons, approved at Meta with the rest of it: static titles and static ids
(``recobra.check_balance``), never variables. Twilio gives the id back as ``ButtonPayload`` when one is tapped, and the
config says which intent it asks for (``/check_balance``): the inbox reads it without the NLU
(``bot.messaging.choices.pick``). A template button is a request that names itself, not the answer to a question,
so it is carried out whenever it comes (a reminder tapped a week later asks for the balance all the same), and never
a «Sí» or «No» (``/affirm``, ``/deny``), which would need the question it answered.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TEMPLATES_FILE = Path(__file__).resolve().parents[2] / "config" / "whatsapp_templates.yml"
_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
# a quick reply's static id: lower-case words and dots, never a session button's "c<row>.<n>"
_REPLY_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
_SESSION_ID = re.compile(r"^c\d+\.\d+$")
_INTENT = re.compile(r"^/[a-z][a-z0-9_+]*$")  # an intent, no entities: the same request whatever the conversation
QUICK_REPLY_MAX = 3  # as the session buttons: three fit under the message
QUICK_REPLY_TITLE = 20
NOT_A_REQUEST = frozenset({"/affirm", "/deny"})  # an answer to a question, which a template does not ask
# A template goes out before anyone proved who they are: its only variable may be the sender's name.
ALLOWED_VARIABLES = frozenset({"business"})


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class QuickReply:
    """A template's button as approved: its static ``id`` (``ButtonPayload`` when tapped), its ``title`` and the
    intent it asks for (``payload``, "/check_balance")."""

    id: str
    title: str
    payload: str


@dataclass(frozen=True)
class Template:
    name: str
    content_sid: str
    variables: tuple[str, ...]
    preview: str
    language: str = "es"
    quick_replies: tuple[QuickReply, ...] = ()

    def choices(self) -> list[dict[str, str]] | None:
        """The buttons as a message row keeps its choices (``Message.choices``): title, payload and the static id."""
        return [{"title": q.title, "payload": q.payload, "id": q.id} for q in self.quick_replies] or None

    def content_variables(self, values: dict[str, object]) -> dict[str, str]:
        """Twilio's numbered variables ``{"1": ..., "2": ...}`` from named values; all are required."""
        missing = [v for v in self.variables if values.get(v) in (None, "")]
        if missing:
            raise TemplateError(f"template {self.name}: missing {', '.join(missing)}")
        return {str(i): str(values[name]) for i, name in enumerate(self.variables, start=1)}

    def render(self, numbered: dict[str, str]) -> str:
        return re.sub(r"\{\{(\d+)\}\}", lambda m: numbered.get(m.group(1), m.group(0)), self.preview)


@lru_cache(maxsize=4)
def load_templates(path: str = str(TEMPLATES_FILE)) -> dict[str, Template]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: dict[str, Template] = {}
    for name, spec in (data.get("templates") or {}).items():
        sid = os.environ.get(f"RECOBRA_TEMPLATE_{name.upper()}_SID") or spec.get("content_sid", "")
        if not _SID.match(sid):
            raise TemplateError(f"template {name}: content_sid {sid!r} is not HX + 32 hex digits")
        variables = tuple(spec.get("variables") or ())
        extra = sorted(set(variables) - ALLOWED_VARIABLES)
        if extra:
            raise TemplateError(
                f"template {name}: variables {', '.join(extra)} would disclose a debt before "
                "verification (only business is allowed)"
            )
        out[name] = Template(
            name=name,
            content_sid=sid,
            variables=variables,
            preview=spec.get("preview", ""),
            language=spec.get("language", "es"),
            quick_replies=_quick_replies(name, spec.get("quick_replies")),
        )
    asks: dict[str, str] = {}
    for template in out.values():
        for q in template.quick_replies:
            if asks.setdefault(q.id, q.payload) != q.payload:
                raise TemplateError(
                    f"quick reply id {q.id} asks for {asks[q.id]} in one template, {q.payload} in another"
                )
    return out


def _quick_replies(name: str, raw: object) -> tuple[QuickReply, ...]:
    """The template's buttons from the config, checked: static ids and titles, each asking for an intent."""
    if raw in (None, []):
        return ()
    if not isinstance(raw, list) or len(raw) > QUICK_REPLY_MAX:
        raise TemplateError(f"template {name}: quick_replies must be a list of at most {QUICK_REPLY_MAX}")
    out: list[QuickReply] = []
    for spec in raw:
        if not isinstance(spec, dict):
            raise TemplateError(f"template {name}: each quick reply is {{id, title, intent}}")
        reply_id, title, intent = (str(spec.get(k) or "").strip() for k in ("id", "title", "intent"))
        if not _REPLY_ID.match(reply_id) or _SESSION_ID.match(reply_id) or len(reply_id) > 200:
            raise TemplateError(f"template {name}: quick reply id {reply_id!r} is not a static id like recobra.x")
        if not title or len(title) > QUICK_REPLY_TITLE or "{{" in title:
            raise TemplateError(
                f"template {name}: quick reply title {title!r} must be 1 to {QUICK_REPLY_TITLE} characters, no variable"
            )
        if not _INTENT.match(intent) or intent in NOT_A_REQUEST:
            raise TemplateError(
                f"template {name}: quick reply intent {intent!r} must be a request such as /check_balance "
                "(a yes or no answers a question a template does not ask)"
            )
        out.append(QuickReply(reply_id, title, intent))
    if len({q.id for q in out}) != len(out):
        raise TemplateError(f"template {name}: quick reply ids repeat")
    return tuple(out)


def quick_reply(reply_id: str | None) -> tuple[Template, int, QuickReply] | None:
    """The approved template button with this static id (the first template declaring it), with its position;
    None for any other id. Every template that shares an id must ask for the same intent (``load_templates``)."""
    for template in load_templates().values():
        for index, q in enumerate(template.quick_replies):
            if q.id == (reply_id or "").strip():
                return template, index, q
    return None


def get_template(name: str) -> Template:
    try:
        return load_templates()[name]
    except KeyError as exc:
        raise TemplateError(f"no approved template named {name!r}") from exc


def by_content_sid(content_sid: str) -> Template | None:
    return next((t for t in load_templates().values() if t.content_sid == content_sid), None)


def preview(content_sid: str | None, content_variables: str | dict | None) -> str:
    """The text a template send shows (for the sandbox and the transcript)."""
    template = by_content_sid(content_sid or "")
    if template is None:
        return ""
    values = content_variables
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except json.JSONDecodeError:
            values = {}
    if not isinstance(values, dict):  # a JSON list or number names no variable
        values = {}
    return template.render({str(k): str(v) for k, v in values.items()})
