"""Publishing is the ledger's command; the entries it freezes are the reports' draft at
that moment, whatever a caller sends. Both apps run in process: the ledger reaches the
reports through an ASGI transport. Objections count, the public view is masked."""

from __future__ import annotations

import httpx

from ledger.adapters.tokens import TokenStore
from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as create_ledger_app
from reports.config import Settings
from reports.entrypoints.app import create_app

from .conftest import ORGANISER, shanghai


async def test_publish_freezes_the_roll(history, pool, database_url, monkeypatch):
    district = await history.unit("district", None)
    community = await history.unit("community", district, "兴华南里社区")
    names = ("张三明", "李四", "欧阳小明")
    people = [await history.member(community, name=name) for name in names]
    served = [await history.served(community, person, shanghai(2025, 6, 2), minutes)
              for person, minutes in zip(people, (600, 480, 300), strict=True)]
    await history.project()
    minted = await TokenStore(pool).mint(history.tenant_id, label="书记", role="organiser",
                                         can_write=True, organiser_id=ORGANISER)
    headers = {"Authorization": f"Bearer {minted.token}"}
    app = create_app(Settings(database_url=database_url, run_projector=False))
    ledger_app = create_ledger_app(LedgerSettings(database_url=database_url),
                                   reports_transport=httpx.ASGITransport(app=app))
    monkeypatch.setenv("REPORTS_URL", "http://reports")
    # Both apps run in this test's event loop: each pool lives where its handlers run.
    async with ledger_app.lifespan(), app.lifespan(), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reports") as client, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=ledger_app),
                              base_url="http://ledger") as ledger:
        base = f"/api/v1/units/{community}/honor-rolls/2025-06"
        draft = (await client.get(base, headers=headers)).json()
        assert [e["name"] for e in draft["entries"]] == list(names)

        publish = {"unit_id": str(community), "month": "2025-06"}
        # Entries are not the caller's to send: the body naming them is refused.
        forged = await ledger.post("/api/v1/honor-rolls", headers=headers, json={
            **publish, "entries": [{"rank": 1, "member_id": str(people[2]),
                                    "minutes": 10**20, "activities": 1}]})
        assert forged.status_code == 400 and forged.json()["field"] == "entries"

        published = await ledger.post("/api/v1/honor-rolls", json=publish, headers=headers)
        assert published.status_code == 201, published.text

        async def listed() -> list[tuple[str, str, int, int]]:
            """The ledger's list of published rolls (its own catalogue: no wait)."""
            answer = await ledger.get("/api/v1/honor-rolls", headers=headers)
            return [(r["unit_id"], r["month"], r["entry_count"], r["objection_count"])
                    for r in answer.json()["items"]]

        assert await listed() == [(str(community), "2025-06", 3, 0)]
        history.last_position = max(published.json()["positions"])
        await history.project()
        frozen = (await client.get(base, headers=headers)).json()
        assert frozen["status"] == "published"
        assert frozen["entries"] == draft["entries"]
        assert frozen["computed_at_position"] == draft["position"]

        # A correction after publishing: the draft moves, the published roll does not.
        activity, participation = served[0]
        await history.correct(activity, people[0], participation, 60, 600)
        await history.project()
        assert (await client.get(base, headers=headers)).json()["entries"] == \
            draft["entries"]
        redrafted = (await client.get(base, params={"draft": "true"},
                                      headers=headers)).json()
        assert [e["name"] for e in redrafted["entries"]] == ["李四", "欧阳小明"]

        again = await ledger.post("/api/v1/honor-rolls", json=publish, headers=headers)
        assert again.status_code == 409 and again.json()["code"] == "already_published"

        objection = await ledger.post(
            f"/api/v1/honor-rolls/{community}/2025-06/objections", headers=headers,
            json={"objection": "时长有误", "member_id": str(people[1])})
        assert objection.status_code == 201, objection.text
        assert await listed() == [(str(community), "2025-06", 3, 1)]
        history.last_position = max(objection.json()["positions"])
        await history.project()
        assert (await client.get(base, headers=headers)).json()["objections"] == 1

        public = await client.get(
            f"/public/{history.tenant_id}/honor-rolls/{community}/2025-06")
        assert public.status_code == 200
        assert [e["name"] for e in public.json()["entries"]] == ["张*明", "李*", "欧**明"]
        assert "member_id" not in public.text and "13800000000" not in public.text
        page = await client.get(
            f"/public/{history.tenant_id}/honor-rolls/{community}/2025-06/page")
        assert "张*明" in page.text and "张三明" not in page.text
        unpublished = await client.get(
            f"/public/{history.tenant_id}/honor-rolls/{community}/2025-05")
        assert unpublished.status_code == 404
