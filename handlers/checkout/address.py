"""The delivery address: a saved one, or a new one typed field by field, each checked at once.

At the first field a customer may paste the whole address in one message
(services.address_parse): every field recognised is checked like a typed one, the fields still
missing (or recognised but refused, with the reason) are asked one by one, then the whole address
is shown with a ✏️ button per field, and the checkout goes on below it (the review shows the
address again before anything is placed).
"""
from __future__ import annotations

import html
import unicodedata
from dataclasses import asdict

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.checkout.common import (
    ADDRESS,
    FIELDS,
    at,
    draft,
    field_step,
    move,
    present,
    stale,
    with_cancel,
)
from handlers.events import Button, Inline, Keyboard, ReplyKeyboard
from handlers.i18n import Translator
from handlers.router import error_text
from handlers.start import main_menu
from handlers.turn import Turn
from services.address_parse import REQUIRED, ParsedAddress, parse
from services.checkout import AddressInput, validate_address
from services.customers import AddressView
from services.errors import InvalidInput, NotFound
from services.postal import format_phone
from services.validation import clean_text, phone, shared_phone

PASTE = "paste"  # in the draft while a pasted address is completed: {"reasons": {field: why}}
MAX_SAVED = 5  # newest saved addresses offered; older ones stay in the database
LABEL_CHARS = 48
# The same limits as services.checkout.validate_address: (max, min, the error's field name).
LIMITS = {
    "recipient": (64, 1, "recipient"),
    "region": (64, 1, "region"),
    "city": (64, 1, "city"),
    "line": (256, 3, "address_line"),
    "postcode": (16, 0, "postcode"),
}


def describe(t: Translator, address: AddressInput | AddressView) -> str:
    """The address as one HTML-safe line for the review screen, as the reader writes one."""
    return html.escape(t.address(address.region, address.city, address.line, address.postcode))


def _label(t: Translator, address: AddressView) -> str:
    text = t("checkout.saved_address", recipient=address.recipient,
             address=t.address("", address.city, address.line))
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


async def ask_address(turn: Turn, fresh: bool = False) -> None:
    """Offer the saved addresses and "new address", or go straight to typing one."""
    saved = await turn.services.customers.addresses(turn.customer.id)
    if not saved:
        return ask_field(turn, "recipient", fresh=fresh)
    rows = [(Button(_label(turn.t, a), callbacks.encode("addr", a.id)),) for a in saved[:MAX_SAVED]]
    rows.append((Button(turn.t("checkout.new_address"), callbacks.encode("ck", "new")),))
    move(turn, ADDRESS)
    present(turn, turn.t("checkout.choose_address"), with_cancel(turn, *rows), fresh)


def _keyboard(turn: Turn, name: str) -> Keyboard:
    if name == "phone":
        share = Button(turn.t("checkout.share_phone"), request_contact=True)
        return ReplyKeyboard(((share,), (Button(turn.t("checkout.cancel")),)),
                             placeholder=turn.t("checkout.phone_placeholder"))
    if name == "postcode":
        return with_cancel(turn, (Button(turn.t("checkout.skip"), callbacks.encode("ck", "skip")),))
    return with_cancel(turn)


def ask_field(turn: Turn, name: str, fresh: bool = False, **changes: object) -> None:
    """Move to an address field and ask for it."""
    if name == "recipient" and "draft" not in changes:
        changes["draft"] = {}  # a new address starts empty
        forget_paste(turn)
    move(turn, field_step(name), **changes)
    data = draft(turn)
    # The first step of a new address also takes the whole address pasted at once.
    key = "first" if name == "recipient" and PASTE not in data else name
    text = _reasons(turn).get(name) or turn.t(f"checkout.ask.{key}")
    present(turn, text, _keyboard(turn, name), fresh or name == "phone")


def forget_paste(turn: Turn) -> None:
    """Drop the notes of a pasted address from the draft (the draft stays as small as before)."""
    turn.go(turn.state.name, **{k: v for k, v in draft(turn).items() if k != PASTE})


def _reasons(turn: Turn, but: str = "") -> dict[str, str]:
    """Why recognised fields of a pasted address were refused, by field (but one)."""
    reasons: dict[str, str] = draft(turn).get(PASTE, {}).get("reasons", {})
    return {k: v for k, v in reasons.items() if k != but}


def _reask(turn: Turn, name: str, text: str) -> None:
    turn.send(text, _keyboard(turn, name))


def _clean(turn: Turn, name: str, raw: str) -> str:
    if name == "phone" and turn.event.kind == "contact":
        return shared_phone(raw)  # the account's own number, always international
    if name == "phone":
        return phone(raw, turn.services.ctx.rules.default_phone_region)
    most, least, field = LIMITS[name]
    value = clean_text(raw, field, max_len=most, min_len=least)
    if name == "recipient" and not any(unicodedata.category(ch)[0] in "LNS" for ch in value):
        raise InvalidInput(field=field, reason="empty")  # "，。" is no name (an emoji one is)
    return value


def _raw_value(turn: Turn, name: str) -> str | None:
    """The value the customer gave at this step, or None after telling them what is wrong."""
    event = turn.event
    if name == "phone" and event.kind == "contact":
        # Only the customer's own number: a forwarded card of someone else is not consent.
        if event.contact_user_id != event.user.id or not event.contact_phone:
            _reask(turn, name, turn.t("checkout.contact_not_yours"))
            return None
        return event.contact_phone
    if event.kind != "message":
        _reask(turn, name, turn.t("checkout.need_text", what=turn.t(f"checkout.what.{name}")))
        return None
    return event.text


async def on_field(turn: Turn) -> bool:
    """Take one typed field; True when the whole address is complete."""
    name = turn.state.name.removeprefix("checkout.")
    raw = _raw_value(turn, name)
    if raw is None:
        return False
    if name == "phone" and raw.strip() == turn.t("checkout.cancel"):
        turn.reset()
        turn.send(turn.t("checkout.cancelled"), main_menu(turn.t))
        return False
    if name == "recipient" and event_is_text(turn) and PASTE not in draft(turn):
        found = parse(raw, default_country=turn.services.ctx.rules.default_phone_region)
        fields, reasons = _checked(turn, found) if _is_paste(found) else ({}, {})
        if fields:  # else (nothing of it passes) the text is the name, as before
            return take_paste(turn, fields, reasons)
    try:
        value = _clean(turn, name, raw)
    except InvalidInput as error:
        _reask(turn, name, error_text(turn.t, error))
        return False
    return accept(turn, name, value)


def event_is_text(turn: Turn) -> bool:
    """True for a typed message (not a shared contact, photo ...)."""
    return turn.event.kind == "message"


def _is_paste(found: ParsedAddress) -> bool:
    """More than a name: a phone, a place or a postcode, or a name and a street. A street alone
    ("12345") is not enough: it is read as the name, as before."""
    names = set(found.found())
    return bool(names & {"phone", "region", "city", "postcode"}) or names >= {"recipient", "line"}


def _checked(turn: Turn, found: ParsedAddress) -> tuple[dict[str, str], dict[str, str]]:
    """The recognised fields that pass the same checks as typed ones, and why the others fail."""
    fields: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for name in found.found():
        try:
            fields[name] = _clean(turn, name, getattr(found, name))
        except InvalidInput as error:
            reasons[name] = error_text(turn.t, error)
    return fields, reasons


def take_paste(turn: Turn, fields: dict[str, str], reasons: dict[str, str]) -> bool:
    """A whole address in one message: say what was read and ask what is missing (a refused
    field with its reason); True when nothing is."""
    move(turn, turn.state.name, draft=fields, **{PASTE: {"reasons": reasons}})
    if _missing(fields):
        turn.send(turn.t("checkout.address_read", fields=_summary(turn, fields)))
    return _next_paste_step(turn, fresh=True)


def pasting(turn: Turn) -> bool:
    """True while a pasted address is being completed or changed."""
    return PASTE in draft(turn)


def _missing(fields: dict[str, str]) -> list[str]:
    return [name for name in REQUIRED if name not in fields]


def _summary(turn: Turn, fields: dict[str, str]) -> str:
    """The fields of a pasted address, one a line, HTML-safe; "not found" for the missing."""
    lines = []
    for name in FIELDS:
        value = fields.get(name, "")
        if name == "phone" and value:
            value = format_phone(value, turn.services.ctx.rules.default_phone_region)
        shown = html.escape(value) if value else turn.t("checkout.not_read")
        lines.append(f"{turn.t(f'checkout.label.{name}')}: {shown}")
    return "\n".join(lines)


def _next_paste_step(turn: Turn, fresh: bool) -> bool:
    """Ask the first required field still missing; or, when none is, take the address and show
    it whole with a ✏️ button per field (the checkout goes on below it): True then."""
    fields = draft(turn).get("draft", {})
    missing = _missing(fields)
    if missing:
        ask_field(turn, missing[0], fresh=fresh, draft=fields)
        return False
    address = validate_address(AddressInput(**{"postcode": "", **fields}),
                               turn.services.ctx.rules.default_phone_region)
    forget_paste(turn)
    move(turn, turn.state.name, draft={}, address=asdict(address), address_id=None)
    fix = [Button(turn.t(f"checkout.fix.{name}"), callbacks.encode("fix", name)) for name in FIELDS]
    present(turn, turn.t("checkout.pasted_address", fields=_summary(turn, asdict(address))),
            Inline(tuple(tuple(fix[i:i + 2]) for i in range(0, len(fix), 2))), fresh)
    return True


async def fix_field(turn: Turn, pressed: Callback) -> None:
    """fix:<field>, a ✏️ button under a pasted address: ask that one field again; the checkout
    then goes on from where it was."""
    name = pressed.word(0)
    stored = draft(turn).get("address")
    if not stored or name not in FIELDS:  # the address was replaced, or the order placed
        return stale(turn)
    turn.answer()
    move(turn, turn.state.name, address=None, **{PASTE: {"reasons": {}}})
    ask_field(turn, name, draft=stored)


def accept(turn: Turn, name: str, value: str) -> bool:
    """Store a checked field and ask the next one; True when the address is complete."""
    fields = {**draft(turn).get("draft", {}), name: value}
    if name == "phone":  # give the main menu back in place of the share-phone keyboard
        shown = format_phone(value, turn.services.ctx.rules.default_phone_region)
        turn.send(turn.t("checkout.phone_saved", phone=html.escape(shown)), main_menu(turn.t))
    if pasting(turn):  # a pasted address: what is still missing, else the whole of it
        move(turn, turn.state.name, draft=fields, **{PASTE: {"reasons": _reasons(turn, but=name)}})
        return _next_paste_step(turn, fresh=turn.event.kind != "callback")
    following = FIELDS.index(name) + 1
    if following < len(FIELDS):
        ask_field(turn, FIELDS[following], draft=fields)
        return False
    address = validate_address(AddressInput(**fields), turn.services.ctx.rules.default_phone_region)
    move(turn, turn.state.name, draft={}, address=asdict(address), address_id=None)
    return True


async def skip_postcode(turn: Turn) -> bool:
    """The "Skip" button at the postcode step."""
    if not at(turn, field_step("postcode")):
        stale(turn)
        return False
    turn.answer()
    return accept(turn, "postcode", "")


async def new_address(turn: Turn) -> None:
    """The "New address" button."""
    if not at(turn, ADDRESS):
        return stale(turn)
    turn.answer()
    ask_field(turn, "recipient")


async def choose_saved(turn: Turn, pressed: Callback) -> bool:
    """A saved address button; only the customer's own addresses exist for them."""
    if not at(turn, ADDRESS):
        stale(turn)
        return False
    wanted = pressed.int(0)
    saved = await turn.services.customers.addresses(turn.customer.id)
    if not any(a.id == wanted for a in saved):
        raise NotFound(what="address")
    turn.answer()
    move(turn, ADDRESS, address_id=wanted, address=None, draft={})
    return True


async def chosen_address(turn: Turn) -> AddressInput | None:
    """The address of the draft (a typed one, or the saved one it points to)."""
    data = draft(turn)
    if data.get("address"):
        return AddressInput(**data["address"])
    if data.get("address_id"):
        for a in await turn.services.customers.addresses(turn.customer.id):
            if a.id == data["address_id"]:
                return AddressInput(a.recipient, a.phone, a.region, a.city, a.line, a.postcode)
    return None

