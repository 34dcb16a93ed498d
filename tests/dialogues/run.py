"""Issue #28's measurement: the team's own conversations (``tests/dialogues/conversations/``) through the real
product, as Twilio would deliver them, with the pass rate by category.

Each conversation gets a fresh account (``PUT /api/v1/debtors/{external_id}``, a phone of the demo's fictitious
range not used before, so no two conversations share a Rasa tracker or a store row); each debtor turn is posted
as a Twilio-signed webhook to ``/webhooks/twilio/messages``; the next turn waits until the worker has answered
this one (the transcript, ``GET /api/v1/conversations/{external_id}/messages``, shows the message processed and
its replies, which are committed together). Then the end state is read back through ``GET
/api/v1/debtors/{external_id}`` and checked with ``tests/dialogues/spec.py``.

    .venv/bin/python -m tests.dialogues.run                      # against `make run` at its default URL
    .venv/bin/python -m tests.dialogues.run --start              # start the stack when none answers, stop it after
    .venv/bin/python -m tests.dialogues.run --only payment_plan --only co-balance-1 -v

`make dialogues` runs it with ``--start``. The secrets (API key, Twilio token) are the stack's own: the
environment, else ``var/secrets.env``, read as every process of `make run` reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.dialogues import spec  # noqa: E402

TURN_TIMEOUT = float(os.environ.get("RECOBRA_DIALOGUES_TURN_TIMEOUT", "90"))
# After a turn is processed, replies that other steps add (an agent notice, a link sent apart) get this long.
SETTLE = 0.4


@dataclass
class Result:
    convo: spec.Conversation
    exchanges: list[spec.Exchange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    account: dict[str, Any] = field(default_factory=dict)
    today: date | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems


class Stack:
    """The running product, as the debtor's phone (signed webhooks) and the billing system (/api/v1) see it."""

    def __init__(self, url: str, public_base_url: str, api_key: str, twilio_token: str) -> None:
        import requests
        from twilio.request_validator import RequestValidator

        self.url = url.rstrip("/")
        self.public = public_base_url.rstrip("/")
        self.validator = RequestValidator(twilio_token)
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self._local = threading.local()
        self._requests = requests
        self.run_id = datetime.now(timezone.utc).strftime("%m%d%H%M%S")

    @property
    def http(self):
        if not hasattr(self._local, "session"):
            self._local.session = self._requests.Session()
        return self._local.session

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.http.request(method, self.url + path, headers=self.headers, timeout=30, **kwargs)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r.json()

    def fresh_phone(self, country: str) -> str:
        """A number of the demo's fictitious range that has never been written to on this stack."""
        c = spec.COUNTRIES[country]
        for _ in range(20):
            rest = int(c["digits"]) - (len(c["prefix"]) - 1)
            phone = c["prefix"] + "".join(secrets.choice("0123456789") for _ in range(rest))
            if not self.api("GET", "/api/v1/sandbox/outbox?to=" + quote(phone))["messages"]:
                return phone
        raise RuntimeError("no unused phone found")

    def create_account(self, convo: spec.Conversation, external_id: str, phone: str, today: date) -> None:
        d = convo.debtor
        currency = spec.COUNTRIES[convo.country]["currency"]
        invoices = [
            {
                "external_id": str(inv.get("id") or f"F-{n}"),
                "amount": str(inv["amount"]),
                "currency": currency,
                "due_date": (today + timedelta(days=int(inv.get("due", -10)))).isoformat(),
                **({"description": str(inv["description"])} if inv.get("description") else {}),
            }
            for n, inv in enumerate(d["invoices"], 1)
        ]
        self.api(
            "PUT",
            f"/api/v1/debtors/{quote(external_id)}",
            json={
                "name": d["name"],
                "phone": phone,
                "whatsapp": convo.channel == "whatsapp",
                "country": convo.country,
                "timezone": spec.COUNTRIES[convo.country]["timezone"],
                "document_last4": str(d["last4"]),
                "invoices": invoices,
            },
        )

    def post_inbound(self, phone: str, text: str, channel: str, button: dict[str, str] | None = None) -> None:
        address = f"whatsapp:{phone}" if channel == "whatsapp" else phone
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": "AC" + "0" * 32,
            "From": address,
            "To": "whatsapp:+15005550006" if channel == "whatsapp" else "+15005550006",
            "Body": text,
            "NumMedia": "0",
        }
        if button is not None:  # as Twilio posts a tapped quick reply or list row
            params.update({"ButtonPayload": button["id"], "ButtonText": button["title"]})
        if channel == "whatsapp":
            params.update({"ProfileName": "Cliente", "WaId": phone.lstrip("+")})
        path = "/webhooks/twilio/messages"
        signature = self.validator.compute_signature(self.public + path, params)
        r = self.http.post(self.url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"webhook answered HTTP {r.status_code}: {r.text[:300]}")

    def button(self, phone: str, title: str) -> dict[str, str] | None:
        """The button titled ``title`` under the bot's last message with buttons (the sandbox outbox's)."""
        sent = self.api("GET", "/api/v1/sandbox/outbox?to=" + quote(phone))["messages"]
        for message in reversed(sent):
            if message.get("buttons"):
                return next((b for b in message["buttons"] if spec.fold(b["title"]) == spec.fold(title)), None)
        return None

    def transcript(self, external_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v1/conversations/{quote(external_id)}/messages")["messages"]

    def replies_to(self, external_id: str, nth_inbound: int, timeout: float = TURN_TIMEOUT) -> list[str] | None:
        """The messages that answered the debtor's ``nth_inbound`` message (0-based), once the worker has
        processed it; None when it was not processed within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.transcript(external_id)
            inbound = [m for m in messages if m["direction"] == "in"]
            if len(inbound) > nth_inbound and inbound[nth_inbound]["status"] != "received":
                time.sleep(SETTLE)
                messages = self.transcript(external_id)
                mine = inbound[nth_inbound]["id"]
                position = next(i for i, m in enumerate(messages) if m["id"] == mine)
                return [m["body"] for m in messages[position + 1 :] if m["direction"] == "out"]
            time.sleep(0.25)
        return None


def run_one(stack: Stack, convo: spec.Conversation) -> Result:
    result = Result(convo)
    started = time.monotonic()
    external_id = f"DLG-{stack.run_id}-{convo.id}"
    try:
        phone = stack.fresh_phone(convo.country)
        today = datetime.now(ZoneInfo(spec.COUNTRIES[convo.country]["timezone"])).date()
        result.today = today
        stack.create_account(convo, external_id, phone, today)
        for n, turn in enumerate(convo.turns):
            text = spec.render(turn.say, today)
            button = stack.button(phone, text) if turn.tap else None
            if turn.tap and button is None:
                result.problems.append(f"turn {n + 1}: no button {text!r} to tap")
                break
            stack.post_inbound(phone, text, convo.channel, button)
            replies = stack.replies_to(external_id, n)
            result.exchanges.append(spec.Exchange(text, replies or []))
            if replies is None:
                result.problems.append(f"turn {n + 1}: not processed within {TURN_TIMEOUT:.0f} s")
                break
        result.account = stack.api("GET", f"/api/v1/debtors/{quote(external_id)}")
        result.problems = result.problems + spec.check_conversation(convo, result.exchanges, result.account, today)
    except Exception as exc:  # one broken conversation is a failure of its own, not of the run
        result.problems.append(f"error: {type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - started
    return result


def run_all(
    stack: Stack,
    conversations: Sequence[spec.Conversation],
    concurrency: int = 4,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(run_one, stack, c) for c in conversations]
        results = []
        for future in futures:
            result = future.result()
            if progress:
                progress(result)
            results.append(result)
    return results


# --- the report -----------------------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    by: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by[r.convo.category].append(r)
    lines = [f"{'category':<34} {'passed':>7} {'of':>4} {'rate':>7}", "-" * 55]
    for key, label in spec.CATEGORIES.items():
        if key in by:
            ok = sum(r.passed for r in by[key])
            lines.append(f"{label:<34} {ok:>7} {len(by[key]):>4} {ok / len(by[key]):>7.0%}")
    ok = sum(r.passed for r in results)
    lines += ["-" * 55, f"{'all':<34} {ok:>7} {len(results):>4} {ok / max(1, len(results)):>7.1%}"]
    by_country: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_country[r.convo.country].append(r)
    lines.append(
        "by country: " + ", ".join(f"{c} {sum(r.passed for r in rs)}/{len(rs)}" for c, rs in sorted(by_country.items()))
    )
    return "\n".join(lines)


def failure_report(r: Result) -> str:
    lines = [f"FAIL {r.convo.id} [{r.convo.category}, {r.convo.country}, {r.convo.source}] ({r.seconds:.0f} s)"]
    lines += [f"  ! {p}" for p in r.problems]
    for n, ex in enumerate(r.exchanges, 1):
        lines.append(f"  {n}> {ex.said}")
        lines += [f"  {n}< " + reply.replace("\n", "\n     ") for reply in ex.replies]
    return "\n".join(lines)


# --- the stack when none is running ---------------------------------------------------------------------------


def answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_stack(web_url: str, rasa_url: str, log_path: Path, timeout: float = 600) -> subprocess.Popen:
    """``python -m bot run`` in the background (the caller has migrated, seeded and trained as `make run` does),
    back when the web edge and Rasa answer."""
    log = log_path.open("wb")
    env = dict(os.environ)
    # No campaign reminders to the instrument's overdue accounts while it talks to them.
    env.setdefault("RECOBRA_CAMPAIGNS_SCHEDULED", "false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    while not (answers(web_url + "/healthz") and answers(rasa_url + "/")):
        if proc.poll() is not None:
            raise SystemExit(f"`python -m bot run` exited ({proc.returncode}); see {log_path}")
        if time.monotonic() > deadline:
            stop_stack(proc)
            raise SystemExit(f"the stack did not come up in {timeout:.0f} s; see {log_path}")
        time.sleep(1)
    return proc


def stop_stack(proc: subprocess.Popen) -> None:
    """The launcher forwards the signal to honcho, which stops every process it started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def select(conversations: Sequence[spec.Conversation], only: Sequence[str]) -> list[spec.Conversation]:
    """``only``: ids, categories, countries or file names (without .yml); nothing selects everything."""
    if not only:
        return list(conversations)
    keys = {o.lower() for o in only}
    return [
        c
        for c in conversations
        if {c.id.lower(), c.category.lower(), c.country.lower(), c.source.lower().removesuffix(".yml")} & keys
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="", help="the web edge (default: http://127.0.0.1:$PORT)")
    parser.add_argument("--start", action="store_true", help="start `python -m bot run` when nothing answers at --url")
    parser.add_argument("--concurrency", type=int, default=4, help="conversations at once (default 4)")
    parser.add_argument("--only", action="append", default=[], help="an id, category, country or file; repeatable")
    parser.add_argument("--threshold", type=float, default=0.0, help="exit 1 when the pass rate is below (0-1)")
    parser.add_argument("--json", type=Path, help="write every result (transcripts, problems) to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every conversation as it finishes")
    args = parser.parse_args(argv)

    from bot.platform.config import get_settings

    settings = get_settings()
    url = (args.url or f"http://127.0.0.1:{settings.web_port}").rstrip("/")
    conversations = select(spec.load(), args.only)
    if not conversations:
        print("no conversation matches --only", file=sys.stderr)
        return 2
    proc = None
    if not answers(url + "/healthz"):
        if not args.start:
            print(f"nothing answers at {url}: start `make run`, or pass --start", file=sys.stderr)
            return 2
        log_path = settings.var_dir / "dialogues-stack.log"
        print(f"starting the stack (python -m bot run; log in {log_path}) ...", flush=True)
        proc = start_stack(url, settings.rasa_url, log_path)
    try:
        stack = Stack(url, settings.public_base_url, settings.api_key, settings.twilio_auth_token)
        print(f"{len(conversations)} conversations against {url}, {args.concurrency} at a time", flush=True)
        started = time.monotonic()
        done = [0]

        def progress(r: Result) -> None:
            done[0] += 1
            if args.verbose:
                print(f"[{done[0]}/{len(conversations)}] {'pass' if r.passed else 'FAIL'} {r.convo.id}", flush=True)

        results = run_all(stack, conversations, args.concurrency, progress)
    finally:
        if proc is not None:
            stop_stack(proc)
    failures = [r for r in results if not r.passed]
    for r in failures:
        print(failure_report(r) + "\n")
    print(table(results))
    print(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "id": r.convo.id,
                        "category": r.convo.category,
                        "country": r.convo.country,
                        "passed": r.passed,
                        "problems": r.problems,
                        "today": r.today.isoformat() if r.today else None,
                        "turns": [{"said": ex.said, "replies": ex.replies} for ex in r.exchanges],
                    }
                    for r in results
                ],
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    rate = sum(r.passed for r in results) / len(results)
    return 1 if rate < args.threshold else 0


if __name__ == "__main__":
    sys.exit(main())
