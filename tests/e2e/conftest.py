"""Browser tests: the ledger served by uvicorn in this event loop, Debian's chromium
driven through Playwright's async API with a phone profile (Pixel 7).

Every browser context is watched for Content-Security-Policy violations (`watch_csp`): a
page that the policy breaks fails its test, even where the test never looks at the part
that was blocked."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

# The ledger's fixtures (database, fresh tenant, settable clock, served app, community).
from tests.integration.conftest import clock, community, ledger_client  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SECRETS = {"CHECKIN_CODE_SECRET": "e2e-checkin-code-secret-0123456789abcdef",
           "PAGES_SECRET": "e2e-pages-secret-0123456789abcdef-0123456789"}


@pytest.fixture(autouse=True)
def page_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Known secrets, set before the app is built, so a test can derive a code itself."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def _require_chromium() -> None:
    # The Makefile installs chromium when it can and warns that browser tests are skipped
    # when it cannot; E2E_REQUIRE_BROWSER=1 (CI) turns the skip into a failure.
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("E2E_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
async def playwright_session() -> AsyncIterator[Playwright]:
    _require_chromium()
    async with async_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
async def browser(playwright_session: Playwright) -> AsyncIterator[Browser]:
    browser = await playwright_session.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync"])
    yield browser
    await browser.close()


async def watch_csp(context: BrowserContext) -> list[str]:
    """Collects the context's CSP violations: the documents' `securitypolicyviolation`
    events (reported from a script Playwright injects, which the policy does not cover)
    and chromium's console reports, which also come with JavaScript off."""
    violations: list[str] = []

    def report(text: str) -> None:
        violations.append(text)

    await context.expose_function("__reportCspViolation", report)
    await context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "window.__reportCspViolation(`${e.violatedDirective} blocked "
        "${e.blockedURI || 'inline'} in ${e.documentURI}`));")
    context.on("console", lambda message: violations.append(message.text)
               if "Content Security Policy" in message.text else None)
    return violations


async def close_checked(context: BrowserContext, violations: list[str]) -> None:
    await context.close()
    assert violations == [], "the Content-Security-Policy blocked something on a page"


@pytest.fixture
async def phone(playwright_session: Playwright, browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh phone: its own cookies and localStorage."""
    profile = dict(playwright_session.devices["Pixel 7"])
    profile.pop("default_browser_type", None)
    # Pixel 7's touch, pixel ratio and user agent, narrowed to the 360 px the pages target.
    profile["viewport"] = {"width": 360, "height": 760}
    context = await browser.new_context(**profile, locale="zh-CN",
                                        timezone_id="Asia/Shanghai")
    violations = await watch_csp(context)
    yield context
    await close_checked(context, violations)


async def screenshot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
