"""The web's in-memory month/day index must list exactly what the engine computes."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import MultiDict

from calendar_service.anniversaries import occurrences
from calendar_service.catalogue import Catalogue, Commemoration, load_catalogue
from calendar_service.catalogue.model import designations_of
from calendar_service.listing import Listing, ListingIndex
from calendar_service.store import sync_catalogue
from calendar_service.store.state import VersionWatch
from tests.conftest import EVENTS_2024

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def synthetic(rng: random.Random) -> list[Commemoration]:
    out = []
    for i in range(300):
        origin = date(1900, 1, 1) + timedelta(days=rng.randrange(0, 45000))
        if i % 13 == 0:
            origin = date(rng.choice([1904, 1960, 1988]), 2, 29)
        category = rng.choice(["victory", "founding", "birth-anniversary", "national-day"])
        designated = frozenset({2024}) if i % 7 == 0 else frozenset()
        if i % 17 == 1:  # year-only, some with chosen days in some years
            obs = tuple((y, date(y, rng.randint(1, 12), rng.randint(1, 28)))
                        for y in (2024, 2026) if origin.year < y and rng.random() < 0.6)
            out.append(Commemoration(id=f"y{i:03d}", title=f"Ngày sinh đồng chí Y{i}",
                                     category=category, origin_year=origin.year,
                                     origin_month=None, origin_day=None, description="-",
                                     source="-", designations=designations_of(designated, origin.year),
                                     observances=obs))
            continue
        obs = ((2025, date(2025, 6, 15)),) if i % 29 == 2 else ()  # a moved ceremony
        out.append(Commemoration(id=f"d{i:03d}", title=f"Chiến thắng Điện Biên {i}",
                                 category=category, origin_year=origin.year,
                                 origin_month=origin.month, origin_day=origin.day,
                                 description="-", source="-",
                                 designations=designations_of(designated, origin.year),
                                 observances=obs))
    return out


@pytest.fixture
def index(database):
    base = load_catalogue([EVENTS_2024])
    everything = Catalogue(base.files, (*base.commemorations, *synthetic(random.Random(11))))
    with database.session() as session:
        sync_catalogue(session, everything, T0)
    return ListingIndex(database, VersionWatch(database, 0)), everything.commemorations


def test_every_window_lists_what_the_engine_computes(index):
    listing_index, values = index
    rng = random.Random(5)
    for _ in range(80):
        start = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 1800))
        end = start + timedelta(days=rng.choice([0, 1, 6, 27, 59, 89, 200, 365, 700]))
        found, total = listing_index.page(start, end)
        assert found == occurrences(values, start, end), (start, end)
        assert total == len(found)
    # 28 February of a common year: 29 February origins included, ordered by id.
    feb = listing_index.page(date(2023, 2, 28), date(2023, 2, 28))[0]
    assert feb == occurrences(values, date(2023, 2, 28), date(2023, 2, 28))
    assert any(o.shifted for o in feb)


@pytest.mark.parametrize("query", [
    {"category": "victory"}, {"only": "designated"}, {"only": "round"}, {"only": "notable"},
    {"q": "dien bien"}, {"q": "ĐIỆN BIÊN 1"}, {"category": "founding,victory", "only": "round"},
])
def test_filters_and_pages_agree_with_the_engine(index, query):
    listing_index, values = index
    args = MultiDict({"from": "2024-01-01", "to": "2025-12-31", "per_page": "25", **query})
    listing = Listing.from_args(args, date(2024, 1, 1))
    expected = [o for o in occurrences(values, listing.start, listing.end)
                if listing.accepts(o)]
    pages = []
    for number in range(1, len(expected) // 25 + 2):
        args["page"] = str(number)
        page, total = Listing.from_args(args, date(2024, 1, 1)).run(listing_index)
        assert total == len(expected)
        pages += page
    assert pages == expected and expected


def test_the_index_follows_the_data_version(index, database):
    listing_index, values = index
    before = listing_index.page(date(2024, 5, 7), date(2024, 5, 7))[0]
    assert "dien-bien-phu" in {o.id for o in before}
    base = load_catalogue([EVENTS_2024])
    with database.session() as session:
        sync_catalogue(session, Catalogue(base.files, tuple(
            c for c in values if c.id != "dien-bien-phu")), T0 + timedelta(days=1))
    after = listing_index.page(date(2024, 5, 7), date(2024, 5, 7))[0]
    assert "dien-bien-phu" not in {o.id for o in after}


def test_a_page_past_the_end_is_empty_and_still_counts(index):
    listing_index, values = index
    start, end = date(2024, 1, 1), date(2024, 3, 31)
    everything = occurrences(values, start, end)
    found, total = listing_index.page(start, end, offset=len(everything), limit=10)
    assert (found, total) == ([], len(everything))
    found, total = listing_index.page(start, end, offset=len(everything) - 3, limit=10)
    assert found == everything[-3:] and total == len(everything)


def test_the_index_keeps_a_bounded_number_of_years(index):
    from calendar_service.listing.index import MAX_YEARS

    listing_index, values = index
    for year in range(2000, 2000 + 3 * MAX_YEARS):
        found, _ = listing_index.page(date(year, 1, 1), date(year, 12, 31))
        assert found == occurrences(values, date(year, 1, 1), date(year, 12, 31))
    assert len(listing_index.snapshot()._years) == MAX_YEARS
