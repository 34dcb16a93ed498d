"""SMS segments of every text the product can send: the bot's responses (domain/), the edge's own
replies (config/edge_replies.yml), campaign texts (config/campaigns.yml) and payment messages
(config/payment_methods.yml), filled with long but realistic values.

For each text: its encoding and segment count as written (accents force UCS-2: 70 characters a
segment instead of 160) and as sent by SMS with the default RECOBRA_SMS_TRANSLITERATE=true (WhatsApp
markup stripped, á é í ó ú → a e i o u). Every segment is billed, so this is what a reply costs.

Run: .venv/bin/python bench/sms_segments.py [--all]
"""

from __future__ import annotations

import statistics
import string
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.messaging import sms  # noqa: E402

# Long-ish real values, so the figures are the worst a usual debtor sees.
SAMPLE = {
    "first_name": "María Fernanda",
    "name": "María Fernanda",
    "business": "Financiera Aurora",
    "business_name": "Financiera Aurora",
    "amount": "$1.250.000",
    "balance": "$1.250.000",
    "total": "$1.690.000",
    "first": "$420.000",
    "other": "$166.000",
    "credit": "$15.000",
    "remaining": "$830.000",
    "invoice": "CO-1003-F1",
    "date": "viernes 27 de noviembre",
    "due_date": "9 de octubre",
    "old_date": "9 de octubre",
    "new_date": "23 de octubre",
    "latest_date": "8 de diciembre",
    "max_date": "23 de diciembre",
    "first_date": "26 de noviembre",
    "last_date": "25 de enero de 2027",
    "expires": "26 de noviembre",
    "url": "https://cobros.example.com/p/T7AQr3cf",
    "count": "6",
    "others": "5",
    "interval": "30",
    "counts": "2, 4 o 6",
    "id": "A1B2C3",
    "wait": "unos 30 minutos en horario hábil",
    "methods": "tarjeta de crédito o débito, PSE o efectivo en Efecty",
    "reason": "la tarjeta no tiene fondos suficientes",
    "place": "OXXO",
    "deadline": " antes del 27 de noviembre",
    "ticket": " Puede ver la ficha aquí: https://cobros.example.com/t/9",
    "line": "• Factura CO-1003-F1: $420.000, venció el 9 de octubre",
    "lines": "• Factura CO-1003-F1: $420.000, venció el 9 de octubre\n"
    "• Factura CO-1003-F2: $140.000, vence el 8 de diciembre",
    "notice": "Ahora estamos fuera del horario de atención; un asesor le responderá mañana desde las 8:00.",
    "reminder_text": "Financiera Aurora: Hola, tenemos un recordatorio importante sobre su cuenta. "
    "Responda este mensaje para verlo.",
}


class Filled(dict):
    def __missing__(self, key: str) -> str:
        return "valor de ejemplo"


def fill(text: str) -> str:
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    return text.format_map(Filled({k: SAMPLE.get(k, "valor de ejemplo") for k in names}))


def texts() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted((ROOT / "domain").glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            for i, variant in enumerate(variants):
                if variant.get("text"):
                    out.append((f"{name}" + (f"#{i + 1}" if len(variants) > 1 else ""), variant["text"]))
    replies = yaml.safe_load((ROOT / "config" / "edge_replies.yml").read_text(encoding="utf-8"))
    for language, table in replies.items():
        out += [(f"edge:{language}:{key}", text) for key, text in table.items()]
    campaigns = yaml.safe_load((ROOT / "config" / "campaigns.yml").read_text(encoding="utf-8"))["campaigns"]
    for campaign in campaigns:
        for stage in campaign["stages"]:
            if stage.get("sms"):
                out.append((f"campaign:{campaign['name']}:{stage['name']}", stage["sms"]))
            for variant in stage.get("variants") or []:
                if variant.get("sms"):
                    out.append((f"campaign:{campaign['name']}:{stage['name']}:{variant['name']}", variant["sms"]))
    payments = yaml.safe_load((ROOT / "config" / "payment_methods.yml").read_text(encoding="utf-8"))
    out += [(f"payment:{key}", text) for key, text in (payments.get("messages") or {}).items()]
    return [(name, fill(text)) for name, text in out]


def main() -> None:
    rows = []
    for name, text in texts():
        raw = sms.sms_info(sms.format_for_sms(text, transliterate_accents=False))
        parts = sms.prepare_sms(text, transliterate_accents=True)
        sent = sum(info.segments for _, info in parts)
        rows.append((name, len(text), raw.encoding, raw.segments, parts[-1][1].encoding, sent, len(parts)))
    rows.sort(key=lambda r: (-r[5], -r[1]))
    show = rows if "--all" in sys.argv else rows[:15]
    print(f"{'text':<52} {'chars':>5}  {'as written':>14}  {'as sent (SMS)':>16}")
    for name, chars, enc, segs, sent_enc, sent, messages in show:
        extra = f" in {messages} SMS" if messages > 1 else ""
        print(f"{name[:52]:<52} {chars:>5}  {enc:>6} {segs:>2} seg  {sent_enc:>6} {sent:>2} seg{extra}")
    if len(show) < len(rows):
        print(f"... {len(rows) - len(show)} more (--all lists every text)")
    written = Counter(r[3] for r in rows)
    sent = Counter(r[5] for r in rows)
    print(
        f"\n{len(rows)} texts. Segments as written: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(written.items()))
        + f" (UCS-2: {sum(r[2] == sms.UCS2 for r in rows)})."
    )
    print(
        "Segments as sent by SMS: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(sent.items()))
        + f" (UCS-2: {sum(r[4] == sms.UCS2 for r in rows)}); mean {statistics.mean(r[5] for r in rows):.2f}, "
        f"total {sum(r[5] for r in rows)} vs {sum(r[3] for r in rows)} as written."
    )


if __name__ == "__main__":
    main()
