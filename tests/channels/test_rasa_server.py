"""The Rasa server's wrapper (channels/rasa_server.py) takes Rasa's API token and JWT secret from the environment,
never from its command line (`ps` shows arguments to every local user). The Rasa runtime's test."""

from __future__ import annotations

import pytest

from channels.rasa_server import rasa_argv


def test_rasa_wrapper_takes_the_api_token_from_the_environment():
    env = {"RASA_AUTH_TOKEN": "t0k", "RASA_JWT_SECRET": "s3cret"}
    argv = rasa_argv(["run", "--enable-api", "-i", "127.0.0.1"], env)
    assert argv == [
        "rasa",
        "run",
        "--enable-api",
        "-i",
        "127.0.0.1",
        "--auth-token",
        "t0k",
        "--jwt-secret",
        "s3cret",
        "--jwt-method",
        "HS256",
    ]
    with pytest.raises(SystemExit, match="RASA_AUTH_TOKEN"):
        rasa_argv(["run", "--enable-api"], {})
    with pytest.raises(SystemExit, match="never on the command line"):
        rasa_argv(["run", "--enable-api", "--auth-token", "x"], env)
    with pytest.raises(SystemExit, match="never on the command line"):
        rasa_argv(["run", "--enable-api", "--jwt-secret=x"], env)
