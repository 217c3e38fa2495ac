"""Fixtures for core-level conversation tests: a seeded shop and a chat with the core."""
from __future__ import annotations

import pytest

from handlers.router import Conversation
from handlers.turn import Settings
from services.container import Services
from tests.handlers.chat import CoreChat
from tests.shop import ShopData

ADMIN_ID = 9001


@pytest.fixture
def conversation(svc: Services) -> Conversation:
    """The conversation core over the test services."""
    return Conversation(svc, Settings(shop_name="Test Shop", admin_user_ids=frozenset({ADMIN_ID}),
                                      telegram_provider_token="TEST:provider"))


@pytest.fixture
def chat(conversation: Conversation, shop: ShopData) -> CoreChat:
    """An English-speaking customer's chat."""
    return CoreChat(conversation)
