"""Blends DIET's intent ranking with a linear TF-IDF model of its own that composes multi-intents.

DIET learns from the sparse word and character n-gram counts; on a few dozen examples per intent
its ranking is confident but brittle on wordings it has not seen, and a multi-intent ("a+b") learns
mostly from its own few dozen examples. ``LinearIntentModel`` instead trains one logistic regression
per intent *part* on TF-IDF word 1–2-grams and char_wb 2–5-grams of the accent-stripped text (the
features of ``components.reason_classifier``), with every example whose intent contains that part
as a positive, and composes the intents from the parts. This component, placed after
DIETClassifier (``ranking_length: 0`` there, so that every intent is ranked), replaces ``intent``
and ``intent_ranking`` with ``weight · P_DIET + (1 − weight) · P_linear``, or, with ``embeddings``
set, ``weight · P_DIET + embedding_weight · P_embedded + (the rest) · P_linear``, where the third
model reads token embeddings learnt elsewhere (``components.embeddings``); the FallbackClassifier
after it sees the blended confidences.

Shipped with ``weight: 0`` and no DIET in the pipeline (issue #26): the linear and embedding models alone
set the intent, within noise of the three-way blend at a fraction of its training and parse time
(docs/performance.md). DIET can come back by putting it before this component and raising ``weight``.

It persists its vocabularies and weights as JSON + ``.npz`` in the model storage (no pickle).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, List  # noqa: UP035  (Rasa's graph validation compares typing.List)

import numpy as np
from joblib import Parallel, delayed
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from components.embeddings import EmbeddingIntentModel, TokenEmbeddings
from components.persisted import PersistedModelComponent, restore, vocabulary
from components.reason_classifier import normalise_text

logger = logging.getLogger(__name__)

INTENT_RANKING = "intent_ranking"
INTENT_SPLIT_SYMBOL = "+"
# entities whose words say nothing about the intent: "el viernes" alone answers a question (inform),
# "pago el viernes" is a promise; masked, the model sees "__date__" vs "pago __date__"
MASKED_ENTITIES = ("date", "amount", "document_digits", "installments")
REASON_INTENT = "report_nonpayment_reason"
DIGIT = re.compile(r"\d")


def digit_shapes(text: str) -> str:
    """Every digit as "0": "6", "12" and "24" cuotas, "el 15" and "el 28" share features (which number
    it is says nothing about the intent; that it is a number, and how long, does)."""
    return DIGIT.sub("0", text)


def mask_entities(text: str, entities: list[dict[str, Any]] | None) -> str:
    """The text with each date/amount/document_digits/installments span replaced by ``__<entity>__``."""
    spans = sorted(
        (e for e in entities or [] if e.get(ENTITY_ATTRIBUTE_TYPE) in MASKED_ENTITIES and "start" in e and "end" in e),
        key=lambda e: e["start"],
    )
    out, position = [], 0
    for entity in spans:
        if entity["start"] < position:
            continue  # overlapping spans: keep the first
        out.append(text[position : entity["start"]])
        out.append(f" __{entity[ENTITY_ATTRIBUTE_TYPE]}__ ")
        position = entity["end"]
    out.append(text[position:])
    return "".join(out)


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    return words, chars


def _masked_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")


def _fit_part(features: sparse.csr_matrix, target: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(features, target)
    return clf.coef_[0], float(clf.intercept_[0])


class LinearIntentModel:
    """One-vs-rest logistic regressions over the *parts* of the intents, composed into intent scores.

    Every part ("promise_to_pay", "report_nonpayment_reason", ...) gets a binary classifier trained
    on every example whose intent contains it, alone or in a multi-intent; an intent ``a+b`` then
    scores ``P(a)·P(b)·Π(1 − P(other parts))`` and a single intent ``a`` scores
    ``P(a)·Π(1 − P(other parts))``, normalised over the trained intents. A multi-intent thus learns
    from all the examples of its parts, not only from its own few dozen. Optionally (``masked``
    texts given to ``fit``) a third block of word n-grams on the text with its entity values masked
    (``mask_entities``). Fit, predict, save/load without pickle.
    """

    def __init__(
        self,
        words=None,
        chars=None,
        parts=None,
        intents=None,
        coef=None,
        intercept=None,
        masked=None,
        shapes: bool = False,
    ) -> None:
        self.words, self.chars = (words, chars) if words is not None and chars is not None else _vectorizers()
        self.masked: TfidfVectorizer | None = masked
        self.shapes = shapes
        self.parts: list[str] = list(parts or [])
        self.intents: list[str] = list(intents or [])
        self.coef = coef
        self.intercept = intercept

    @property
    def classes(self) -> list[str]:
        return self.intents

    def _normalise(self, text: str) -> str:
        text = normalise_text(text)
        return digit_shapes(text) if self.shapes else text

    def _features(self, texts: list[str], masked: list[str] | None, fit: bool = False) -> sparse.csr_matrix:
        norm = [self._normalise(t) for t in texts]
        if fit:
            blocks = [self.words.fit_transform(norm), self.chars.fit_transform(norm)]
            if masked is not None:
                self.masked = _masked_vectorizer()
                blocks.append(self.masked.fit_transform([self._normalise(t) for t in masked]))
        else:
            blocks = [self.words.transform(norm), self.chars.transform(norm)]
            if self.masked is not None:
                blocks.append(self.masked.transform([self._normalise(t) for t in (masked or texts)]))
        return sparse.hstack(blocks).tocsr()

    def fit(
        self,
        texts: list[str],
        labels: list[str],
        c: float = 10.0,
        masked: list[str] | None = None,
        compose: bool = True,
    ) -> LinearIntentModel:
        features = self._features(texts, masked, fit=True)
        self.intents = sorted(set(labels))
        if not compose:  # one multinomial regression over the intents as they are (no parts)
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(features, labels)
            self.intents = [str(name) for name in clf.classes_]
            self.parts, self.coef, self.intercept = [], clf.coef_, clf.intercept_
            return self
        self.parts = sorted({part for label in self.intents for part in label.split(INTENT_SPLIT_SYMBOL)})
        targets = [np.array([part in label.split(INTENT_SPLIT_SYMBOL) for label in labels]) for part in self.parts]
        # one regression per part, independent of each other: on every core (the same weights as one by one)
        fitted = Parallel(n_jobs=-1, prefer="processes")(delayed(_fit_part)(features, target, c) for target in targets)
        self.coef = np.vstack([coef for coef, _ in fitted])
        self.intercept = np.array([intercept for _, intercept in fitted])
        return self

    def predict_proba(self, texts: list[str], masked: list[str] | None = None) -> np.ndarray:
        """Rows of probabilities over ``classes`` (the trained intents)."""
        assert self.coef is not None
        logits = np.asarray(self._features(texts, masked) @ self.coef.T) + self.intercept
        if not self.parts:  # trained with compose=False: a softmax over the intents
            logits -= logits.max(axis=1, keepdims=True)
            return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        log_p = -np.logaddexp(0.0, -logits)  # log sigmoid
        log_not_p = -np.logaddexp(0.0, logits)  # log (1 - sigmoid)
        membership = np.array(
            [[part in intent.split(INTENT_SPLIT_SYMBOL) for part in self.parts] for intent in self.intents],
            dtype=float,
        )  # intents x parts
        scores = log_p @ membership.T + log_not_p @ (1.0 - membership).T  # texts x intents
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        return probs / probs.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        assert self.coef is not None
        meta = {
            "parts": self.parts,
            "intents": self.intents,
            "words_vocabulary": vocabulary(self.words),
            "chars_vocabulary": vocabulary(self.chars),
            "digit_shapes": self.shapes,
        }
        arrays = {}
        if self.masked is not None:
            meta["masked_vocabulary"] = vocabulary(self.masked)
            arrays["masked_idf"] = self.masked.idf_
        (directory / "intent_model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(
            directory / "intent_model.npz",
            words_idf=self.words.idf_,
            chars_idf=self.chars.idf_,
            coef=self.coef,
            intercept=self.intercept,
            **arrays,
        )

    @classmethod
    def load(cls, directory: Path) -> LinearIntentModel:
        meta = json.loads((directory / "intent_model.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "intent_model.npz", allow_pickle=False)
        words, chars = _vectorizers()
        restore(words, meta["words_vocabulary"], arrays["words_idf"])
        restore(chars, meta["chars_vocabulary"], arrays["chars_idf"])
        masked = None
        if "masked_vocabulary" in meta:
            masked = restore(_masked_vectorizer(), meta["masked_vocabulary"], arrays["masked_idf"])
        return cls(
            words,
            chars,
            meta["parts"],
            meta["intents"],
            arrays["coef"],
            arrays["intercept"],
            masked,
            shapes=bool(meta.get("digit_shapes", False)),
        )


def without_reason(text: str, intent: str, entities: list[dict[str, Any]] | None) -> tuple[str, str, str] | None:
    """The other half of a reason multi-intent, as an example of its own: (text, intent, masked text).

    "[me quedé sin chamba], me pueden correr la fecha?" (reason + due-date change) without its
    annotated reason span is "me pueden correr la fecha?", a plain due-date change. Learning from it
    too teaches the reason part that "correr la fecha" is not a reason, which otherwise it learns
    from every reason + date-change example, and plain date changes read as the multi-intent.
    """
    parts = intent.split(INTENT_SPLIT_SYMBOL)
    if len(parts) != 2 or REASON_INTENT not in parts:
        return None
    reasons = [e for e in entities or [] if e.get(ENTITY_ATTRIBUTE_TYPE) == "reason" and "start" in e and "end" in e]
    if len(reasons) != 1:
        return None
    start, end = reasons[0]["start"], reasons[0]["end"]
    joined = text[:start] + " " + text[end:]
    rest = joined.strip(" ,.;:-")
    if len(rest) < 4:
        return None
    shift = end - start - 1  # the span became one space
    others = [
        e if e["end"] <= start else {**e, "start": e["start"] - shift, "end": e["end"] - shift}
        for e in entities or []
        if e is not reasons[0] and "start" in e and "end" in e and (e["end"] <= start or e["start"] >= end)
    ]
    rest_masked = mask_entities(joined, others).strip(" ,.;:-")
    other_part = parts[1] if parts[0] == REASON_INTENT else parts[0]
    return rest, other_part, rest_masked


def training_texts(
    training_data: TrainingData, decompose_reasons: bool = False
) -> tuple[list[str], list[str], list[str]]:
    """(texts, intents, texts with their annotated entity values masked), plus, with
    ``decompose_reasons``, the non-reason half of every annotated reason multi-intent."""
    texts: list[str] = []
    labels: list[str] = []
    masked: list[str] = []
    for example in training_data.intent_examples:
        text, intent, entities = example.get(TEXT), example.get(INTENT), example.get(ENTITIES)
        if not (text and intent):
            continue
        texts.append(text)
        labels.append(intent)
        masked.append(mask_entities(text, entities))
        half = without_reason(text, intent, entities) if decompose_reasons else None
        if half is not None:
            texts.append(half[0])
            labels.append(half[1])
            masked.append(half[2])
    return texts, labels, masked


def blend(
    diet_ranking: list[dict[str, Any]],
    linear: dict[str, float],
    weight: float,
    embedded: dict[str, float] | None = None,
    embedding_weight: float = 0.0,
) -> list[dict[str, Any]]:
    """``weight · P_DIET + embedding_weight · P_embedded + (1 − both) · P_linear`` over the union of
    intents, best first (without ``embedded``, ``weight · P_DIET + (1 − weight) · P_linear``)."""
    diet = {r[INTENT_NAME_KEY]: float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for r in diet_ranking}
    embedded = embedded or {}
    share = embedding_weight if embedded else 0.0
    names = set(diet) | set(linear) | set(embedded)
    scores = {
        n: weight * diet.get(n, 0.0) + share * embedded.get(n, 0.0) + (1.0 - weight - share) * linear.get(n, 0.0)
        for n in names
    }
    total = sum(scores.values()) or 1.0
    ranking = [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: s / total} for n, s in scores.items()]
    return sorted(ranking, key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])


class EnsembleModels:
    """What the component trains: the linear model, and the embedding model when configured."""

    def __init__(self, linear: LinearIntentModel, embedded: EmbeddingIntentModel | None = None) -> None:
        self.linear = linear
        self.embedded = embedded

    def save(self, directory: Path) -> None:
        self.linear.save(directory)
        if self.embedded is not None:
            self.embedded.save(directory)

    @classmethod
    def load(cls, directory: Path) -> EnsembleModels:
        embedded = None
        if (directory / EmbeddingIntentModel.meta_file).exists():
            embedded = EmbeddingIntentModel.load(directory)
        return cls(LinearIntentModel.load(directory), embedded)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class IntentEnsemble(PersistedModelComponent):
    """Replaces DIET's intent and ranking with a blend of DIET and a linear TF-IDF model."""

    model_file = "intent_model.json"
    model_class = EnsembleModels

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # share of DIET in the blend (the rest is the linear model's)
            "weight": 0.5,
            # inverse regularisation strength of the logistic regression
            "C": 10.0,
            # how many intents the output ranking keeps (0 = all)
            "ranking_length": 10,
            # also learn from the text with its date/amount/document_digits/installments values masked
            # (annotated spans in training, the extracted ones — DIET's — at parse time)
            "mask_entities": False,
            # compose multi-intents from one-vs-rest models of their parts (False: one flat multinomial
            # regression over the intents, as bench/nlu_candidates/d_diet_linear_ensemble.yml has it)
            "compose": True,
            # also learn from the non-reason half of each reason multi-intent (its annotated reason span
            # removed) as an example of the other intent
            "decompose_reasons": False,
            # read every digit as "0" (the number's length, not its value)
            "digit_shapes": False,
            # a folder with token embeddings (scripts/fetch_embeddings.sh) for a third model in the
            # blend, relative to where rasa runs; None: DIET and the linear model only
            "embeddings": None,
            # the embedding model's share of the blend (taken from the linear model's)
            "embedding_weight": 0.3,
            # the embedding model's inverse regularisation
            "embedding_C": 10.0,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "tokenizers", "safetensors"]

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels, masked = training_texts(training_data, bool(self._config["decompose_reasons"]))
        if len(set(labels)) < 2:
            logger.warning("IntentEnsemble: fewer than two intents to learn; it will do nothing.")
            return self._resource
        linear = LinearIntentModel(shapes=bool(self._config["digit_shapes"])).fit(
            texts,
            labels,
            c=float(self._config["C"]),
            masked=masked if self._config["mask_entities"] else None,
            compose=bool(self._config["compose"]),
        )
        embedded = None
        if self._config["embeddings"]:
            embedded = EmbeddingIntentModel(TokenEmbeddings(Path(self._config["embeddings"]))).fit(
                texts, labels, c=float(self._config["embedding_C"]), masked=masked
            )
        return self.persist(EnsembleModels(linear, embedded))

    def process(self, messages: List[Message]) -> List[Message]:  # noqa: UP006
        if self._model is None:
            return messages
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return messages
        texts = [m.get(TEXT) for m in todo]
        linear = self._model.linear
        masked = [mask_entities(m.get(TEXT), m.get(ENTITIES)) for m in todo]
        probabilities = linear.predict_proba(texts, masked)
        embedded = self._model.embedded
        embedded_rows = embedded.predict_proba(texts, masked) if embedded is not None else [None] * len(todo)
        weight = float(self._config["weight"])
        embedding_weight = float(self._config["embedding_weight"])
        length = int(self._config["ranking_length"])
        for message, row, embedded_row in zip(todo, probabilities, embedded_rows, strict=True):
            diet_ranking = message.get(INTENT_RANKING) or []
            if not diet_ranking and message.get(INTENT):
                diet_ranking = [message.get(INTENT)]
            ranking = blend(
                diet_ranking,
                dict(zip(linear.classes, map(float, row), strict=True)),
                weight,
                None if embedded_row is None else dict(zip(embedded.classes, map(float, embedded_row), strict=True)),
                embedding_weight,
            )
            if length > 0:
                ranking = ranking[:length]
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING, ranking, add_to_output=True)
        return messages
