"""The chat page plays a support agent, in a real headless browser: a customer asks for a
person; the support forum on the page shows her topic; the agent (the demo merchant) opens it,
takes the chat over and writes; the customer's chat shows the answer. Screenshots:
artifacts/screenshots/web_page/support-*.png.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.test_web_page import (  # the page's fixtures and gestures
    T,
    bot_says,
    browser,
    chromium,
    open_chat,
    page,
    press,
    reply,
    say,
    shop,
    shot,
)
from tests.offline import OfflineShop

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
__all__ = ["browser", "chromium", "page", "shop"]  # fixtures, used by name


def test_an_agent_takes_over_and_answers_from_the_page(page: Page, shop: OfflineShop) -> None:
    from playwright.sync_api import expect

    open_chat(page, "Alice")
    page.click("#start")
    bot_says(page, "Welcome to Demo Shop")
    reply(page, T("menu.support"))
    bot_says(page, "A person will answer in this chat")
    say(page, "Where is my tea?")
    page.locator("#messages .row.out", has_text="Where is my tea?").wait_for()

    # The forum lists Alice's topic under it; the agent opens it: her card and her message.
    topic = page.locator("#chats li.topic-item", has_text="# Alice")
    topic.wait_for()
    topic.click()
    page.locator("#topics button.active", has_text="# Alice").wait_for()
    card_id = bot_says(page, T("support.card.waiting")).get_attribute("data-message-id")
    card = page.locator(f'#messages .row[data-message-id="{card_id}"]')
    bot_says(page, "Where is my tea?")
    expect(page.locator("#messages .row", has_text="Where is my tea?")).to_have_count(1)
    shot(page, "support-1-topic")

    press(page, T("support.button.take"))
    expect(page.locator("#toast")).to_have_text(T("support.took"))
    expect(card).to_contain_text("has this chat")  # the card, edited in place
    say(page, "Hi Alice, your tea ships today.")
    page.locator("#messages .row.out", has_text="your tea ships today").wait_for()
    say(page, "!she asked twice already")  # a note: stays in the topic
    page.locator("#messages .row.out", has_text="she asked twice").wait_for()
    shot(page, "support-2-answered")

    open_chat(page, "Alice")
    bot_says(page, "joined the chat.")
    bot_says(page, "Hi Alice, your tea ships today.")
    expect(page.locator("#messages .row", has_text="she asked twice")).to_have_count(0)
    shot(page, "support-3-customer")
    assert shop.sqlite("SELECT agent_id IS NOT NULL, first_response_at IS NOT NULL, "
                       "resolved_at IS NULL FROM support_sessions") == [(1, 1, 1)]
