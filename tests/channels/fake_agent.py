"""A stand-in for Rasa's ``Agent`` (tracker store, readiness, action endpoint, one echo turn), and a
Sanic server that mounts the ``recobra`` channel on it exactly as ``rasa run`` does."""

from __future__ import annotations

import sys

from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.utils.endpoints import EndpointConfig


class FakeAgent:
    def __init__(self, action_url: str | None = None) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.action_endpoint = EndpointConfig(action_url) if action_url else None
        self.turns = 0
        self.fail_after_user_event = False

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: UserMessage) -> None:
        self.turns += 1
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        parse = {
            "text": message.text,
            "intent": {"name": "check_balance", "confidence": 0.87},
            "entities": [{"entity": "amount", "value": "100", "start": 0, "end": 3, "extractor": "x"}],
            "response_selector": {},
        }
        tracker.update(
            UserUttered(
                message.text,
                parse["intent"],
                parse["entities"],
                parse,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            )
        )
        if self.fail_after_user_event:
            await self.tracker_store.save(tracker)
            raise RuntimeError("turn failed half-way")
        for text in (f"eco: {message.text}", "¿Algo más?"):
            await message.output_channel.send_text_message(message.sender_id, text)
            tracker.update(BotUttered(text, {"buttons": None}))
        await self.tracker_store.save(tracker)


def serve(port: int, secret: str) -> None:
    from rasa.core.channels.channel import register
    from sanic import Sanic

    from channels.recobra_input import RecobraInput

    app = Sanic("fake_rasa")
    app.ctx.agent = FakeAgent()
    register([RecobraInput.from_credentials({"secret": secret})], app, route="/webhooks/")
    app.run(host="127.0.0.1", port=port, access_log=False, workers=1)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
