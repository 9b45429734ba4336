"""The command line: check, load, db upgrade, occurrences — exit codes, stderr, output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from calendar_service.cli import main
from tests.conftest import ROOT


def test_check_accepts_the_2024_catalogue(cli, events_2024):
    result = cli("check", str(events_2024))
    assert result.exit_code == 0
    assert "12 commemorations defined, 12 designated for 2024: OK" in result.stdout


def test_check_reports_every_problem_on_stderr_and_exits_1(cli, tmp_path, events_2024):
    broken = tmp_path / "broken.toml"
    text = events_2024.read_text(encoding="utf-8")
    text = text.replace("ordinal = 70", "ordinal = 71", 1).replace(
        'category = "founding"', 'category = "foundation"')
    broken.write_text(text, encoding="utf-8")
    result = cli("check", str(broken))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{broken}:") and ": ordinal: 71 disagrees" in line for line in lines)
    assert any(": category: unknown category 'foundation'" in line for line in lines)
    assert lines[-1] == "2 problem(s); nothing was written"
    assert result.stdout == ""


def test_load_is_all_or_nothing(cli, tmp_path, events_2024):
    assert cli("load", str(events_2024)).exit_code == 0
    good = events_2024.read_text(encoding="utf-8")
    broken = tmp_path / "2024.toml"
    broken.write_text(good.replace("Chiến thắng Thượng Đức", "Đổi tên").replace(
        "ordinal = 120", "ordinal = 121", 1), encoding="utf-8")
    result = cli("load", str(broken))
    assert result.exit_code == 1 and "nothing was written" in result.stderr
    listing = json.loads(cli("occurrences", "--from", "2024-08-07", "--to", "2024-08-07",
                             "--json").stdout)
    assert [o["commemoration"] for o in listing if o["date"]] == ["Chiến thắng Thượng Đức"]


def test_load_twice_reports_nothing_changed(cli, events_2024):
    first = cli("load", str(events_2024))
    assert "12 added" in first.stdout
    second = cli("load", str(events_2024))
    assert second.exit_code == 0
    assert "0 added, 0 updated, 0 restored, 0 cancelled, 12 unchanged" in second.stdout


def test_load_defaults_to_calendar_events(cli):
    result = cli("load")
    assert result.exit_code == 0 and "12 added" in result.stdout


def test_occurrences_table_for_2024(cli, loaded):
    result = cli("occurrences", "--from", "2024-01-01", "--to", "2024-12-31")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() [:3] == ["Ngày", "Thứ", "Kỷ"]
    body = lines[2:]
    assert len(body) == 12
    assert body[0].startswith("01/01/2024  Thứ Hai   Kỷ niệm 110 năm Ngày sinh đồng chí Nguyễn Chí Thanh")
    dbp = next(line for line in body if "Điện Biên Phủ" in line)
    assert dbp.startswith("07/5/2024   Thứ Ba    Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ")
    assert "theo chỉ thị" in dbp and "năm tròn" in dbp
    thu = next(line for line in body if "Nguyễn Thị Thứ" in line)
    assert thu.startswith("27/7/2024") and "ngày tổ chức được chọn" in thu
    assert body[-1].startswith("năm 2024") and "Huỳnh Ngọc Huệ" in body[-1]
    assert "chưa xác định ngày" in body[-1]


def test_occurrences_json_is_stable_and_complete(cli, loaded):
    args = ("occurrences", "--from", "2024-01-01", "--to", "2024-12-31", "--json")
    first, second = cli(*args).stdout, cli(*args).stdout
    assert first == second
    data = json.loads(first)
    assert [o["ordinal"] for o in data] == [110, 120, 120, 70, 120, 70, 120, 50, 120, 80, 35, 110]
    hue = data[-1]
    assert (hue["id"], hue["date"], hue["to_be_decided"], hue["precision"]) == (
        "huynh-ngoc-hue", None, True, "year")
    dbp = next(o for o in data if o["id"] == "dien-bien-phu")
    assert dbp["date"] == "2024-05-07" and dbp["weekday"] == "Thứ Ba" and dbp["round_rank"] == 2


def test_occurrences_2029_shows_dien_bien_phu_75th_as_round(cli, loaded):
    data = json.loads(cli("occurrences", "--from", "2029-01-01", "--to", "2029-12-31",
                          "--round", "--json").stdout)
    dbp = next(o for o in data if o["id"] == "dien-bien-phu")
    assert (dbp["ordinal"], dbp["round"], dbp["designated"]) == (75, True, False)
    assert all(o["round"] for o in data)


def test_occurrences_defaults_to_today_from_the_clock(cli, loaded):
    data = json.loads(cli("occurrences", "--to", "2026-12-31", "--json").stdout)
    dated = [(o["id"], o["date"], o["ordinal"]) for o in data if o["date"]]
    assert dated == [("quan-doi-nhan-dan-viet-nam", "2026-12-22", 82),
                     ("quoc-phong-toan-dan", "2026-12-22", 37)]


def test_occurrences_filters(cli, loaded):
    data = json.loads(cli("occurrences", "--from", "2024-01-01", "--to", "2024-12-31",
                          "--category", "victory", "--json").stdout)
    assert [o["id"] for o in data] == ["dien-bien-phu", "thuong-duc"]
    assert json.loads(cli("occurrences", "--from", "2025-01-01", "--to", "2025-12-31",
                          "--designated", "--json").stdout) == []


@pytest.mark.parametrize("args, message", [
    (("--from", "2024-02-30"), "is not a date in the form YYYY-MM-DD"),
    (("--from", "2024-05-01", "--to", "2024-04-01"), "is before --from"),
    (("--category", "nope"), "Invalid value for '--category'"),
])
def test_occurrences_bad_input_is_exit_1_on_stderr(cli, loaded, args, message):
    result = cli("occurrences", *args)
    assert result.exit_code == 1
    assert message in result.stderr and result.stdout == ""


def test_occurrences_without_a_schema_explains_what_to_run(tmp_path, clock):
    from calendar_service.app_context import Services
    from calendar_service.store import Database
    from tests.conftest import Cli, make_settings

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Database(url).create_file()
    cli = Cli(Services(make_settings(url, tmp_path), clock=clock,
                       _database=Database(url, create=False)))
    result = cli("occurrences", "--from", "2024-01-01", "--to", "2024-01-31")
    assert result.exit_code == 2 and "calendar-service db upgrade" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", [[], ["check"], ["load"], ["db"], ["db", "upgrade"],
                                     ["occurrences"], ["serve"]])
def test_every_command_has_help(command):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage: " in result.stdout


def test_installed_entry_points_work_end_to_end(tmp_path):
    """The real console script and `python -m`, in a subprocess, on a fresh SQLite file."""
    env = {"CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PATH": "/usr/bin:/bin",
           "CALENDAR_EVENTS": str(ROOT / "events" / "*.toml")}
    script = str(ROOT / ".venv" / "bin" / "calendar-service")
    if not (ROOT / ".venv" / "bin" / "calendar-service").exists():
        script = "calendar-service"
    for args in (["db", "upgrade"], ["load"]):
        done = subprocess.run([script, *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "calendar_service", "occurrences", "--from",
                           "2024-05-07", "--to", "2024-05-07", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The day's one, then 2024's undated ones (year-only origins: events/2024.toml's and
    # events/national.toml's campaign of 18–29/12/1972).
    assert [o["id"] for o in json.loads(done.stdout)] == [
        "dien-bien-phu", "ha-noi-dien-bien-phu-tren-khong", "huynh-ngoc-hue"]
