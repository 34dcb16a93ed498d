"""An action's side of a debtor's turn: timed (recobra_action_seconds) and logged with the turn's ids, which the
worker sends Rasa as message metadata and Rasa hands the action in the tracker's latest message."""

from __future__ import annotations

import io
import json
import logging

from prometheus_client import REGISTRY

from actions.catalogue import ActionGreet
from bot.platform import logs

PHONE = "+573001112233"


async def test_an_action_is_timed_and_its_line_carries_the_turns_ids(convo, make_debtor):
    make_debtor()
    c = convo(PHONE, introduced=True)
    labels = {"action": ActionGreet().name(), "outcome": "ok"}
    before = REGISTRY.get_sample_value("recobra_action_seconds_count", labels) or 0.0
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    logs.configure("actions", stream=stream, json=True)
    try:
        await c.say(
            "hola", "greet", ActionGreet, metadata={"channel": "whatsapp", "conversation_id": 7, "message_sid": "SM7"}
        )
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_recobra_handler", False):
                root.removeHandler(handler)
        root.setLevel(level)
    assert REGISTRY.get_sample_value("recobra_action_seconds_count", labels) == before + 1
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [line] = [line for line in lines if line["logger"] == "actions.base"]
    assert (line["conversation_id"], line["message_sid"], line["action"]) == (7, "SM7", ActionGreet().name())
    assert PHONE not in stream.getvalue()
