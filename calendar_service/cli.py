"""The `calendar-service` command line (also `python -m calendar_service`).

Each command builds what it needs from the settings; tests inject a clock and settings
through click's context object (see tests/conftest.py).
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import click
import waitress
from sqlalchemy.exc import SQLAlchemyError

from . import drafting, logs, output
from .admin import cli as admin_cli
from .anniversaries import Occurrence
from .app import create_app
from .catalogue import CATEGORIES, CatalogueError, expand_paths, load_catalogue
from .cli_support import DateType, fail, first_line, services_of, write_atomically
from .clock import today
from .config import ConfigError, Settings
from .feeds import cli as feeds_cli
from .feeds.publish import publish
from .params import EARLIEST_DAY, FIRST_YEAR, LAST_YEAR, LATEST_DAY
from .plans import cli as plans_cli
from .plans.generate import follow_catalogue
from .reminders import cli as reminders_cli
from .reminders.scheduler import make_scheduler
from .store import backup as store_backup
from .store import occurrences_between, sync_catalogue
from .store.migrate import current, upgrade
from .vietnamese import official_date


def _read_catalogue(paths: tuple[str, ...]):
    files = expand_paths(paths)
    if not files:
        fail("error: no catalogue files match " + " ".join(paths))
    try:
        return files, load_catalogue(files)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        fail(f"{len(exc.problems)} problem(s); nothing was written")
        raise  # unreachable: _fail exits


class _Group(click.Group):
    """Exit 1 on every error, usage errors included (click's own default is 2)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except ConfigError as exc:  # a setting read late (the development secret's file)
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calendar-service")
def main() -> None:
    """Commemorations of the provincial directive: catalogue, feeds, reminders, web."""


def _settings(ctx: click.Context) -> Settings:
    """The settings alone: `check` needs no database."""
    root = ctx.find_root()
    if root.obj is not None:
        return root.obj.settings
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("paths", nargs=-1)
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Validate catalogue files (files, folders or globs; default: CALENDAR_EVENTS, the files
    `load` reads); exit 1 listing every problem. Needs no database."""
    files, catalogue = _read_catalogue(paths or _settings(ctx).events)
    headers = {f.path: f for f in catalogue.files}
    for path in map(str, files):
        held = []
        if path in headers:
            count = sum(1 for c in catalogue.commemorations if c.source_file == path)
            year = headers[path].designates
            if year is None:
                held.append(f"{count} commemorations (a standing list)")
            else:
                named = sum(1 for c in catalogue.commemorations for d in c.designations
                            if d.directive == headers[path].id)
                held.append(f"{count} commemorations defined, {named} designated for {year}")
        if renames := sum(1 for r in catalogue.renames if r.source_file == path):
            held.append(f"{renames} renames")
        if agencies := sum(1 for a in catalogue.agencies if a.source_file == path):
            held.append(f"{agencies} agencies")
        if templates := sum(1 for t in catalogue.templates if t.source_file == path):
            held.append(f"{templates} plan templates")
        click.echo(f"{path}: {', '.join(held)}: OK")


@main.command()
@click.argument("paths", nargs=-1)
@click.pass_context
def load(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Validate, then sync into the database in one transaction (default: CALENDAR_EVENTS).

    New ids are added, changed entries get a new revision, entries gone from the files are
    marked cancelled. Loading the same files twice changes nothing.
    """
    services = services_of(ctx)
    _, catalogue = _read_catalogue(paths or services.settings.events)
    try:
        with services.database.session() as session:
            now = services.clock.now()
            report = sync_catalogue(session, catalogue, now)
            # Open tasks follow their commemorations (moved days, cancellations), in the
            # same transaction.
            cancelled_tasks = follow_catalogue(session, now)
    except SQLAlchemyError as exc:
        fail(f"error: the database refused the load, nothing was changed: "
              f"{first_line(exc)}\n"
              f"(has the schema been created? run: calendar-service db upgrade)")
    click.echo(f"loaded {len(catalogue.commemorations)} commemorations: {report.summary()}")
    for label, ids in (("added", report.added), ("updated", report.updated),
                       ("restored", report.restored), ("cancelled", report.cancelled)):
        for ident in ids:
            click.echo(f"  {label}: {ident}")
    for task in cancelled_tasks:
        click.echo(f"  task cancelled with its commemoration: {task}")
    if report.changed:  # the static feeds follow at once (feeds/publish.py)
        published = publish(services, services.settings.feeds_dir)
        click.echo(published.summary(), err=not published.ok)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the schema to the latest revision (the only command, with
    `restore`, that creates a SQLite file)."""
    services = services_of(ctx, schema="none")
    database = services.database
    try:
        database.create_file()
        upgrade(database.engine, revision)
        click.echo(f"database at revision {current(database.engine)}")
    except (SQLAlchemyError, OSError) as exc:
        fail(f"error: cannot migrate {database.describe()}: {first_line(exc)}")


@main.command()
@click.option("--from", "start", type=DateType(), help="First day (default: today).")
@click.option("--to", "end", type=DateType(), help="Last day (default: a year after --from).")
@click.option("--category", "categories", multiple=True,
              type=click.Choice(sorted(CATEGORIES)), help="Only these categories (repeatable).")
@click.option("--designated", is_flag=True, help="Only occurrences a directive designates.")
@click.option("--round", "round_only", is_flag=True, help="Only round anniversaries (×5).")
@click.option("--json", "as_json", is_flag=True, help="Stable JSON instead of a table.")
@click.pass_context
def occurrences(ctx: click.Context, start: date | None, end: date | None,
                categories: tuple[str, ...], designated: bool, round_only: bool,
                as_json: bool) -> None:
    """List the anniversaries in a date range, from the database."""
    for option, day in (("--from", start), ("--to", end)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            fail(f"error: {option} {day.isoformat()} is outside the supported days, "
                 f"{EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}")
    services = services_of(ctx)
    start = start or today(services.clock)
    end = end or (start.replace(year=start.year + 1) - timedelta(days=1)
                  if not (start.month == 2 and start.day == 29)
                  else date(start.year + 1, 2, 28))
    if end < start:
        fail(f"error: --to {end.isoformat()} is before --from {start.isoformat()}")
    try:
        with services.database.session() as session:
            found: list[Occurrence] = occurrences_between(session, start, end)
    except SQLAlchemyError as exc:
        fail(f"error: cannot read the database: {first_line(exc)}\n"
              f"(run: calendar-service db upgrade && calendar-service load)")
    if categories:
        found = [o for o in found if o.commemoration.category in categories]
    if designated:
        found = [o for o in found if o.designated]
    if round_only:
        found = [o for o in found if o.is_round]
    if as_json:
        click.echo(output.to_json(found))
    elif found:
        click.echo(output.to_table(found))
    else:
        click.echo(f"Không có ngày kỷ niệm nào từ {official_date(start)} đến {official_date(end)}.")


SUGGEST_EXTENSIONS = {".txt": "text", ".toml": "toml", ".docx": "docx"}


@main.command()
@click.option("--year", required=True, type=click.IntRange(FIRST_YEAR, LAST_YEAR),
              help="The year the directive is for.")
@click.option("--format", "fmt", type=click.Choice(drafting.FORMATS),
              help="text (default), toml (a designation file, events/YEAR.toml) or docx "
                   "(a Word document); without it, -o FILE's extension chooses.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of standard output.")
@click.pass_context
def suggest(ctx: click.Context, year: int, fmt: str | None, output_path: str | None) -> None:
    """Every round (×5) anniversary of YEAR in the loaded catalogues, ranked (×10 first,
    national before local, then by date) and phrased as the directive writes them: a draft
    of next year's directive."""
    target = Path(output_path) if output_path is not None else None
    implied = SUGGEST_EXTENSIONS.get(target.suffix.lower()) if target is not None else None
    if fmt is not None and implied is not None and implied != fmt:
        fail(f"error: --format {fmt} does not match the file name {target.name}")
    fmt = fmt or implied or "text"
    if fmt == "docx" and target is None and sys.stdout.isatty():
        fail("error: DOCX is a binary file: give -o FILE (or redirect standard output)")
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            found = occurrences_between(session, date(year, 1, 1), date(year, 12, 31))
    except SQLAlchemyError as exc:
        fail(f"error: cannot read the database: {first_line(exc)}\n"
             f"(run: calendar-service db upgrade && calendar-service load)")
    suggestions = drafting.suggest(found, year)
    if fmt == "docx":
        body = drafting.to_docx(suggestions, year)
    else:
        text = (drafting.to_toml if fmt == "toml" else drafting.to_text)(suggestions, year)
        body = text.encode("utf-8")
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    write_atomically(target, body)
    click.echo(f"wrote {target} ({fmt}, {len(suggestions)} anniversaries)", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-scheduler", is_flag=True,
              help="Do not run the reminder scheduler in this process "
                   "(run `calendar-service scheduler` once elsewhere).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Serve the web app with waitress (a production WSGI server, one process).

    Without CALENDAR_BASE_URL, in development, every link follows --host and --port."""
    services = services_of(ctx)
    services.settings = services.settings.served_at(host, port)
    app = create_app(services)
    click.echo(f"calendar-service on http://{host}:{port}/ (links: {services.settings.base_url}; "
               f"database {services.database.describe()})")
    logs.configure(services.settings)  # one line per request (and per tick), text or JSON
    ticker = None
    if not no_scheduler:
        ticker = make_scheduler(services)
        ticker.start()
    try:
        # The proxy headers reach the app as under gunicorn: ProxyFix believes them only from
        # CALENDAR_TRUSTED_PROXIES proxies, and /metrics refuses a relayed request. (Waitress
        # would otherwise drop them, and a request relayed by a local nginx would look local.)
        waitress.serve(app, host=host, port=port, threads=threads, ident="calendar-service",
                       clear_untrusted_proxy_headers=False)
    finally:
        if ticker is not None:
            ticker.shutdown(wait=False)


@main.command()
@click.option("-o", "--output", "target", required=True, type=click.Path(path_type=Path),
              help="The backup file to write (atomically).")
@click.pass_context
def backup(ctx: click.Context, target: Path) -> None:
    """Write the whole database to one file: SQLite through its online backup API (safe
    while the service runs), PostgreSQL through pg_dump's custom format."""
    services = services_of(ctx, schema="exists")  # an old revision too: back up, then upgrade
    try:
        click.echo(store_backup.backup(services.database, target))
    except store_backup.BackupError as exc:
        fail(f"error: {exc}")
    except SQLAlchemyError as exc:
        fail(f"error: cannot read the database: {first_line(exc)}")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a database that holds data (otherwise refused).")
@click.pass_context
def restore(ctx: click.Context, source: Path, force: bool) -> None:
    """Replace the database with a backup written by `backup`, then migrate it to this
    version. Refuses another kind of file, and a database that holds data without --force."""
    services = services_of(ctx, schema="none")
    try:
        done = store_backup.restore(services.database, source, services.clock.now(), force)
    except store_backup.BackupError as exc:
        fail(f"error: {exc}")
    except SQLAlchemyError as exc:
        fail(f"error: the restore stopped: {first_line(exc)}")
    services.watch.invalidate()
    click.echo(f"restored {source} into {services.database.describe()}: backup at revision "
               f"{done.revision}, database now at {done.migrated_to}")


for feature in (feeds_cli, reminders_cli, plans_cli, admin_cli):
    for command in feature.COMMANDS:
        main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
