"""Settings, read once from the environment (and an optional `.env` file).

Every setting is documented in README.md ("Settings"); the defaults are the embedded ones that
let `make run` work on a fresh machine: a SQLite file and mail written to a folder.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULTS = {
    "CALENDAR_DATABASE_URL": "sqlite:///instance/calendar.db",
    "CALENDAR_EVENTS": "events/*.toml",
    "CALENDAR_MAIL_URL": "file://instance/outbox",
    "CALENDAR_MAIL_FROM": "lich-ky-niem@localhost",
    "CALENDAR_BASE_URL": "http://127.0.0.1:5000",
    "CALENDAR_TIMEZONE": "Asia/Ho_Chi_Minh",
    "CALENDAR_ENV": "development",
    "CALENDAR_FEED_PAST_DAYS": "365",
    "CALENDAR_FEED_FUTURE_DAYS": "730",
    "CALENDAR_FEED_REFRESH_HOURS": "6",
    "CALENDAR_FEED_VERSION_CHECK_SECONDS": "1",
    "CALENDAR_REMINDER_TIME": "08:00",
    "CALENDAR_REMINDER_TICK_MINUTES": "5",
    "CALENDAR_TICK_SECONDS": "",
    "CALENDAR_FEED_BUILD_WAIT_SECONDS": "0.5",
    "CALENDAR_PUBLISH_DIR": "",
    "CALENDAR_WEBHOOK_URL": "",
    "CALENDAR_WEBHOOK_SCOPE": "notable",
    "CALENDAR_RATELIMIT_STORAGE": "memory://",
    "CALENDAR_TRUSTED_PROXIES": "0",
}
RATELIMIT_SCHEMES = ("memory", "redis", "rediss")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def normalise_database_url(url: str) -> str:
    """Let operators write the usual postgresql:// URL; we talk to it through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    events: tuple[str, ...]
    mail_url: str
    mail_from: str
    base_url: str
    secret_key: str
    timezone: str
    env: str
    feed_past_days: int = 365
    feed_future_days: int = 730
    feed_refresh: timedelta = timedelta(hours=6)
    feed_version_check_seconds: float = 1.0
    reminder_time: time = time(8, 0)
    reminder_tick_minutes: int = 5
    # The scheduler's tick in seconds when set (a test or a busy site); else the minutes.
    tick_seconds_setting: float | None = None
    # How long a feed request waits for a build before it answers with the last good bytes.
    feed_build_wait_seconds: float = 0.5
    # Where `feed publish` writes (and the scheduler keeps) the static feed files.
    publish_dir: Path | None = None
    webhook_url: str | None = None  # the global chat channel, told of every reminder
    webhook_scope: str = "notable"
    # Where the rate limits count: memory:// (one process) or redis://… (shared).
    ratelimit_storage: str = "memory://"
    # How many reverse proxies in front may be believed about X-Forwarded-For/-Proto.
    trusted_proxies: int = 0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def tick_seconds(self) -> float:
        if self.tick_seconds_setting is not None:
            return self.tick_seconds_setting
        return self.reminder_tick_minutes * 60.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        values: dict[str, str] = dict(DEFAULTS)
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        source = os.environ if environ is None else environ
        values.update({k: v for k, v in source.items() if k.startswith("CALENDAR_")})

        env = values["CALENDAR_ENV"].strip().lower()
        if env not in ("development", "production", "test"):
            raise ConfigError(
                f"CALENDAR_ENV must be development, production or test, not {env!r}")
        secret = values.get("CALENDAR_SECRET_KEY", "").strip()
        if not secret:
            if env == "production":
                raise ConfigError(
                    "CALENDAR_SECRET_KEY is required when CALENDAR_ENV=production "
                    "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')")
            secret = secrets.token_hex(32)
        try:
            ZoneInfo(values["CALENDAR_TIMEZONE"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"CALENDAR_TIMEZONE: unknown timezone {values['CALENDAR_TIMEZONE']!r}") from exc
        base_url = values["CALENDAR_BASE_URL"].rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"CALENDAR_BASE_URL must start with http:// or https://, "
                              f"not {base_url!r}")
        def number(name: str, low: float, high: float, kind=int):
            raw = values[name].strip()
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, not {raw}")
            return value

        try:
            reminder_time = time.fromisoformat(values["CALENDAR_REMINDER_TIME"].strip())
        except ValueError:
            raise ConfigError("CALENDAR_REMINDER_TIME must be a time such as 08:00, not "
                              f"{values['CALENDAR_REMINDER_TIME']!r}") from None

        webhook_url = values["CALENDAR_WEBHOOK_URL"].strip() or None
        if webhook_url is not None:
            parts = urlsplit(webhook_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"CALENDAR_WEBHOOK_URL must be an http(s):// URL, not "
                                  f"{webhook_url!r}")
        webhook_scope = values["CALENDAR_WEBHOOK_SCOPE"].strip().lower()
        if webhook_scope not in ("notable", "all"):
            raise ConfigError(f"CALENDAR_WEBHOOK_SCOPE must be notable or all, not "
                              f"{webhook_scope!r}")

        ratelimit_storage = values["CALENDAR_RATELIMIT_STORAGE"].strip()
        storage = urlsplit(ratelimit_storage)
        if storage.scheme not in RATELIMIT_SCHEMES or (
                storage.scheme != "memory" and not storage.hostname):
            raise ConfigError("CALENDAR_RATELIMIT_STORAGE must be memory:// or "
                              "redis://HOST:PORT/DB (rediss:// for TLS), not "
                              f"{ratelimit_storage!r}")
        if storage.scheme != "memory" and importlib.util.find_spec("redis") is None:
            raise ConfigError("CALENDAR_RATELIMIT_STORAGE=redis://… needs the redis package: "
                              "pip install 'calendar-service[redis]'")

        tick_seconds = None
        if values["CALENDAR_TICK_SECONDS"].strip():
            tick_seconds = number("CALENDAR_TICK_SECONDS", 0.5, 86400, float)
        publish_dir = values["CALENDAR_PUBLISH_DIR"].strip()

        events = tuple(p for p in values["CALENDAR_EVENTS"].replace(",", " ").split() if p)
        return cls(
            database_url=normalise_database_url(values["CALENDAR_DATABASE_URL"].strip()),
            events=events,
            mail_url=values["CALENDAR_MAIL_URL"].strip(),
            mail_from=values["CALENDAR_MAIL_FROM"].strip(),
            base_url=base_url,
            secret_key=secret,
            timezone=values["CALENDAR_TIMEZONE"],
            env=env,
            feed_past_days=number("CALENDAR_FEED_PAST_DAYS", 0, 3660),
            feed_future_days=number("CALENDAR_FEED_FUTURE_DAYS", 1, 3660),
            feed_refresh=timedelta(hours=number("CALENDAR_FEED_REFRESH_HOURS", 1, 24 * 7)),
            feed_version_check_seconds=number(
                "CALENDAR_FEED_VERSION_CHECK_SECONDS", 0, 3600, float),
            reminder_time=reminder_time,
            reminder_tick_minutes=number("CALENDAR_REMINDER_TICK_MINUTES", 1, 1440),
            tick_seconds_setting=tick_seconds,
            feed_build_wait_seconds=number("CALENDAR_FEED_BUILD_WAIT_SECONDS", 0, 60, float),
            publish_dir=Path(publish_dir) if publish_dir else None,
            webhook_url=webhook_url,
            webhook_scope=webhook_scope,
            ratelimit_storage=ratelimit_storage,
            trusted_proxies=number("CALENDAR_TRUSTED_PROXIES", 0, 10),
        )
