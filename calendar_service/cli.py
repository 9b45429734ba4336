"""The `calendar-service` command line (also `python -m calendar_service`).

Each command builds what it needs from the settings; tests inject a clock and settings
through click's context object (see tests/conftest.py).
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from . import output
from .admin.cli import users
from .anniversaries import Occurrence
from .app_context import Services
from .catalogue import CATEGORIES, CatalogueError, expand_paths, load_catalogue
from .clock import today
from .config import ConfigError, Settings


def _services(ctx: click.Context) -> Services:
    if ctx.obj is None:
        try:
            ctx.obj = Services(Settings.from_env())
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    return ctx.obj


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _read_catalogue(paths: tuple[str, ...]):
    files = expand_paths(paths)
    if not files:
        _fail("error: no catalogue files match " + " ".join(paths))
    try:
        return files, load_catalogue(files)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(exc.problems)} problem(s); nothing was written")
        raise  # unreachable: _fail exits


class _Date(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


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
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calendar-service")
def main() -> None:
    """Commemorations of the provincial directive: catalogue, feeds, reminders, web."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
def check(paths: tuple[str, ...]) -> None:
    """Validate catalogue files (files, folders or globs); exit 1 listing every problem."""
    files, catalogue = _read_catalogue(paths)
    for f in catalogue.files:
        count = sum(1 for c in catalogue.commemorations if c.source_file == f.path)
        click.echo(f"{f.path}: {count} commemorations designated for {f.designates}: OK")


@main.command()
@click.argument("paths", nargs=-1)
@click.pass_context
def load(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Validate, then sync into the database in one transaction (default: CALENDAR_EVENTS).

    New ids are added, changed entries get a new revision, entries gone from the files are
    marked cancelled. Loading the same files twice changes nothing.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from .store import sync_catalogue

    services = _services(ctx)
    _, catalogue = _read_catalogue(paths or services.settings.events)
    try:
        with services.database.session() as session:
            report = sync_catalogue(session, catalogue, services.clock.now())
    except SQLAlchemyError as exc:
        _fail(f"error: the database refused the load, nothing was changed: "
              f"{str(exc.__cause__ or exc).splitlines()[0]}\n"
              f"(has the schema been created? run: calendar-service db upgrade)")
    click.echo(f"loaded {len(catalogue.commemorations)} commemorations: {report.summary()}")
    for label, ids in (("added", report.added), ("updated", report.updated),
                       ("restored", report.restored), ("cancelled", report.cancelled)):
        for ident in ids:
            click.echo(f"  {label}: {ident}")


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the schema to the latest revision."""
    from sqlalchemy.exc import SQLAlchemyError

    from .store.migrate import current, upgrade

    services = _services(ctx)
    try:
        upgrade(services.database.engine, revision)
        click.echo(f"database at revision {current(services.database.engine)}")
    except SQLAlchemyError as exc:
        _fail(f"error: cannot migrate {services.database.engine.url.render_as_string()}: "
              f"{str(exc.__cause__ or exc).splitlines()[0]}")


@main.command()
@click.option("--from", "start", type=_Date(), help="First day (default: today).")
@click.option("--to", "end", type=_Date(), help="Last day (default: a year after --from).")
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
    from sqlalchemy.exc import SQLAlchemyError

    from .store import occurrences_between

    services = _services(ctx)
    start = start or today(services.clock)
    end = end or (start.replace(year=start.year + 1) - timedelta(days=1)
                  if not (start.month == 2 and start.day == 29)
                  else date(start.year + 1, 2, 28))
    if end < start:
        _fail(f"error: --to {end.isoformat()} is before --from {start.isoformat()}")
    try:
        with services.database.session() as session:
            found: list[Occurrence] = occurrences_between(session, start, end)
    except SQLAlchemyError as exc:
        _fail(f"error: cannot read the database: {str(exc.__cause__ or exc).splitlines()[0]}\n"
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
        click.echo(f"Không có ngày kỷ niệm nào từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}.")


@main.command()
@click.option("--year", type=click.IntRange(1900, 2200), help="That year only.")
@click.option("--category", "categories", multiple=True,
              type=click.Choice(sorted(CATEGORIES)), help="Only these categories (repeatable).")
@click.option("--designated", is_flag=True, help="Only occurrences a directive designates.")
@click.option("--round", "round_only", is_flag=True, help="Only round anniversaries (×5).")
@click.option("--alarm", type=click.IntRange(0, 365), help="Add a reminder alarm N days ahead.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE (atomically) instead of standard output.")
@click.pass_context
def feed(ctx: click.Context, year: int | None, categories: tuple[str, ...], designated: bool,
         round_only: bool, alarm: int | None, output_path: str | None) -> None:
    """Write the iCalendar feed: the same bytes GET /calendar.ics serves for that selection."""
    import os
    import tempfile

    from sqlalchemy.exc import SQLAlchemyError

    from .feeds.query import FeedQuery
    from .feeds.service import render

    services = _services(ctx)
    s = services.settings
    query = FeedQuery(categories=tuple(sorted(set(categories))), year=year,
                      designated=designated, round_only=round_only, alarm_days=alarm)
    try:
        rendered = render(services, query, query.window(
            today(services.clock), s.feed_past_days, s.feed_future_days))
    except SQLAlchemyError as exc:
        _fail(f"error: cannot read the database: {str(exc.__cause__ or exc).splitlines()[0]}")
    if output_path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(rendered.body)
        sys.stdout.buffer.flush()
        return
    target = Path(output_path)
    # Write beside the target, then rename: a web server never serves half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(rendered.body)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    click.echo(f"wrote {target} ({len(rendered.body)} bytes)", err=True)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@main.group()
def subscribers() -> None:
    """Manage who receives reminders."""


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="The person's or the department's name.")
@click.option("--organisation", help="Their organisation.")
@click.option("--categories", help="Comma-separated categories (default: all).")
@click.option("--scope", type=click.Choice(["notable", "all"]), default="notable",
              show_default=True,
              help="notable: only designated and round anniversaries; all: every anniversary.")
@click.option("--lead-days", help="Personal lead times, e.g. 30,7,1 (default: the catalogue's).")
@click.option("--webhook", help="Also post reminders to this chat webhook URL.")
@click.pass_context
def subscribers_add(ctx, email, name, organisation, categories, scope, lead_days, webhook):
    """Add a subscriber (confirmed at once: an administrator added them)."""
    from .reminders import subscribers as subs

    services = _services(ctx)
    try:
        days = [int(d) for d in _csv(lead_days)]
    except ValueError:
        _fail(f"error: --lead-days must be whole numbers, e.g. 30,7,1, not {lead_days!r}")
    try:
        new = subs.NewSubscriber.parse(email, name=name, organisation=organisation,
                                       categories=_csv(categories), scope=scope,
                                       lead_days=days, webhook_url=webhook)
        with services.database.session() as session:
            subs.add(session, new, services.clock.now())
    except subs.SubscriberError as exc:
        _fail(f"error: {exc}")
    click.echo(f"added {new.email}")


@subscribers.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
def subscribers_list(ctx, as_json):
    """List subscribers."""
    import json

    from .reminders import subscribers as subs

    services = _services(ctx)
    with services.database.session() as session:
        found = subs.list_all(session)
        rows = [{
            "email": r.email, "name": r.name, "organisation": r.organisation,
            "categories": r.categories, "scope": r.scope, "lead_days": r.lead_days,
            "webhook": bool(r.webhook_url), "active": r.active,
            "confirmed": r.confirmed_at is not None,
        } for r in found]
        receiving = [r.receives for r in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Chưa có người đăng ký.")
        return
    for r, receives in zip(rows, receiving):
        state = "đang nhận" if receives else ("chờ xác nhận" if r["active"] else "đã hủy")
        cats = ",".join(r["categories"] or []) or "tất cả"
        click.echo(f"{r['email']}\t{r['name'] or ''}\t{cats}\t{r['scope']}\t{state}")


@subscribers.command("remove")
@click.argument("email")
@click.pass_context
def subscribers_remove(ctx, email):
    """Delete a subscriber and their delivery history."""
    from .reminders import subscribers as subs

    services = _services(ctx)
    try:
        with services.database.session() as session:
            removed = subs.remove(session, email)
    except subs.SubscriberError as exc:
        _fail(f"error: {exc}")
    if not removed:
        _fail(f"error: no subscriber {email}")
    click.echo(f"removed {email}")


class _Moment(click.ParamType):
    name = "DATETIME"

    def convert(self, value, param, ctx):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 moment such as 2024-04-30T08:00:00+07:00",
                      param, ctx)


@main.command()
@click.option("--as-of", "as_of", type=_Moment(),
              help="The moment to act for (ISO 8601; without an offset: CALENDAR_TIMEZONE).")
@click.option("--dry-run", is_flag=True, help="Only show what is due; send and record nothing.")
@click.pass_context
def remind(ctx, as_of, dry_run):
    """Run one reminder tick: send what is due at that moment, once."""
    from .reminders.tick import run_tick

    services = _services(ctx)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=services.settings.tz)
    try:
        report = run_tick(services, as_of, dry_run=dry_run)
    except ValueError as exc:  # a bad CALENDAR_MAIL_URL
        _fail(f"error: {exc}")
    if dry_run:
        for line in report.would_send:
            click.echo(f"would send: {line}")
        click.echo(f"{len(report.would_send)} reminder(s) due; nothing sent (dry run)")
        return
    d = report.dispatch
    for label, lines in (("sent", d.sent), ("skipped", d.skipped), ("retry", d.retrying),
                         ("failed", d.failed)):
        for line in lines:
            click.echo(f"{label}: {line}")
        if lines.total > len(lines):
            click.echo(f"{label}: … and {lines.total - len(lines)} more")
    click.echo(f"{d.sent.total} sent, {d.skipped.total + report.plan.skipped} skipped, "
               f"{d.retrying.total} waiting to retry, {d.failed.total} failed")


@main.command()
@click.pass_context
def scheduler(ctx):
    """Run the reminder scheduler alone (deploy it once beside several web workers)."""
    import logging

    from .reminders.scheduler import make_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    services = _services(ctx)
    click.echo(f"reminder scheduler: a tick every {services.settings.reminder_tick_minutes} "
               "min; Ctrl-C to stop", err=True)
    try:
        make_scheduler(services, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-scheduler", is_flag=True,
              help="Do not run the reminder scheduler in this process "
                   "(run `calendar-service scheduler` once elsewhere).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Serve the web app with waitress (a production WSGI server, one process)."""
    import waitress

    from .web import create_app

    services = _services(ctx)
    app = create_app(services)
    click.echo(f"calendar-service on http://{host}:{port}/ "
               f"(database {services.database.engine.url.render_as_string()})")
    ticker = None
    if not no_scheduler:
        import logging

        from .reminders.scheduler import make_scheduler

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        ticker = make_scheduler(services)
        ticker.start()
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="calendar-service")
    finally:
        if ticker is not None:
            ticker.shutdown(wait=False)


main.add_command(users)


if __name__ == "__main__":  # pragma: no cover
    main()
