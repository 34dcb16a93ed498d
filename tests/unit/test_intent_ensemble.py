"""IntentEnsemble: the linear TF-IDF intent model blended with DIET's ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.intent_ensemble import (
    IntentEnsemble,
    LinearIntentModel,
    blend,
    digit_shapes,
    mask_entities,
    without_reason,
)

ROOT = Path(__file__).resolve().parents[2]


def test_blend_weights_and_normalises():
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "affirm", "confidence": 0.1}]
    linear = {"greet": 0.2, "affirm": 0.3, "thank": 0.5}
    ranking = blend(diet, linear, weight=0.5)
    assert [r["name"] for r in ranking] == ["greet", "thank", "affirm"]
    assert ranking[0]["confidence"] == pytest.approx(0.55)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert blend(diet, linear, weight=1.0)[0] == {"name": "greet", "confidence": pytest.approx(0.9)}


def test_mask_entities():
    text = "te pago 50 mil el viernes, lo prometo"
    entities = [
        {"entity": "amount", "start": 8, "end": 14, "value": "50 mil"},
        {"entity": "date", "start": 15, "end": 25, "value": "el viernes"},
        {"entity": "reason", "start": 0, "end": 37, "value": "other"},  # not masked
    ]
    assert mask_entities(text, entities).split() == ["te", "pago", "__amount__", "__date__", ",", "lo", "prometo"]
    assert mask_entities("hola", None) == "hola"


def test_masked_features_persist(tmp_path):
    texts = ["el viernes", "el lunes", "pago el viernes", "te pago el lunes", "hola", "buenas"]
    masked = ["__date__", "__date__", "pago __date__", "te pago __date__", "hola", "buenas"]
    labels = ["inform", "inform", "promise_to_pay", "promise_to_pay", "greet", "greet"]
    model = LinearIntentModel().fit(texts, labels, masked=masked)
    model.save(tmp_path)
    loaded = LinearIntentModel.load(tmp_path)
    probabilities = loaded.predict_proba(["el martes", "pago el martes"], ["__date__", "pago __date__"])
    assert [loaded.classes[i] for i in probabilities.argmax(axis=1)] == ["inform", "promise_to_pay"]
    assert probabilities == pytest.approx(
        model.predict_proba(["el martes", "pago el martes"], ["__date__", "pago __date__"])
    )


@pytest.fixture(scope="module")
def component(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("intent_ensemble")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**IntentEnsemble.get_default_config(), "weight": 0.0, "mask_entities": True}  # the linear model alone
    trained = IntentEnsemble.create(config, storage, resource, context)
    trained.train(load_data(str(ROOT / "data" / "nlu")))
    # what the runtime uses is the persisted model, loaded again
    return IntentEnsemble.load(config, storage, resource, context)


def _message(text, diet_intent="nlu_fallback"):
    message = Message(data={"text": text})
    message.set("intent", {"name": diet_intent, "confidence": 1.0}, add_to_output=True)
    message.set("intent_ranking", [{"name": diet_intent, "confidence": 1.0}], add_to_output=True)
    return message


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("oigan me mandan el enlace para pagar porfa", "request_payment_link"),
        ("me comunican con un asesor humano, gracias", "request_human"),
        ("no me vuelvan a escribir a este número", "opt_out"),
    ],
)
def test_linear_model_persisted_and_loaded(component, text, intent):
    message = _message(text)
    component.process([message])
    assert message.get("intent")["name"] == intent
    ranking = message.get("intent_ranking")
    assert len(ranking) == IntentEnsemble.get_default_config()["ranking_length"]
    assert ranking[0]["name"] == intent


def test_untrained_component_leaves_the_message_alone(tmp_path):
    context = ExecutionContext(GraphSchema({}), "test")
    component = IntentEnsemble.load({}, LocalModelStorage(tmp_path), Resource("nothing"), context)
    message = _message("hola", "greet")
    component.process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 1.0}


def test_flat_model_without_composition(tmp_path):
    texts = ["hola", "buenas", "chao", "adiós", "sí", "dale"]
    labels = ["greet", "greet", "goodbye", "goodbye", "affirm", "affirm"]
    model = LinearIntentModel().fit(texts, labels, compose=False)
    model.save(tmp_path)
    loaded = LinearIntentModel.load(tmp_path)
    probabilities = loaded.predict_proba(["hola hola", "chao chao"])
    assert [loaded.classes[i] for i in probabilities.argmax(axis=1)] == ["greet", "goodbye"]
    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0])


def test_the_other_half_of_a_reason_multi_intent():
    text = "me quedé sin chamba, me corren la fecha al 30?"
    entities = [
        {"entity": "reason", "start": 0, "end": 19, "value": "job_loss"},
        {"entity": "date", "start": 40, "end": 45, "value": "al 30"},
    ]
    assert text[40:45] == "al 30"
    rest, intent, masked = without_reason(text, "report_nonpayment_reason+request_due_date_change", entities)
    assert (rest, intent) == ("me corren la fecha al 30?", "request_due_date_change")
    assert masked.split() == ["me", "corren", "la", "fecha", "__date__", "?"]
    # the reason part last, and the promise's date before it
    text = "el viernes le pago, es que estuve enferma"
    start = text.index("es que")
    entities = [{"entity": "date", "start": 0, "end": 10}, {"entity": "reason", "start": start, "end": len(text)}]
    rest, intent, masked = without_reason(text, "report_nonpayment_reason+promise_to_pay", entities)
    assert (rest, intent, masked.split()) == ("el viernes le pago", "promise_to_pay", ["__date__", "le", "pago"])
    # nothing to split: a single intent, another multi-intent, no annotated reason, nothing left
    assert without_reason("se me olvidó", "report_nonpayment_reason", entities) is None
    assert without_reason("ya pagué, un agente", "claim_already_paid+request_human", []) is None
    assert without_reason("sin chamba, cuotas?", "report_nonpayment_reason+request_payment_plan", []) is None
    span = [{"entity": "reason", "start": 0, "end": 10, "value": "job_loss"}]
    assert without_reason("sin chamba", "report_nonpayment_reason+request_payment_plan", span) is None


def test_digit_shapes_persist(tmp_path):
    assert digit_shapes("en 12 cuotas, el 15") == "en 00 cuotas, el 00"
    texts = ["3", "6", "12", "18", "hola", "buenas", "hola qué tal", "buen día"]
    labels = ["inform"] * 4 + ["greet"] * 4
    model = LinearIntentModel(shapes=True).fit(texts, labels)
    model.save(tmp_path)
    loaded = LinearIntentModel.load(tmp_path)
    assert loaded.shapes
    # numbers never seen in training read like the ones that were
    probabilities = loaded.predict_proba(["7", "24"])
    assert [loaded.classes[i] for i in probabilities.argmax(axis=1)] == ["inform", "inform"]
