"""Fixtures of the messaging edge tests (defined in ``tests/worker/doubles.py``)."""

from tests.worker.doubles import rasa_double, run_worker, sandbox_provider, twilio_double  # noqa: F401
