"""What every card action shares: who acts, showing a card, and telling a stale or lost press."""
from __future__ import annotations

from handlers.admin.cards.view import card_keyboard, card_text, status_text
from handlers.events import EditText
from handlers.turn import Turn
from services.merchant import OrderCard

# The steps card buttons open (a reason, a tracking number, an amount): any other card button
# leaves them, so a message typed later never lands on an order the admin has moved away from.
CARD_STEPS = frozenset({"admin_reason", "admin_tracking", "admin_refund", "admin_ret_reason",
                        "admin_ret_amount", "admin_ret_tracking"})


def leave_card_step(turn: Turn) -> None:
    """Drop a pending card step (other features' steps, e.g. a /neworder form, are kept)."""
    if turn.state.name in CARD_STEPS:
        turn.reset()


def actor(turn: Turn) -> str:
    """The admin as the order's timeline records them."""
    return f"admin:{turn.event.user.id}"


def put_card(turn: Turn, card: OrderCard, fresh: bool = False) -> None:
    """The card: edited in the pressed message, or a new message when fresh (or no press)."""
    text, keyboard = card_text(turn.t, card, turn.services.ctx), card_keyboard(turn.t, card)
    if fresh:
        turn.send(text, keyboard)
    else:
        turn.show(text, keyboard)


def edit_card(turn: Turn, card: OrderCard, message_id: int | None) -> None:
    """Re-render the card in a message remembered by a step (a new message if unknown)."""
    text, keyboard = card_text(turn.t, card, turn.services.ctx), card_keyboard(turn.t, card)
    if message_id is None:
        turn.send(text, keyboard)
    else:
        turn.replies.append(EditText(turn.chat_id, message_id, text, keyboard))


def by_someone_else(turn: Turn, card: OrderCard) -> bool:
    """The order's last step was another admin's."""
    return card.last_actor.startswith("admin:") and card.last_actor != actor(turn)


def moved_on(turn: Turn, card: OrderCard) -> str:
    """Why a press changed nothing: another admin acted, or the card was out of date."""
    status = status_text(turn.t, card.order.status)
    key = "admin_cards.raced" if by_someone_else(turn, card) else "admin_cards.stale"
    return turn.t(key, number=card.order.number, status=status)


def refuse_stale(turn: Turn, card: OrderCard, their_card: bool = False) -> None:
    """Answer the press with the order's current state and show the card as it is now.

    When another admin acted on this very card (`their_card`), their turn redraws it: drawing
    it again would only be refused by Telegram as "message is not modified".
    """
    turn.answer(moved_on(turn, card)[:200], alert=True)
    if not (their_card and by_someone_else(turn, card)):
        put_card(turn, card)


def told_raced(turn: Turn, card: OrderCard) -> str:
    """A compare-and-set lost to someone else: the sentence that says so."""
    status = status_text(turn.t, card.order.status)
    return turn.t("admin_cards.raced", number=card.order.number, status=status)


async def pressed_their_card(turn: Turn, order_id: int) -> bool:
    """The pressed message is the order's remembered card (the one the last admin pressed)."""
    ref = await turn.services.merchant.card_ref(order_id)
    return ref is not None and ref.message_id == turn.event.callback_message_id
