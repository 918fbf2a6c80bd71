"""Pages over HTTP (httpx against the served app): known page secrets for every test."""

from __future__ import annotations

import re

import httpx
import pytest

SECRETS = {"CHECKIN_CODE_SECRET": "it-checkin-code-secret-0123456789abcdef",
           "PAGES_SECRET": "it-pages-secret-0123456789abcdef-0123456789"}


@pytest.fixture(autouse=True)
def page_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def csrf_token(response: httpx.Response) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', response.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def browser_like(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second client on the same server with its own cookie jar (another phone)."""
    return httpx.AsyncClient(base_url=client.base_url, timeout=30)
