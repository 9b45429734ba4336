"""Settings, read once from the environment (and an optional `.env` file).

Every setting is documented in README.md ("Settings"); the defaults are the embedded ones that
let `make run` work on a fresh machine: a SQLite file and mail written to a folder.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from . import resources

DEFAULTS = {
    # Unset CALENDAR_DATABASE_URL, CALENDAR_MAIL_URL and CALENDAR_EVENTS default to places
    # under CALENDAR_HOME and to the catalogue shipped with the package (see from_env).
    "CALENDAR_HOME": "instance",
    "CALENDAR_MAIL_FROM": "lich-ky-niem@localhost",
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
    "CALENDAR_METRICS_TOKEN": "",
    "CALENDAR_LOG_FORMAT": "text",
    "CALENDAR_LOG_LEVEL": "INFO",
}
RATELIMIT_SCHEMES = ("memory", "redis", "rediss")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
METRICS_TOKEN_MIN = 16  # characters: a token short enough to guess protects nothing
METRICS_TOKEN_MAX = 200
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# Files in CALENDAR_HOME: the development secret, and the address the last development
# `serve` listened on (so that `remind` in another shell links to it).
SECRET_FILE = "secret_key"
SERVED_URL_FILE = "served_url"


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
    # CALENDAR_SECRET_KEY; None: the development secret kept in `home` (see secret_key).
    secret: str | None
    timezone: str
    env: str
    # CALENDAR_HOME, absolute: where state lives (SQLite file, outbox, development secret,
    # published feeds).
    home: Path
    # Whether CALENDAR_BASE_URL was given; if not, `serve` in development links to itself.
    base_url_set: bool = True
    # CALENDAR_SECRET_KEY_FALLBACKS: retired keys that still verify links and sessions.
    secret_fallbacks: tuple[str, ...] = ()
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
    # CALENDAR_PUBLISH_DIR, absolute; None: `feeds_dir` is CALENDAR_HOME/feeds.
    publish_dir: Path | None = None
    webhook_url: str | None = None  # the global chat channel, told of every reminder
    webhook_scope: str = "notable"
    # Where the rate limits count: memory:// (one process) or redis://… (shared).
    ratelimit_storage: str = "memory://"
    # How many reverse proxies in front may be believed about X-Forwarded-For/-Proto.
    trusted_proxies: int = 0
    # /metrics: the bearer token that opens it; without one, only loopback clients get it.
    metrics_token: str | None = field(default=None, repr=False)
    # prometheus-client's multiprocess folder (PROMETHEUS_MULTIPROC_DIR), under gunicorn.
    metrics_multiproc_dir: Path | None = None
    log_format: str = "text"  # or "json": one JSON object per line
    log_level: str = "INFO"

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

    @property
    def secret_key(self) -> str:
        """The key that signs: CALENDAR_SECRET_KEY, or the development secret of `home`
        (created on first use, so that reading the settings writes nothing)."""
        return self.secret if self.secret is not None else development_secret(self.home)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """Every key that may verify, oldest first and the signing key last (the order
        itsdangerous takes a list in); CALENDAR_SECRET_KEY_FALLBACKS lists newest first."""
        return (*reversed(self.secret_fallbacks), self.secret_key)

    @property
    def feeds_dir(self) -> Path:
        """Where `feed publish` writes, the scheduler keeps the static feed files current,
        and nginx serves them from: CALENDAR_PUBLISH_DIR, else CALENDAR_HOME/feeds."""
        return self.publish_dir if self.publish_dir is not None else self.home / "feeds"

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a `serve` on host:port: without CALENDAR_BASE_URL, a
        development server's links point at itself (and the address is remembered in
        `home` for the other commands); a given CALENDAR_BASE_URL wins."""
        if self.base_url_set or self.env != "development":
            return self
        base_url = served_url(host, port)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.home / SERVED_URL_FILE, base_url + "\n", 0o644)
        except OSError:
            pass  # only a convenience for the other commands; serving does not need it
        return replace(self, base_url=base_url)

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
        raw_home = values["CALENDAR_HOME"].strip()
        if not raw_home:
            raise ConfigError("CALENDAR_HOME must be a folder, not empty")
        home = Path(raw_home).expanduser().resolve()
        if home.exists() and not home.is_dir():
            raise ConfigError(f"CALENDAR_HOME: {home} is not a folder")
        secret = values.get("CALENDAR_SECRET_KEY", "").strip() or None
        if secret is None and env == "production":
            raise ConfigError(
                "CALENDAR_SECRET_KEY is required when CALENDAR_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')")
        fallbacks = tuple(k for k in values.get("CALENDAR_SECRET_KEY_FALLBACKS", "")
                          .replace(",", " ").split() if k)
        if fallbacks and secret is None:
            raise ConfigError("CALENDAR_SECRET_KEY_FALLBACKS needs CALENDAR_SECRET_KEY "
                              "(the new key that replaced them)")
        try:
            ZoneInfo(values["CALENDAR_TIMEZONE"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"CALENDAR_TIMEZONE: unknown timezone {values['CALENDAR_TIMEZONE']!r}") from exc
        base_url_set = bool(values.get("CALENDAR_BASE_URL", "").strip())
        if base_url_set:
            base_url = values["CALENDAR_BASE_URL"].strip().rstrip("/")
        else:
            base_url = _last_served_url(home) if env == "development" else None
            base_url = base_url or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")) or not urlsplit(base_url).hostname:
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

        metrics_token = values["CALENDAR_METRICS_TOKEN"].strip() or None
        if metrics_token is not None and not (
                METRICS_TOKEN_MIN <= len(metrics_token) <= METRICS_TOKEN_MAX
                and metrics_token.isascii() and metrics_token.isprintable()
                and " " not in metrics_token):
            # The value itself is a secret: the message says what is wrong, not what it is.
            raise ConfigError(
                f"CALENDAR_METRICS_TOKEN must be {METRICS_TOKEN_MIN}-{METRICS_TOKEN_MAX} "
                "printable ASCII characters without spaces (generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        multiproc = (source.get("PROMETHEUS_MULTIPROC_DIR") or "").strip() or None
        if multiproc is not None and not (Path(multiproc).is_dir()
                                          and os.access(multiproc, os.W_OK)):
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={multiproc!r} must be an existing "
                              "folder this process can write (create it before the workers "
                              "start; see README, Monitoring)")
        log_format = values["CALENDAR_LOG_FORMAT"].strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"CALENDAR_LOG_FORMAT must be text or json, not {log_format!r}")
        log_level = values["CALENDAR_LOG_LEVEL"].strip().upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"CALENDAR_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                              f"not {values['CALENDAR_LOG_LEVEL']!r}")
        tick_seconds = None
        if values["CALENDAR_TICK_SECONDS"].strip():
            tick_seconds = number("CALENDAR_TICK_SECONDS", 0.5, 86400, float)
        publish_dir = values["CALENDAR_PUBLISH_DIR"].strip()

        events = tuple(p for p in values.get("CALENDAR_EVENTS", "").replace(",", " ").split()
                       if p) or (str(resources.EVENTS / "*.toml"),)
        database_url = (values.get("CALENDAR_DATABASE_URL", "").strip()
                        or f"sqlite:///{home / 'calendar.db'}")
        mail_url = (values.get("CALENDAR_MAIL_URL", "").strip()
                    or f"file://{quote(str(home / 'outbox'))}")
        return cls(
            database_url=normalise_database_url(database_url),
            events=events,
            mail_url=mail_url,
            mail_from=values["CALENDAR_MAIL_FROM"].strip(),
            base_url=base_url,
            secret=secret,
            timezone=values["CALENDAR_TIMEZONE"],
            env=env,
            home=home,
            base_url_set=base_url_set,
            secret_fallbacks=fallbacks,
            feed_past_days=number("CALENDAR_FEED_PAST_DAYS", 0, 3660),
            feed_future_days=number("CALENDAR_FEED_FUTURE_DAYS", 1, 3660),
            feed_refresh=timedelta(hours=number("CALENDAR_FEED_REFRESH_HOURS", 1, 24 * 7)),
            feed_version_check_seconds=number(
                "CALENDAR_FEED_VERSION_CHECK_SECONDS", 0, 3600, float),
            reminder_time=reminder_time,
            reminder_tick_minutes=number("CALENDAR_REMINDER_TICK_MINUTES", 1, 1440),
            tick_seconds_setting=tick_seconds,
            feed_build_wait_seconds=number("CALENDAR_FEED_BUILD_WAIT_SECONDS", 0, 60, float),
            publish_dir=Path(publish_dir).expanduser().resolve() if publish_dir else None,
            webhook_url=webhook_url,
            webhook_scope=webhook_scope,
            ratelimit_storage=ratelimit_storage,
            trusted_proxies=number("CALENDAR_TRUSTED_PROXIES", 0, 10),
            metrics_token=metrics_token,
            metrics_multiproc_dir=Path(multiproc) if multiproc else None,
            log_format=log_format,
            log_level=log_level,
        )


def served_url(host: str, port: int) -> str:
    """The address a server listening on host:port is reached at from this machine."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:  # 0.0.0.0 or ::, every interface: this machine answers too
        address = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


def _last_served_url(home: Path) -> str | None:
    try:
        found = (home / SERVED_URL_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return found if found.startswith("http://") and len(found) < 300 else None


_secret_lock = threading.Lock()


@functools.cache
def development_secret(home: Path) -> str:
    """The development key of this CALENDAR_HOME: generated once, kept in a 0600 file and
    read by every process, so that links signed by `remind` work on `serve`'s pages and
    survive a restart. Two processes starting together agree: the file appears whole
    (hard-linked from a finished temporary file) or not at all."""
    path = home / SECRET_FILE
    with _secret_lock:
        try:
            found = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            found = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the development secret {path}: {exc}") from exc
        if found:
            return found
        try:
            home.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, secrets.token_hex(32) + "\n", 0o600, exclusive=True)
        except FileExistsError:
            pass  # another process won the race: use its key
        except OSError as exc:
            raise ConfigError(f"cannot write the development secret {path}: {exc} "
                              f"(set CALENDAR_HOME to a writable folder, or "
                              f"CALENDAR_SECRET_KEY)") from exc
        return path.read_text(encoding="ascii").strip()


def _write_atomically(path: Path, text: str, mode: int, exclusive: bool = False) -> None:
    """Write a whole file under its final name at once; `exclusive`: never replace one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)  # fails if the file exists
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
