"""`calendar-service users …`: admin accounts for the web admin area."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from ..cli_support import fail, first_line, services_of
from . import accounts

T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    fail(f"error: {message}")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """Asked twice on a terminal; one line from stdin otherwise (scripts, provisioning)."""
    if not _stdin_is_terminal():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _in_session(ctx: click.Context, work: Callable[..., T]) -> T:
    services = services_of(ctx)
    try:
        with services.database.session() as session:
            return work(session, services.clock.now())
    except accounts.AccountError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _fail(f"cannot use the database: {first_line(exc)}\n"
              "(has the schema been created? run: calendar-service db upgrade)")
    raise AssertionError("unreachable")


@click.group()
def users() -> None:
    """Accounts for the web admin area (/admin): administrators and agency members."""


@users.command("add")
@click.argument("name")
@click.option("--agency", "agency_id", metavar="AGENCY",
              help="Make a member of this agency (its id): sees every plan, changes only "
                   "its agency's tasks. Without it: an administrator.")
@click.pass_context
def users_add(ctx: click.Context, name: str, agency_id: str | None) -> None:
    """Create an account: an administrator, or with --agency a member of that agency. The
    password is asked twice, or read from standard input when it is not a terminal
    (echo secret | calendar-service users add NAME)."""
    try:
        name = accounts.check_username(name)
    except accounts.AccountError as exc:
        _fail(str(exc))
    # A wrong agency is said before anyone types a password.
    _in_session(ctx, lambda s, now: accounts.check_agency(s, agency_id))
    password = _read_password()
    user = _in_session(ctx, lambda s, now: accounts.create_user(s, name, password, now,
                                                                agency_id=agency_id))
    if agency_id is None:
        click.echo(f"added admin user {user.username}")
    else:
        click.echo(f"added user {user.username}, member of {agency_id}")


@users.command("passwd")
@click.argument("name")
@click.pass_context
def users_passwd(ctx: click.Context, name: str) -> None:
    """Set a new password (also lifts a lockout and signs the user out everywhere)."""
    password = _read_password()
    user = _in_session(ctx, lambda s, now: accounts.set_password(s, name, password))
    click.echo(f"password changed for {user.username}")


@users.command("unlock")
@click.argument("name")
@click.pass_context
def users_unlock(ctx: click.Context, name: str) -> None:
    """Lift a lockout after failed logins, keeping the password."""
    user = _in_session(ctx, lambda s, now: accounts.unlock_user(s, name))
    click.echo(f"unlocked {user.username}")


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Delete an admin account; it is signed out everywhere at once."""
    _in_session(ctx, lambda s, now: accounts.remove_user(s, name))
    click.echo(f"removed admin user {accounts.normalise_username(name)}")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List accounts: name, created, last login, role (administrator or an agency's
    member), lock."""
    def rows(session, now):
        def local(moment):
            return moment.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M")

        return [(u.username, local(u.created_at),
                 local(u.last_login_at) if u.last_login_at else "never",
                 "administrator" if u.agency_id is None else f"member of {u.agency_id}",
                 local(u.locked_until) if accounts.is_locked(u, now) else None)
                for u in accounts.list_users(session)]

    found = _in_session(ctx, rows)
    if not found:
        click.echo("no admin users yet: calendar-service users add NAME")
        return
    for name, created, last_login, role, locked in found:
        line = f"{name}\tcreated {created}\tlast login {last_login}\t{role}"
        click.echo(line + (f"\tlocked until {locked}" if locked else ""))


COMMANDS = (users,)
