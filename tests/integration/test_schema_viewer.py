"""`/schema` of both services works on an intranet: the viewer's page names no other host
and every script and stylesheet it loads is served by the service itself."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar.testing import AsyncTestClient

from contract.openapi_viewer import VERSION
from reports.config import Settings
from reports.entrypoints.app import create_app

# Every address in an attribute or a CSS url(), absolute or protocol-relative.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]+)""")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


async def check_viewer(client: httpx.AsyncClient | AsyncTestClient) -> None:  # type: ignore[type-arg]
    for path in ("/schema", "/schema/swagger"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "SwaggerUIBundle" in page.text
        references = [a or b for a, b in REFERENCE.findall(page.text)]
        assert len(references) == 3, references  # the bundle, the preset, the stylesheet
        assert [r for r in references if EXTERNAL.match(r)] == []
        assert "http://" not in page.text and "https://" not in page.text
        for reference in references:
            asset = await client.get(reference)
            assert asset.status_code == 200, reference
            kind = "text/css" if reference.endswith(".css") else "javascript"
            assert kind in asset.headers["content-type"], reference
            assert len(asset.content) > 100_000, reference  # the real bundle, not a stub
    bundle = await client.get("/schema/assets/swagger-ui-bundle.js")
    assert VERSION in bundle.text
    assert (await client.get("/schema/openapi.json")).status_code == 200
    assert (await client.get("/schema/assets/nothing.js")).status_code == 404


async def test_ledger_schema_viewer_is_served_locally(ledger_client: httpx.AsyncClient) -> None:
    await check_viewer(ledger_client)


@pytest.mark.usefixtures("pool")
async def test_reports_schema_viewer_is_served_locally(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, run_projector=False))
    async with AsyncTestClient(app) as client:
        await check_viewer(client)
