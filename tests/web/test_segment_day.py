"""The segment page on a chosen day: figures, journeys, members and CSV all follow `day=`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from html import unescape

import httpx
import pandas as pd

from segmentry.i18n.format import Formatter

from .conftest import DAY, Server

NAME = "repeat-customers"
CHOSEN = DAY - dt.timedelta(days=45)
FMT = Formatter("en", "JPY", "Asia/Tokyo")


def _page(client: httpx.Client, **params: str) -> str:
    response = client.get(f"/segments/{NAME}", params=params, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.text


def _kpi(page: str, key: str) -> str:
    found = re.search(rf'id="kpi-{key}">([^<]*)<', page)
    assert found is not None, key
    return unescape(found.group(1))


def _metrics_row(server: Server, day: dt.date) -> pd.Series:
    frame = server.workspace.metrics(NAME)
    days = pd.to_datetime(frame["day"]).dt.date
    return frame[days == day].iloc[0]


def test_figures_are_the_metrics_row_of_the_chosen_day(browser_client: httpx.Client,
                                                       server: Server) -> None:
    page = _page(browser_client, day=CHOSEN.isoformat())
    row = _metrics_row(server, CHOSEN)
    members = server.workspace.members(NAME, CHOSEN).num_rows
    assert int(row["customers"]) == members  # the row itself agrees with the membership
    assert _kpi(page, "customers") == f"{members:,}"
    assert _kpi(page, "repeat_rate") == FMT.percent(row["repeat_rate"])
    assert _kpi(page, "ltv") == FMT.money(row["ltv"])
    assert _kpi(page, "aov") == FMT.money(row["aov"])
    frame = server.workspace.metrics(NAME)
    days = pd.to_datetime(frame["day"]).dt.date
    window = frame[(days > CHOSEN - dt.timedelta(days=30)) & (days <= CHOSEN)]
    revenue = sum((Decimal(str(v)) for v in window["revenue"]), Decimal(0))
    assert _kpi(page, "revenue_30d") == FMT.money(revenue)
    latest = _page(browser_client)
    assert _kpi(latest, "customers") == f"{server.workspace.members(NAME, DAY).num_rows:,}"
    assert _kpi(latest, "customers") != _kpi(page, "customers")  # the day made a difference


def test_members_links_and_journeys_carry_the_day(browser_client: httpx.Client,
                                                  server: Server) -> None:
    page = _page(browser_client, day=CHOSEN.isoformat())
    members = server.workspace.members(NAME, CHOSEN).num_rows
    assert members > 50  # so there is a second page
    assert f"{FMT.date(CHOSEN)} · {members:,}" in page
    assert f'name="day" value="{CHOSEN.isoformat()}"' in page  # the search form keeps it
    assert f"&p=2&day={CHOSEN.isoformat()}#members" in page  # and the pager
    assert f"/members.csv?day={CHOSEN.isoformat()}" in page
    assert f"/journeys?day={CHOSEN.isoformat()}" in page
    assert f"/lang/ja?next=/segments/{NAME}%3Fday%3D{CHOSEN.isoformat()}" in page  # languages too
    second = _page(browser_client, day=CHOSEN.isoformat(), p="2")
    assert f"2 / {(members + 49) // 50}" in second
    ids = sorted(server.workspace.members(NAME, CHOSEN).column("customer_id").to_pylist())
    assert ids[50] in second and ids[0] not in second


def test_csv_and_json_twins_follow_the_day(api: httpx.Client, server: Server) -> None:
    expected = server.workspace.members(NAME, CHOSEN).num_rows
    body = api.get(f"/segments/{NAME}/members.csv", params={"day": CHOSEN.isoformat()})
    assert len(list(csv.DictReader(io.StringIO(body.text.lstrip("\ufeff"))))) == expected
    detail = api.get(f"/api/segments/{NAME}", params={"day": CHOSEN.isoformat()}).json()
    assert detail["segment"]["customers"] == expected
    journeys = api.get(f"/api/segments/{NAME}/journeys",
                       params={"day": CHOSEN.isoformat()}).json()
    # Every repeat customer had placed a 1st and a 2nd order by that day.
    assert journeys["orders"]["1"]["customers"] == journeys["orders"]["2"]["customers"] == expected
    out = api.get(f"/api/segments/{NAME}", params={"day": "1999-01-01"})
    assert out.status_code == 400 and out.json()["error"]["code"] == "day_out_of_range"


def test_a_day_outside_the_history_shows_the_last_day_with_a_notice(
        browser_client: httpx.Client, server: Server) -> None:
    for asked in ("1999-01-01", (DAY + dt.timedelta(days=3)).isoformat(), "not-a-day"):
        page = _page(browser_client, day=asked)
        assert 'id="day-notice"' in page
        assert _kpi(page, "customers") == f"{server.workspace.members(NAME, DAY).num_rows:,}"
        assert f'value="{DAY.isoformat()}"' in page
    assert 'id="day-notice"' not in _page(browser_client, day=DAY.isoformat())


def test_money_axes_show_yen_and_product_types_read_as_names(browser_client: httpx.Client,
                                                             api: httpx.Client) -> None:
    page = _page(browser_client)
    figures = {m.group(1): json.loads(unescape(m.group(2))) for m in re.finditer(
        r'id="chart-([a-z_]+)" data-figure="([^"]+)"', page)}
    assert {k: f["layout"]["yaxis"]["tickprefix"] for k, f in figures.items()
            if k != "joined_left"} == {"customers": "", "repeat_rate": "", "ltv": "¥",
                                       "aov": "¥", "revenue": "¥"}
    assert all(f["layout"]["yaxis"]["automargin"] for f in figures.values())
    journeys = api.get(f"/api/segments/{NAME}/journeys").json()
    types = journeys["orders"]["1"]["product_types"]
    assert types
    for row in types:
        assert row["label"] == row["value"].replace("_", " ").capitalize()
