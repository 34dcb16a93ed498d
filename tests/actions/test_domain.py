"""The domain, the training data and the actions agree: every response exists, is used, and the
catalogue of action-uttered responses (data/rules/rules_response_catalogue.yml) is in step."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.platform.config import ROOT
from bot.store.models import REASONS

MINE = [
    "session",
    "identity",
    "balance",
    "payment_links",
    "reasons",
    "promises",
    "due_dates",
    "payment_plans",
    "handoff",
    "optout",
    "misc",
]
CATALOGUE = ROOT / "data" / "rules" / "rules_response_catalogue.yml"


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _responses() -> set[str]:
    out: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        out |= set((_yaml(path).get("responses") or {}).keys())
    return out


def _actions_in(paths: list[Path], skip: Path | None = None) -> set[str]:
    out: set[str] = set()
    for path in paths:
        if path == skip:
            continue
        data = _yaml(path)
        for block in (data.get("rules") or []) + (data.get("stories") or []):
            out |= {step["action"] for step in block.get("steps", []) if "action" in step}
    return out


def _uttered_by_actions() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "actions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'"(utter_[a-z_]+)"', text))
        for prefix in re.findall(r'f"(utter_[a-z_]+_){', text):
            if prefix == "utter_reason_empathy_":
                names |= {prefix + r for r in REASONS}
            elif prefix == "utter_payment_link_":
                names |= {prefix + k for k in ("balance", "promise", "instalment")}
            elif prefix in ("utter_due_date_refused_", "utter_due_date_why_"):
                from bot.billing.due_dates import REFUSALS

                names |= {prefix + r for r in REFUSALS if r != "date_missing"}
    return names


def test_every_domain_file_is_version_3_1():
    for name in MINE:
        assert _yaml(ROOT / "domain" / f"{name}.yml")["version"] == "3.1"


def test_every_response_the_actions_utter_exists():
    missing = _uttered_by_actions() - _responses()
    assert not missing, f"responses missing from domain/: {sorted(missing)}"


def test_catalogue_lists_exactly_the_responses_no_rule_or_story_uses():
    data_files = list((ROOT / "data" / "rules").glob("*.yml")) + list((ROOT / "data" / "stories").glob("*.yml"))
    used = _actions_in(data_files, skip=CATALOGUE)
    catalogue = _actions_in([CATALOGUE])
    expected = {r for r in _responses() if r not in used}
    assert catalogue == expected, (
        f"add to the catalogue: {sorted(expected - catalogue)}; remove: {sorted(catalogue - expected)}"
    )


def test_catalogue_rule_can_never_fire():
    rule = _yaml(CATALOGUE)["rules"][0]
    assert rule["condition"] == [{"slot_was_set": [{"response_catalogue": True}]}]
    for path in (ROOT / "actions").glob("*.py"):
        assert not re.search(r"[\"']response_catalogue[\"']", path.read_text(encoding="utf-8")), path
