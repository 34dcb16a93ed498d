"""Classifies *why* a debtor has not paid into the normalised values of the ``reason`` entity.

DIET + EntitySynonymMapper only normalise a reason span they have seen verbatim; debtors word
their reasons in endless ways. This component learns text -> normalised value from every
training example that carries a ``reason`` entity (all the other examples form a "no reason"
class), with TF-IDF word and character n-grams and a logistic regression, and at parse time
sets the ``reason`` entity to one of ``REASON_VALUES`` (extractor ``ReasonClassifier``):

* when the intent, or one part of a multi-intent, is ``report_nonpayment_reason``, or an
  extractor already found a ``reason`` span: always (the best reason; the span is kept);
* otherwise only when the classifier itself is confident (``min_confidence``).

The learnt parameters are persisted as JSON + ``.npz`` arrays in the model storage (no pickle).
"""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path
from typing import Any, List  # noqa: UP035  (Rasa's graph validation compares typing.List)

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from components.persisted import PersistedModelComponent, restore, restore_classifier, vocabulary

logger = logging.getLogger(__name__)

REASON_ENTITY = "reason"
REASON_INTENT = "report_nonpayment_reason"
REASON_VALUES = ("job_loss", "income_delay", "forgot", "health", "other_debts", "service_issue", "other")
NO_REASON = "__none__"
EXTRACTOR_NAME = "ReasonClassifier"
INTENT_SPLIT_SYMBOL = "+"


def normalise_text(text: str) -> str:
    """Lower-case, strip accents and squeeze repeated letters ("siiii" -> "sii")."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    out: list[str] = []
    for ch in text:
        if len(out) >= 2 and ch.isalpha() and out[-1] == ch and out[-2] == ch:
            continue
        out.append(ch)
    return "".join(out)


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)
    return words, chars


class ReasonModel:
    """The pure scikit-learn part: fit, predict probabilities, save/load without pickle."""

    def __init__(
        self,
        words: TfidfVectorizer | None = None,
        chars: TfidfVectorizer | None = None,
        clf: LogisticRegression | None = None,
    ) -> None:
        self.words, self.chars = (words, chars) if words and chars else _vectorizers()
        self.clf = clf

    @property
    def classes(self) -> list[str]:
        return [] if self.clf is None else [str(c) for c in self.clf.classes_]

    def _features(self, texts: list[str], fit: bool = False) -> sparse.csr_matrix:
        norm = [normalise_text(t) for t in texts]
        if fit:
            return sparse.hstack([self.words.fit_transform(norm), self.chars.fit_transform(norm)]).tocsr()
        return sparse.hstack([self.words.transform(norm), self.chars.transform(norm)]).tocsr()

    def fit(self, texts: list[str], labels: list[str], c: float = 10.0) -> ReasonModel:
        features = self._features(texts, fit=True)
        self.clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        self.clf.fit(features, labels)
        return self

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]:
        if self.clf is None:
            return [{} for _ in texts]
        probs = self.clf.predict_proba(self._features(texts))
        return [dict(zip(self.classes, map(float, row), strict=True)) for row in probs]

    def save(self, directory: Path) -> None:
        assert self.clf is not None
        meta = {
            "classes": self.classes,
            "words_vocabulary": vocabulary(self.words),
            "chars_vocabulary": vocabulary(self.chars),
        }
        (directory / "reason_model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez(
            directory / "reason_model.npz",
            words_idf=self.words.idf_,
            chars_idf=self.chars.idf_,
            coef=self.clf.coef_,
            intercept=self.clf.intercept_,
        )

    @classmethod
    def load(cls, directory: Path) -> ReasonModel:
        meta = json.loads((directory / "reason_model.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "reason_model.npz", allow_pickle=False)
        words, chars = _vectorizers()
        restore(words, meta["words_vocabulary"], arrays["words_idf"])
        restore(chars, meta["chars_vocabulary"], arrays["chars_idf"])
        return cls(words, chars, restore_classifier(meta["classes"], arrays["coef"], arrays["intercept"]))


def training_pairs(training_data: TrainingData) -> tuple[list[str], list[str]]:
    """(text, label) for every NLU example: the first normalised reason value, else NO_REASON."""
    texts: list[str] = []
    labels: list[str] = []
    for example in training_data.nlu_examples:
        text = example.get(TEXT)
        if not text or not example.get(INTENT):
            continue
        label = NO_REASON
        for entity in example.get(ENTITIES) or []:
            if entity.get("entity") == REASON_ENTITY and entity.get("value") in REASON_VALUES:
                label = entity["value"]
                break
        texts.append(text)
        labels.append(label)
    return texts, labels


def _intent_parts(message: Message) -> list[str]:
    intent = message.get(INTENT) or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return name.split(INTENT_SPLIT_SYMBOL) if name else []


def _intent_ranking_mentions_reason(message: Message, min_confidence: float) -> bool:
    for entry in message.get("intent_ranking") or []:
        name = entry.get("name") or ""
        if REASON_INTENT in name.split(INTENT_SPLIT_SYMBOL) and entry.get("confidence", 0) >= min_confidence:
            return True
    return False


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class ReasonClassifier(PersistedModelComponent):
    """Fills the ``reason`` entity with a normalised value predicted from the whole message."""

    model_file = "reason_model.json"
    model_class = ReasonModel

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # inverse regularisation strength of the logistic regression
            "C": 10.0,
            # set a reason on a message whose intent is not report_nonpayment_reason only
            # when P(reason) reaches this
            "min_confidence": 0.7,
            # also treat the message as a reason message when report_nonpayment_reason (alone or in a
            # multi-intent) is in the intent ranking with at least this confidence
            "ranking_confidence": 0.3,
            # below this (renormalised) probability of the best reason, say "other"
            "other_below": 0.0,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def train(self, training_data: TrainingData) -> Resource:
        texts, labels = training_pairs(training_data)
        reasons = {label for label in labels if label != NO_REASON}
        if not reasons or len(set(labels)) < 2:
            logger.warning("ReasonClassifier: no training examples with a reason entity; it will do nothing.")
            return self._resource
        return self.persist(ReasonModel().fit(texts, labels, c=float(self._config["C"])))

    def process(self, messages: List[Message]) -> List[Message]:  # noqa: UP006
        if self._model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        for message, probs in zip(messages, self._model.predict_proba(texts), strict=True):
            if message.get(TEXT):
                self._set_reason(message, probs)
        return messages

    def _set_reason(self, message: Message, probs: dict[str, float]) -> None:
        reason_probs = {k: v for k, v in probs.items() if k in REASON_VALUES}
        if not reason_probs:
            return
        entities = list(message.get(ENTITIES) or [])
        found = [e for e in entities if e.get("entity") == REASON_ENTITY]
        best = max(reason_probs, key=reason_probs.get)
        is_reason_message = (
            REASON_INTENT in _intent_parts(message)
            or bool(found)
            or _intent_ranking_mentions_reason(message, float(self._config["ranking_confidence"]))
        )
        if is_reason_message:
            total = sum(reason_probs.values()) or 1.0
            confidence = reason_probs[best] / total
            if confidence < float(self._config["other_below"]):
                best, confidence = "other", reason_probs.get("other", 0.0) / total
        elif reason_probs[best] >= float(self._config["min_confidence"]):
            confidence = reason_probs[best]
        else:
            return
        text = message.get(TEXT)
        start = min((e.get("start", 0) for e in found), default=0)
        end = max((e.get("end", len(text)) for e in found), default=len(text))
        reason = {
            "entity": REASON_ENTITY,
            "start": start,
            "end": end,
            "value": best,
            "text": text[start:end],
            "confidence": round(float(confidence), 4),
            "extractor": EXTRACTOR_NAME,
        }
        others = [e for e in entities if e.get("entity") != REASON_ENTITY]
        message.set(ENTITIES, [*others, reason], add_to_output=True)
