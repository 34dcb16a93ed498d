"""How much of the intent blend should be DIET's: a cross-validated sweep of IntentEnsemble's ``weight``.

    .venv-rasa/bin/python scripts/nlu_blend_sweep.py                       # config.yml, 3 folds
    .venv-rasa/bin/python scripts/nlu_blend_sweep.py --config bench/nlu_candidates/h_diet50_mindf_blend40.yml --folds 5
    .venv-rasa/bin/python scripts/nlu_blend_sweep.py --folds 5 --c-values 10,40,100,250   # also the linear model's C

``rasa test nlu --cross-validation`` scores one weight per run, and a run is slow (docs/nlu.md, *Measurements*).
This trains the pipeline once per fold with the ensemble set to pass DIET's whole ranking through (weight 1,
every intent ranked),
parses the test fold with the trained model (so the entities that mask dates and amounts are DIET's, as at
run time), fits the ensemble's linear model on the same training fold, and then scores every blend weight
from the two sets of probabilities at no extra cost. It prints the macro-F1 per weight (0 = the linear model
alone, 1 = DIET alone) and, for the best weight, the FallbackClassifier threshold table. ``--c-values`` refits
the linear model with each inverse regularisation C on the same folds (no DIET training) and prints a row of
weights per C. With ``embeddings`` set on the ensemble, it also fits the embedding model on each
training fold and prints the macro-F1 for every pair of DIET's and the embedding model's shares. Outputs go under
$BENCH_OUT/blend-sweep (default /tmp/recobra-bench); a fold already parsed there is reused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from components.embeddings import EmbeddingIntentModel, TokenEmbeddings  # noqa: E402
from components.intent_ensemble import LinearIntentModel, mask_entities, training_texts  # noqa: E402

WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
EMBEDDING_WEIGHTS = (0.0, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
ENSEMBLE = "components.intent_ensemble.IntentEnsemble"


def diet_only(config: Path, out: Path) -> tuple[Path, dict]:
    """The candidate with its ensemble passing DIET's full ranking through; and the ensemble's options."""
    data = yaml.safe_load(config.read_text())
    options: dict = {}
    for step in data["pipeline"]:
        if step["name"] == ENSEMBLE:
            options = dict(step)
            step.update(weight=1.0, ranking_length=0, embeddings=None)
    data["pipeline"] = [s for s in data["pipeline"] if not s["name"].endswith("FallbackClassifier")]
    if not options:
        raise SystemExit(f"{config} has no {ENSEMBLE}")
    path = out / "diet_only.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path, options


def parse_fold(model: Path, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return [{"ranking": p["intent_ranking"], "entities": p["entities"]} for p in asyncio.run(parse_all())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--c-values", default="", help="linear model C values, e.g. 10,100")
    parser.add_argument("--dump", action="store_true", help="save the best C's probabilities and texts to probs.npz")
    args = parser.parse_args()

    out = Path(os.environ.get("BENCH_OUT", "/tmp/recobra-bench")) / "blend-sweep"
    out.mkdir(parents=True, exist_ok=True)
    config, options = diet_only(Path(args.config), out)
    data = load_data(str(ROOT / "data" / "nlu"))
    examples = [e for e in data.intent_examples if e.get("text") and e.get("intent")]
    labels = np.array([e.get("intent") for e in examples])
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    rasa = str(Path(sys.executable).parent / "rasa")

    c_values = [float(c) for c in args.c_values.split(",") if c] or [float(options.get("C", 10.0))]
    gold: list[str] = []
    gold_texts: list[str] = []
    diet_rows: list[np.ndarray] = []
    linear_rows: dict[float, list[np.ndarray]] = {c: [] for c in c_values}
    classes: list[str] = []
    embeddings = TokenEmbeddings(ROOT / options["embeddings"]) if options.get("embeddings") else None
    embedded_rows: list[np.ndarray] = []
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=0).split(examples, labels)
    for k, (train_idx, test_idx) in enumerate(folds):
        fold = out / f"fold{k}"
        fold.mkdir(exist_ok=True)
        train = TrainingData(
            training_examples=[examples[i] for i in train_idx],
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        )
        texts = [examples[i].get("text") for i in test_idx]
        parsed_file = fold / "parsed.json"
        saved = json.loads(parsed_file.read_text()) if parsed_file.exists() else None
        if saved is None or saved["texts"] != texts:
            (fold / "train.yml").write_text(train.nlu_as_yaml())
            env["RASA_CACHE_DIRECTORY"] = str(fold / "cache")
            with (fold / "train.log").open("w") as log:
                subprocess.run(
                    [rasa, "train", "nlu", "--nlu", str(fold / "train.yml"), "--config", str(config),
                     "--out", str(fold), "--fixed-model-name", "model"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True,
                )  # fmt: skip
            saved = {"texts": texts, "parsed": parse_fold(fold / "model.tar.gz", texts)}
            parsed_file.write_text(json.dumps(saved, ensure_ascii=False))
        print(f"fold {k + 1}/{args.folds} parsed", flush=True)

        x, y, masked = training_texts(train, bool(options.get("decompose_reasons", False)))
        parsed = saved["parsed"]
        test_masked = [mask_entities(t, p["entities"]) for t, p in zip(texts, parsed, strict=True)]
        for c in c_values:
            model = LinearIntentModel(shapes=bool(options.get("digit_shapes", False))).fit(
                x, y, c=c, masked=masked if options.get("mask_entities") else None
            )
            classes = model.classes
            linear_rows[c].append(model.predict_proba(texts, test_masked))
        if embeddings is not None:
            embedded = EmbeddingIntentModel(embeddings).fit(
                x, y, c=float(options.get("embedding_C", 10.0)), masked=masked
            )
            order = [embedded.classes.index(name) for name in classes]
            embedded_rows.append(embedded.predict_proba(texts, test_masked)[:, order])
        rankings = [{r["name"]: r["confidence"] for r in p["ranking"]} for p in parsed]
        diet_rows.append(np.array([[ranking.get(name, 0.0) for name in classes] for ranking in rankings]))
        gold += [labels[i] for i in test_idx]
        gold_texts += texts

    diet, names = np.vstack(diet_rows), np.array(classes)
    scores: dict[tuple[float, float], float] = {}
    for c in c_values:
        linear = np.vstack(linear_rows[c])
        print(
            f"\n{args.folds}-fold cross-validation of {args.config} ({len(gold)} examples), linear model C={c:g}, "
            "intent macro-F1 by weight:"
        )
        for weight in WEIGHTS:
            blended = weight * diet + (1 - weight) * linear
            scores[c, weight] = f1_score(gold, names[blended.argmax(axis=1)], average="macro")
            note = {0.0: "  (linear model alone)", 1.0: "  (DIET alone)"}.get(weight, "")
            print(f"  weight {weight:.1f}: {scores[c, weight]:.4f}{note}")
    best_c, best = max(scores, key=scores.get)
    blended = best * diet + (1 - best) * np.vstack(linear_rows[best_c])
    if embeddings is not None:
        linear, third = np.vstack(linear_rows[best_c]), np.vstack(embedded_rows)
        print(
            f"\nWith the embedding model (C={options.get('embedding_C', 10.0):g}; rows: DIET's share, columns: "
            "the embedding model's, the rest the linear model's), intent macro-F1:"
        )
        print("        " + " ".join(f"{e:>6.2f}" for e in EMBEDDING_WEIGHTS))
        grid = {}
        for weight in (0.25, 0.3, 0.35, 0.4, 0.45):
            for share in EMBEDDING_WEIGHTS:
                mixed = weight * diet + share * third + (1 - weight - share) * linear
                grid[weight, share] = f1_score(gold, names[mixed.argmax(axis=1)], average="macro")
            print(f"  {weight:.2f}  " + " ".join(f"{grid[weight, e]:.4f}" for e in EMBEDDING_WEIGHTS))
        weight, share = float(options.get("weight", 0.4)), float(options.get("embedding_weight", 0.3))
        blended = weight * diet + share * third + (1 - weight - share) * linear
        configured = f1_score(gold, names[blended.argmax(axis=1)], average="macro")
        print(f"  configured (DIET {weight:g}, embedding model {share:g}): {configured:.4f}")
        best = weight
    blended /= blended.sum(axis=1, keepdims=True)
    confidence, correct = blended.max(axis=1), names[blended.argmax(axis=1)] == np.array(gold)
    if args.dump:  # for reading the errors: which examples, mistaken for what, how confidently
        linear = np.vstack(linear_rows[best_c])
        extra = {"embedded": np.vstack(embedded_rows)} if embedded_rows else {}
        np.savez(
            out / "probs.npz",
            diet=diet,
            linear=linear,
            names=names,
            gold=np.array(gold),
            texts=np.array(gold_texts),
            **extra,
        )
    print(f"\nFallbackClassifier threshold at C={best_c:g}, weight {best:g}: kept, acc. of the kept, errors caught")
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        caught = (~kept & ~correct).sum() / max((~correct).sum(), 1)
        print(f"  {threshold:.1f}: {kept.mean():.3f}  {correct[kept].mean():.3f}  {caught:.3f}")


if __name__ == "__main__":
    main()
