"""PartAwareFallbackClassifier: "reason" vs "reason + promise" is not a reason to say "no le entendí"."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from components.fallback import PartAwareFallbackClassifier, nested

REASON, PROMISE = "report_nonpayment_reason", "promise_to_pay"


def classify(*ranking: tuple[str, float]) -> str:
    message = Message(
        data={
            "text": "x",
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
    )
    classifier = PartAwareFallbackClassifier({"threshold": 0.5, "ambiguity_threshold": 0.1})
    return classifier.process([message])[0].get("intent")["name"]


def test_an_intent_and_a_multi_intent_made_of_it_are_not_ambiguous():
    assert classify((REASON, 0.54), (f"{REASON}+{PROMISE}", 0.45)) == REASON
    assert classify((f"{REASON}+{PROMISE}", 0.52), (PROMISE, 0.47)) == f"{REASON}+{PROMISE}"


def test_two_readings_that_nest_count_together_against_the_threshold():
    assert classify((REASON, 0.38), (f"{REASON}+{PROMISE}", 0.34), ("deny", 0.2)) == REASON
    assert classify((REASON, 0.3), (f"{REASON}+{PROMISE}", 0.15), ("deny", 0.1)) == "nlu_fallback"


def test_intents_that_do_not_nest_are_still_ambiguous_and_low_confidence_still_falls_back():
    assert classify((REASON, 0.52), ("deny", 0.45)) == "nlu_fallback"
    assert classify((f"{REASON}+{PROMISE}", 0.52), (f"{REASON}+request_due_date_change", 0.47)) == "nlu_fallback"
    assert classify((REASON, 0.45), ("deny", 0.30)) == "nlu_fallback"
    assert classify((REASON, 0.9), ("deny", 0.05)) == REASON


def test_nested():
    assert nested("a", "a+b") and nested("a+b", "b") and nested("a", "a")
    assert not nested("a+b", "a+c") and not nested("a", "b") and not nested(None, "a")
