"""`calendar-service feed`: the feed written to a file or standard output."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from ..catalogue import CATEGORIES
from ..cli_support import fail, first_line, services_of
from ..clock import today
from .publish import publish
from .query import MAX_ALARM_DAYS, MAX_YEAR, MIN_YEAR, FeedQuery
from .service import render


@click.group(invoke_without_command=True)
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), help="That year only.")
@click.option("--category", "categories", multiple=True,
              type=click.Choice(sorted(CATEGORIES)), help="Only these categories (repeatable).")
@click.option("--designated", is_flag=True, help="Only occurrences a directive designates.")
@click.option("--round", "round_only", is_flag=True, help="Only round anniversaries (×5).")
@click.option("--notable", is_flag=True,
              help="Only occurrences a directive designates or round ones (the departments' feed).")
@click.option("--alarm", type=click.IntRange(0, MAX_ALARM_DAYS),
              help="Add a reminder alarm N days ahead.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE (atomically) instead of standard output.")
@click.pass_context
def feed(ctx: click.Context, year: int | None, categories: tuple[str, ...], designated: bool,
         round_only: bool, notable: bool, alarm: int | None, output_path: str | None) -> None:
    """Write the iCalendar feed: the same bytes GET /calendar.ics serves for that selection.

    `feed publish [DIR]` writes every feed the service links to as static files."""
    if ctx.invoked_subcommand is not None:
        return
    services = services_of(ctx)
    s = services.settings
    query = FeedQuery(categories=tuple(sorted(set(categories))), year=year,
                      designated=designated, round_only=round_only, notable=notable,
                      alarm_days=alarm)
    try:
        rendered = render(services, query, query.window(
            today(services.clock), s.feed_past_days, s.feed_future_days))
    except SQLAlchemyError as exc:
        fail(f"error: cannot read the database: {first_line(exc)}")
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


@feed.command("publish")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.pass_context
def publish_command(ctx: click.Context, directory: str | None) -> None:
    """Write every feed the service links to into DIRECTORY (default: CALENDAR_PUBLISH_DIR,
    else CALENDAR_HOME/feeds),
    atomically, rewriting only files whose bytes changed and removing those no longer
    published; nginx serves them (deploy/)."""
    services = services_of(ctx)
    target = Path(directory) if directory else services.settings.feeds_dir
    report = publish(services, target)
    if not report.ok:
        fail(f"error: {report.summary()}")
    click.echo(report.summary())


COMMANDS = (feed,)
