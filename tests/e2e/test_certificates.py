"""Certificates in chromium: the organiser issues one at desktop width and prints it to one
A4 page; the member finds it from their own page and prints it too; the QR's verification
page at phone width shows the ledger's figures masked, and an unknown number is caught; a
member asks for one at phone width, the organiser issues it as asked, the member prints it."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import close_checked, screenshot, watch_csp
from tests.e2e.test_organiser_pages import sign_in
from tests.integration.conftest import Clock, Community, register
from tests.integration.test_certificates import served

pytestmark = pytest.mark.browser

# A page object of the PDF's page tree (not the /Pages node above them).
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


async def pdf_pages(page: Page) -> int:
    await page.emulate_media(media="print")
    pdf = await page.pdf(format="A4", print_background=True)
    await page.emulate_media(media="screen")
    return len(PAGE_OBJECT.findall(pdf))


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = await page.evaluate("window.innerWidth")
    assert width <= viewport, f"{width} px wide in a {viewport} px viewport"


@pytest.fixture
async def desktop(browser: Browser) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="zh-CN", timezone_id="Asia/Shanghai")
    violations = await watch_csp(context)
    yield context
    await close_checked(context, violations)


async def test_issue_print_find_and_verify(ledger_client: httpx.AsyncClient,
                                           community: Community, clock: Clock,
                                           desktop: BrowserContext,
                                           phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0901")
    # A year of service would not fit a page by rows of activities: it prints by month.
    for minutes, title in ((110, "楼道清理"), (90, "夜间巡逻"), (60, "助老服务"),
                           (40, "垃圾分类宣传")):
        await served(ledger_client, c, clock, member, minutes, title=title)

    page = await desktop.new_page()
    await sign_in(page, base, c)
    await page.get_by_role("link", name="志愿服务证明").click()
    await expect(page.get_by_role("heading", name="志愿服务证明")).to_be_visible()
    await page.get_by_label("党员编号").fill("NOBODY")
    await page.get_by_role("button", name="出具证明").click()
    await expect(page.get_by_text("没有该成员编号")).to_be_visible()
    await page.get_by_label("党员编号").fill("XH-0901")
    await page.get_by_label("联系方式（选填）").fill("0592-5550000")
    await page.get_by_role("button", name="出具证明").click()
    await expect(page.get_by_role("heading", name="志愿服务证明")).to_be_visible()
    await expect(page.locator("#certificate-hours")).to_have_text("5")
    await expect(page.locator(".certificate-body")).to_contain_text("张三明（成员编号：XH-0901）")
    await expect(page.locator(".certificate-issuer")).to_contain_text("王书记")
    await expect(page.locator(".certificate-qr svg")).to_be_visible()
    number = (await page.locator("#certificate-number").inner_text()).strip()
    assert re.fullmatch(r"ZYFW-\d{4}-[A-Z2-7]{12}", number)
    # The QR and the address printed under it open this certificate's verification page.
    await expect(page.locator(".certificate-verify .url")).to_have_text(
        f"{base}/t/{c.tenant}/verify/{number}")
    await screenshot(page, "60-certificate-organiser")
    assert await pdf_pages(page) == 1
    # The list shows it.
    await page.goto(f"{base}/organiser/certificates")
    await expect(page.get_by_role("link", name=number)).to_be_visible()
    await screenshot(page, "61-certificates-list")

    mine = await phone.new_page()
    await mine.goto(f"{base}/t/{c.tenant}/me")
    await mine.get_by_label("党员编号").fill("XH-0901")
    await mine.get_by_label("密码（PIN）").fill("1234")
    await mine.get_by_role("button", name="验证").click()
    await mine.get_by_role("link", name="我的志愿服务证明").click()
    await expect(mine.get_by_text("所在社区或党支部审核后出具")).to_be_visible()
    await mine.get_by_role("link", name=re.compile(number)).click()
    await expect(mine.locator("#certificate-hours")).to_have_text("5")
    await screenshot(mine, "62-certificate-member")
    assert await pdf_pages(mine) == 1

    # Whoever holds the paper scans its QR: the ledger's figures, the name masked.
    verify = await phone.new_page()
    await verify.goto(f"{base}/t/{c.tenant}/verify/{number}")
    await expect(verify.locator("#verify-name")).to_have_text("张*明")
    await expect(verify.locator("#verify-hours")).to_have_text("5")
    await expect(verify.get_by_text("兴华南里社区")).to_be_visible()
    await expect(verify.get_by_text("张三明")).to_have_count(0)
    await no_sideways_scroll(verify)
    await screenshot(verify, "63-certificate-verified")

    forged = await verify.goto(f"{base}/t/{c.tenant}/verify/{number[:-2]}QQ")
    assert forged is not None and forged.status == 404
    await expect(verify.get_by_role("heading", name="未找到该证明")).to_be_visible()
    await no_sideways_scroll(verify)
    await screenshot(verify, "64-certificate-unknown")


async def test_a_member_asks_at_phone_width_and_prints_what_was_issued(
        ledger_client: httpx.AsyncClient, community: Community, clock: Clock,
        desktop: BrowserContext, phone: BrowserContext) -> None:
    c = community
    base = str(ledger_client.base_url).rstrip("/")
    member = await register(ledger_client, c, "XH-0911")
    await served(ledger_client, c, clock, member, 90, title="助老服务")

    mine = await phone.new_page()
    await mine.goto(f"{base}/t/{c.tenant}/me/certificates")
    await mine.get_by_label("党员编号").fill("XH-0911")
    await mine.get_by_label("密码（PIN）").fill("1234")
    await mine.get_by_role("button", name="验证").click()
    await expect(mine.get_by_role("heading", name="申请开具证明")).to_be_visible()
    await mine.get_by_role("button", name="提交申请").click()
    await expect(mine.get_by_text("申请已提交")).to_be_visible()
    await expect(mine.locator("#requests")).to_contain_text("待审核")
    await expect(mine.get_by_role("button", name="提交申请")).to_have_count(0)
    await no_sideways_scroll(mine)
    await screenshot(mine, "67-certificate-requested-phone")

    desk = await desktop.new_page()
    await sign_in(desk, base, c)
    await desk.get_by_role("link", name="志愿服务证明").click()
    request = desk.locator("#requests article", has_text="XH-0911")
    await expect(request).to_have_count(1)
    await request.get_by_label("联系方式（选填）").fill("0592-5550000")
    await request.get_by_role("button", name="按申请出具").click()
    await expect(desk.locator("#certificate-hours")).to_have_text("1.5")
    number = (await desk.locator("#certificate-number").inner_text()).strip()

    await mine.reload()
    await expect(mine.locator("#requests")).to_contain_text("已出具")
    await no_sideways_scroll(mine)
    await screenshot(mine, "68-certificate-answered-phone")
    await mine.locator("#requests").get_by_role("link", name=re.compile(number)).click()
    await expect(mine.locator("#certificate-hours")).to_have_text("1.5")
    await expect(mine.locator(".certificate-body")).to_contain_text("张三明（成员编号：XH-0911）")
    assert await pdf_pages(mine) == 1
