"""Settings: embedded defaults, .env files, and clear errors for bad values."""

import pytest

from calendar_service.config import ConfigError, Settings


def test_embedded_defaults():
    s = Settings.from_env({}, env_file=None)
    assert s.database_url == "sqlite:///instance/calendar.db"
    assert s.events == ("events/*.toml",)
    assert s.mail_url == "file://instance/outbox"
    assert s.timezone == "Asia/Ho_Chi_Minh" and not s.production
    assert len(s.secret_key) >= 32  # random in development
    assert s.ratelimit_storage == "memory://" and s.trusted_proxies == 0


def test_rate_limit_storage_and_trusted_proxies():
    s = Settings.from_env({"CALENDAR_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0",
                           "CALENDAR_TRUSTED_PROXIES": "1"}, env_file=None)
    assert s.ratelimit_storage == "redis://127.0.0.1:6379/0" and s.trusted_proxies == 1


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ConfigError, match="CALENDAR_SECRET_KEY is required"):
        Settings.from_env({"CALENDAR_ENV": "production"}, env_file=None)
    s = Settings.from_env({"CALENDAR_ENV": "production", "CALENDAR_SECRET_KEY": "k" * 40},
                          env_file=None)
    assert s.production and s.secret_key == "k" * 40


def test_postgresql_urls_use_psycopg():
    s = Settings.from_env({"CALENDAR_DATABASE_URL": "postgresql://u@h:5432/db"}, env_file=None)
    assert s.database_url == "postgresql+psycopg://u@h:5432/db"


@pytest.mark.parametrize("env, message", [
    ({"CALENDAR_TIMEZONE": "Mars/Olympus"}, "CALENDAR_TIMEZONE"),
    ({"CALENDAR_BASE_URL": "example.org"}, "CALENDAR_BASE_URL"),
    ({"CALENDAR_ENV": "staging"}, "CALENDAR_ENV"),
    ({"CALENDAR_WEBHOOK_URL": "hooks.example.org/x"}, "CALENDAR_WEBHOOK_URL"),
    ({"CALENDAR_WEBHOOK_SCOPE": "some"}, "CALENDAR_WEBHOOK_SCOPE"),
    ({"CALENDAR_RATELIMIT_STORAGE": "memcached://h:11211"}, "CALENDAR_RATELIMIT_STORAGE"),
    ({"CALENDAR_RATELIMIT_STORAGE": "redis://"}, "CALENDAR_RATELIMIT_STORAGE"),
    ({"CALENDAR_TRUSTED_PROXIES": "-1"}, "CALENDAR_TRUSTED_PROXIES"),
    ({"CALENDAR_TRUSTED_PROXIES": "yes"}, "CALENDAR_TRUSTED_PROXIES"),
])
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env, env_file=None)


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("CALENDAR_MAIL_FROM=file@example.org\nCALENDAR_BASE_URL=https://a.vn/\n")
    s = Settings.from_env({"CALENDAR_MAIL_FROM": "env@example.org"}, env_file=env_file)
    assert s.mail_from == "env@example.org"
    assert s.base_url == "https://a.vn"


def test_a_redis_storage_without_the_redis_package_is_a_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "redis" else real(name, *a))
    with pytest.raises(ConfigError, match=r"calendar-service\[redis\]"):
        Settings.from_env({"CALENDAR_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0"},
                          env_file=None)
