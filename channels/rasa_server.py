"""``python -m channels.rasa_server run ...``: ``rasa run`` with its HTTP API secrets taken from the environment.

Why: ``rasa run --auth-token TOKEN`` puts the token in the process's arguments, which every local user
can read (``ps``, /proc/PID/cmdline), and Rasa has no option to read it from elsewhere. Here the token
comes from ``RASA_AUTH_TOKEN`` and is appended to the arguments inside this process only: the command
line the system shows never carries it. Likewise ``RASA_JWT_SECRET``, which verifies the JWTs the worker
sends in a header (bot/conversation/rasa_client.py), so no token travels in a URL. Without them, nothing starts (an API
without a token could rewrite any conversation). Imports only Rasa: this runs in the Rasa runtime.
"""

from __future__ import annotations

import os
import sys


def environ_flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off")


# RECOBRA_RASA_SPEEDUPS=false runs Rasa as shipped (bench/load_bench.py measures the difference)
SPEEDUPS = environ_flag(os.environ.get("RECOBRA_RASA_SPEEDUPS", "true"))
if SPEEDUPS:
    # One BLAS thread: a turn's matrix products are tiny, and OpenBLAS's idle threads spin between them; under
    # load they used twice the CPU of the turns themselves (docs/performance.md). Set before numpy loads OpenBLAS.
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

from channels import rasa_speedups, tracker_failstop  # noqa: E402


def rasa_argv(argv: list[str], environ: dict[str, str] | os._Environ) -> list[str]:  # type: ignore[type-arg]
    """The arguments for Rasa's own command line, the API token added when the API is enabled."""
    for option, variable in (("--auth-token", "RASA_AUTH_TOKEN"), ("--jwt-secret", "RASA_JWT_SECRET")):
        if any(a == option or a.startswith(option + "=") for a in argv):
            raise SystemExit(f"pass {option} in {variable}, never on the command line")
    if "--enable-api" not in argv:
        return ["rasa", *argv]
    token = environ.get("RASA_AUTH_TOKEN", "").strip()
    jwt_secret = environ.get("RASA_JWT_SECRET", "").strip()
    if not token or not jwt_secret:
        raise SystemExit("RASA_AUTH_TOKEN and RASA_JWT_SECRET must be set: Rasa's HTTP API does not start without them")
    return ["rasa", *argv, "--auth-token", token, "--jwt-secret", jwt_secret, "--jwt-method", "HS256"]


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    tracker_failstop.apply()  # a correctness repair: not one of the speedups the peer runs without
    if SPEEDUPS:
        rasa_speedups.apply()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
