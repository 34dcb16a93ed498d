"""The choices the bot offers, as Rasa's standard buttons: ``{"title": ..., "payload": "/intent{...}"}``.

An action offers choices with ``ctx.utter(response, buttons=[...])``; the payload is a Rasa intent payload of
``domain/intents.yml`` (``/affirm``, ``/inform{"installments": "3"}``), never free text. The edge turns the buttons
into WhatsApp quick replies or a list (``bot.messaging.choices``) or numbered lines on SMS, and a tap (or "2" on
SMS) comes back as exactly that payload, without the NLU. A proposal («¿le envío el link?») gets ``YES_NO`` on its
question by itself (``actions.base.Ctx.set``); the pieces here are for the other questions.

WhatsApp limits a quick-reply title to 20 characters and a list item to 24: keep titles short.
"""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from typing import Any

from babel.dates import get_day_names, get_month_names

from bot.language.dates import SPANISH_MONTHS

Button = dict[str, Any]

TITLE_MAX = 20  # WhatsApp's limit for a quick-reply button's title


def button(title: str, intent: str, **entities: Any) -> Button:
    """One choice: its title, and the intent payload it answers with (``/inform{"installments": "3"}``)."""
    payload = "/" + intent
    if entities:
        payload += json.dumps({k: str(v) for k, v in entities.items()}, ensure_ascii=False, separators=(",", ":"))
    return {"title": title[:TITLE_MAX], "payload": payload}


YES = button("Sí", "affirm")
NO = button("No", "deny")
YES_NO: list[Button] = [YES, NO]
# a person, where the bot offers one among other choices (a yes/no offer of a person gets «Sí» / «No» instead)
HUMAN = button("Hablar con un asesor", "request_human")

PLAN = button("Plan en cuotas", "request_payment_plan")
# "¿plan en cuotas o una fecha?" (after a «no» to the link), and a person
PLAN_OR_DATE: list[Button] = [
    PLAN,
    button("Anotar una fecha", "promise_to_pay"),
    HUMAN,
]


# what the bot can do, where it says so ("¿en qué le puedo ayudar?", a first "no entendí"): a list on WhatsApp
MENU: list[Button] = [
    button("Ver mi saldo", "check_balance"),
    button("Link de pago", "request_payment_link"),
    button("Anotar una fecha", "promise_to_pay"),
    PLAN,
    HUMAN,
]
# responses that always offer the same choices (``actions.base.Ctx.utter`` adds them unless the action gives its own)
BY_RESPONSE: dict[str, list[Button]] = {"utter_how_can_i_help": MENU, "utter_default": MENU}

PAY = "Pagar ahora"


def link_button(title: str, url: str) -> Button:
    """A payment link as a call-to-action button (WhatsApp opens the page; on SMS the link stays in the text)."""
    return {"title": title[:TITLE_MAX], "url": url, "type": "web_url"}


def plan_counts(counts: list[int]) -> list[Button]:
    """The instalment counts offered, one choice each ("3 cuotas"): a bare "3" on SMS means "3 cuotas"."""
    return [button(f"{n} cuotas", "inform", installments=n) for n in counts]


# Short Spanish names for a date's title ("11 dic (vie)"): babel's, as the rest of the bot's dates.
_MONTHS = get_month_names("abbreviated", locale="es")
_DAYS = get_day_names("abbreviated", locale="es")
FRIDAY = 4
QUINCENA = 15  # paydays in much of Latin America: the 15th and the month's last day


def promise_dates(today: date, latest: date) -> list[Button]:
    """Days to tap when the bot asks when the debtor can pay: the coming Friday and the next paydays (the 15th, the
    month's end), within the promise policy's limit, at most three. Each title starts with its day ("15 dic
    (lun)"), so a bare "15" on SMS is that day, and any other number is read as a date by the NLU, not as an option."""
    month_end = date(today.year, today.month, _last_day(today))
    next_month = month_end + timedelta(days=1)
    candidates = {
        today + timedelta(days=(FRIDAY - today.weekday()) % 7 or 7),
        date(today.year, today.month, QUINCENA) if today.day < QUINCENA else next_month.replace(day=QUINCENA),
        month_end if today < month_end else date(next_month.year, next_month.month, _last_day(next_month)),
    }
    days = sorted(d for d in candidates if today < d <= latest)[:3]
    return [
        button(
            f"{d.day} {str(_MONTHS[d.month]).rstrip('.')} ({str(_DAYS[d.weekday()]).rstrip('.')})",
            "inform",
            date=f"{d.day} de {SPANISH_MONTHS[d.month - 1]} de {d.year}",
        )
        for d in days
    ]


def _last_day(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]
