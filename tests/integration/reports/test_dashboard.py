"""The committee dashboard over HTTP: a year by month for a unit's subtree and each unit
below it (activities held, person-times, hours, participation rate), scoped by the token,
and its page (SVG charts with title and desc, the same figures in tables)."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from litestar.testing import AsyncTestClient

from ledger.adapters.tokens import TokenStore
from reports.config import Settings
from reports.entrypoints.app import create_app

from .conftest import ORGANISER, History, shanghai


@pytest.fixture
async def client(database_url):
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        yield client


async def _token(pool, tenant, scope: uuid.UUID | None) -> dict[str, str]:
    minted = await TokenStore(pool).mint(tenant, label="test", role="organiser",
                                         can_write=False, organiser_id=ORGANISER,
                                         scope_unit_id=scope)
    return {"Authorization": f"Bearer {minted.token}"}


async def test_dashboard_by_month_and_unit(history: History, pool, client) -> None:
    street = await history.unit("street", None, "兴华街道")
    north = await history.unit("community", street, "北里社区")
    south = await history.unit("community", street, "南里社区")
    # North: two in-service members reported, one retired volunteer.
    ann = await history.member(north, reported=date(2025, 1, 1))
    bob = await history.member(north, reported=date(2025, 1, 1))
    old = await history.member(north, kind="retired", reported=date(2025, 1, 1))
    # South: one in-service member reported from March.
    cai = await history.member(south, reported=date(2025, 3, 1))
    await history.served(north, ann, shanghai(2025, 2, 10), 120)
    await history.served(north, old, shanghai(2025, 2, 11), 60)
    activity = await history.activity(north, shanghai(2025, 2, 12))
    both = [await history.check_in(activity, who, shanghai(2025, 2, 12)) for who in (ann, bob)]
    for who, participation in zip((ann, bob), both, strict=True):
        await history.confirm(activity, who, participation, 90)
    cancelled = await history.activity(north, shanghai(2025, 2, 20))
    await history.cancel(cancelled)
    await history.served(south, cai, shanghai(2025, 3, 5), 30)
    # Unconfirmed: held, but no person-time.
    pending = await history.activity(south, shanghai(2025, 3, 6))
    await history.check_in(pending, cai, shanghai(2025, 3, 6))
    await history.project()

    headers = await _token(pool, history.tenant_id, street)
    answer = await client.get(f"/api/v1/units/{street}/dashboard", params={"year": 2025},
                              headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    months = {m["month"]: m for m in body["unit"]["months"]}
    assert len(months) == 12
    february = months["2025-02"]
    assert (february["activities"], february["person_times"], february["minutes"]) == (3, 4, 360)
    assert (february["members_served"], february["members_reported"]) == (2, 2)
    assert february["participation_rate"] == 1.0
    march = months["2025-03"]
    assert (march["activities"], march["person_times"], march["minutes"]) == (2, 1, 30)
    # 3 in-service reported at the end of March, one of them took part.
    assert (march["members_served"], march["members_reported"]) == (1, 3)
    assert march["participation_rate"] == round(1 / 3, 4)
    assert months["2025-12"]["participation_rate"] == 0.0
    assert body["unit"]["hours"] == 6.5 and body["unit"]["activities"] == 5
    children = {c["unit_name"]: c for c in body["children"]}
    assert set(children) == {"北里社区", "南里社区"}
    assert children["南里社区"]["months"][1]["participation_rate"] is None  # none reported
    assert children["北里社区"]["minutes"] == 360 and children["南里社区"]["minutes"] == 30

    page = await client.get(f"/api/v1/units/{street}/dashboard/page",
                            params={"year": 2025}, headers=headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html
    svgs = re.findall(r"<svg [^>]*role=\"img\"[^>]*>", html)
    assert len(svgs) == 4
    for chart in ("hours", "person-times", "rate", "by-unit"):
        assert f'<title id="{chart}-title">' in html and f'<desc id="{chart}-desc">' in html
    assert 'id="months-table"' in html and 'id="units-months-table"' in html
    assert "兴华街道 2025年每月服务时长" in html and "33.3%" in html

    # A community's token sees its own subtree, not the street nor the other community.
    community = await _token(pool, history.tenant_id, north)
    assert (await client.get(f"/api/v1/units/{north}/dashboard",
                             headers=community)).status_code == 200
    for other in (street, south):
        refused = await client.get(f"/api/v1/units/{other}/dashboard", headers=community)
        assert refused.status_code == 403, refused.text
    for bad in ("1800", "abc", "2025.5"):
        wrong = await client.get(f"/api/v1/units/{street}/dashboard", params={"year": bad},
                                 headers=headers)
        assert wrong.status_code in (400, 422), wrong.text
