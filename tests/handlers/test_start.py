"""/start, help, language, and the core's guarantees: once per update, never silence."""
from __future__ import annotations

from handlers.events import AnswerCallback, SendText
from services.container import Services
from tests.handlers.chat import CoreChat


async def test_start_shows_welcome_and_menu(chat: CoreChat) -> None:
    await chat.command("/start")
    assert "Welcome to Test Shop" in chat.last_text
    assert "🛍 Catalog" in chat.buttons() and "📦 My orders" in chat.buttons()


async def test_language_switch_to_chinese(chat: CoreChat) -> None:
    await chat.command("/start")
    await chat.click("🌐 Language")
    await chat.click("简体中文")
    assert chat.last_text == "语言已设置为简体中文。"
    assert "🛍 商品目录" in chat.buttons()
    await chat.send("❓ 帮助")
    assert "我可以帮您购物" in chat.last_text


async def test_unexpected_input_gets_help_not_silence(chat: CoreChat) -> None:
    for event in ("hello?", "😀" * 50, "x" * 5000, ""):
        replies = await chat.send(event)
        assert any(isinstance(r, SendText) and "I can help you shop" in r.text for r in replies)
    replies = await chat.send_photo()
    assert "I can help you shop" in chat.last_text
    await chat.command("/nonsense")
    assert "I can help you shop" in chat.last_text


async def test_forged_callback_data_is_refused_politely(chat: CoreChat) -> None:
    for data in ("", "x" * 64, "prod:-1", "prod:abc", "prod:1:2", "zzz", "prod:99999999999999999999",
                 "lang:../../etc", "prod:１２"):
        replies = await chat.press(data)
        answers = [r for r in replies if isinstance(r, AnswerCallback)]
        assert len(answers) == 1 and answers[0].alert
        assert "no longer valid" in answers[0].text


async def test_same_update_twice_is_handled_once(chat: CoreChat) -> None:
    event = chat._event("command", text="/start", command="start")
    assert await chat.deliver(event)
    assert await chat.repeat(event) == []


def test_alert_texts_show_money_and_who_acted_in_words(svc: Services) -> None:
    from handlers.i18n import Translator
    from handlers.notifications import notice_text

    en, zh = Translator("en", "Asia/Shanghai"), Translator("zh_CN", "Asia/Shanghai")
    problem = {"order_number": "2601", "problem": "late_payment", "refunded": 12345}
    assert "refunded CN¥123.45" in notice_text(en, "alert_payment_problem", problem, svc.ctx)
    cancelled = {"order_number": "2601", "reason": "<b>x</b>", "actor": "customer:12"}
    text = notice_text(en, "alert_order_cancelled", cancelled, svc.ctx)
    assert "by the customer" in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert "已被顾客取消" in notice_text(zh, "alert_order_cancelled", cancelled, svc.ctx)
    assert notice_text(en, "no_such_template", {"order_number": "7"}, svc.ctx) == (
        "There is news about your order No. 7.")
