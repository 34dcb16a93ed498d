"""``python -m channels.rasa_server run ...``: ``rasa run`` with its HTTP API token taken from the environment.

Why: ``rasa run --auth-token TOKEN`` puts the token in the process's arguments, which every local user
can read (``ps``, /proc/PID/cmdline), and Rasa has no option to read it from elsewhere. Here the token
comes from ``RASA_AUTH_TOKEN`` and is appended to the arguments inside this process only: the command
line the system shows never carries it. Without the variable, nothing starts (an API without a token
could rewrite any conversation). Imports only Rasa: this runs in the Rasa runtime.
"""

from __future__ import annotations

import os
import sys


def rasa_argv(argv: list[str], environ: dict[str, str] | os._Environ) -> list[str]:  # type: ignore[type-arg]
    """The arguments for Rasa's own command line, the API token added when the API is enabled."""
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in argv):
        raise SystemExit("pass the token in RASA_AUTH_TOKEN, never on the command line")
    if "--enable-api" not in argv:
        return ["rasa", *argv]
    token = environ.get("RASA_AUTH_TOKEN", "").strip()
    if not token:
        raise SystemExit("RASA_AUTH_TOKEN is not set: Rasa's HTTP API does not start without a token")
    return ["rasa", *argv, "--auth-token", token]


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
