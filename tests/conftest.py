"""Shared fixtures: a real SQLite file per test, and the real PostgreSQL named by
CALENDAR_TEST_DATABASE_URL (one throw-away schema per test), a fixed clock, the CLI."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from calendar_service.app_context import Services
from calendar_service.cli import main
from calendar_service.clock import FixedClock
from calendar_service.config import Settings, normalise_database_url
from calendar_service.store import Database
from calendar_service.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
EVENTS_2024 = ROOT / "events" / "2024.toml"
PG_URL = os.environ.get("CALENDAR_TEST_DATABASE_URL")
# The moment the examples are written from.
NOW = datetime.fromisoformat("2026-11-27T09:00:00+07:00")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not PG_URL, reason="PostgreSQL: CALENDAR_TEST_DATABASE_URL is not set")),
]


@pytest.fixture
def events_2024() -> Path:
    return EVENTS_2024


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calendar.db'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema, for tests that are about PostgreSQL itself."""
    if not PG_URL:
        pytest.skip("PostgreSQL: CALENDAR_TEST_DATABASE_URL is not set")
    yield from _postgres_schema()


def _postgres_schema():
    base = normalise_database_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database(db_url):
    db = Database(db_url)
    upgrade(db.engine)
    yield db
    db.dispose()


def make_settings(db_url: str, tmp_path: Path, **extra: str) -> Settings:
    env = {
        "CALENDAR_DATABASE_URL": db_url,
        "CALENDAR_EVENTS": str(EVENTS_2024),
        "CALENDAR_MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "CALENDAR_SECRET_KEY": "test-secret",
        "CALENDAR_ENV": "test",
        "CALENDAR_HOME": str(tmp_path / "home"),  # never the checkout's instance/
        "CALENDAR_FEED_VERSION_CHECK_SECONDS": "0",  # see every change at once
        # A feed request waits for its build (test_feeds.py sets 0 to test the last good
        # bytes): a busy machine must not turn a fresh answer into the previous one.
        "CALENDAR_FEED_BUILD_WAIT_SECONDS": "30",
        **extra,
    }
    return Settings.from_env(env, env_file=None)


@pytest.fixture
def services(database, db_url, tmp_path, clock) -> Services:
    return Services(make_settings(db_url, tmp_path), clock=clock, _database=database)


@pytest.fixture
def loaded(services, events_2024):
    """A store holding the 2024 catalogue."""
    from calendar_service.catalogue import load_catalogue
    from calendar_service.store import sync_catalogue

    with services.database.session() as session:
        sync_catalogue(session, load_catalogue([events_2024]), services.clock.now())
    return services


@pytest.fixture
def app(loaded):
    """The web app over the loaded store (exceptions propagate: testing mode)."""
    from calendar_service.app import create_app

    app = create_app(loaded)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class Cli:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(main, list(args), obj=self.services, catch_exceptions=False)


@pytest.fixture
def cli(services) -> Cli:
    return Cli(services)
