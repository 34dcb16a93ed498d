"""``python -m bot``: the command line (set-up, import, users, processes)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def cli() -> None:
    """Recobra: a WhatsApp/SMS collections assistant."""


def _utc_datetime(value: str | None, option: str):
    """An ISO 8601 option as an aware datetime (UTC when it names no zone), or None when not given."""
    from datetime import datetime, timezone

    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time", param_hint=option) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _refuse_unsafe() -> None:
    """Stop with one line per offending setting (bot/platform/preflight.py) before anything starts."""
    from bot.platform import preflight
    from bot.platform.config import get_settings

    found = preflight.problems(get_settings())
    if found:
        for line in found:
            click.echo(f"refused: {line}", err=True)
        click.echo(f"Recobra did not start ({len(found)} unsafe setting{'s' if len(found) > 1 else ''}).", err=True)
        sys.exit(2)


@cli.command()
def preflight() -> None:
    """Check the settings for an unsafe set-up (exit 2 and one line per problem), as `run` does first."""
    from bot.platform.config import get_settings

    _refuse_unsafe()
    click.echo(f"settings are safe to start ({get_settings().env} mode)")


@cli.command("init-secrets")
def init_secrets() -> None:
    """Create var/secrets.env with the generated secrets that the environment does not set."""
    from bot.platform.config import SECRETS_FILE, ensure_secrets

    ensure_secrets()
    click.echo(f"secrets in {SECRETS_FILE}")


@cli.command()
def migrate() -> None:
    """Bring the billing store's schema up to date (Alembic)."""
    from bot.platform.config import get_settings
    from bot.store.migrate import upgrade

    upgrade()
    click.echo(f"store migrated: {_safe_url(get_settings().database_url)}")


@cli.command("seed-demo")
@click.option(
    "--history",
    default=3000,
    show_default=True,
    help="Past conversations to generate for the manager dashboard (0: none).",
)
def seed_demo(history: int) -> None:
    """Seed the demo portfolio, demo users and a past history (only what is missing).

    Only in demo mode with both providers sandbox: demo people must never meet a real provider. Demo users
    are created when missing and never reset or re-activated (an admin's changes stay)."""
    from bot.demo import history as past
    from bot.demo import seed
    from bot.platform.config import get_settings
    from bot.store import session_scope

    settings = get_settings()
    if not settings.demo:
        click.echo(
            f"no demo data seeded ({settings.env} mode, messaging {settings.messaging_provider}, "
            f"payments {settings.payments_provider}: demo data needs demo mode with both providers sandbox)"
        )
        return
    password = _demo_password()
    with session_scope() as session:
        created = seed.seed(session)
        seed.seed_users(session, password)
    click.echo(f"demo portfolio: {created} debtors added")
    if history:
        with session_scope() as session:
            written = past.generate(session, n=history)
        if written:
            click.echo(f"demo history: {written.get('conversations', 0)} past conversations added")


def _demo_password() -> str:
    from bot.platform.config import ensure_secrets

    return ensure_secrets()["DEMO_PASSWORD"]


@cli.command("import-portfolio")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rejected rows (row, field, reason) to this CSV file.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_portfolio(file: Path, report_path: Path | None, quiet: bool) -> None:
    """Import debtors and invoices from a CSV file (columns in the README)."""
    from tqdm import tqdm

    from bot.billing import portfolio
    from bot.store import session_scope

    header, rows = portfolio.read_csv(file)
    missing = [c for c in portfolio.REQUIRED if c not in header]
    if missing:
        raise click.ClickException(f"missing columns: {', '.join(missing)} (expected {', '.join(portfolio.COLUMNS)})")
    total = max(sum(1 for _ in file.open(encoding="utf-8-sig")) - 1, 0)
    with tqdm(total=total, unit="row", disable=quiet, file=sys.stderr) as bar, session_scope() as session:
        report = portfolio.import_rows(session, rows, progress=bar.update)
    click.echo(
        f"{report.rows} rows: {report.imported} imported, {len(report.rejected)} rejected; "
        f"debtors: {report.debtors_created} new, {report.debtors_updated} updated"
    )
    for r in report.rejected[:50]:
        click.echo(f"  row {r.row}: {r.field}: {r.message}")
    if len(report.rejected) > 50:
        click.echo(f"  ... and {len(report.rejected) - 50} more")
    if report_path:
        portfolio.write_rejections(report, report_path)
        click.echo(f"rejected rows written to {report_path}")


@cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "manager", "admin"]), required=True)
@click.option("--name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(username: str, role: str, name: str, password: str) -> None:
    """Create a console/dashboard user, or reset an existing one's role and password."""
    from bot.staff import users
    from bot.store import session_scope

    try:
        with session_scope() as session:
            user = users.create_or_update(session, username, role, password, name=name)
            click.echo(f"user {user.username} ({user.role}) saved")
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option(
    "--health-port",
    type=int,
    default=None,
    help="Port of /healthz, /readyz and /metrics (default RECOBRA_WORKER_HEALTH_PORT, 8010; 0: any free one).",
)
@click.option("--health-host", default=None, help="Its address (default RECOBRA_WORKER_HEALTH_HOST, 127.0.0.1).")
def worker(health_port: int | None, health_host: str | None) -> None:
    """Run the worker: queue consumers and the scheduler, with its health and metrics server."""
    from bot.worker.health import PortTaken
    from bot.worker.main import run

    _refuse_unsafe()
    try:
        run(health_host=health_host, health_port=health_port)
    except PortTaken as exc:
        raise click.ClickException(
            f"the worker's health server could not listen ({exc}): give each worker its own "
            "RECOBRA_WORKER_HEALTH_PORT (or --health-port)"
        ) from exc


@cli.command()
@click.option("--port", type=int, default=None)
@click.option("--host", default=None, help="Address to bind (default RECOBRA_WEB_HOST, 127.0.0.1).")
@click.option("--workers", type=int, default=2)
def web(port: int | None, host: str | None, workers: int) -> None:
    """Run the web edge with gunicorn: on loopback unless told otherwise (a proxy is the public face); its
    access log leaves bearer codes out (bot/web/access_log.py)."""
    import os

    from bot.platform.config import get_settings

    _refuse_unsafe()
    port = port or get_settings().web_port
    host = host or get_settings().web_host
    # gunicorn's processes add up their metrics in a folder of this edge's own, emptied at each start
    # (bot/platform/metrics.py): in gunicorn's environment from its start, since prometheus-client reads it at import.
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(_fresh_metrics_dir(port))}
    os.execvpe(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            "8",
            "--bind",
            f"{_bind_address(host)}:{port}",
            "--access-logfile",
            "-",
            "--logger-class",
            "bot.web.access_log.RedactingLogger",
            "--graceful-timeout",
            "5",
            "--config",
            "python:bot.web.gunicorn_conf",
            "bot.web.wsgi:app",
        ],
        environment,
    )


def _fresh_metrics_dir(port: int) -> Path:
    """var/prometheus/web-PORT, private and empty: values left by a previous run would be added to this one's."""
    import shutil

    from bot.platform.config import ensure_private_dir, get_settings

    folder = get_settings().var_dir / "prometheus" / f"web-{port}"
    shutil.rmtree(folder, ignore_errors=True)
    ensure_private_dir(folder.parent)
    return ensure_private_dir(folder)


def _bind_address(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@cli.group()
def campaign() -> None:
    """Dunning campaigns (config/campaigns.yml)."""


@campaign.command("run")
@click.option("--dry-run", is_flag=True, help="Plan and report; record and queue nothing.")
@click.option(
    "--at",
    "at",
    default=None,
    help="Plan as if the clock said this (ISO 8601; UTC unless an offset). Only with --dry-run.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision (JSON Lines), no table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def campaign_run(dry_run: bool, at: str | None, as_json: bool, quiet: bool) -> None:
    """Find what is due, check suppression and the contact policy, and queue the sends (or defer them).

    Prints one line per decision: queued (the worker sends it), deferred until when (in the debtor's zone),
    suppressed and why. ``--at`` is a planning tool and needs ``--dry-run`` (else exit 2): a real send is
    re-checked and sent by the worker at the real clock, so a plan made at a pretend time would queue the
    stages of another day (a D0 eleven days early). Refusing is simpler and safer than carrying the pretend
    moment to the worker and teaching it to refuse."""

    import json

    from tqdm import tqdm

    from bot.outreach import campaigns
    from bot.store import session_scope

    if at is not None and not dry_run:
        raise click.UsageError(
            "--at plans at a pretend time and queues nothing real: use it with --dry-run "
            "(real sends are planned and sent at the real clock)"
        )
    when = _utc_datetime(at, "--at")
    enqueue = None if dry_run else campaigns.enqueue_send
    with session_scope() as session:
        the_plan = campaigns.plan(session, at=when)
        with tqdm(total=len(the_plan.items), unit="contact", disable=quiet, file=sys.stderr) as bar:
            report = campaigns.execute(session, the_plan, dry_run=dry_run, enqueue=enqueue, progress=bar.update)
    if as_json:
        for decision in report.decisions:
            click.echo(json.dumps(decision.as_json(), ensure_ascii=False))
        return
    if dry_run:
        title = "campaign run (dry run: nothing recorded, nothing queued)"
    else:
        title = "campaign run (queued contacts are sent by the worker, which checks them again first)"
    click.echo(f"{title} at {the_plan.at.isoformat()}")
    for line in report.table():
        click.echo(line)


@campaign.command("report")
@click.option("--days", default=30, show_default=True, help="The period: the last N days.")
def campaign_report(days: int) -> None:
    """A/B results per campaign and variant: reached, replied, promised, paid, amount, and whether a
    difference is evidence (two-proportion z-test, 95 % Wilson intervals) or noise."""
    from datetime import date, timedelta

    from bot.review.ab import ab_results
    from bot.review.filters import Filters
    from bot.store import session_scope

    today = date.today()
    f = Filters.from_args({"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()})
    with session_scope() as session:
        results = ab_results(session, f)
    if not results:
        click.echo(f"no A/B variants reached anyone in the last {days} days")
        return

    def rate(v: dict, name: str) -> str:
        ci = v.get(f"{name}_ci")
        share = v[name] / v["reached"] if v["reached"] else 0
        return f"{v[name]:>5} {share:6.1%}" + (f" [{ci[0]:.0%}-{ci[1]:.0%}]" if ci else "")

    for result in results:
        click.echo(f"campaign {result['campaign']}")
        click.echo(f"  {'variant':8} {'reached':>7}  {'replied':>22}  {'promised':>22}  {'paid':>22}  amount")
        for v in result["variants"]:
            money = ", ".join(f"{cur} {amount:,.2f}" for cur, amount in v["amounts"]) or "-"
            click.echo(
                f"  {v['variant']:8} {v['reached']:>7}  {rate(v, 'replied'):>22}  "
                f"{rate(v, 'promise'):>22}  {rate(v, 'paid'):>22}  {money}"
            )
        for name, test in result["tests"].items():
            if test["p"] is None:
                verdict = "too few contacts to tell"
            elif test["winner"]:
                verdict = f"variant {test['winner']} wins (z={test['z']:.2f}, p={test['p']:.3f})"
            else:
                verdict = f"no significant difference (p={test['p']:.3f})"
            click.echo(f"  {name}: {verdict}")


@cli.group()
def rollups() -> None:
    """The dashboard's pre-computed figures (the worker refreshes them every minute)."""


@rollups.command("refresh")
@click.option("--full", is_flag=True, help="Recompute every conversation (after rows were changed by hand).")
@click.option(
    "--since",
    default=None,
    help="Recompute the conversations changed since this time (ISO 8601; UTC unless an offset).",
)
def rollups_refresh(full: bool, since: str | None) -> None:
    """Bring the dashboard rollups up to date (the first run, or --full, computes every conversation)."""

    from bot.review import rollups as service
    from bot.store import session_scope

    when = _utc_datetime(since, "--since")
    with session_scope() as session:
        report = service.refresh(session, full=full, since=when)
    kind = "full" if report.full else "changed"
    click.echo(
        f"dashboard rollups ({kind}): {report.conversations} conversations, {report.rows} rows written "
        f"in {report.seconds:.1f} s; {report.total_rows} rows in all"
    )


@cli.group()
def queue() -> None:
    """The work queue (Redis streams, partitioned by conversation)."""


def _mask_key(key: str) -> str:
    """A job's key is usually the debtor's phone: only its country code and last four digits are shown."""
    from bot.platform.masking import mask_numbers, mask_phone

    bare = key.split(":", 1)[1] if key.lower().startswith("whatsapp:") else key
    return mask_phone(bare) if bare.startswith("+") or bare.isdigit() else mask_numbers(key)


def _masked(value):
    """A payload as staff may see it: every string with its long numbers masked (ids stay: they are ints)."""
    from bot.platform.masking import mask_numbers

    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return mask_numbers(value) if isinstance(value, str) else value


@queue.command("dead-letters")
@click.option("--replay", "replay_id", metavar="ID", default=None, help="Queue this dead letter again.")
@click.option("--replay-all", is_flag=True, help="Queue every dead letter again (oldest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: an array, one object per dead letter.")
@click.option("--limit", default=1000, show_default=True, help="List (or replay, oldest first) at most this many.")
def queue_dead_letters(replay_id: str | None, replay_all: bool, as_json: bool, limit: int) -> None:
    """List the jobs set aside after failing again and again, or queue them again (once fixed).

    Phones and other long numbers are masked: the list is for finding the failure, not the debtor."""
    import json

    from bot.platform import queue as work_queue
    from bot.platform.masking import mask_numbers
    from bot.platform.redis_client import get_queue

    q = get_queue()
    if replay_id and replay_all:
        raise click.UsageError("--replay and --replay-all go alone")
    if replay_id or replay_all:
        ids = [replay_id] if replay_id else [d.id for d in work_queue.dead_letters(q.redis, count=limit)]
        replayed = []
        for dead_id in ids:
            new_id = work_queue.replay_dead_letter(q, dead_id)
            if new_id is None and replay_id:
                raise click.ClickException(f"no dead letter {replay_id}")
            if new_id is not None:
                replayed.append({"id": dead_id, "queued_as": new_id})
        if as_json:
            click.echo(json.dumps(replayed))
        else:
            for row in replayed:
                click.echo(f"replayed {row['id']} as {row['queued_as']}")
            click.echo(f"{len(replayed)} dead letter{'s' if len(replayed) != 1 else ''} queued again")
        return
    letters = work_queue.dead_letters(q.redis, count=limit)
    if as_json:
        rows = [
            {
                "id": d.id,
                "when": d.when.isoformat(),
                "kind": d.kind,
                "key": _mask_key(d.key),
                "failures": d.failures,
                "error": mask_numbers(d.error),
                "payload": _masked(d.payload),
                "stream": d.stream,
                "entry_id": d.entry_id,
            }
            for d in letters
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not letters:
        click.echo("no dead letters")
        return
    click.echo(f"{'ID':<16} {'WHEN (UTC)':<20} {'KIND':<18} {'KEY':<16} {'FAILS':>5}  ERROR")
    for d in letters:
        when = d.when.strftime("%Y-%m-%d %H:%M:%S")
        error = mask_numbers(d.error).replace("\n", " ")[:120] or "-"
        click.echo(f"{d.id:<16} {when:<20} {d.kind:<18} {_mask_key(d.key):<16} {d.failures or '?':>5}  {error}")
    plural = "s" if len(letters) != 1 else ""
    click.echo(f"{len(letters)} dead letter{plural}; queue one again: python -m bot queue dead-letters --replay ID")


@cli.command()
def run() -> None:
    """Start every process (Redis, Rasa, action server, web, worker) and print the URLs."""
    from bot.platform.launcher import run as launch

    _refuse_unsafe()
    sys.exit(launch())


@cli.command("run-scaled")
@click.option(
    "--demo-history",
    default=3000,
    show_default=True,
    help="Past conversations to seed for the manager dashboard on a fresh store (0: none).",
)
def run_scaled(demo_history: int) -> None:
    """Start production's shape on this machine: PostgreSQL, Redis, HAProxy, two web, worker, Rasa and action
    servers (bot/platform/scaled.py)."""
    from bot.platform.scaled import run_scaled as launch

    _refuse_unsafe()
    sys.exit(launch(demo_history))


@cli.command("rasa-endpoints")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rasa_endpoints(path: Path) -> None:
    """Write Rasa's endpoints file for this environment (tracker store, lock store, actions)."""
    from bot.platform.launcher import write_endpoints

    write_endpoints(path)
    click.echo(f"endpoints written to {path}")


@cli.command()
def info() -> None:
    """Print the URLs, the demo logins, the API key and the demo debtors."""
    from bot.demo import seed
    from bot.platform.config import ensure_secrets, get_settings

    s = get_settings()
    base = s.public_base_url
    click.echo("")
    click.echo(f"Recobra is running ({s.env} mode)")
    if not s.demo:
        # Outside the demo no secret is printed: they are in the environment or var/secrets.env (0600).
        click.echo(f"  web / API           {base}   (API key: RECOBRA_API_KEY)")
        click.echo(f"  agent console       {base}/console")
        click.echo(f"  manager dashboard   {base}/manager   (users: python -m bot create-user)")
        click.echo(f"  rasa (private)      {s.rasa_url}")
        click.echo(f"  readiness           {base}/readyz   worker: http://{_health_address(s)}/readyz")
        click.echo("")
        return
    secrets = ensure_secrets()
    click.echo(f"  web / API           {base}   (API key: {s.api_key})")
    click.echo(f"  phone simulator     {base}/sandbox/phone")
    click.echo(f"  sandbox outbox      {base}/api/v1/sandbox/outbox?to=+57...")
    click.echo(f"  agent console       {base}/console   (agente / {secrets['DEMO_PASSWORD']})")
    click.echo(f"  manager dashboard   {base}/manager   (gerente / {secrets['DEMO_PASSWORD']})")
    click.echo(f"  rasa (private)      {s.rasa_url}")
    click.echo(f"  readiness           {base}/readyz   worker: http://{_health_address(s)}/readyz")
    click.echo("")
    click.echo(f"  try:  curl -H 'Authorization: Bearer {s.api_key}' {base}/api/v1/debtors/CO-1001")
    click.echo("")
    click.echo("  demo debtors (phone, document last 4):")
    for ext, name, phone, whatsapp, _country, _tz, last4, _inv in seed.DEMO_DEBTORS[::5]:
        channel = "WhatsApp" if whatsapp else "SMS"
        click.echo(f"    {ext:8} {name:24} {phone:15} {channel:8} {last4}")
    click.echo("  (all of them: python -m bot demo-debtors)")
    click.echo("")


@cli.command("demo-debtors")
def demo_debtors() -> None:
    """List every demo debtor with the document digits that verify them."""
    from bot.demo import seed

    for ext, name, phone, whatsapp, _country, tz, last4, _inv in seed.DEMO_DEBTORS:
        click.echo(f"{ext:8} {name:24} {phone:15} {'WhatsApp' if whatsapp else 'SMS':8} {tz:32} {last4}")


@cli.group()
def identity() -> None:
    """The identity check's lock (three wrong document digits lock a debtor out of the bot)."""


@identity.command("unlock")
@click.argument("external_id")
@click.option("--reason", required=True, help="Why: how the person was verified another way (audited).")
@click.option("--actor", default="admin", show_default=True, help="Who lifts it, for the audit log.")
def identity_unlock(external_id: str, reason: str, actor: str) -> None:
    """Lift a debtor's identity lock now (audited); the debtor gets fresh tries."""
    from bot.billing import debtors
    from bot.conversation import identity as identity_check
    from bot.store.db import session_scope

    with session_scope() as session:
        debtor = debtors.get_by_external_id(session, external_id)
        if debtor is None:
            raise click.ClickException(f"no debtor {external_id}")
        if not reason.strip():
            raise click.ClickException("--reason must say why")
        lifted = identity_check.unlock(session, debtor, actor=actor, reason=reason)
    click.echo(f"{external_id}: lock lifted" if lifted else f"{external_id}: not locked, nothing to do")


def _health_address(settings) -> str:
    """The (first) worker's health server, as a URL authority."""
    return f"{_bind_address(settings.worker_health_host)}:{settings.worker_health_port}"


def _safe_url(url: str) -> str:
    """A URL with any password hidden, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


@cli.group()
def retention() -> None:
    """Data retention (config/retention.yml): message bodies, Rasa tracker events, contact records."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@click.option("--at", "at", default=None, help="Count as if the clock said this (ISO 8601). Only with --dry-run.")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def retention_run(dry_run: bool, at: str | None, as_json: bool) -> None:
    """Prune what is past its retention period (what the worker does every hour), per kind and country."""
    import json

    from bot.lifecycle import retention as service
    from bot.lifecycle import tracker_events
    from bot.platform.config import get_settings
    from bot.store import session_scope

    if at is not None and not dry_run:
        raise click.UsageError("--at counts at a pretend time: use it with --dry-run (pruning uses the real clock)")
    try:
        policy = service.load_policy()
    except service.PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    with session_scope() as session:
        report = service.run(
            session,
            at=_utc_datetime(at, "--at"),
            dry_run=dry_run,
            tracker=tracker_events.tracker_engine(get_settings()),
            policy=policy,
            actor="cli",
        )
        if dry_run:
            session.rollback()
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    title = "retention (dry run: nothing changed)" if dry_run else "retention"
    click.echo(f"{title} at {report.at.isoformat()}, policy {report.version}")
    for line in report.table():
        click.echo(line)


BACKUP_DIR_HELP = "Default: var/backups/<UTC time>."


def _backup_dir(value: Path | None) -> Path:
    from datetime import datetime, timezone

    from bot.platform.config import get_settings

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return value or get_settings().var_dir / "backups" / stamp


def _release_connections() -> None:
    """Close every pooled connection to the store and the tracker (before a wipe or restore replaces them)."""
    from bot.lifecycle import tracker_events
    from bot.store.db import get_engine, get_sessionmaker

    for engine in (get_engine, tracker_events.engine_for):
        engine.cache_clear()
    get_sessionmaker.cache_clear()


@cli.command("backup")
@click.option(
    "--to", "directory", type=click.Path(path_type=Path), default=None, help="Default: var/backups/<UTC time>."
)
def backup_cmd(directory: Path | None) -> None:
    """Back up the store (SQLite: online backup of the store and Rasa's tracker file; PostgreSQL: pg_dump)."""
    from bot.lifecycle import backup, tracker_events
    from bot.platform.config import get_settings

    s = get_settings()
    try:
        made = backup.backup(s.database_url, tracker_events.tracker_url(s), _backup_dir(directory))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup of {_safe_url(s.database_url)} in {made.directory} ({', '.join(made.files.values())})")


@cli.command("restore")
@click.option("--from", "directory", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--yes", is_flag=True, help="Replace the current store without asking.")
def restore_cmd(directory: Path, yes: bool) -> None:
    """Replace the store with a backup (stop the web, worker and Rasa first; run `migrate` after)."""
    from bot.lifecycle import backup, tracker_events
    from bot.platform.config import get_settings

    s = get_settings()
    if not yes:
        click.confirm(f"Replace {_safe_url(s.database_url)} with the backup in {directory}?", abort=True)
    try:
        made = backup.Backup.read(directory)
        _release_connections()
        backup.restore(made, s.database_url, tracker_events.tracker_url(s))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {_safe_url(s.database_url)} from {directory} (taken {made.created_at})")


@cli.command("restore-drill")
@click.option(
    "--to", "directory", type=click.Path(path_type=Path), default=None, help="Default: var/backups/<UTC time>."
)
@click.option("--force", is_flag=True, help="Run in production mode too (it wipes the live store, then restores it).")
def restore_drill(directory: Path | None, force: bool) -> None:
    """Prove the backup works: back up, wipe and restore the store, then check that the debtors, their balances,
    every table's row count and an /api/v1 read of a debtor are what they were. Stop the web, worker and Rasa first.
    Exit 1 when anything differs."""
    import json

    from bot.lifecycle import backup, tracker_events
    from bot.platform.config import get_settings
    from bot.web import create_app

    s = get_settings()
    if s.production and not force:
        raise click.UsageError("the drill wipes the store before restoring it: in production add --force")
    first = backup.fingerprint(s.database_url, sample=1)["balances"]
    external_id = next(iter(first), None)

    def probe() -> object:
        """The API's answer about the first debtor, as an integrator reads it."""
        if external_id is None:
            return None
        app = create_app({"TESTING": True})
        with app.test_client() as client:
            r = client.get(f"/api/v1/debtors/{external_id}", headers={"Authorization": f"Bearer {s.api_key}"})
            return {"status": r.status_code, "body": r.get_json()}

    try:
        result = backup.drill(
            s.database_url,
            tracker_events.tracker_url(s),
            _backup_dir(directory),
            probe=probe,
            release=_release_connections,
        )
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, seconds in result.steps:
        click.echo(f"  {name:12} {seconds:6.2f} s")
    rows = result.after.get("rows", {})
    click.echo(
        f"{result.kind} store: {sum(rows.values())} rows in {len(rows)} tables, "
        f"{len(result.after.get('balances', {}))} debtors' balances checked, revision {result.after.get('revision')}"
    )
    if external_id is not None:
        click.echo(f"GET /api/v1/debtors/{external_id}: {result.after.get('probe', {}).get('status')}, same as before")
    click.echo(f"backup kept in {result.directory}")
    if not result.ok:
        what = ", ".join(result.differences()) if result.wiped else "the wipe left the store in place"
        click.echo(f"restore drill FAILED: {what}", err=True)
        click.echo(json.dumps({"before": result.before, "after": result.after}, default=str)[:4000], err=True)
        sys.exit(1)
    click.echo("restore drill passed: the restored store answers as before the wipe")


if __name__ == "__main__":
    cli()
