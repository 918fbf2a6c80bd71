"""The unauthenticated forms refuse control characters with the page and a Chinese message
(a NUL cannot even reach PostgreSQL), never a 500."""

from __future__ import annotations

import httpx

from tests.integration.conftest import Community, register
from tests.integration.pages.conftest import browser_like, csrf_token


async def test_identify_and_login_refuse_control_characters(
        ledger_client: httpx.AsyncClient, community: Community) -> None:
    c = community
    await register(ledger_client, c, "XH-0911")
    async with browser_like(ledger_client) as phone:
        token = csrf_token(await phone.get(f"/t/{c.tenant}/identify"))
        for number in ("XH\x000911", "XH-0911\n", "\x1b[2J"):
            refused = await phone.post(f"/t/{c.tenant}/identify", data={
                "member_number": number, "pin": "1234", "_csrf_token": token})
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith("text/html")
            assert "控制字符" in refused.text and "\x00" not in refused.text
        # The number itself still works: nothing was counted against it.
        ok = await phone.post(f"/t/{c.tenant}/identify", data={
            "member_number": "XH-0911", "pin": "1234", "_csrf_token": token})
        assert ok.status_code == 303

        token = csrf_token(await phone.get("/organiser/login"))
        for tenant, login in ((c.tenant, "wang\x00"), ("a\x00b", f"wang-{c.tenant}"),
                              (c.tenant, "wang\x85")):
            refused = await phone.post("/organiser/login", data={
                "tenant": tenant, "login": login, "password": "s3cret-pass",
                "_csrf_token": token})
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith("text/html")
            assert "控制字符" in refused.text and "\x00" not in refused.text
        # A NUL in the tenant of the address is refused before any page runs.
        path = await phone.post("/t/a%00b/identify", data={
            "member_number": "XH-0911", "pin": "1234", "_csrf_token": token})
        assert (path.status_code, path.json()["code"]) == (422, "control_characters")
