"""The chat page of `shopbot run` without a token, in a real headless browser (chromium driven
by Playwright): a customer goes from START to a placed and paid order only by clicking and
typing on the page, the merchant confirms and packs it from the admin chat card (the slip opens
as a PDF), documents open, the Bot API panel shows the calls, the page speaks Chinese. Screenshots of the key steps: artifacts/screenshots/web_page/.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers.i18n import Translator
from tests.e2e import browser as browser_setup
from tests.e2e.browser import LAUNCH_ARGS, SCREENSHOTS
from tests.e2e.harness import DEFAULT_FRAMEWORK
from tests.offline import OfflineShop, running_offline

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
WAIT_MS = 20_000
SHOTS = SCREENSHOTS / "web_page"
T = Translator("en", "Asia/Shanghai")
A = T  # the admin chat's language (admin.language: en)
chromium = browser_setup.chromium  # the fixture: /usr/bin/chromium, installed when allowed


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shop(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OfflineShop]:
    """`shopbot run` with no token, in an empty folder; on the test's `framework` if it is
    parametrized with one (else the harness default, DEFAULT_FRAMEWORK)."""
    framework = (request.getfixturevalue("framework") if "framework" in request.fixturenames
                 else DEFAULT_FRAMEWORK)
    with running_offline(tmp_path, framework=framework) as running:
        yield running
        assert running.stop() == 0


@pytest.fixture
def page(browser: Browser, shop: OfflineShop, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The chat page, open; fails the test on any script error of the page. The page as it
    was at the end (passed or failed) is kept as a screenshot too."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(shop.address)
    yield opened
    shot(opened, f"{request.node.name}-end")
    context.close()
    assert errors == [], errors


def shot(page: Page, name: str) -> None:
    """Keep a screenshot of the page as a test artifact."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def bot_says(page: Page, text: str) -> Any:
    """The newest message of the bot in the open chat that shows `text` (waits for it)."""
    message = page.locator("#messages .row:not(.out)", has_text=text).last
    message.wait_for()
    return message


def press(page: Page, label: str) -> None:
    """Click the newest inline button whose label contains `label`."""
    page.locator("#messages .inline-kb button", has_text=label).last.click()


def reply(page: Page, label: str) -> None:
    """Click a button of the reply keyboard under the text box."""
    page.locator("#reply-keyboard button", has_text=label).click()


def say(page: Page, text: str) -> None:
    """Type a message and press Enter."""
    page.fill("#text", text)
    page.press("#text", "Enter")


def open_chat(page: Page, title: str) -> None:
    """Select a chat in the list on the left."""
    page.locator("#chats li.chat", has_text=title).click()
    page.locator("#chat-title", has_text=title).wait_for()


@pytest.mark.usefixtures("framework")  # the offline page on aiogram and on python-telegram-bot
def test_a_customer_orders_and_pays_by_clicking_and_the_merchant_confirms_it(
    page: Page, shop: OfflineShop
) -> None:
    from playwright.sync_api import expect

    for title in ("Demo Shop admins", "Demo Shop support", "Alice"):
        page.locator("#chats li.chat", has_text=title).wait_for()
    shot(page, "00-opened")

    # A second customer, added from the page, starts the bot.
    page.fill("#new-name", "Li Lei")
    page.select_option("#new-lang", "en")
    page.click("#add-customer-button")
    page.locator("#chat-title", has_text="Li Lei").wait_for()
    page.click("#start")
    bot_says(page, T("start.welcome", shop="Demo Shop", name="Li Lei")[:20])
    page.locator("#composer").wait_for()  # the text box replaces START once the chat has begun
    assert not page.locator("#start-bar").is_visible()
    # The page asks for the chat's reply keyboard once the message is drawn: wait for it.
    catalog = page.locator("#reply-keyboard button", has_text=T("menu.catalog"))
    expect(catalog).to_have_count(1, timeout=WAIT_MS)
    shot(page, "01-started")

    reply(page, T("menu.catalog"))
    press(page, "Tea (")
    press(page, "West Lake Longjing")
    bot_says(page, "West Lake Longjing").locator("img.photo").wait_for()
    shot(page, "02-product")
    press(page, T("catalog.add_n", qty=2))
    bot_says(page, "Your cart: 2 items")
    press(page, T("catalog.checkout"))

    bot_says(page, T("checkout.ask.recipient")[:10])
    say(page, "Li Lei")
    bot_says(page, T("checkout.ask.phone")[:10])
    reply(page, T("checkout.share_phone"))
    page.locator("#messages .row.out", has_text="· 86138").wait_for()  # shared as Telegram does: no "+"
    for step, value in (("region", "Shanghai"), ("city", "Shanghai"), ("line", "88 Nanjing Road")):
        bot_says(page, T(f"checkout.ask.{step}")[:8])
        say(page, value)
    bot_says(page, T("checkout.ask.postcode")[:8])
    shot(page, "03-address")
    skip = T("checkout.skip")
    press(page, skip)  # an inline button under the postcode question
    press(page, "Standard delivery")
    press(page, T("checkout.method.sandbox"))
    bot_says(page, "Total:")
    shot(page, "04-review")
    press(page, T("checkout.confirm"))

    payment = bot_says(page, "with the button below")  # the review became the placed order
    number = re.search(r"Order No\. (\d+) is placed", payment.inner_text())
    assert number is not None
    order_number = number.group(1)
    shot(page, "05-payment-link")
    with page.context.expect_page() as opened:
        payment.locator(".inline-kb button", has_text=T("payment.pay_now")).click()
    pay_page = opened.value
    pay_page.wait_for_load_state()
    assert pay_page.url.startswith(shop.address + "/pay/sandbox?")
    pay_page.screenshot(path=str(SHOTS / "06-pay-page.png"))
    pay_page.locator("button.pay").click()
    pay_page.wait_for_load_state()
    pay_page.close()

    bot_says(page, f"received for order No. {order_number}")
    shot(page, "07-paid")
    # A verified payment moves the order on to the merchant's review; one captured payment.
    assert shop.sqlite("SELECT o.status, p.status, p.amount = o.total FROM orders o JOIN payments p "
                       "ON p.order_id = o.id WHERE o.number = ?", order_number) == [
        ("awaiting_review", "captured", 1)]

    # The merchant confirms the order from its card in the admin chat, then packs it: the
    # shipping slip arrives as a PDF document that opens from the page.
    open_chat(page, "Demo Shop admins")
    card = bot_says(page, f"Order No. {order_number}")
    shot(page, "08-admin-card")
    card.locator(".inline-kb button", has_text=A("admin_cards.btn.confirm")).click()
    bot_says(page, "Status: Awaiting shipment")  # the card, edited in place
    assert shop.sqlite("SELECT status FROM orders WHERE number = ?", order_number) == [
        ("awaiting_shipment",)]
    press(page, A("admin_cards.btn.pack"))
    slip = page.locator("#messages .row:not(.out) a.document").last
    slip.wait_for()
    shot(page, "09-slip")
    href = slip.get_attribute("href")
    assert href is not None and href.startswith("/sandbox/files/")
    pdf = page.request.get(shop.address + href)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    # Ship it: the bot is a plain member of the admin group (privacy mode), so it asks for the
    # tracking number with force_reply; the page opens the reply bar and the answer arrives.
    press(page, A("admin_cards.btn.ship"))
    press(page, "SF Express")  # the demo shop's carrier without tracking
    bot_says(page, "tracking number")
    expect(page.locator("#reply-bar")).to_be_visible()
    expect(page.locator("#text")).to_have_attribute("placeholder", A("admin.hint.tracking"))
    shot(page, "10-reply-bar")
    say(page, "MD 2026 0001")
    bot_says(page, "Status: Shipped")
    assert shop.sqlite("SELECT o.status, s.tracking_number FROM orders o JOIN shipments s ON "
                       "s.order_id = o.id WHERE o.number = ?", order_number) == [
        ("shipped", "MD20260001")]
    page.locator("#chats li.chat", has_text="Li Lei").click()
    bot_says(page, f"No. {order_number}")  # the customer hears of it in their chat

    # The Bot API panel lists what the bot called, with parameters and result.
    # (pinned: calls that arrive meanwhile are put on top, so `.first` would move on)
    call = page.locator("#calls li[data-method='sendMessage']").first.element_handle()
    summary = call.query_selector("summary")
    assert summary is not None
    summary.click()
    shown = call.inner_text()
    assert '"chat_id"' in shown and '"message_id"' in shown
    assert page.locator("#calls li[data-method='getUpdates']").count() == 0  # hidden by default


def test_documents_open_the_support_forum_and_the_page_in_chinese(
    page: Page, shop: OfflineShop
) -> None:
    open_chat(page, "Alice")
    page.click("#start")
    bot_says(page, "Welcome to Demo Shop")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    page.set_input_files("#attach", files=[{"name": "slip.pdf", "mimeType": "application/pdf",
                                            "buffer": pdf}])
    link = page.locator("#messages .row.out a.document", has_text="slip.pdf")
    link.wait_for()
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/sandbox/files/")
    answer = page.request.get(shop.address + href)
    assert answer.headers["content-type"] == "application/pdf" and answer.body() == pdf

    open_chat(page, "Demo Shop support")
    assert page.locator("#topics").is_visible()
    page.locator("#topics button", has_text="General").wait_for()

    page.click("#lang-toggle")
    page.locator("#add-customer h2", has_text="添加顾客").wait_for()
    assert page.locator("#new-lang").input_value() == "zh-hans"
    page.fill("#new-name", "李雷")
    page.click("#add-customer-button")
    page.locator("#chat-title", has_text="李雷").wait_for()
    page.click("#start")
    bot_says(page, "李雷")
    reply(page, Translator("zh_CN", "Asia/Shanghai")("menu.catalog"))
    press(page, "茶叶")
    bot_says(page, "西湖龙井")
    shot(page, "10-chinese")
