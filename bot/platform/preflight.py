"""What must hold before any process starts: the set-ups Recobra refuses, one line per offending setting.

Why refuse rather than warn: each of these silently turns into harm once live. A sandbox payments
provider beside real Twilio lets anyone holding a `/p/` link "approve" a payment; a real provider whose
secret was generated (not given) answers every genuine webhook with 403; a SQLite file cannot be
shared by several processes or machines; plain-HTTP links leak bearer codes. `RECOBRA_ENV=production`
adds the rules a live installation needs; the mixed set-up and missing provider secrets are refused
in every mode.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.platform.config import Settings

MODES = ("demo", "production")
REAL = {"MESSAGING_PROVIDER": "twilio", "PAYMENTS_PROVIDER": "mercadopago"}
# The secrets a real provider cannot work without: they must be given, never generated.
PROVIDER_SECRETS = {
    "MESSAGING_PROVIDER": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
    "PAYMENTS_PROVIDER": ("MERCADOPAGO_ACCESS_TOKEN", "MERCADOPAGO_WEBHOOK_SECRET"),
}


def problems(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every reason not to start, one line each, naming the variable to change (empty: good to go)."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    if settings.env not in MODES:
        out.append(f"RECOBRA_ENV={settings.env!r} is not a mode: use 'demo' or 'production'")
    providers = {"MESSAGING_PROVIDER": settings.messaging_provider, "PAYMENTS_PROVIDER": settings.payments_provider}
    for variable, value in providers.items():
        if value not in ("sandbox", REAL[variable]):
            out.append(f"{variable}={value!r} is not a provider: use 'sandbox' or {REAL[variable]!r}")
    sandboxed = [v for v, value in providers.items() if value == "sandbox"]
    real = [v for v, value in providers.items() if value == REAL[v]]
    if sandboxed and real:
        out.append(
            f"{sandboxed[0]}=sandbox with {real[0]}={providers[real[0]]}: a mixed set-up is refused in every mode "
            "(sandbox payments would let anyone holding a link approve a payment; sandbox messages would reach "
            "nobody); make both real or both sandbox"
        )
    for variable in real:
        for secret in PROVIDER_SECRETS[variable]:
            if not env.get(secret, "").strip():
                out.append(
                    f"{secret} is not set: {variable}={providers[variable]} needs it from your account "
                    "(it is never generated for a real provider)"
                )
    if settings.messaging_provider == "twilio" and not (env.get("TWILIO_WHATSAPP_FROM") or env.get("TWILIO_SMS_FROM")):
        out.append("TWILIO_WHATSAPP_FROM / TWILIO_SMS_FROM: neither is set; MESSAGING_PROVIDER=twilio needs a sender")
    if settings.env != "production":
        return out
    for variable in sandboxed:
        out.append(f"{variable}=sandbox: production needs {REAL[variable]!r}")
    base = env.get("PUBLIC_BASE_URL", "").strip()
    if not base:
        out.append(
            "PUBLIC_BASE_URL is not set: production needs the public https:// URL that Twilio and Mercado Pago call"
        )
    elif not base.lower().startswith("https://"):
        out.append(f"PUBLIC_BASE_URL={base!r} is not https: links and webhooks carry bearer codes")
    if settings.database_url.startswith("sqlite") and not settings.allow_sqlite:
        out.append(
            "DATABASE_URL is SQLite: production needs PostgreSQL (postgresql://...), or set "
            "RECOBRA_ALLOW_SQLITE=true for a single-machine installation"
        )
    return out
