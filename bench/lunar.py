"""Benchmark the engine with lunar origins (issue 12): occurrences of 20,000 commemorations,
a fifth of them lunar, over ten years. Target: under 1 s.

A benchmark, not a test. The synthetic catalogue is deterministic (seeded) and built as
validated values through `load_text` (so the lunar entries are exactly what a catalogue file
gives): 16,000 solar entries (as bench/engine.py makes them: 1 % year-only, 0.5 % on
29 February) and 4,000 lunar ones — half yearly observances without a year, half with an
origin year; a few on day 30 or in a leap month, so the missing-day rule runs too.

Figures, each the median of --repeat runs:
1. cold: the lunar calendar's per-year tables are emptied before each run (the first request
   after a start);
2. warm: the tables kept (every later request: the years are computed once per process);
3. the lunar calendar alone: every lunar year's table 1900–2200 from nothing.

Run from the repository root:

    .venv/bin/python bench/lunar.py [--count 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from calendar_service import lunar
from calendar_service.anniversaries import lunar_anniversary, occurrences
from calendar_service.catalogue import load_text
from calendar_service.vietnamese import fold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import KINDS, PEOPLE, PLACES, Figure, print_table, toml_string  # noqa: E402

SEED = 20260426
RANGE = (date(2027, 1, 1), date(2036, 12, 31))
TARGET_S = 1.0


@contextmanager
def stopwatch(wall: list[float], cpu: list[float]):
    """Wall time, and this process's CPU time: on a shared, busy machine the CPU time is
    what the code costs, the wall time what a user waited."""
    start, start_cpu = time.perf_counter(), time.process_time()
    yield
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)


def entry(index: int, rng: random.Random, lunar_share: float) -> str:
    prefix, category = rng.choice(KINDS)
    subject = rng.choice(PEOPLE if category == "birth-anniversary" else PLACES)
    title = f"{prefix} {subject}"
    lines = ["[[commemoration]]", f'id = "{"-".join(fold(title).split())}-{index:05d}"',
             f"title = {toml_string(title)}", f'category = "{category}"',
             f'description = "{title}."']
    if rng.random() < lunar_share:
        month = rng.randint(1, 12)
        day = 30 if rng.random() < 0.03 else rng.randint(1, 29)
        leap = ", leap = true" if rng.random() < 0.01 else ""
        lines.append(f"lunar = {{ month = {month}, day = {day}{leap} }}")
        if rng.random() < 0.5:  # an origin year, after 1800 only where the day existed
            year = rng.randint(1600, 1799) if day == 30 or leap else rng.randint(1600, 2019)
            lines.append(f"origin_year = {year}")
    else:
        roll = rng.random()
        if roll < 0.01:
            lines.append(f"origin = {rng.randint(1880, 1990)}")
        elif roll < 0.015:
            lines.append(f"origin = {date(rng.choice(range(1904, 2020, 4)), 2, 29)}")
        else:
            origin = date(rng.randint(1880, 2019), 1, 1) + timedelta(days=rng.randrange(365))
            lines.append(f"origin = {origin.isoformat()}")
    return "\n".join(lines)


def catalogue(count: int, lunar_share: float = 0.2):
    rng = random.Random(SEED)
    header = ('[catalogue]\ndesignates = 2026\ndirective = "Danh mục thử"\n'
              'theme = "Thử hiệu năng"\nsource = "bench/lunar.py"\n\n')
    return load_text(header + "\n\n".join(entry(i, rng, lunar_share) for i in range(count)))


def clear_lunar_caches() -> None:
    for cached in (lunar.lunar_year, lunar._months_after_11, lunar._month11):
        cached.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lunar-share", type=float, default=0.2,
                        help="the share of lunar entries (0: the same catalogue, all solar)")
    args = parser.parse_args()
    values = catalogue(args.count, args.lunar_share).commemorations
    lunar_count = sum(c.lunar is not None for c in values)
    print(f"{len(values)} commemorations, {lunar_count} lunar "
          f"({sum(c.lunar is not None and c.origin_year is None for c in values)} without "
          f"a year); range {RANGE[0]}..{RANGE[1]}; load average "
          f"{os.getloadavg()[0]:.2f}")

    cold, cold_cpu, warm, warm_cpu, tables, tables_cpu = [], [], [], [], [], []
    found: list = []
    for _ in range(args.repeat):
        clear_lunar_caches()
        lunar_anniversary.cache_clear()
        found = []  # let the previous run's occurrences go before timing the next
        with stopwatch(cold, cold_cpu):
            found = occurrences(values, *RANGE)
    for _ in range(args.repeat):
        found = []
        with stopwatch(warm, warm_cpu):
            found = occurrences(values, *RANGE)
    for _ in range(args.repeat):
        clear_lunar_caches()
        with stopwatch(tables, tables_cpu):
            for year in range(1900, 2201):
                lunar.lunar_year(year)
    shifted = sum(o.shifted and o.lunar is not None for o in found)
    print_table([
        Figure(f"occurrences over 10 years, cold ({len(found):,} produced)", cold, TARGET_S),
        Figure("  same, CPU time", cold_cpu, TARGET_S),
        Figure("occurrences over 10 years, warm", warm, TARGET_S,
               f"{shifted} lunar days moved by the missing-day rule"),
        Figure("  same, CPU time", warm_cpu, TARGET_S),
        Figure("lunar year tables 1900-2200 from nothing", tables),
        Figure("  same, CPU time", tables_cpu),
    ])
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
