"""The customer card: who they are and what they have with the shop, for the agents."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Cart, CartLine, Customer, Order, ReturnRequest, SupportTopic
from services.context import ServiceContext
from services.notifications import SUPPORT, queue
from services.support.views import CARD_EDIT, CardView, OrderLineView, SessionView

RECENT_ORDERS = 5
CLOSED_RETURNS = ("rejected", "refunded", "replaced", "closed")


async def build_card(s: AsyncSession, topic: SupportTopic, session: SessionView | None) -> CardView:
    """Name, language, phone, recent orders, cart and open returns of the topic's customer."""
    customer = await s.get(Customer, topic.customer_id)
    assert customer is not None  # the topic's foreign key
    orders = (await s.scalars(select(Order).where(Order.customer_id == customer.id)
                              .order_by(Order.id.desc()).limit(RECENT_ORDERS))).all()
    items = await s.scalar(select(func.coalesce(func.sum(CartLine.quantity), 0))
                           .join(Cart, Cart.id == CartLine.cart_id)
                           .where(Cart.customer_id == customer.id))
    returns = await s.scalar(select(func.count(ReturnRequest.id)).where(
        ReturnRequest.customer_id == customer.id, ReturnRequest.status.not_in(CLOSED_RETURNS)))
    return CardView(
        topic.telegram_id, customer.name, customer.username, customer.language, customer.phone,
        tuple(OrderLineView(o.id, o.number, o.status, o.total, o.currency, o.created_at)
              for o in orders),
        int(items or 0), int(returns or 0), session, topic.blocked)


async def refresh_later(s: AsyncSession, ctx: ServiceContext, telegram_id: int | None) -> None:
    """Queue a fresh card for the customer's topic (a new order), if they have one with a card:
    sent with the caller's transaction, like every other message."""
    chat = ctx.rules.support.chat_id
    if chat is None or telegram_id is None:
        return
    card = await s.scalar(select(SupportTopic.card_message_id).where(
        SupportTopic.telegram_id == telegram_id, SupportTopic.thread_id.is_not(None)))
    if card is not None:
        queue(s, audience=SUPPORT, chat_id=chat, template=CARD_EDIT, now=ctx.clock.now(),
              params={"customer": telegram_id}, language=ctx.rules.support.language)
