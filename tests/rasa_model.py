"""Where the trained Rasa model is, for the tests that need a real one (marked ``rasa``)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def trained_model() -> str | None:
    """RECOBRA_TEST_MODEL if it names an existing file, else the newest ``models/*.tar.gz``, else None."""
    named = os.environ.get("RECOBRA_TEST_MODEL")
    if named:
        return named if Path(named).exists() else None
    found = sorted(glob.glob(str(ROOT / "models" / "*.tar.gz")), key=os.path.getmtime)
    return found[-1] if found else None
