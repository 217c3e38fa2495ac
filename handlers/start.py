"""/start, the main menu, /help (also the answer to anything unexpected) and /language."""
from __future__ import annotations

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, Inline, ReplyKeyboard
from handlers.i18n import Translator
from handlers.registry import Registry
from handlers.turn import Turn

MENU_ROWS = (("menu.catalog", "menu.search", "menu.cart"),
             ("menu.orders", "menu.help", "menu.language"))
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


def main_menu(t: Translator) -> ReplyKeyboard:
    """The reply keyboard with the shop's main sections."""
    rows = tuple(tuple(Button(t(key)) for key in row) for row in MENU_ROWS)
    return ReplyKeyboard(rows, one_time=False, placeholder=t("menu.placeholder"))


async def start(turn: Turn) -> None:
    """Welcome the customer and show the main menu."""
    turn.reset()
    turn.send(turn.t("start.welcome", name=turn.customer.name or "", shop=turn.settings.shop_name),
              main_menu(turn.t))


async def help_(turn: Turn) -> None:
    """What the bot can do, with the menu: the answer to anything it did not expect."""
    turn.send(turn.t("start.help"), main_menu(turn.t))


async def language(turn: Turn) -> None:
    """Offer the languages."""
    rows = tuple((Button(name, callbacks.encode("lang", code.lower())),)
                 for code, name in LANGUAGE_NAMES.items())
    turn.send(turn.t("start.choose_language"), Inline(rows))


async def set_language(turn: Turn, pressed: Callback) -> None:
    """Switch language and show the menu in it."""
    code = {c.lower(): c for c in LANGUAGE_NAMES}.get(pressed.word(0))
    if code is None:
        return turn.answer(turn.t("error.stale_button"), alert=True)
    turn.customer = await turn.services.customers.set_language(turn.customer.id, code)
    turn.t = Translator(code, turn.settings.timezone)
    turn.answer()
    turn.send(turn.t("start.language_set"), main_menu(turn.t))


async def show_menu(turn: Turn, pressed: Callback) -> None:
    """The "main menu" inline button."""
    turn.answer()
    turn.send(turn.t("start.menu"), main_menu(turn.t))


async def noop(turn: Turn, pressed: Callback) -> None:
    """A button that only shows information (a page counter)."""
    turn.answer()


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("start", start)
    r.command("help", help_)
    r.command("language", language)
    r.menu_button("menu.help", help_)
    r.menu_button("menu.language", language)
    r.action("lang", set_language)
    r.action("menu", show_menu)
    r.action("noop", noop)
