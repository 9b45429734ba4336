"""The year page's filters (`only`, `category`) and the event page's table, through Flask's
client."""

from __future__ import annotations

import re

import pytest


def titles(page: str) -> list[str]:
    return re.findall(r'<a href="/events/[^"]+">(Kỷ niệm [^<]+)</a>', page)


def test_only_round_keeps_the_round_anniversaries(client):
    # Every origin of the 2024 catalogue ends in 4 or 9: 2029 is round for all, 2027 for none.
    everything = titles(client.get("/year/2029").get_data(as_text=True))
    page = client.get("/year/2029?only=round").get_data(as_text=True)
    assert everything and titles(page) == everything
    assert all(int(t.split()[2]) % 5 == 0 for t in titles(page))
    assert '<strong aria-current="page">Chỉ năm tròn, năm chẵn</strong>' in page
    assert "/year/2030?only=round" in page and "round=1" in page  # next year, the feed
    assert titles(client.get("/year/2027").get_data(as_text=True))
    assert titles(client.get("/year/2027?only=round").get_data(as_text=True)) == []


def test_only_designated_and_category(client):
    designated = titles(client.get("/year/2024?only=designated").get_data(as_text=True))
    assert len(designated) == 12  # all twelve of the directive (one without a day yet)
    assert titles(client.get("/year/2025?only=designated").get_data(as_text=True)) == []
    victories = titles(client.get("/year/2024?category=victory").get_data(as_text=True))
    assert victories and all("Chiến thắng" in t for t in victories)


@pytest.mark.parametrize("query", ["only=nothing", "category=nope", "only=round&only=round"])
def test_a_bad_filter_is_a_400(client, query):
    response = client.get(f"/year/2024?{query}")
    assert response.status_code == 400
    assert '<html lang="vi">' in response.get_data(as_text=True)


def test_the_event_page_puts_the_other_years_behind_details(client):
    page = client.get("/events/dien-bien-phu").get_data(as_text=True)  # today: 27/11/2026
    first, rest = page.split('<details class="all-anniversaries">')
    shown = re.findall(r"<tr class=\"round-\d[^\"]*\">\s*<td>(\d{4})</td>", first)
    assert [int(y) for y in shown] == sorted(
        {y for y in range(1955, 2037) if (y - 1954) % 5 == 0} | set(range(2024, 2032)))
    assert "Xem tất cả 82 lần kỷ niệm, từ năm 1955 đến năm 2036" in rest
