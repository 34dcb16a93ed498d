"""The repairs to Rasa's hot path keep Rasa's behaviour: a bad action answer is refused with Rasa's own error,
a good one passes, and events resolve to the same classes."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered

from channels import rasa_speedups

GOOD = {
    "events": [{"event": "slot", "name": "verified", "value": True}],
    "responses": [{"text": "Listo, ya quedó registrado."}],
}
BAD = {"events": [{"event": "slot", "value": True, "timestamp": "ayer"}], "responses": "no es una lista"}


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    rasa_speedups.apply()
    return RemoteAction("action_check_balance", None)


def test_a_good_answer_passes_and_a_bad_one_gets_rasas_error(action: RemoteAction) -> None:
    assert action._validate_action_result(GOOD) is True
    with pytest.raises(jsonschema.ValidationError) as cached:
        action._validate_action_result(BAD)
    with pytest.raises(jsonschema.ValidationError) as upstream:
        jsonschema.validate(BAD, RemoteAction.action_response_format_spec())
    assert cached.value.message.startswith(upstream.value.message)
    assert "Failed to validate Action server response" in cached.value.message


def test_the_schema_is_checked_once_not_on_every_answer(action: RemoteAction, monkeypatch) -> None:
    checks: list[object] = []
    validator_class = type(rasa_speedups.action_response_validator())
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, schema: checks.append(schema)))
    for _ in range(5):
        action._validate_action_result(GOOD)
    assert checks == []


@pytest.mark.parametrize(
    ("name", "cls"), [("user", UserUttered), ("bot", BotUttered), ("slot", SlotSet), ("action", ActionExecuted)]
)
def test_events_resolve_to_the_same_classes(name: str, cls: type) -> None:
    rasa_speedups.apply()
    assert Event.resolve_by_type(name) is cls
    assert Event.resolve_by_type(name) is cls  # from the cache
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.from_parameters({"event": "slot", "name": "x", "value": 1}) == SlotSet("x", 1)
