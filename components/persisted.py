"""What the project's scikit-learn components share: the trained part kept in Rasa's model storage
as JSON + ``.npz`` (never pickle: loading a model archive must not run code) and TF-IDF vectorizers
rebuilt from their vocabulary and idf weights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)


def vocabulary(vectorizer: TfidfVectorizer) -> dict[str, int]:
    """The fitted vocabulary as plain JSON (numpy ints are not JSON)."""
    return {term: int(index) for term, index in vectorizer.vocabulary_.items()}


def restore(vectorizer: TfidfVectorizer, vocab: dict[str, int], idf: Any) -> TfidfVectorizer:
    """A fresh, unfitted vectorizer given the state ``vocabulary`` and ``idf_`` saved from a fitted one."""
    vectorizer.vocabulary_ = vocab
    vectorizer.idf_ = idf
    return vectorizer


def restore_classifier(classes: Any, coef: Any, intercept: Any) -> LogisticRegression:
    """A logistic regression that predicts as the fitted one whose ``classes_``, ``coef_`` and
    ``intercept_`` were saved (scikit-learn's own ``predict_proba``, two classes included)."""
    clf = LogisticRegression()
    clf.classes_ = np.asarray(classes)
    clf.coef_ = coef
    clf.intercept_ = intercept
    return clf


class PersistedModelComponent(GraphComponent):
    """A graph component whose trained part (``model_class``, with ``save(dir)`` / ``load(dir)``) lives
    in the model storage as ``model_file`` (+ arrays); without one it leaves messages alone."""

    model_file: ClassVar[str]
    model_class: ClassVar[Any]

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, model: Any = None
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GraphComponent:
        model = None
        try:
            with model_storage.read_from(resource) as directory:
                if (Path(directory) / cls.model_file).exists():
                    model = cls.model_class.load(Path(directory))
        except ValueError:
            logger.warning("%s: nothing persisted; it will do nothing.", cls.__name__)
        return cls(config, model_storage, resource, model)

    def persist(self, model: Any) -> Resource:
        """Keep ``model`` as this component's trained part and write it to the model storage."""
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            model.save(Path(directory))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
