"""Fixtures of the web edge tests: the fake Rasa (readiness asks it) from ``tests/worker/doubles.py``."""

from tests.worker.doubles import rasa_double  # noqa: F401
