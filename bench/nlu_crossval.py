"""NLU benchmark: cross-validates candidate pipelines and evaluates them on the held-out file.

    .venv/bin/python bench/nlu_crossval.py                      # the shipped candidate and its peer, 5 folds + holdout
    .venv/bin/python bench/nlu_crossval.py --candidates all     # every candidate (hours on this machine)
    .venv/bin/python bench/nlu_crossval.py --folds 3 --candidates h_diet50_mindf_blend40
    .venv/bin/python bench/nlu_crossval.py --no-holdout

For each candidate in bench/nlu_candidates/*.yml (by default only ``SHIPPED`` and the one it replaced,
measured in the same run) it runs
``rasa test nlu --cross-validation --folds N`` on data/nlu and reads the accumulated test-fold
reports: intent macro-F1 and accuracy, and the reason accuracy (share of the examples annotated
with a reason whose predicted ``reason`` value from the ReasonClassifier is the annotated one).
Then (unless --no-holdout) it trains the candidate on all of data/nlu, timing ``rasa train nlu``
and measuring the model size, and evaluates it on tests/nlu/holdout.yml (never trained on).
It prints a table of the candidates, the per-intent F1 of the chosen one (best CV macro-F1 among
those that train within the time budget) and a FallbackClassifier threshold table from the chosen
candidate's cross-validation confidences. Outputs go under $BENCH_OUT (default /tmp/recobra-bench).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ROOT / "bench" / "nlu_candidates"
# what config.yml ships, and the candidate it replaced: `make bench` measures these two side by side
SHIPPED = ("o_diet15_crf_wordllama", "q_linear_embeddings_no_diet")
NLU_DATA = ROOT / "data" / "nlu"
DOMAIN = ROOT / "domain"
HOLDOUT = ROOT / "tests" / "nlu" / "holdout.yml"
# Rasa's own command line, on the Rasa runtime's Python (as bot.platform.config's rasa_python: RECOBRA_RASA_PYTHON,
# else .venv-rasa); this script itself runs on either runtime (the standard library only)
RASA = [os.environ.get("RECOBRA_RASA_PYTHON") or str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "rasa"]
TRAIN_BUDGET_S = 300
TIE_F1 = 0.002  # equal macro-F1 to the third decimal: then the faster candidate
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    # a cache of its own per candidate run: no component restored from another run, honest training times
    env["RASA_CACHE_DIRECTORY"] = str(cache)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


def _run(args: list[str], log: Path) -> float:
    """Runs a rasa command from the repository root, logging to ``log``; returns seconds taken."""
    cache = log.parent / f"cache-{log.stem}"
    shutil.rmtree(cache, ignore_errors=True)
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(args, cwd=ROOT, env=_env(cache), stdout=out, stderr=subprocess.STDOUT)
    shutil.rmtree(cache, ignore_errors=True)
    if result.returncode != 0:
        raise SystemExit(f"command failed ({result.returncode}), see {log}: {' '.join(args)}")
    return time.monotonic() - started


def _load(path: Path) -> list | dict:
    return json.loads(path.read_text()) if path.exists() else []


def intent_metrics(out: Path) -> dict:
    report = _load(out / "intent_report.json")
    per_intent = {
        name: values
        for name, values in report.items()
        if isinstance(values, dict) and name not in ("macro avg", "weighted avg", "micro avg")
    }
    return {
        "macro_f1": report["macro avg"]["f1-score"],
        "accuracy": report.get("accuracy", report.get("micro avg", {}).get("f1-score")),
        "per_intent": per_intent,
    }


def reason_accuracy(out: Path) -> tuple[float, int]:
    """From the ReasonClassifier entity successes/errors: every example annotated with a reason."""
    seen: dict[str, bool] = {}
    for name in ("ReasonClassifier_successes.json", "ReasonClassifier_errors.json"):
        for item in _load(out / name):
            gold = [e.get("value") for e in item.get("entities", []) if e.get("entity") == "reason"]
            if not gold:
                continue
            predicted = [
                e.get("value")
                for e in item.get("predicted_entities", [])
                if e.get("entity") == "reason" and e.get("extractor") == "ReasonClassifier"
            ]
            seen[item["text"]] = bool(predicted) and predicted[0] == gold[0]
    if not seen:
        return 0.0, 0
    return sum(seen.values()) / len(seen), len(seen)


def threshold_table(out: Path) -> list[tuple[float, float, float, float]]:
    """(threshold, share of messages kept, accuracy of the kept ones, share of errors caught)."""
    rows = []
    predictions = []
    for name, correct in (("intent_successes.json", True), ("intent_errors.json", False)):
        for item in _load(out / name):
            predictions.append((item["intent_prediction"]["confidence"] or 0.0, correct))
    if not predictions:
        return rows
    errors = sum(1 for _, ok in predictions if not ok)
    for threshold in THRESHOLDS:
        kept = [ok for conf, ok in predictions if conf >= threshold]
        caught = sum(1 for conf, ok in predictions if conf < threshold and not ok)
        rows.append(
            (
                threshold,
                len(kept) / len(predictions),
                (sum(kept) / len(kept)) if kept else 0.0,
                (caught / errors) if errors else 0.0,
            )
        )
    return rows


def model_size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def bench_candidate(config: Path, folds: int, holdout: bool, base: Path) -> dict:
    name = config.stem
    work = base / name
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"name": name}
    print(f"[{name}] {folds}-fold cross-validation ...", flush=True)
    cv_out = work / "cv"
    result["cv_seconds"] = _run(
        [*RASA, "test", "nlu", "--cross-validation", "--folds", str(folds), "--config", str(config),
         "--nlu", str(NLU_DATA), "--domain", str(DOMAIN), "--out", str(cv_out), "--successes", "--no-plot"],
        work / "cv.log",
    )  # fmt: skip
    result["cv"] = intent_metrics(cv_out)
    result["cv_reason"] = reason_accuracy(cv_out)
    result["thresholds"] = threshold_table(cv_out)
    if holdout:
        print(f"[{name}] training on all data and testing on {HOLDOUT.relative_to(ROOT)} ...", flush=True)
        models = work / "models"
        result["train_seconds"] = _run(
            [*RASA, "train", "nlu", "--config", str(config), "--nlu", str(NLU_DATA), "--domain", str(DOMAIN),
             "--out", str(models), "--fixed-model-name", name],
            work / "train.log",
        )  # fmt: skip
        model = models / f"{name}.tar.gz"
        result["model_mb"] = model_size_mb(model)
        holdout_out = work / "holdout"
        _run(
            [*RASA, "test", "nlu", "--model", str(model), "--nlu", str(HOLDOUT), "--out", str(holdout_out),
             "--successes", "--no-plot"],
            work / "holdout.log",
        )  # fmt: skip
        result["holdout"] = intent_metrics(holdout_out)
        result["holdout_reason"] = reason_accuracy(holdout_out)
    (work / "result.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def print_summary(results: list[dict], folds: int) -> None:
    print()
    print(f"NLU candidates ({folds}-fold cross-validation on data/nlu; holdout = tests/nlu/holdout.yml)")
    header = (
        f"{'candidate':30} {'CV macroF1':>10} {'CV acc':>7} {'CV reason':>10} "
        f"{'HO macroF1':>10} {'HO acc':>7} {'HO reason':>10} {'train s':>8} {'MB':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cv_reason, n_reason = r["cv_reason"]
        line = f"{r['name']:30} {r['cv']['macro_f1']:10.3f} {r['cv']['accuracy']:7.3f} {cv_reason:10.3f} "
        if "holdout" in r:
            ho_reason, _ = r["holdout_reason"]
            line += (
                f"{r['holdout']['macro_f1']:10.3f} {r['holdout']['accuracy']:7.3f} {ho_reason:10.3f} "
                f"{r['train_seconds']:8.0f} {r['model_mb']:6.1f}"
            )
        print(line + f"   (reason n={n_reason})")

    eligible = [r for r in results if r.get("train_seconds", 0) <= TRAIN_BUDGET_S] or results
    best = max(r["cv"]["macro_f1"] for r in eligible)
    close = [r for r in eligible if r["cv"]["macro_f1"] >= best - TIE_F1]
    chosen = min(close, key=lambda r: r.get("train_seconds", 0))
    print()
    print(
        f"chosen: {chosen['name']} (the best CV intent macro-F1 among those that train within "
        f"{TRAIN_BUDGET_S} s; the faster one when two are within {TIE_F1})"
    )
    print(f"{'intent':48} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    for intent, values in sorted(chosen["cv"]["per_intent"].items(), key=lambda kv: kv[1]["f1-score"]):
        print(
            f"{intent:48} {values['precision']:9.3f} {values['recall']:7.3f} {values['f1-score']:6.3f} "
            f"{values['support']:8.0f}"
        )
    print()
    print(f"FallbackClassifier threshold on {chosen['name']}'s CV intent confidences:")
    print(f"{'threshold':>9} {'kept':>6} {'acc kept':>9} {'errors caught':>14}")
    for threshold, kept, accuracy, caught in chosen["thresholds"]:
        print(f"{threshold:9.2f} {kept:6.3f} {accuracy:9.3f} {caught:14.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)  # rasa test nlu --cross-validation's own default
    parser.add_argument(
        "--candidates",
        default=",".join(SHIPPED),
        help="comma-separated names (file stems), or 'all'; default: " + ",".join(SHIPPED),
    )
    parser.add_argument("--no-holdout", action="store_true", help="skip full training + holdout evaluation")
    parser.add_argument("--report-only", action="store_true", help="re-print the results already under BENCH_OUT")
    args = parser.parse_args()

    base = Path(os.environ.get("BENCH_OUT", "/tmp/recobra-bench"))
    configs = sorted(CANDIDATES.glob("*.yml"))
    if args.candidates != "all":  # in the order given
        by_name = {c.stem: c for c in configs}
        configs = [by_name[name] for name in args.candidates.split(",") if name in by_name]
    if not configs:
        raise SystemExit("no candidate configs found")
    results = []
    for config in configs:
        if args.report_only:
            saved = base / config.stem / "result.json"
            if saved.exists():
                results.append(json.loads(saved.read_text()))
            continue
        results.append(bench_candidate(config, args.folds, not args.no_holdout, base))
    if not results:
        raise SystemExit("no results")
    print_summary(results, args.folds)


if __name__ == "__main__":
    main()
