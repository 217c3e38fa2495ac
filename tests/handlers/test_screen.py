"""handlers.screen: the core's HTML read as Telegram reads it, compared with the pressed message."""
from __future__ import annotations

from handlers.events import Button, Entity, Inline, Pressed
from handlers.screen import parse_html, unchanged

KB = Inline(((Button("🔄 Refresh", "ao:1:card"),),))


def test_html_becomes_text_and_utf16_entities() -> None:
    text, entities = parse_html("🍵 <b>Order</b> &amp; <code>SF&lt;1&gt;</code>\n")  # type: ignore[misc]
    assert text == "🍵 Order & SF<1>"
    assert entities == (Entity("bold", 3, 5), Entity("code", 11, 5))  # 🍵 is two UTF-16 units


def test_the_same_screen_is_unchanged_whatever_the_way_it_is_written() -> None:
    shown = Pressed("Order No. 1\nStatus: Paid", (Entity("bold", 0, 11),), KB)
    assert unchanged(shown, "<b>Order No. 1</b>\nStatus: Paid", KB)
    assert unchanged(shown, "<strong>Order</strong><b> No. 1</b>\nStatus: Paid\n\n", KB)
    # Entities Telegram finds itself (a mention, a URL) follow from the text.
    found = Pressed("Ask @shop", (Entity("mention", 4, 5),), None)
    assert unchanged(found, "Ask @shop", None)
    assert unchanged(found, "Ask @shop", Inline(()))  # no rows: no keyboard


def test_any_difference_is_a_change() -> None:
    shown = Pressed("Order No. 1\nStatus: Paid", (Entity("bold", 0, 11),), KB)
    assert not unchanged(shown, "Order No. 1\nStatus: Paid", KB)  # formatting only
    assert not unchanged(shown, "<b>Order No. 1</b>\nStatus: Shipped", KB)
    assert not unchanged(shown, "<b>Order No. 1</b>\nStatus: Paid", None)  # buttons only
    other = Inline(((Button("🔄 Refresh", "ao:2:card"),),))
    assert not unchanged(shown, "<b>Order No. 1</b>\nStatus: Paid", other)
    link = Pressed("pay", (Entity("text_link", 0, 3, "http://a"),), None)
    assert not unchanged(link, '<a href="http://b">pay</a>', None)
    # A caption or a tag the module does not know: edit rather than guess.
    assert not unchanged(Pressed("x", (), None, caption=True), "x", None)
    assert not unchanged(Pressed("x", (), None), "<marquee>x</marquee>", None)
