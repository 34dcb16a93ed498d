"""Sentence vectors from static token embeddings, and an intent model over them.

The ensemble's other two models see only the surface of the words: DIET and the linear model learn
from n-grams of our own 5,000 examples, so a personal remark that shares words with a hardship
("fui al hospital a conocer al bebé de mi prima") reads as a reason. WordLlama's token embeddings
(Llama 2's 32,000-token vocabulary, trained for sentence similarity on millions of pairs) bring
meaning learnt elsewhere, which is what those confusions lack: a logistic regression on them alone
is weak, but it errs on other messages than they do, so as a third voice in the blend it corrects
some of theirs (the measurements are in docs/nlu.md, ninth round). No spaCy or transformer model for
Spanish installs beside rasa 3.6; this one is two files (float16 embeddings and the tokenizer), read
with ``tokenizers`` and ``safetensors``, fetched at setup by
``scripts/fetch_embeddings.sh`` and copied into every trained model, so a model archive is
self-contained and nothing is downloaded at run time.

A text's vector is the mean and the max of its lower-cased tokens' embeddings, each scaled to unit
length (512 numbers a view of the message): the mean says what the message is about, the max keeps
a strong word that the mean of a long message would dilute.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from sklearn.linear_model import LogisticRegression
from tokenizers import Tokenizer

from components.persisted import restore_classifier
from components.reason_classifier import normalise_text

WEIGHTS_FILE = "l2_supercat_256.safetensors"
TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"
BOS = 1  # Llama's <s>: its post-processor adds it to every text; it says nothing about one


class TokenEmbeddings:
    """Text → mean ⊕ max of its token embeddings."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        missing = [n for n in (WEIGHTS_FILE, TOKENIZER_FILE) if not (self.directory / n).is_file()]
        if missing:
            found = ", ".join(missing)
            raise FileNotFoundError(f"no {found} in {self.directory}: run scripts/fetch_embeddings.sh (make setup)")
        self.table = load_file(str(self.directory / WEIGHTS_FILE))["embedding.weight"].astype(np.float32)
        self.tokenizer = Tokenizer.from_file(str(self.directory / TOKENIZER_FILE))

    @property
    def size(self) -> int:
        return 2 * self.table.shape[1]

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.size), dtype=np.float32)
        width = self.table.shape[1]
        for i, encoding in enumerate(self.tokenizer.encode_batch([t.lower() for t in texts], add_special_tokens=False)):
            ids = [t for t in encoding.ids if t != BOS and 0 <= t < len(self.table)]
            if not ids:
                continue
            vectors = self.table[ids]
            for j, pooled in enumerate((vectors.mean(axis=0), vectors.max(axis=0))):
                rows[i, j * width : (j + 1) * width] = pooled / (np.linalg.norm(pooled) or 1.0)
        return rows

    def copy_to(self, directory: Path) -> None:
        """Into a model's storage, so that the model carries its own embeddings."""
        for name in (WEIGHTS_FILE, TOKENIZER_FILE):
            shutil.copyfile(self.directory / name, Path(directory) / name)


class EmbeddingIntentModel:
    """A balanced multinomial logistic regression over the sentence vectors. Save/load without pickle.

    It reads three views of a message, as the linear model does: the text, the text without accents
    (debtors write "pague" and "pagué"; Llama's tokens split the two differently) and, when the entity
    extractor's spans are given, the text with its dates, amounts and digits masked ("pago __date__"),
    so that the vector says what is asked rather than which day. Each view adds what the others miss
    (docs/nlu.md, ninth round)."""

    meta_file = "embedding_model.json"
    VIEWS = ("text", "plain", "masked")

    def __init__(
        self, embeddings: TokenEmbeddings, clf: LogisticRegression | None = None, views: tuple[str, ...] = VIEWS
    ) -> None:
        self.embeddings = embeddings
        self.clf = clf
        self.views = tuple(views)

    @property
    def classes(self) -> list[str]:
        return [] if self.clf is None else [str(c) for c in self.clf.classes_]

    def features(self, texts: list[str], masked: list[str] | None = None) -> np.ndarray:
        """The views' sentence vectors side by side; without ``masked``, the text stands in for it."""
        sources = {"text": texts, "plain": [normalise_text(t) for t in texts], "masked": masked or texts}
        return np.hstack([self.embeddings.embed(sources[view]) for view in self.views])

    def fit(
        self, texts: list[str], labels: list[str], c: float = 10.0, masked: list[str] | None = None
    ) -> EmbeddingIntentModel:
        self.clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        self.clf.fit(self.features(texts, masked), labels)
        return self

    def predict_proba(self, texts: list[str], masked: list[str] | None = None) -> np.ndarray:
        """Rows of probabilities over ``classes``."""
        assert self.clf is not None
        return self.clf.predict_proba(self.features(texts, masked))

    def save(self, directory: Path) -> None:
        assert self.clf is not None
        directory = Path(directory)
        self.embeddings.copy_to(directory)
        meta = {"intents": self.classes, "views": list(self.views)}
        (directory / self.meta_file).write_text(json.dumps(meta), encoding="utf-8")
        np.savez(directory / "embedding_model.npz", coef=self.clf.coef_, intercept=self.clf.intercept_)

    @classmethod
    def load(cls, directory: Path) -> EmbeddingIntentModel:
        directory = Path(directory)
        meta = json.loads((directory / cls.meta_file).read_text(encoding="utf-8"))
        arrays = np.load(directory / "embedding_model.npz", allow_pickle=False)
        clf = restore_classifier(meta["intents"], arrays["coef"], arrays["intercept"])
        return cls(TokenEmbeddings(directory), clf, tuple(meta.get("views", ("text",))))
