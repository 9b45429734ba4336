"""`calendar-service subscribers …`, `remind` and `scheduler`: the reminder feature's
commands."""

from __future__ import annotations

import json

import click

from .. import logs
from ..cli_support import MomentType, fail, services_of
from . import subscribers as subs
from .models import SCOPES
from .scheduler import make_scheduler
from .tick import run_tick


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@click.group()
def subscribers() -> None:
    """Manage who receives reminders."""


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="The person's or the department's name.")
@click.option("--organisation", help="Their organisation.")
@click.option("--categories", help="Comma-separated categories (default: all).")
@click.option("--scope", type=click.Choice(SCOPES), default="notable", show_default=True,
              help="notable: only designated and round anniversaries; all: every anniversary.")
@click.option("--lead-days", help="Personal lead times, e.g. 30,7,1 (default: the catalogue's).")
@click.option("--webhook", help="Also post reminders to this chat webhook URL.")
@click.pass_context
def subscribers_add(ctx, email, name, organisation, categories, scope, lead_days, webhook):
    """Add a subscriber (confirmed at once: an administrator added them)."""
    services = services_of(ctx)
    try:
        days = [int(d) for d in _csv(lead_days)]
    except ValueError:
        fail(f"error: --lead-days must be whole numbers, e.g. 30,7,1, not {lead_days!r}")
    try:
        new = subs.NewSubscriber.parse(email, name=name, organisation=organisation,
                                       categories=_csv(categories), scope=scope,
                                       lead_days=days, webhook_url=webhook)
        with services.database.session() as session:
            subs.add(session, new, services.clock.now())
    except subs.SubscriberError as exc:
        fail(f"error: {exc}")
    click.echo(f"added {new.email}")


@subscribers.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
def subscribers_list(ctx, as_json):
    """List subscribers."""
    services = services_of(ctx)
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
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            removed = subs.remove(session, email)
    except subs.SubscriberError as exc:
        fail(f"error: {exc}")
    if not removed:
        fail(f"error: no subscriber {email}")
    click.echo(f"removed {email}")


@click.command()
@click.option("--as-of", "as_of", type=MomentType(),
              help="The moment to act for (ISO 8601; without an offset: CALENDAR_TIMEZONE).")
@click.option("--dry-run", is_flag=True, help="Only show what is due; send and record nothing.")
@click.pass_context
def remind(ctx, as_of, dry_run):
    """Run one reminder tick: send what is due at that moment, once."""
    services = services_of(ctx)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=services.settings.tz)
    try:
        report = run_tick(services, as_of, dry_run=dry_run)
    except ValueError as exc:  # a bad CALENDAR_MAIL_URL
        fail(f"error: {exc}")
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


@click.command()
@click.pass_context
def scheduler(ctx):
    """Run the reminder scheduler alone (deploy it once beside several web workers)."""
    services = services_of(ctx)
    logs.configure(services.settings)  # one line per tick, text or JSON
    s = services.settings
    click.echo(f"scheduler: a tick every {s.tick_seconds:g} s; feeds published to "
               f"{s.feeds_dir}; Ctrl-C to stop", err=True)
    try:
        make_scheduler(services, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass


COMMANDS = (subscribers, remind, scheduler)
