"""Approved WhatsApp templates (``config/whatsapp_templates.yml``): Content SID and variables."""

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
# A template goes out before anyone proved who they are: its only variable may be the sender's name.
ALLOWED_VARIABLES = frozenset({"business"})


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    content_sid: str
    variables: tuple[str, ...]
    preview: str
    language: str = "es"

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
        )
    return out


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
