"""Manager pages on N conversations (default 100,000): list, search, dashboard, A/B results and a transcript, each
timed as a whole HTTP page (Flask test client, signed-in manager) and as its queries alone; prints the query plans.

The A/B results are not on the dashboard's critical path: the dashboard page loads them afterwards from
``/manager/ab/fragment`` (and links to their own page, ``/manager/ab``); each is timed as a page of its own.

The dashboard reads the rollups (``bot.review.rollups``): they are refreshed first (a full refresh, then an incremental
one, both timed), and the dashboard is also timed computed live for comparison.

Goal (issue): every page under 300 ms on 100,000 conversations. The history comes from
``bot.demo.history.generate`` (bulk Core inserts: ~7 messages, reasons, promises, payments, hand-offs, A/B
contact attempts per conversation over 60 days). Run: .venv/bin/python bench/manager_bench.py [conversations]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if any(a in ("-h", "--help") for a in sys.argv[1:]):
    print(__doc__)
    raise SystemExit(0)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEAT = 5
BUDGET_MS = 300
REUSE = os.environ.get("MANAGER_BENCH_DB")  # an already populated bench.db (skips generating the history)
tmp = Path(REUSE).parent if REUSE else Path(tempfile.mkdtemp(prefix="recobra-manager-bench-"))
os.environ["RECOBRA_VAR_DIR"] = str(tmp)
os.environ["DATABASE_URL"] = f"sqlite:///{REUSE or tmp / 'bench.db'}"
os.environ.setdefault("SECRET_KEY", "bench-secret")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.demo import history  # noqa: E402
from bot.review import dashboard, filters, rollups, transcripts  # noqa: E402
from bot.staff import users  # noqa: E402
from bot.store import session_scope  # noqa: E402
from bot.store.db import get_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402


def timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    """(median, worst) milliseconds of ``repeat`` runs after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs), max(runs)


def plan(conn, stmt) -> str:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return "\n".join(f"    {'  ' * (r[1] and 1)}{r[3]}" for r in rows)


def traced(conn, fn) -> list[tuple[float, str, object]]:
    """Every statement ``fn`` runs on ``conn``'s engine: (ms, SQL, parameters), slowest first."""
    from sqlalchemy import event

    seen: list[tuple[float, str, object]] = []
    started: list[float] = []

    def before(*_a) -> None:
        started.append(time.perf_counter())

    def after(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append(((time.perf_counter() - started.pop()) * 1000, statement, parameters))

    engine = conn.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return sorted(seen, key=lambda x: -x[0])


def plans_of(conn, fn, top: int = 3) -> str:
    """The query plans of the ``top`` slowest statements ``fn`` runs, each with its time. (SQLite computes much of
    a query while its rows are fetched, after ``execute`` returns: each statement is run again, every row read.)"""
    out = []
    timings = []
    for _ms, statement, parameters in traced(conn, fn):
        t = time.perf_counter()
        conn.exec_driver_sql(statement, parameters).all()
        timings.append(((time.perf_counter() - t) * 1000, statement, parameters))
    for ms, statement, parameters in sorted(timings, key=lambda x: -x[0])[:top]:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        first = " ".join(statement.split())[:100]
        out.append(f"  {ms:6.1f} ms  {first} ...\n" + "\n".join(f"    {'  ' * (r[1] and 1)}{r[3]}" for r in rows))
    return "\n".join(out)


def main() -> None:
    import logging

    logging.getLogger("bot.web.auth").setLevel(logging.CRITICAL)  # no Redis here: the login limit is skipped
    url = os.environ["DATABASE_URL"]
    upgrade(url)
    t = time.perf_counter()
    with session_scope(url) as s:
        users.create_or_update(s, "gerente", "manager", "clave-del-gerente-1", name="Gerente")
        users.create_or_update(s, "agente", "agent", "clave-del-agente-1", name="Agente")
    if not REUSE:
        with session_scope(url) as s:
            written = history.generate(s, n=N, batch=5000)
        print(
            f"populated {N:,} conversations in {time.perf_counter() - t:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in written.items())
        )
    with get_engine(url).begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        print(
            f"database: {url}; conversations {conn.exec_driver_sql('SELECT count(*) FROM conversations').scalar():,}"
            f", messages {conn.exec_driver_sql('SELECT count(*) FROM messages').scalar():,}"
        )

    t = time.perf_counter()
    with session_scope(url) as s:
        full = rollups.refresh(s, full=True)
    print(f"rollups: full refresh {time.perf_counter() - t:.1f} s ({full.total_rows:,} rows)", end="")
    time.sleep(1)
    t = time.perf_counter()
    with session_scope(url) as s:
        again = rollups.refresh(s)
    print(
        f"; incremental refresh {(time.perf_counter() - t) * 1000:.0f} ms ({again.conversations} conversations"
        " changed or dated after the refresh, computed live by the dashboard)"
    )

    from bot.web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": url, "WTF_CSRF_ENABLED": True, "MANAGER_CACHE_SECONDS": 0})
    client = app.test_client()
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").get_data(as_text=True))
    login = client.post(
        "/console/login", data={"username": "gerente", "password": "clave-del-gerente-1", "csrf_token": token.group(1)}
    )
    assert login.status_code == 302, login.get_data(as_text=True)[:2000]
    with session_scope(url) as s:
        conv_id = s.execute(text("SELECT id FROM conversations ORDER BY last_message_at DESC LIMIT 1")).scalar()

    pages = {
        "dashboard, last 30 days": "/manager/",
        "dashboard, Mexico, 60 days": "/manager/?country=MX&from={d60}",
        "A/B fragment (dashboard), 30 days": "/manager/ab/fragment",
        "A/B fragment, Mexico, 60 days": "/manager/ab/fragment?country=MX&from={d60}",
        "A/B page, last 30 days": "/manager/ab",
        "A/B page, Mexico, 60 days": "/manager/ab?country=MX&from={d60}",
        "list, page 1": "/manager/conversations",
        "list, page 40": "/manager/conversations?page=40",
        "list, broken promises in MX": "/manager/conversations?country=MX&outcome=promise_broken",
        "list, reason job_loss + whatsapp": "/manager/conversations?reason=job_loss&channel=whatsapp",
        "search 'cuanto debo'": "/manager/conversations?q=cuanto+debo",
        "search 'trabajo', 60 days": "/manager/conversations?q=trabajo&from={d60}",
        "transcript": f"/manager/conversations/{conv_id}",
    }
    from datetime import date, timedelta

    d60 = (date.today() - timedelta(days=59)).isoformat()
    print(
        f"\npages (HTTP through the test client, dashboard cache off, median / worst of {REPEAT}, "
        f"budget {BUDGET_MS} ms):"
    )
    slow = []
    for label, path in pages.items():
        path = path.format(d60=d60)

        def get(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        med, worst = timed(get)
        flag = "" if worst < BUDGET_MS else "  <-- over budget"
        if worst >= BUDGET_MS:
            slow.append(label)
        print(f"  {label:38s} {med:7.1f} ms  {worst:7.1f} ms{flag}")

    cached = create_app({"TESTING": True, "DATABASE_URL": url, "MANAGER_CACHE_SECONDS": 60}).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', cached.get("/console/login").get_data(as_text=True))
    cached.post(
        "/console/login", data={"username": "gerente", "password": "clave-del-gerente-1", "csrf_token": token.group(1)}
    )
    med, worst = timed(lambda: cached.get("/manager/"))
    print(f"  {'dashboard, last 30 days, cached (60 s)':38s} {med:7.1f} ms  {worst:7.1f} ms")

    f = filters.Filters.from_args({})
    mx = filters.Filters.from_args({"country": "MX", "from": d60})
    with session_scope(url) as s:
        print("\nqueries alone (median ms):")
        print(f"  count (30 days)           {timed(lambda: transcripts.count(s, f))[0]:7.1f}")
        print(f"  list page (30 days)       {timed(lambda: transcripts.conversations(s, f))[0]:7.1f}")
        for label, flt in (("30 days", f), ("MX, 60 days", mx)):
            page = timed(lambda flt=flt: dashboard.dashboard(s, flt, ab=False))[0]
            live = timed(lambda flt=flt: dashboard.dashboard(s, flt, rollup=False, ab=False), 3)[0]
            print(f"  dashboard ({label:12s})  {page:7.1f}   live: {live:7.1f}")
            page = timed(lambda flt=flt: dashboard.ab_table(s, flt))[0]
            live = timed(lambda flt=flt: dashboard.ab_table(s, flt, rollup=False), 3)[0]
            print(f"  A/B table ({label:12s})  {page:7.1f}   live: {live:7.1f}")
        d = dashboard.dashboard(s, mx)
        live = dashboard.dashboard(s, mx, rollup=False)
        same = all(
            getattr(d, k) == getattr(live, k)
            for k in ("conversations", "debtors", "counts", "recovered", "reasons", "failures", "ab")
        )
        same = same and dashboard.ab_table(s, mx) == live.ab
        print(
            f"  rollup figures == live figures (MX, 60 days, A/B page included): {same}; source {d.source}, "
            f"{d.live_conversations} conversations computed live"
        )
        print(
            f"\nMexico, last 60 days: {d.conversations:,} conversations; promises {d.counts['promise']:,}, kept "
            f"{d.counts['promise_kept']:,} ({d.pct('promise_kept', 'promise') or 0:.1f} %); reasons: "
            + ", ".join(f"{r} {n:,}" for r, n in d.reasons[:4])
        )

        from sqlalchemy import func, select

        conn = s.connection()
        where = filters.conditions(s, f)
        list_q = (
            select(filters.C.c.id)
            .select_from(filters.conversations_from())
            .where(*where)
            .order_by(filters.C.c.last_message_at.desc(), filters.C.c.id.desc())
            .limit(50)
        )
        print("\nEXPLAIN QUERY PLAN — list page:\n" + plan(conn, list_q))
        print(
            "\nEXPLAIN QUERY PLAN — list count:\n"
            + plan(conn, select(func.count()).select_from(filters.conversations_from()).where(*where))
        )
        start, end = f.bounds
        from sqlalchemy import case

        cols = [
            func.count(),
            func.count(filters.C.c.debtor_id),
            func.sum(case((filters.replied_clause(start, end), 1), else_=0)),
        ]
        print(
            "\nEXPLAIN QUERY PLAN — dashboard totals (conversations, debtors, replied):\n"
            + plan(conn, select(*cols).select_from(filters.conversations_from(f)).where(*where))
        )
        state = rollups.get_state(s)
        metrics = [m for m in state.metrics if not m.startswith("sent:")]
        print(
            "\nEXPLAIN QUERY PLAN — dashboard figures from the rollup (every outcome, reason, failure, currency):\n"
            + plan(conn, rollups.query([rollups.R.c.metric.in_(metrics), *rollups.segment(f)], start))
        )
        print(
            "\nEXPLAIN QUERY PLAN — the same for the conversations changed since the refresh (subtracted):\n"
            + plan(
                conn,
                rollups.query(
                    [rollups.R.c.conversation_id.in_([1, 2, 3]), rollups.R.c.metric.in_(metrics), *rollups.segment(f)],
                    start,
                ),
            )
        )
        print(
            "\nEXPLAIN QUERY PLAN — dashboard, one outcome live (the fallback: promises kept):\n"
            + plan(
                conn,
                select(func.count(filters.C.c.id))
                .select_from(filters.conversations_from(f))
                .where(*where, filters.outcome_clause("promise_kept", start, end)),
            )
        )
        print(
            "\nEXPLAIN QUERY PLAN — A/B table (its own page), the 3 slowest of its queries:\n"
            + plans_of(conn, lambda: dashboard.ab_table(s, f))
        )
        print(
            "\nEXPLAIN QUERY PLAN — dashboard page's figures (A/B left out), the 3 slowest of its queries:\n"
            + plans_of(conn, lambda: dashboard.dashboard(s, f, ab=False))
        )
        search_where = filters.conditions(s, filters.Filters.from_args({"q": "cuanto debo"}))
        print(
            "\nEXPLAIN QUERY PLAN — search:\n"
            + plan(
                conn, select(filters.C.c.id).select_from(filters.conversations_from()).where(*search_where).limit(50)
            )
        )
    print("\nall pages within budget" if not slow else f"\nover budget: {', '.join(slow)}")


if __name__ == "__main__":
    main()
