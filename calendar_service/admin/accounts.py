"""Admin accounts: creation, password changes, and password checks with a lockout.

No Flask here: the `users` commands and the login route share these functions.

The lockout counts in the database, atomically: a failure is one `UPDATE … SET
failed_attempts = failed_attempts + 1 … RETURNING`, which locks the account in the same
statement when it reaches MAX_FAILED_ATTEMPTS; a success is one `UPDATE … WHERE not locked
… RETURNING`. Concurrent wrong passwords therefore all count, on SQLite (which has no row
locks: a read-then-write counter lost them) as on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..store.models import AgencyRow, UTCDateTime
from .models import AdminSession, AdminUser

MIN_PASSWORD_LENGTH = 10
# Bounds the hashing work an anonymous login form can ask for.
MAX_PASSWORD_LENGTH = 1024
MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,79}$")


class AccountError(ValueError):
    """Bad account input; the message says what and why (shown to the operator)."""


def normalise_username(name: str) -> str:
    """Lower-case, so 'Admin' and 'admin' are one account."""
    return name.strip().lower()


def check_username(name: str) -> str:
    name = normalise_username(name)
    if not USERNAME.match(name):
        raise AccountError(f"invalid user name {name!r}: use 1–80 lower-case letters, digits "
                           "and . _ @ - (starting with a letter or digit)")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters "
                           f"long (got {len(password)})")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@cache
def _dummy_hash() -> str:
    return hash_password("not a password of anyone")


def find_user(session: Session, name: str, *, for_update: bool = False) -> AdminUser | None:
    query = select(AdminUser).where(AdminUser.username == normalise_username(name))
    if for_update:
        query = query.with_for_update()  # concurrent failures must all count
    return session.scalar(query)


def check_agency(session: Session, agency_id: str | None) -> str | None:
    """None (an administrator), or the id of an agency that is in use."""
    if agency_id is None:
        return None
    agency = session.get(AgencyRow, agency_id)
    if agency is None:
        raise AccountError(f"no agency {agency_id!r} (calendar-service agencies list)")
    if not agency.active:
        raise AccountError(f"agency {agency_id!r} is no longer in the catalogue files")
    return agency_id


def create_user(session: Session, name: str, password: str, now: datetime, *,
                agency_id: str | None = None) -> AdminUser:
    """An administrator, or (with `agency_id`) a member of that agency."""
    name = check_username(name)
    check_password(password)
    check_agency(session, agency_id)
    if find_user(session, name) is not None:
        raise AccountError(f"user {name!r} already exists (to change the password: "
                           f"calendar-service users passwd {name})")
    user = AdminUser(username=name, password_hash=hash_password(password), created_at=now,
                     failed_attempts=0, agency_id=agency_id)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, name: str, password: str) -> AdminUser:
    """A new password also lifts a lock, and ends every session signed with the old one."""
    user = find_user(session, name, for_update=True)
    if user is None:
        raise AccountError(f"no user {normalise_username(name)!r}")
    check_password(password)
    user.password_hash = hash_password(password)
    user.failed_attempts = 0
    user.locked_until = None
    end_sessions(session, user.id)
    return user


def unlock_user(session: Session, name: str) -> AdminUser:
    """Lift a lockout now, without changing the password."""
    user = find_user(session, name, for_update=True)
    if user is None:
        raise AccountError(f"no user {normalise_username(name)!r}")
    user.failed_attempts = 0
    user.locked_until = None
    return user


def remove_user(session: Session, name: str) -> None:
    """Delete an account; its sessions end with it. The audit log keeps the name in its
    entries."""
    user = find_user(session, name, for_update=True)
    if user is None:
        raise AccountError(f"no user {normalise_username(name)!r}")
    end_sessions(session, user.id)  # ON DELETE CASCADE too; said here for the reader
    session.delete(user)


def end_sessions(session: Session, user_id: int) -> int:
    """Sign the account out everywhere: every session of it ends at once."""
    return session.execute(delete(AdminSession).where(AdminSession.user_id == user_id)
                           ).rowcount or 0


def list_users(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.username)))


def is_locked(user: AdminUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def authenticate(session: Session, name: str, password: str, now: datetime
                 ) -> AdminUser | None:
    """The user when the password is right and the account not locked, else None.

    Callers must answer every None the same way: an unknown name, a wrong password and a
    locked account look alike, so the form tells an attacker nothing. Each path does one
    password hash check, so their timings look alike too.
    """
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        return None
    user = find_user(session, name)
    if user is None or is_locked(user, now):
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        record_failure(session, user.id, now)
        return None
    # Right password: a success, unless a lock came in while the hash was being checked.
    signed_in = session.execute(
        update(AdminUser)
        .where(AdminUser.id == user.id,
               or_(AdminUser.locked_until.is_(None), AdminUser.locked_until <= now))
        .values(failed_attempts=0, locked_until=None, last_login_at=now)
        .returning(AdminUser.id)
        .execution_options(synchronize_session=False)).first()
    if signed_in is None:
        return None
    session.refresh(user)
    return user


def record_failure(session: Session, user_id: int, now: datetime) -> bool:
    """Count one failed password, atomically; lock the account (and end its sessions) when
    the count reaches the limit. True when this failure locked it."""
    reached = AdminUser.failed_attempts + 1 >= MAX_FAILED_ATTEMPTS
    until = literal(now + LOCK_DURATION, UTCDateTime)
    row = session.execute(
        update(AdminUser)
        .where(AdminUser.id == user_id)
        .values(failed_attempts=case((reached, 0), else_=AdminUser.failed_attempts + 1),
                # after the lock, a fresh allowance
                locked_until=case((reached, until), else_=AdminUser.locked_until))
        .returning(AdminUser.failed_attempts, AdminUser.locked_until)
        .execution_options(synchronize_session=False)).first()
    locked = row is not None and row.locked_until == now + LOCK_DURATION \
        and row.failed_attempts == 0
    if locked:
        end_sessions(session, user_id)
    return locked
