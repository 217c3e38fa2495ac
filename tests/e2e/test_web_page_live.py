"""The chat page while things happen, in a real headless browser against `python -m sandbox`
with a bot played by the test through the Bot API: the page says the bot is starting until it
polls, and a photo card arriving keeps the newest message in view once the picture has loaded.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.e2e import browser as browser_setup
from tests.e2e.browser import LAUNCH_ARGS
from tests.offline import REPO, clean_env, first_ok, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
chromium = browser_setup.chromium
TOKEN = "7000000001:AAtest-live-page"


class Telegram:
    """`python -m sandbox` in a subprocess; the test speaks the Bot API as the bot."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, **params: Any) -> Any:
        """A Bot API call as the bot: its result."""
        request = urllib.request.Request(f"{self.base}/bot{TOKEN}/{method}",
                                         data=json.dumps(params).encode(),
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["result"]

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """A /sandbox/ control call: its result."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["result"]

    def send_photo(self, chat_id: int, picture: bytes, caption: str) -> None:
        """sendPhoto with an upload (multipart/form-data, as bots send files)."""
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n'
                 f"{chat_id}\r\n".encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n'
                 f"{caption}\r\n".encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
                 f'filename="card.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                 + picture + b"\r\n", f"--{boundary}--\r\n".encode()]
        request = urllib.request.Request(
            f"{self.base}/bot{TOKEN}/sendPhoto", data=b"".join(parts),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["ok"]


@pytest.fixture
def telegram() -> Iterator[Telegram]:
    """A sandbox server with one registered bot that has not polled yet."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--token",
                             TOKEN, "--no-flood-limits"], cwd=REPO, env=clean_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first_ok(f"http://127.0.0.1:{port}/sandbox/info", time.monotonic(), 30)
        yield Telegram(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def page(chromium: str, telegram: Telegram) -> Iterator[Page]:
    """The chat page, open in headless chromium; no script errors allowed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 700}, locale="en-US")
        context.set_default_timeout(15_000)
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.goto(telegram.base)
        opened.locator("body[data-live='true']").wait_for()  # loaded, and hearing events
        yield opened
        browser.close()
        assert errors == [], errors


def tall_picture() -> bytes:
    """A PNG taller than the chat area, so that its loading moves the bottom a long way."""
    out = io.BytesIO()
    Image.new("RGB", (400, 900), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def test_the_page_says_starting_until_the_bot_polls(page: Page, telegram: Telegram) -> None:
    from playwright.sync_api import expect

    status = page.locator("#bot-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("starting")
    page.click("#lang-toggle")
    expect(status).to_contain_text("正在启动")
    telegram.call("getUpdates", timeout=0)  # the bot is up
    expect(status).to_be_hidden()
    page.reload()
    expect(page.locator("#chats")).to_be_attached()
    expect(status).to_be_hidden()


def test_a_photo_card_keeps_the_newest_message_in_view(page: Page, telegram: Telegram) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    alice = telegram.control("/sandbox/users", {"first_name": "Alice"})
    telegram.control(f"/sandbox/chats/{alice['id']}/messages",
                     {"user_id": alice["id"], "text": "/start"})
    page.locator("#chats li.chat", has_text="Alice").click()
    for n in range(25):  # more than the chat area holds: it scrolls
        telegram.call("sendMessage", chat_id=alice["id"], text=f"line {n}")
    expect(page.locator("#messages .row", has_text="line 24")).to_be_visible()
    telegram.send_photo(alice["id"], tall_picture(), "Green tea")
    picture = page.locator("#messages img.photo").last
    expect(picture).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('#messages img.photo')]"
                           ".every((img) => img.complete && img.naturalHeight > 0)")
    # The page scrolls in the image's load event, which the browser runs a moment after the
    # image is complete: wait for the scroll (a page that never scrolls fails here).
    gap = "() => { const a = document.getElementById('messages');" \
          " return a.scrollHeight - a.scrollTop - a.clientHeight; }"
    try:
        page.wait_for_function(f"() => ({gap})() < 2", timeout=5_000)
    except PlaywrightTimeout:
        raise AssertionError(f"the newest message is {page.evaluate(gap)}px below the bottom "
                             "of the chat") from None
    expect(page.locator("#messages .row", has_text="Green tea")).to_be_in_viewport()
