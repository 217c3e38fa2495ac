"""A Chinese-speaking merchant's admin chat: carriers by their Chinese names, the address as a
Chinese parcel shows it, phone numbers for people, dates in the shop's time zone."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from handlers.admin.alerts import AdminAlerts
from handlers.events import EditText, SendText
from handlers.notifications import Notifications
from handlers.router import Conversation
from services.checkout import AddressInput
from services.container import Services
from services.rules import ShopRules
from tests.conftest import TEST_RULES
from tests.handlers.test_admin_cards import ADMIN, SETTINGS, AdminChat, alerts
from tests.shop import ShopData, buyer, pay, place

SHANGHAI = AddressInput("王小明", "+8613800138000", "上海", "上海市", "浦东新区世纪大道100号", "200120")


@pytest.fixture
def rules() -> ShopRules:
    """The merchant reads Chinese."""
    return replace(TEST_RULES, admin_language="zh_CN")


@pytest.fixture
def admin(svc: Services, shop: ShopData) -> AdminChat:
    return AdminChat(Conversation(svc, SETTINGS), ADMIN, "老板")


async def test_a_chinese_merchant_ships_with_a_carrier_named_in_chinese(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc, 1001, "zh_CN")
    order = await place(svc, customer, {shop.tea: 1}, address=SHANGHAI)
    await pay(svc, order)
    composer = AdminAlerts(svc, SETTINGS)
    (*_, card) = await alerts(svc, composer)
    assert isinstance(card, SendText)
    assert "收件人：王小明，138 0013 8000" in card.text
    assert "地址：上海市浦东新区世纪大道100号，200120" in card.text

    await svc.orders.confirm(order.id, "admin:1")
    await admin.press(f"ao:{order.id}:ship", message_id=500)
    assert "由哪家快递发货" in admin.last_text
    assert {"沙盒快递", "商家配送"} <= set(admin.buttons())  # never "sandbox" or "manual"
    await admin.click("沙盒快递")
    assert "请发送订单" in admin.last_text and "沙盒快递 运单号" in admin.last_text
    await admin.send("SF 1234 5678")
    assert f"订单 {order.number} 已由 沙盒快递 发出，运单号 SF12345678" in admin.texts[0]
    edited = next(r for r in admin.last if isinstance(r, EditText))
    assert "🚚 已由 沙盒快递 发出，运单号 SF12345678" in edited.text

    # What the customer reads, as the outbox sender renders it: the carrier by name and the
    # expected day in Shanghai (shipped 09:00 UTC = 17:00, plus 2 days 6 hours: the 7th).
    notices = Notifications(svc.ctx)
    shipped = [m for m in await svc.outbox.claim(100) if m.template == "order_shipped"]
    (message,) = [r for m in shipped for r in await notices.compose(m)]
    assert isinstance(message, SendText)
    assert message.text == (f"🚚 订单 {order.number} 已交由沙盒快递发出，运单号 SF12345678，"
                            "预计 2026年1月7日 送达。")


@pytest.mark.parametrize(("language", "expected"), [
    ("en", {
        "tracking_update": "🚚 Order No. 7: in transit (Sandbox hub, 5 Jan 2026, 21:00).",
        "order_delivered": "otherwise it is confirmed automatically on 12 Jan 2026, 17:00.",
        "payment_reminder": "will be cancelled in 1 hour (5 Jan 2026, 18:00)",
        "receipt_reminder": "it will be confirmed automatically in 2 days (7 Jan 2026, 17:00)",
        "replacement_shipped": "on its way with Manual delivery, tracking number VAN1. "
                               "Expected delivery: 8 Jan 2026.",
    }),
    ("zh_CN", {
        "tracking_update": "🚚 订单 7：运输中（Sandbox hub，2026年1月5日 21:00）",
        "order_delivered": "如未确认，系统将于 2026年1月12日 17:00 自动确认。",
        "payment_reminder": "将在1小时后（2026年1月5日 18:00）自动取消",
        "receipt_reminder": "系统将在2天后（2026年1月7日 17:00）自动确认收货",
        "replacement_shipped": "已交由商家配送发出，运单号 VAN1，预计 2026年1月8日 送达。",
    }),
])
def test_notices_put_names_dates_and_time_left_in_words(
        svc: Services, language: str, expected: dict[str, str]) -> None:
    from handlers.i18n import Translator
    from handlers.notifications import notice_text

    t, now = Translator(language, "Asia/Shanghai"), svc.ctx.clock.now()  # 17:00 in Shanghai
    params = {
        "tracking_update": {"code": "in_transit", "description": "In transit to the city",
                            "location": "Sandbox hub", "at": "2026-01-05T13:00:00+00:00"},
        "order_delivered": {"confirm_by": "2026-01-12T09:00:00+00:00"},
        "payment_reminder": {"deadline": (now + timedelta(hours=1)).isoformat()},
        "receipt_reminder": {"deadline": (now + timedelta(days=2)).isoformat()},
        "replacement_shipped": {"carrier": "manual", "tracking_number": "VAN1",
                                "expected": "2026-01-08T01:00:00+00:00"},
    }
    for template, words in expected.items():
        text = notice_text(t, template, {"order_number": "7", **params[template]}, svc.ctx)
        assert words in text, text
