"""Delivery option and payment method: buttons only, checked again when pressed."""
from __future__ import annotations

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.checkout.common import DELIVERY, PAYMENT, at, draft, move, present, stale, with_cancel
from handlers.events import Button
from handlers.turn import Turn
from services.errors import InvalidInput, NotAllowed
from services.rules import DeliveryOption


def delivery_name(turn: Turn, option: DeliveryOption) -> str:
    """The option's name in the customer's language."""
    return option.name_zh if turn.t.language == "zh_CN" else option.name_en


def fee_text(turn: Turn, fee: int) -> str:
    """A delivery fee, or "free"."""
    return turn.t.money(fee, turn.services.ctx.rules.currency) if fee else turn.t("checkout.free")


def current_delivery(turn: Turn) -> DeliveryOption | None:
    """The delivery option chosen in the draft, if it still exists."""
    code = draft(turn).get("delivery")
    return turn.services.ctx.rules.delivery(code) if isinstance(code, str) else None


def methods(turn: Turn, option: DeliveryOption | None) -> list[str]:
    """Payment methods to offer: enabled ones; cash only where the delivery option allows it."""
    ctx = turn.services.ctx
    return [m for m in ctx.rules.payment_methods
            if m in ctx.payments and (m != "cod" or (option is not None and option.allows_cod))]


def form_pays(turn: Turn) -> bool:
    """True when Telegram Payments is the way to pay and no address is chosen yet: Telegram's
    own form then asks for the name, phone, address and delivery option."""
    data = draft(turn)
    return (data.get("payment") == "telegram" and "telegram" in methods(turn, None)
            and not data.get("address") and not data.get("address_id"))


def preselect(turn: Turn) -> None:
    """Choose for the customer what has one possible answer: the only delivery option, the
    only payment method (cash waits until the delivery option says whether it may be used)."""
    rules, data = turn.services.ctx.rules, draft(turn)
    changes: dict[str, str] = {}
    option = current_delivery(turn)
    if option is None and len(rules.delivery_options) == 1:
        option = rules.delivery_options[0]
        changes["delivery"] = option.code
    offered = methods(turn, option)
    decided = option is not None or "cod" not in rules.payment_methods
    if data.get("payment") not in offered and len(offered) == 1 and decided:
        changes["payment"] = offered[0]
    if changes:
        move(turn, turn.state.name, **changes)


def choosable(turn: Turn) -> tuple[bool, bool]:
    """Whether the delivery option and the payment method have more than one answer (else
    the review screen offers no "change" for them)."""
    return (len(turn.services.ctx.rules.delivery_options) > 1,
            len(methods(turn, current_delivery(turn))) > 1)


def ask_delivery(turn: Turn, fresh: bool = False) -> None:
    """Show the delivery options with their fees."""
    rows = [(Button(turn.t("checkout.delivery_button", name=delivery_name(turn, d),
                           fee=fee_text(turn, d.fee)), callbacks.encode("dlv", d.code)),)
            for d in turn.services.ctx.rules.delivery_options]
    move(turn, DELIVERY)
    present(turn, turn.t("checkout.choose_delivery"), with_cancel(turn, *rows), fresh)


def ask_payment(turn: Turn, fresh: bool = False) -> None:
    """Show the payment methods this delivery option allows."""
    rows = [(Button(turn.t(f"checkout.method.{m}"), callbacks.encode("pay", m)),)
            for m in methods(turn, current_delivery(turn))]
    move(turn, PAYMENT)
    present(turn, turn.t("checkout.choose_payment"), with_cancel(turn, *rows), fresh)


async def choose_delivery(turn: Turn, pressed: Callback) -> bool:
    """A delivery button; True when the draft took it."""
    if not at(turn, DELIVERY):
        stale(turn)
        return False
    option = turn.services.ctx.rules.delivery(pressed.word(0))
    if option is None:
        raise InvalidInput(field="delivery", reason="unknown")
    payment = draft(turn).get("payment")
    if payment == "cod" and not option.allows_cod:
        payment = None  # cash was chosen for another option: ask again rather than fail at Confirm
    turn.answer()
    move(turn, DELIVERY, delivery=option.code, payment=payment)
    return True


async def choose_payment(turn: Turn, pressed: Callback) -> bool:
    """A payment button; True when the draft took it."""
    if not at(turn, PAYMENT):
        stale(turn)
        return False
    method = pressed.word(0)
    if method not in methods(turn, current_delivery(turn)):
        enabled = turn.services.ctx.rules.payment_methods
        if method == "cod" and "cod" in enabled:  # enabled, but not with this delivery option
            raise NotAllowed(what="cod_delivery")
        raise InvalidInput(field="payment_method", reason="unknown")
    turn.answer()
    move(turn, PAYMENT, payment=method)
    return True
