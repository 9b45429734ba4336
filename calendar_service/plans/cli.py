"""`calendar-service plans generate`, `tasks …`, `agencies …` and `report`: the plans
feature's commands."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from ..catalogue import ACTIVITY_KINDS
from ..cli_support import DateType, MomentType, fail, first_line, services_of, write_atomically
from ..store.models import AgencyRow
from ..store.queries import agencies as stored_agencies
from ..store.sync import new_feed_token
from ..vietnamese import official_date
from . import tasks as task_ops
from .feed import address as feed_address
from .generate import default_years, generate
from .models import STATUSES, TaskRow
from .report import FORMATS, build_report, to_text

CLI_USER = "dòng lệnh"  # who the audit log names for a change made from the command line
YEARS = click.IntRange(1900, 2200)


def _database_error(exc: SQLAlchemyError):
    fail(f"error: cannot use the database: {first_line(exc)}\n"
         "(has the schema been created? run: calendar-service db upgrade)")


@click.group()
def plans() -> None:
    """Communications plans: the tasks the plan templates call for."""


@plans.command("generate")
@click.option("--year", type=YEARS,
              help="The year whose tasks to create (default: every year a loaded directive "
                   "designates, and the current year).")
@click.option("--dry-run", is_flag=True, help="Only say what would be added or changed.")
@click.pass_context
def plans_generate(ctx, year: int | None, dry_run: bool) -> None:
    """Create the tasks the plan templates call for in YEAR, once: running it again adds
    nothing, and never resets a status, a link, a note or a title edited by hand. Without
    --year: every year a loaded directive designates, and the current year (by the
    service's clock), all in one transaction."""
    services = services_of(ctx)
    now = services.clock.now()
    try:
        with services.database.sessions() as session, session.begin():
            years = [year] if year is not None else default_years(
                session, now.astimezone(services.settings.tz).date())
            reports = [(y, generate(session, y, now, dry_run=dry_run)) for y in years]
            if dry_run:
                session.rollback()
    except SQLAlchemyError as exc:
        _database_error(exc)
    verb = "would be " if dry_run else ""
    for _, report in reports:
        for name, labels in (("added", report.added), ("changed", report.changed),
                             ("cancelled", report.cancelled)):
            for text in labels:
                click.echo(f"{verb}{name}: {text}")
        for text in report.kept:
            click.echo(f"no longer in the templates, kept (it was worked on): {text}")
    for y, report in reports:
        click.echo(("dry run: " if dry_run else "") + f"{y}: {report.summary()}")


@click.group(invoke_without_command=True)
@click.option("--year", type=YEARS, help="Only this year's tasks.")
@click.option("--agency", help="Only this agency's tasks (its id).")
@click.option("--status", type=click.Choice(list(STATUSES)), help="Only tasks in this status.")
@click.option("--overdue", is_flag=True, help="Only open tasks whose due day has passed.")
@click.option("--as-of", "as_of", type=MomentType(),
              help="The moment 'overdue' is judged at (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Stable JSON instead of a table.")
@click.pass_context
def tasks(ctx, year, agency, status, overdue, as_of, as_json) -> None:
    """List tasks (next due first, overdue on top), or change one (tasks set …)."""
    if ctx.invoked_subcommand is not None:
        return
    services = services_of(ctx)
    moment = as_of if as_of is not None else services.clock.now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.settings.tz)
    day = moment.astimezone(services.settings.tz).date()
    try:
        with services.database.session() as session:
            if agency is not None and session.get(AgencyRow, agency) is None:
                fail(f"error: no agency {agency!r} (calendar-service agencies list)")
            found = task_ops.find(session, task_ops.TaskFilter(
                year=year, agency=agency, status=status, overdue=overdue), day)
            rows = [task_ops.as_dict(t, day) for t in found]
            overdue_first = sorted(rows, key=lambda r: not r["overdue"])
    except SQLAlchemyError as exc:
        _database_error(exc)
    if as_json:
        click.echo(json.dumps(overdue_first, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Không có việc nào.")
        return
    click.echo(_table(overdue_first))


def _table(rows: list[dict]) -> str:
    header = ("Mã", "Hạn", "Trạng thái", "Cơ quan", "Việc")
    lines = []
    for r in rows:
        due = official_date(_date(r["due"])) if r["due"] else "chưa định"
        state = STATUSES[r["status"]] + (" — quá hạn" if r["overdue"] else "")
        lines.append((str(r["id"]), due, state, r["agency"], r["title"]))
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(4)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)) + "  " + header[4],
           "  ".join("-" * w for w in widths) + "  " + "-" * 8]
    out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4]
            for row in lines]
    return "\n".join(line.rstrip() for line in out)


def _date(text: str) -> date:
    return date.fromisoformat(text)


@tasks.command("set")
@click.argument("ident", type=click.IntRange(1, 2**31 - 1), metavar="ID")
@click.option("--status", type=click.Choice(list(STATUSES)), help="The new status.")
@click.option("--link", "links", multiple=True,
              help="The address of what was published (repeatable).")
@click.option("--note", help="A note (replaces the previous one; '' clears it).")
@click.pass_context
def tasks_set(ctx, ident: int, status, links, note) -> None:
    """Change one task: its status, result links, note."""
    if status is None and not links and note is None:
        fail("error: nothing to change: give --status, --link or --note")
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            task = session.get(TaskRow, ident, with_for_update=True)
            if task is None:
                fail(f"error: no task {ident} (calendar-service tasks lists them)")
            changes = task_ops.update(session, task, who=CLI_USER, now=services.clock.now(),
                                      status=status, add_links=list(links), note=note,
                                      set_note=note is not None)
    except task_ops.TaskError as exc:
        fail(f"error: {exc}")
    except SQLAlchemyError as exc:
        _database_error(exc)
    click.echo(f"task {ident}: " + (", ".join(sorted(changes)) + " changed" if changes
                                     else "nothing changed"))


@tasks.command("add")
@click.option("--commemoration", "commemoration_id", required=True, help="Its id.")
@click.option("--year", type=YEARS, required=True)
@click.option("--kind", type=click.Choice(list(ACTIVITY_KINDS)), required=True)
@click.option("--agency", "agency_id", required=True, help="The responsible agency's id.")
@click.option("--title", required=True)
@click.option("--due", type=DateType(), help="Due day (default: the occurrence's day).")
@click.pass_context
def tasks_add(ctx, commemoration_id, year, kind, agency_id, title, due) -> None:
    """Add a task that no template calls for."""
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            task = task_ops.add_manual(session, commemoration_id=commemoration_id, year=year,
                                       kind=kind, agency_id=agency_id, title=title, due=due,
                                       who=CLI_USER, now=services.clock.now())
            ident = task.id
    except task_ops.TaskError as exc:
        fail(f"error: {exc}")
    except SQLAlchemyError as exc:
        _database_error(exc)
    click.echo(f"added task {ident}")


@tasks.command("remove")
@click.argument("ident", type=click.IntRange(1, 2**31 - 1), metavar="ID")
@click.pass_context
def tasks_remove(ctx, ident: int) -> None:
    """Remove a task added by hand (a generated one is cancelled with tasks set instead)."""
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            task = session.get(TaskRow, ident, with_for_update=True)
            if task is None:
                fail(f"error: no task {ident}")
            task_ops.remove_manual(session, task, who=CLI_USER, now=services.clock.now())
    except task_ops.TaskError as exc:
        fail(f"error: {exc}")
    except SQLAlchemyError as exc:
        _database_error(exc)
    click.echo(f"removed task {ident}")


@click.group()
def agencies() -> None:
    """The agencies of the directive's section II (from events/agencies.toml)."""


@agencies.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
def agencies_list(ctx, as_json: bool) -> None:
    """List the agencies: id, short name, role, contacts."""
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            rows = [{"id": a.id, "name": a.name, "short_names": list(a.short_names),
                     "role": a.role, "emails": list(a.emails), "webhook": bool(a.webhook_url)}
                    for a in stored_agencies(session)]
    except SQLAlchemyError as exc:
        _database_error(exc)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Chưa có cơ quan nào: thêm events/agencies.toml rồi chạy calendar-service load.")
        return
    for r in rows:
        contacts = ", ".join(r["emails"]) or "chưa có e-mail"
        click.echo(f"{r['id']}\t{r['short_names'][0]}\t{r['role']}\t{contacts}")


@agencies.command("feed-url")
@click.argument("agency_id", metavar="AGENCY")
@click.option("--rotate", is_flag=True,
              help="Make a new secret address; the old one stops working at once.")
@click.pass_context
def agencies_feed_url(ctx, agency_id: str, rotate: bool) -> None:
    """Print the address of the agency's private task calendar."""
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            agency = session.get(AgencyRow, agency_id, with_for_update=True)
            if agency is None:
                fail(f"error: no agency {agency_id!r} (calendar-service agencies list)")
            if rotate:
                agency.feed_token = new_feed_token()
                agency.updated_at = services.clock.now()
            url = feed_address(services.settings.base_url, agency)
    except SQLAlchemyError as exc:
        _database_error(exc)
    click.echo(url)


# --- The follow-up report ----------------------------------------------------------------

EXTENSIONS = {f".{fmt.extension}": name for name, fmt in FORMATS.items()}


@click.command()
@click.option("--year", type=YEARS, required=True, help="The year to report on.")
@click.option("--as-of", "as_of", type=MomentType(),
              help="The moment 'overdue' is judged at (default: now).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
              help="text (the default), csv, xlsx or json. With -o and no --format, the "
                   "file's extension (.txt, .csv, .xlsx, .json) chooses.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False),
              help="Write to FILE (atomically) instead of standard output.")
@click.pass_context
def report(ctx, year: int, as_of, fmt: str | None, output_path: str | None) -> None:
    """The year's follow-up report (directive, section II.3): per commemoration and per
    agency, the tasks, done, in progress, overdue, cancelled and the completion rate, and
    the links to what was published. A year without tasks is an error (exit 1)."""
    target = Path(output_path) if output_path is not None else None
    fmt = _report_format(fmt, target)
    if fmt == "xlsx" and target is None and sys.stdout.isatty():
        fail("error: XLSX is a binary file: give -o FILE (or redirect standard output)")
    services = services_of(ctx)
    moment = as_of if as_of is not None else services.clock.now()
    try:
        with services.database.session() as session:
            found = build_report(session, year, moment, services.settings.tz)
    except SQLAlchemyError as exc:
        _database_error(exc)
    if found.empty:
        fail(f"error: no tasks in {year}, nothing to report "
             f"(run: calendar-service plans generate --year {year})")
    if target is None and fmt == "text":
        click.echo(to_text(found))
        return
    body = FORMATS[fmt].body(found)
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    write_atomically(target, body)
    click.echo(f"wrote {target} ({fmt}, {len(body)} bytes)", err=True)


def _report_format(fmt: str | None, target: Path | None) -> str:
    """--format, else the output file's extension, else text; a clash is an error."""
    implied = EXTENSIONS.get(target.suffix.lower()) if target is not None else None
    if fmt is not None and implied is not None and implied != fmt:
        fail(f"error: --format {fmt} does not match the file name {target.name} "
             f"(use a .{FORMATS[fmt].extension} file, or drop --format)")
    return fmt or implied or "text"


COMMANDS = (plans, tasks, agencies, report)
