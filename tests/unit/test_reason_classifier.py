"""ReasonClassifier: trained on data/nlu, checked on phrasings that are not in the training data."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.reason_classifier import (
    NO_REASON,
    REASON_VALUES,
    ReasonClassifier,
    ReasonModel,
    normalise_text,
    training_pairs,
)

ROOT = Path(__file__).resolve().parents[2]

# Written separately from data/nlu/: none of these sentences is in the training data.
HELD_OUT = [
    ("me dieron de baja en la fábrica y no consigo otro empleo", "job_loss"),
    ("desde que me corrieron de la chamba no tengo ingresos", "job_loss"),
    ("quedé cesante hace un mes", "job_loss"),
    ("no tengo laburo desde octubre", "job_loss"),
    ("mi patrona todavía no me paga la semana", "income_delay"),
    ("estoy esperando que me depositen el sueldo, se atrasó", "income_delay"),
    ("la quincena me la pagan tarde este mes", "income_delay"),
    ("no me han pagado en el trabajo todavía", "income_delay"),
    ("perdón, se me olvidó completamente la fecha", "forgot"),
    ("ups no me acordé de pagar", "forgot"),
    ("se me pasó el vencimiento sin darme cuenta", "forgot"),
    ("olvidé que tenía que pagar este mes", "forgot"),
    ("estuve internada en el hospital varios días", "health"),
    ("mi papá se enfermó y los remedios están carísimos", "health"),
    ("me operaron de la vesícula y no he trabajado", "health"),
    ("tuve una emergencia médica con mi hija", "health"),
    ("tengo un montón de deudas con otros bancos", "other_debts"),
    ("primero tengo que pagar el arriendo y la luz", "other_debts"),
    ("estoy pagando otros préstamos y no me alcanza", "other_debts"),
    ("debo la tarjeta y el crédito del carro", "other_debts"),
    ("el producto me llegó dañado", "service_issue"),
    ("el internet no funciona hace un mes, no pienso pagar", "service_issue"),
    ("me cobraron un cargo que no corresponde", "service_issue"),
    ("nunca recibí lo que compré", "service_issue"),
    ("me robaron la billetera con todo", "other"),
    ("estoy fuera del país por unos meses", "other"),
    ("se me inundó la casa con las lluvias", "other"),
    ("me bloquearon la cuenta bancaria", "other"),
]


@pytest.fixture(scope="module")
def training_data():
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def model(training_data):
    texts, labels = training_pairs(training_data)
    return ReasonModel().fit(texts, labels)


@pytest.mark.slow
def test_training_pairs_cover_every_reason(training_data):
    texts, labels = training_pairs(training_data)
    assert len(texts) == len(labels) > 500
    for value in REASON_VALUES:
        assert labels.count(value) >= 10, value
    assert labels.count(NO_REASON) > 300
    assert not {t for t, _ in HELD_OUT} & set(texts), "held-out phrasings must not be training examples"


@pytest.mark.slow
def test_held_out_phrasings(model):
    probabilities = model.predict_proba([text for text, _ in HELD_OUT])
    predicted = [max((p for p in probs if p in REASON_VALUES), key=probs.get) for probs in probabilities]
    correct = [p == expected for p, (_, expected) in zip(predicted, HELD_OUT, strict=True)]
    misses = [(text, p) for ok, p, (text, _) in zip(correct, predicted, HELD_OUT, strict=True) if not ok]
    assert sum(correct) / len(correct) >= 0.8, misses


def test_normalise_text():
    assert normalise_text("ME QUEDÉ SIN CHAMBAAAA") == "me quede sin chambaa"


@pytest.fixture(scope="module")
def component(tmp_path_factory, training_data):
    path = tmp_path_factory.mktemp("storage")
    storage = LocalModelStorage(path)
    resource = Resource("reason_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    trained = ReasonClassifier.create(ReasonClassifier.get_default_config(), storage, resource, context)
    trained.train(training_data)
    # what the runtime uses is the persisted model, loaded again
    return ReasonClassifier.load(ReasonClassifier.get_default_config(), storage, resource, context)


def _message(text, intent, entities=None, ranking=None):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": 0.9}, add_to_output=True)
    message.set("intent_ranking", ranking or [{"name": intent, "confidence": 0.9}], add_to_output=True)
    message.set("entities", entities or [], add_to_output=True)
    return message


def _reasons(message):
    return [e for e in message.get("entities") if e["entity"] == "reason"]


@pytest.mark.slow
def test_sets_the_reason_on_reason_messages(component):
    message = _message("me sacaron de la chamba y ando sin un peso", "report_nonpayment_reason")
    component.process([message])
    (reason,) = _reasons(message)
    assert reason["value"] == "job_loss"
    assert reason["extractor"] == "ReasonClassifier"
    assert 0 < reason["confidence"] <= 1
    assert (reason["start"], reason["end"]) == (0, len(message.get("text")))


@pytest.mark.slow
def test_sets_the_reason_on_one_part_of_a_multi_intent(component):
    text = "estoy internado en la clínica, pago el viernes"
    date = {"entity": "date", "start": 35, "end": 45, "value": "el viernes", "extractor": "DIETClassifier"}
    message = _message(text, "report_nonpayment_reason+promise_to_pay", entities=[date])
    component.process([message])
    assert [r["value"] for r in _reasons(message)] == ["health"]
    assert date in message.get("entities")


@pytest.mark.slow
def test_replaces_an_unnormalised_extracted_span(component):
    text = "uy es que se me pasó completito el día"
    span = {"entity": "reason", "start": 10, "end": 38, "value": "se me pasó completito el día", "extractor": "DIET"}
    message = _message(text, "report_nonpayment_reason", entities=[span])
    component.process([message])
    (reason,) = _reasons(message)
    assert reason["value"] == "forgot"
    assert (reason["start"], reason["end"]) == (10, 38)


@pytest.mark.slow
def test_leaves_other_messages_alone(component):
    messages = [
        ("hola buenas tardes", "greet"), ("cuánto debo?", "check_balance"), ("sí", "affirm"),
        # a question after a reminder, not a reason ("se me pasó" is one)
        ("qué pasó?", "check_balance"), ("que paso", "out_of_scope"), ("qué pasó con mi cuenta", "check_balance"),
    ]  # fmt: skip
    for text, intent in messages:
        message = _message(text, intent)
        component.process([message])
        assert _reasons(message) == [], text


def test_untrained_component_does_nothing(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    component = ReasonClassifier.load({}, storage, Resource("nothing"), context)
    message = _message("me quedé sin trabajo", "report_nonpayment_reason")
    component.process([message])
    assert _reasons(message) == []


# --- the training data the ReasonClassifier and DIET learn from ------------------------------------

CONTRACT_INTENTS = {
    "greet", "goodbye", "affirm", "deny", "thank", "inform", "check_balance", "request_payment_link",
    "ask_payment_methods", "report_nonpayment_reason", "request_due_date_change", "promise_to_pay",
    "request_payment_plan", "claim_already_paid", "dispute_debt", "request_human", "opt_out", "bot_challenge",
    "wrong_number", "out_of_scope",
}  # fmt: skip


@pytest.mark.slow
def test_every_contract_intent_has_enough_distinct_examples(training_data):
    counts = {}
    for example in training_data.intent_examples:
        counts[example.get("intent")] = counts.get(example.get("intent"), 0) + 1
    for intent in CONTRACT_INTENTS:
        assert counts.get(intent, 0) >= 25, (intent, counts.get(intent))
    assert counts["report_nonpayment_reason"] >= 80
    for intent, count in counts.items():
        if "+" in intent:
            assert count >= 10, (intent, count)
            assert set(intent.split("+")) <= CONTRACT_INTENTS, intent


@pytest.mark.slow
def test_no_example_is_a_near_copy_of_another(training_data):
    seen = {}
    for example in training_data.intent_examples:
        key = " ".join(normalise_text(example.get("text")).replace("?", "").replace("!", "").split())
        assert key not in seen, (example.get("text"), seen.get(key))
        seen[key] = example.get("text")


@pytest.mark.slow
def test_entities_are_the_contracts_and_reasons_are_normalised(training_data):
    for example in training_data.intent_examples:
        for entity in example.get("entities") or []:
            assert entity["entity"] in {"reason", "date", "amount", "document_digits", "installments"}
            if entity["entity"] == "reason":
                assert entity["value"] in REASON_VALUES, example.get("text")


@pytest.mark.slow
def test_the_domain_declares_every_trained_intent(training_data):
    import yaml

    declared = set(yaml.safe_load((ROOT / "domain" / "intents.yml").read_text())["intents"])
    assert {e.get("intent") for e in training_data.intent_examples} <= declared


def _key(text: str) -> str:
    """The words of a message, without accents, case or punctuation."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in normalise_text(text)).split())


@pytest.mark.slow
def test_no_held_out_message_is_trained_on(training_data):
    # tests/nlu/holdout.yml measures the model on messages it never saw: none may slip into data/nlu
    holdout = load_data(str(ROOT / "tests" / "nlu" / "holdout.yml")).intent_examples
    trained = {_key(e.get("text")) for e in training_data.intent_examples}
    leaked = [e.get("text") for e in holdout if _key(e.get("text")) in trained]
    assert leaked == []
