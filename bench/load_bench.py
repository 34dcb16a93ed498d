"""Sustained load through the whole product as `make run` starts it: signed Twilio webhooks at a fixed offered
rate, each simulated debtor writing every 3 s whether or not it has been answered yet (as people do).

    .venv/bin/python bench/load_bench.py                       # 4, 8, 12, 20 msg/s: the peer, then the shipped model
    .venv/bin/python bench/load_bench.py --rates 20 --seconds 60 --no-peer

The peer (left out with ``--no-peer``) is the pipeline and policies main shipped before issue #26
(bench/baseline/config.yml: DIET and TED in the blend) on today's data, trained once into
models/bench-baseline/ (again only when its inputs change), served by Rasa without channels/rasa_speedups.py.

The stack is the one `make run` starts (the launcher's own Procfile through honcho: one Rasa server, one
action server, gunicorn with 2 workers × 8 threads, one worker process), on a database, Redis and var folder
of its own, so it never touches the demo. Each debtor's conversation cycles through a greeting, the last 4
document digits, the balance, a reason, a promise and a thank-you. A first debtor, alone, measures how many
replies each turn gets; under load, turn k of a debtor is answered when that debtor's sandbox outbox holds
the replies of its earlier turns plus one.

Prints, for every offered rate: the webhook acknowledgement (Twilio gets its TwiML) p50/p95, webhook → first
reply p50/p95/p99, how many messages were answered, and the CPU each process kind used per message with its
resident memory at the end. Why: the issue (#26) sizes machines from these four figures, and a figure is only
comparable when the run shape is the same.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from edge_bench import free_port, pct, post_signed, seed_debtors, wait_http  # noqa: E402

TOKEN = "bench-twilio-token"
LAST4 = "4321"
SCRIPT = ["hola buenas tardes", LAST4, "cuánto debo?", "me quedé sin trabajo", "le pago el viernes", "gracias"]
PERIOD_S = 3.0
BASE_ENV = dict(os.environ)
KINDS = ("rasa", "actions", "web", "worker", "haproxy")  # the processes a debtor's turn costs CPU in (Redis aside)
ROLES = (("rasa_server", "rasa"), ("actions.server", "actions"), ("gunicorn", "web"), (" web ", "web"))


def role_of(cmdline: list[str]) -> str | None:
    line = " ".join(cmdline) + " "
    for needle, role in ROLES:
        if needle in line:
            return role
    if "bot worker" in line:
        return "worker"
    if "redis-server" in line:
        return "redis"
    if "haproxy" in line:
        return "haproxy"
    return None


def usage(root_pid: int) -> tuple[Counter, Counter]:
    """CPU seconds and resident MB by process kind, for the launcher's whole process tree."""
    import psutil

    cpu: Counter = Counter()
    rss: Counter = Counter()
    try:
        tree = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return cpu, rss
    for p in tree:
        try:
            role = role_of(p.cmdline())
            if role is None:
                continue
            t = p.cpu_times()
            cpu[role] += t.user + t.system
            rss[role] += p.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return cpu, rss


class Stack:
    """`make run`'s Procfile on a private var folder, database, Redis and free ports."""

    def __init__(self, model: Path, speedups: bool = True, postgres: str = "") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="recobra-load-bench-"))
        self.redis_port, self.web_port = free_port(), free_port()
        rasa_port, actions_port = free_port(), free_port()
        self.env = dict(BASE_ENV)  # not os.environ: an earlier stack of this run changed it
        self.env.update(
            {
                "RECOBRA_VAR_DIR": str(self.tmp),
                "DATABASE_URL": f"sqlite:///{self.tmp}/recobra.db",
                "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "TWILIO_AUTH_TOKEN": TOKEN,
                "MESSAGING_PROVIDER": "sandbox",
                "PORT": str(self.web_port),
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.web_port}",
                "RASA_URL": f"http://127.0.0.1:{rasa_port}",
                "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
                "RECOBRA_CAMPAIGNS_SCHEDULED": "false",
                "RECOBRA_MODEL_DIR": str(model),
                "RECOBRA_RASA_SPEEDUPS": "true" if speedups else "false",
                # the peer is main before #26: one Rasa process (SANIC_WORKERS may give ours more)
                "SANIC_WORKERS": BASE_ENV.get("SANIC_WORKERS", "1") if speedups else "1",
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
        )
        self.procs: list[subprocess.Popen] = []
        self.launcher: subprocess.Popen | None = None
        self.server_url, self.database = postgres, ""
        if postgres:  # `make run-scaled`'s shape on a fresh database of that server, backends on free ports
            self.database = f"recobra_load_{os.getpid()}"
            self.env["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + "/" + self.database
            for variable in ("RECOBRA_WEB_BACKEND_PORTS", "RECOBRA_RASA_BACKEND_PORTS", "RECOBRA_ACTION_BACKEND_PORTS"):
                self.env[variable] = f"{free_port()},{free_port()}"

    def start(self, debtors: int) -> None:
        from bot.platform.launcher import redis_server_binary

        log = open(self.tmp / "redis.log", "wb")
        self.procs.append(
            subprocess.Popen(
                [redis_server_binary(), "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        os.environ.update(self.env)
        py = sys.executable
        if self.database:
            self._database("CREATE")
        subprocess.run([py, "-m", "bot", "migrate"], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)
        self._seed(debtors)
        log = open(self.tmp / "launcher.log", "wb")
        self.launcher = subprocess.Popen(
            [py, "-m", "bot", *(["run-scaled", "--demo-history", "0"] if self.database else ["run"])],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_http(f"http://127.0.0.1:{self.web_port}/healthz", timeout=120)
        wait_http(f"{self.env['RASA_URL']}/", timeout=600)
        time.sleep(3)  # the worker's consumers start

    def _seed(self, n: int) -> None:
        from bot.platform.config import reset_settings

        reset_settings()
        seed_debtors("LOAD", [phone(i) for i in range(n)], "2026-11-01", LAST4, self.env["DATABASE_URL"])

    def _database(self, verb: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f"{verb} DATABASE {self.database}"))
        engine.dispose()

    def stop(self) -> None:
        if self.launcher and self.launcher.poll() is None:
            self.launcher.terminate()
            try:
                self.launcher.wait(30)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
        for p in self.procs:
            p.terminate()
            p.wait(10)
        if self.database:
            from bot.store.db import get_engine

            get_engine(self.env["DATABASE_URL"]).dispose()
            try:
                self._database("DROP")
            except Exception as exc:  # a figure printed is worth more than a tidy server
                print(f"   (database {self.database} left behind: {exc})")
        shutil.rmtree(self.tmp, ignore_errors=True)


def phone(i: int) -> str:
    return f"+5730055{i:05d}"


class Load:
    """Posts signed webhooks and watches every debtor's outbox from one thread (cheap for the machine)."""

    def __init__(self, stack: Stack) -> None:
        import requests
        from twilio.request_validator import RequestValidator

        from bot.platform.redis_client import get_redis

        self.redis = get_redis(stack.env["REDIS_URL"])  # this stack's Redis, not one cached before it
        self.url = f"http://127.0.0.1:{stack.web_port}/webhooks/twilio/messages"
        self.validator = RequestValidator(TOKEN)
        self.local = threading.local()
        self.requests = requests

    def outbox(self, number: str) -> int:
        from bot.providers.sandbox_messaging import OUTBOX_TO

        return int(self.redis.llen(OUTBOX_TO + number))

    def post(self, number: str, text: str) -> tuple[float, bool]:
        s = getattr(self.local, "session", None) or self.requests.Session()
        self.local.session = s
        t0 = time.perf_counter()
        r = post_signed(s, self.url, self.validator, number, text)
        return time.perf_counter() - t0, r.status_code == 200

    def replies_per_turn(self, number: str, turns: int) -> tuple[list[int], list[float]]:
        """One debtor alone, each turn waited out until its outbox is quiet for a second: the replies each turn
        gets, and how long the first one took (an idle machine's turn)."""
        counts, firsts = [], []
        for k in range(turns):
            before = self.outbox(number)
            started = time.monotonic()
            self.post(number, SCRIPT[k % len(SCRIPT)])
            deadline, last, quiet_since = started + 60, before, started
            first = None
            while time.monotonic() < deadline:
                now = self.outbox(number)
                if now != last:
                    last, quiet_since = now, time.monotonic()
                    first = first or quiet_since - started
                if now > before and time.monotonic() - quiet_since > 1.0:
                    break
                time.sleep(0.005)
            counts.append(last - before)
            firsts.append(first or float("nan"))
        return counts, firsts

    def run(self, numbers: list[str], turns: int, expected: list[int]) -> dict:
        from bot.providers.sandbox_messaging import OUTBOX_TO

        sent_at: dict[tuple[str, int], float] = {}
        answered_at: dict[tuple[str, int], float] = {}
        base = {n: self.outbox(n) for n in numbers}
        want = [sum(expected[:k]) + 1 for k in range(turns)]  # outbox size once turn k has its first reply
        acks: list[float] = []
        failures: list[str] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                pipe = self.redis.pipeline(transaction=False)
                for n in numbers:
                    pipe.llen(OUTBOX_TO + n)
                now = time.perf_counter()
                for n, size in zip(numbers, pipe.execute(), strict=True):
                    for k in range(turns):
                        if (n, k) in sent_at and (n, k) not in answered_at and size - base[n] >= want[k]:
                            answered_at[(n, k)] = now
                time.sleep(0.01)

        def send(n: str, k: int) -> None:
            sent_at[(n, k)] = time.perf_counter()
            try:
                ack, ok = self.post(n, SCRIPT[k % len(SCRIPT)])
                acks.append(ack)
                if not ok:
                    failures.append(f"{n} turn {k}: refused")
            except Exception as exc:  # a timeout is a figure, not a crash of the bench
                failures.append(f"{n} turn {k}: {exc}")

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            # debtor i writes at i·PERIOD/len + k·PERIOD: the offered rate is len(numbers)/PERIOD, evenly spread
            schedule = sorted(
                (i * PERIOD_S / len(numbers) + k * PERIOD_S, n, k) for i, n in enumerate(numbers) for k in range(turns)
            )
            for at, n, k in schedule:
                delay = start + at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, n, k)
        deadline = time.perf_counter() + 60
        while len(answered_at) < len(sent_at) and time.perf_counter() < deadline:
            time.sleep(0.1)
        done.set()
        time.sleep(1)
        # a debtor whose replies differ in number from the lone debtor's would make the figures wrong: say so
        mismatched = [n for n in numbers if self.outbox(n) - base[n] != sum(expected)]
        latencies = sorted(answered_at[key] - sent_at[key] for key in answered_at)
        return {
            "acks": sorted(acks),
            "latencies": latencies,
            "answered": len(answered_at),
            "offered": len(sent_at),
            "failures": failures,
            "mismatched": mismatched,
        }


def train_peer() -> Path:
    """The baseline pipeline on today's data, trained only when its inputs changed (a fingerprint beside it)."""
    import hashlib

    out = ROOT / "models" / "bench-baseline"
    config = ROOT / "bench" / "baseline" / "config.yml"
    inputs = sorted(
        p for d in ("data", "domain", "components") for p in (ROOT / d).rglob("*") if p.suffix in (".yml", ".py")
    )
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in [config, *inputs])).hexdigest()
    stamp = out / ".fingerprint"
    if (out / "recobra.tar.gz").exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return out
    print("training the peer (bench/baseline/config.yml) into models/bench-baseline/ ...", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    from bot.platform.config import get_settings

    rasa = [get_settings().rasa_python, "-m", "rasa"]  # the Rasa runtime
    subprocess.run(
        [*rasa, "train", "--domain", "domain", "--data", "data", "--config", str(config), "--out", str(out),
         "--fixed-model-name", "recobra", "--quiet", "--skip-validation", "--augmentation", "0"],
        cwd=ROOT, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    stamp.write_text(digest + "\n")
    return out


def measure(
    name: str, model: Path, speedups: bool, rates: list[float], seconds: float, postgres: str = ""
) -> tuple[dict[float, float], set[float]]:
    """One stack, every rate in turn; returns the CPU ms per message (all four process kinds) by rate, and the
    rates it carried (every message answered, reply p95 under 1 s)."""
    turns = max(1, round(seconds / PERIOD_S))
    counts = [round(r * PERIOD_S) for r in rates]
    stack = Stack(model, speedups, postgres)
    totals: dict[float, float] = {}
    carried: set[float] = set()
    try:
        stack.start(1 + sum(counts))
        load = Load(stack)
        expected, idle = load.replies_per_turn(phone(0), turns)
        shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
        print(
            f"\n{name}: `make run`'s processes, model {shown}/, Rasa speedups {'on' if speedups else 'off'}; "
            f"each debtor writes every {PERIOD_S:.0f} s for "
            f"{turns * PERIOD_S:.0f} s; replies per turn {expected}; one debtor alone: first reply p50 "
            f"{pct(sorted(idle), 50):.2f} s, slowest {max(idle):.2f} s"
        )
        print(
            f"{'offered':>10} {'debtors':>8} {'ack p50/p95 ms':>16} {'reply p50/p95/p99 s':>23} {'answered':>10}   "
            "CPU ms per message by process (resident MB at the end)"
        )
        first = 1
        for rate, n in zip(rates, counts, strict=True):
            numbers = [phone(i) for i in range(first, first + n)]
            first += n
            cpu0, _ = usage(stack.launcher.pid)
            result = load.run(numbers, turns, expected)
            cpu1, rss = usage(stack.launcher.pid)
            used = cpu1 - cpu0
            m = max(1, result["offered"])
            lat, acks = result["latencies"], result["acks"]
            totals[rate] = sum(used[r] for r in KINDS) * 1000 / m
            if lat and result["answered"] == result["offered"] and pct(lat, 95) < 1.0:
                carried.add(rate)
            print(
                f"{rate:>6.0f}/s {n:>8} {pct(acks, 50) * 1000:>7.0f} /{pct(acks, 95) * 1000:>5.0f} "
                f"{pct(lat, 50) if lat else float('nan'):>8.2f} /{pct(lat, 95) if lat else float('nan'):>6.2f} "
                f"/{pct(lat, 99) if lat else float('nan'):>6.2f} "
                f"{result['answered']:>5}/{result['offered']:<4}   "
                + "  ".join(f"{r} {used[r] * 1000 / m:.0f} ({rss[r]:.0f})" for r in KINDS)
                + f"  total {totals[rate]:.0f}",
                flush=True,
            )
            if result["mismatched"]:
                print(f"   !! {len(result['mismatched'])} debtors got another number of replies than the lone one")
            if result["failures"]:
                print(f"   !! {len(result['failures'])} failures: {result['failures'][:3]}")
            time.sleep(3)
    finally:
        stack.stop()
    return totals, carried


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="4,8,12,20", help="offered messages a second, comma separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each rate is offered")
    parser.add_argument("--model", default=str(ROOT / "models"), help="a folder holding one trained model")
    parser.add_argument(
        "--no-peer", dest="peer", action="store_false", help="skip main before #26 (bench/baseline/), the peer"
    )
    parser.add_argument(
        "--scaled",
        metavar="POSTGRES_URL",
        default="",
        help="also measure `make run-scaled`'s shape on a fresh database of this PostgreSQL server "
        "(e.g. the URL scripts/postgres.sh prints)",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    model = Path(args.model).resolve()
    if not any(model.glob("*.tar.gz")):
        raise SystemExit(f"no trained model in {model}: run `make model` first")
    peer, peer_carried = (
        measure("peer (main before #26)", train_peer(), False, rates, args.seconds) if args.peer else ({}, set())
    )
    ours, carried = measure("Recobra", model, True, rates, args.seconds)
    if args.scaled:
        _, scaled = measure("Recobra, make run-scaled's shape", model, True, rates, args.seconds, args.scaled)
        print(f"make run-scaled carried {', '.join(f'{r:.0f}' for r in sorted(scaled)) or 'none'} messages a second")
    print(
        f"\nRecobra carried {', '.join(f'{r:.0f}' for r in sorted(carried)) or 'none'} messages a second "
        "(all answered, p95 under 1 s)"
        + (f"; the peer {', '.join(f'{r:.0f}' for r in sorted(peer_carried)) or 'none'}" if peer else "")
    )
    if peer:
        print(
            "CPU per message, Recobra / peer at the same offered rate: "
            + ", ".join(f"{r:.0f}/s {ours[r] / peer[r]:.2f}" for r in rates if peer.get(r) and r in ours)
        )
        if peer_carried:
            # a saturated peer's CPU per message falls (its idle threads stop spinning, its backlog is not yet
            # served): its cost per turn is what it spends while it keeps up
            cost = statistics.mean(peer[r] for r in peer_carried)
            print(
                f"CPU per message, Recobra / the peer's cost per turn while it keeps up ({cost:.0f} ms): "
                + ", ".join(f"{r:.0f}/s {ours[r] / cost:.2f}" for r in rates if r in ours)
                + "   (issue #26's target: at most 0.25)"
            )


if __name__ == "__main__":
    main()
