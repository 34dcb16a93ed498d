"""Token embeddings and the intent ensemble's third model (the files come from scripts/fetch_embeddings.sh,
run by `make setup`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.embeddings import TOKENIZER_FILE, WEIGHTS_FILE, EmbeddingIntentModel, TokenEmbeddings
from components.intent_ensemble import IntentEnsemble, blend

ROOT = Path(__file__).resolve().parents[2]
EMBEDDINGS = ROOT / "models" / "wordllama"


@pytest.fixture(scope="module")
def embeddings():
    return TokenEmbeddings(EMBEDDINGS)


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_sentence_vectors(embeddings):
    vectors = embeddings.embed(
        [
            "me quedé sin trabajo",
            "perdí mi empleo",
            "mándame el enlace para pagar",
            "quiero el link de pago",
            "HOLA",
            "hola",
            "",
        ]
    )
    assert vectors.shape == (7, embeddings.size)
    half = embeddings.size // 2
    assert np.linalg.norm(vectors[:6, :half], axis=1) == pytest.approx([1.0] * 6, abs=1e-5)
    assert np.linalg.norm(vectors[:6, half:], axis=1) == pytest.approx([1.0] * 6, abs=1e-5)
    assert not vectors[6].any()  # nothing to embed: no vector, and no crash
    assert vectors[4] == pytest.approx(vectors[5])  # all caps reads as lower case
    # the same meaning in other words lies nearer than another request
    job, lost_job, link_please, link = vectors[:4]
    assert _cosine(job, lost_job) > _cosine(job, link_please)
    assert _cosine(link, link_please) > _cosine(link, job)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_embeddings.sh"):
        TokenEmbeddings(tmp_path)


def test_model_persists_with_its_embeddings(embeddings, tmp_path):
    texts = [
        "me quedé sin chamba",
        "perdí el trabajo",
        "me despidieron",
        "mándame el link",
        "pásame el enlace",
        "el link para pagar porfa",
        "hola",
        "buenas tardes",
        "buen día",
    ]
    labels = ["report_nonpayment_reason"] * 3 + ["request_payment_link"] * 3 + ["greet"] * 3
    model = EmbeddingIntentModel(embeddings).fit(texts, labels)
    model.save(tmp_path)
    # the saved model carries the embeddings: a model archive needs nothing from outside
    assert (tmp_path / WEIGHTS_FILE).is_file() and (tmp_path / TOKENIZER_FILE).is_file()
    loaded = EmbeddingIntentModel.load(tmp_path)
    probabilities = loaded.predict_proba(["me botaron del laburo", "el link xfa", "holaa"])
    assert [loaded.classes[i] for i in probabilities.argmax(axis=1)] == [
        "report_nonpayment_reason",
        "request_payment_link",
        "greet",
    ]
    assert probabilities.sum(axis=1) == pytest.approx([1.0] * 3)
    assert probabilities == pytest.approx(model.predict_proba(["me botaron del laburo", "el link xfa", "holaa"]))


def test_masked_view_reads_what_is_asked_not_the_day(embeddings):
    # "pago el viernes" and "pago el 15" are the same promise once the date is masked
    texts = [
        "pago el viernes",
        "le pago el 15 sin falta",
        "el lunes le deposito",
        "el martes",
        "el 30",
        "para el sábado",
    ]
    masked = [
        "pago el __date__",
        "le pago el __date__ sin falta",
        "el __date__ le deposito",
        "__date__",
        "el __date__",
        "para el __date__",
    ]
    labels = ["promise_to_pay"] * 3 + ["inform"] * 3
    model = EmbeddingIntentModel(embeddings).fit(texts, labels, masked=masked)
    unmasked = ["te pago el jueves", "el jueves"]
    masked = ["te pago el __date__", "el __date__"]
    assert model.features(unmasked, masked).shape == (2, 3 * embeddings.size)
    assert [model.classes[i] for i in model.predict_proba(unmasked, masked).argmax(axis=1)] == [
        "promise_to_pay",
        "inform",
    ]
    # without the extractor's spans (no entities), the text itself stands in for the masked view
    assert model.features(unmasked) == pytest.approx(model.features(unmasked, unmasked))


def test_model_saved_before_the_views_loads_with_the_text_view(embeddings, tmp_path):
    texts, labels = ["hola", "buenas", "gracias", "mil gracias"], ["greet", "greet", "thank", "thank"]
    model = EmbeddingIntentModel(embeddings, views=("text",)).fit(texts, labels)
    model.save(tmp_path)
    meta = tmp_path / EmbeddingIntentModel.meta_file
    meta.write_text(meta.read_text().replace(', "views": ["text"]', ""))  # as the first models wrote it
    loaded = EmbeddingIntentModel.load(tmp_path)
    assert loaded.views == ("text",)
    assert loaded.predict_proba(["holaaa"]) == pytest.approx(model.predict_proba(["holaaa"]))


def test_three_way_blend():
    diet = [{"name": "greet", "confidence": 0.6}, {"name": "affirm", "confidence": 0.4}]
    linear = {"greet": 0.2, "affirm": 0.8}
    embedded = {"greet": 0.1, "affirm": 0.3, "thank": 0.6}
    ranking = blend(diet, linear, 0.4, embedded, 0.3)
    scores = {r["name"]: r["confidence"] for r in ranking}
    assert scores == pytest.approx({"greet": 0.33, "affirm": 0.49, "thank": 0.18})
    # without the third model's probabilities its share goes back to the linear model
    assert blend(diet, linear, 0.4, None, 0.3) == blend(diet, linear, 0.4)


@pytest.fixture(scope="module")
def component(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("intent_ensemble")
    context = ExecutionContext(GraphSchema({}), "test")
    # the embedding model alone decides, so that what it learnt shows
    config = {
        **IntentEnsemble.get_default_config(),
        "weight": 0.0,
        "embeddings": str(EMBEDDINGS),
        "embedding_weight": 1.0,
    }
    trained = IntentEnsemble.create(config, storage, resource, context)
    trained.train(load_data(str(ROOT / "data" / "nlu")))
    return IntentEnsemble.load(config, storage, resource, context)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("no me vuelvan a escribir a este número", "opt_out"),
        ("me comunican con un asesor humano, gracias", "request_human"),
        ("muchas gracias por la ayuda", "thank"),
    ],
)
def test_component_trains_and_loads_the_embedding_model(component, text, intent):
    message = Message(data={"text": text})
    message.set("intent", {"name": "nlu_fallback", "confidence": 1.0}, add_to_output=True)
    message.set("intent_ranking", [{"name": "nlu_fallback", "confidence": 1.0}], add_to_output=True)
    component.process([message])
    assert message.get("intent")["name"] == intent
