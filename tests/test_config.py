"""Settings: embedded defaults, .env files, and clear errors for bad values."""

import pytest

from calendar_service import resources
from calendar_service.config import ConfigError, Settings


def test_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({}, env_file=None)
    home = tmp_path.resolve() / "instance"
    assert s.home == home and s.feeds_dir == home / "feeds"
    assert s.database_url == f"sqlite:///{home}/calendar.db"
    assert s.events == (str(resources.EVENTS / "*.toml"),)  # the catalogue shipped with it
    assert s.mail_url == f"file://{home}/outbox"
    assert s.base_url == "http://127.0.0.1:5000" and not s.base_url_set
    assert s.timezone == "Asia/Ho_Chi_Minh" and not s.production
    assert s.ratelimit_storage == "memory://" and s.trusted_proxies == 0
    assert not home.exists()  # reading the settings writes nothing


def test_calendar_home_holds_the_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({"CALENDAR_HOME": "state/here"}, env_file=None)
    home = tmp_path.resolve() / "state" / "here"
    assert s.home == home and s.feeds_dir == home / "feeds"
    assert s.database_url == f"sqlite:///{home}/calendar.db"
    assert s.mail_url == f"file://{home}/outbox"
    given = Settings.from_env({"CALENDAR_HOME": str(home), "CALENDAR_MAIL_URL": "file:///m",
                               "CALENDAR_DATABASE_URL": "sqlite:////d.db"}, env_file=None)
    assert given.mail_url == "file:///m" and given.database_url == "sqlite:////d.db"
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match="CALENDAR_HOME"):
        Settings.from_env({"CALENDAR_HOME": str(tmp_path / "a-file")}, env_file=None)


def test_the_development_secret_is_made_once_private_and_shared(tmp_path):
    """Breakage 1 of issue 13: every process used to pick its own random key."""
    from calendar_service.config import development_secret

    first = Settings.from_env({"CALENDAR_HOME": str(tmp_path)}, env_file=None)
    assert not (tmp_path / "secret_key").exists()  # made when first needed
    key = first.secret_key
    assert len(key) >= 64 and (tmp_path / "secret_key").read_text().strip() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    development_secret.cache_clear()  # as a new process would
    again = Settings.from_env({"CALENDAR_HOME": str(tmp_path)}, env_file=None)
    assert again.secret_key == key
    other = Settings.from_env({"CALENDAR_HOME": str(tmp_path / "other")}, env_file=None)
    assert other.secret_key != key


def test_the_development_secret_is_the_same_in_every_process(tmp_path):
    """Several processes starting at once agree on one key."""
    import subprocess
    import sys

    code = ("from calendar_service.config import Settings; "
            f"print(Settings.from_env({{'CALENDAR_HOME': {str(tmp_path)!r}}}, "
            "env_file=None).secret_key)")
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(4)]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and keys == {(tmp_path / "secret_key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left


def test_secret_key_fallbacks_verify_old_tokens_and_need_a_new_key():
    from calendar_service.reminders.tokens import make_token, read_token

    old = Settings.from_env({"CALENDAR_SECRET_KEY": "old-test-key"}, env_file=None)
    token = make_token(old.secret_keys, "unsubscribe", 7, "a@example.org")
    rotated = Settings.from_env({"CALENDAR_SECRET_KEY": "new-test-key",
                                 "CALENDAR_SECRET_KEY_FALLBACKS": "older-test-key, old-test-key"},
                                env_file=None)
    assert rotated.secret_keys == ("old-test-key", "older-test-key", "new-test-key")
    assert read_token(rotated.secret_keys, "unsubscribe", token) == (7, "a@example.org")
    dropped = Settings.from_env({"CALENDAR_SECRET_KEY": "new-test-key"}, env_file=None)
    assert read_token(dropped.secret_keys, "unsubscribe", token) is None
    with pytest.raises(ConfigError, match="CALENDAR_SECRET_KEY_FALLBACKS"):
        Settings.from_env({"CALENDAR_SECRET_KEY_FALLBACKS": "old-test-key"}, env_file=None)


def test_the_base_url_follows_a_development_serve(tmp_path):
    """Breakage 2 of issue 13: `make run PORT=5101` linked to :5000."""
    s = Settings.from_env({"CALENDAR_HOME": str(tmp_path)}, env_file=None)
    assert s.served_at("127.0.0.1", 5101).base_url == "http://127.0.0.1:5101"
    assert s.served_at("0.0.0.0", 8080).base_url == "http://127.0.0.1:8080"
    assert s.served_at("::", 8080).base_url == "http://[::1]:8080"
    assert s.served_at("lich.local", 80).base_url == "http://lich.local:80"
    # The other commands of this CALENDAR_HOME (remind in another shell) follow the last one.
    later = Settings.from_env({"CALENDAR_HOME": str(tmp_path)}, env_file=None)
    assert later.base_url == "http://lich.local:80"
    given = Settings.from_env({"CALENDAR_HOME": str(tmp_path),
                               "CALENDAR_BASE_URL": "https://lich.example.vn/"}, env_file=None)
    assert given.served_at("127.0.0.1", 5101).base_url == "https://lich.example.vn"
    production = Settings.from_env({"CALENDAR_HOME": str(tmp_path / "p"), "CALENDAR_ENV":
                                    "production", "CALENDAR_SECRET_KEY": "k" * 40},
                                   env_file=None)
    assert production.served_at("127.0.0.1", 5101).base_url == "http://127.0.0.1:5000"


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
