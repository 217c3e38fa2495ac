"""The catalog: categories, paged product lists, product cards, "notify me", and search.

    categories --cat--> product list (paged in place) --item--> product card --add--> cart
                                                           card --back--> the list it came from
    /search or 🔍 --> step "search" --text--> results (paged in place with "sp") --item--> card
"""
from __future__ import annotations

from collections.abc import Callable
from html import escape

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, Inline, Rows
from handlers.i18n import Translator
from handlers.registry import Registry
from handlers.turn import Turn
from services.catalog import MAX_PAGE, PAGE_SIZE, Page, ProductDetail
from services.validation import clean_text

CAPTION_LIMIT = 1024  # Bot API: a photo's caption
TEXT_LIMIT = 4096  # Bot API: a message's text
FEW_LEFT = 5  # at or below this many units the card says "Only n left"
ADD_QUANTITIES = (2, 3, 5)  # the "Add n" shortcuts under "Add to cart" (which adds one)
REVIEW_CHARS = 120  # of each review quoted on the card
BUTTON_NAME_CHARS = 40  # of a product name on a button
MAX_CATEGORY_BUTTONS = 90  # Bot API allows 100 buttons; leave room for the cart button
FROM_CATEGORY, FROM_SEARCH = 0, 1
SEARCH_STEP = "search"

# Navigation edits the pressed message in place (Turn.show, Turn.show_photo): paging ("cat",
# "sp") edits the list, "item" turns the list into the card (a photo card by editMessageMedia,
# which also turns text into a photo) remembering the list it came from, "back" turns the card
# back into that list. Only a photo becoming text has no Bot API call: then the list comes as
# a new message and the card is deleted (Turn.show).
callbacks.register("item", "iii")  # product id, where from (FROM_*), list page
callbacks.register("back", "iii")  # where to (FROM_*), category id (0 for search), page
# ◀ ▶ on a card: the card of the list's product at a position (counted over every page).
callbacks.register("nx", "iii")  # where from (FROM_*), category id (0 for search), position


def telegram_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(raw: str, budget: int) -> str:
    """`raw` HTML-escaped and, when longer than `budget` units, cut short with an ellipsis."""
    text = escape(raw)
    if telegram_len(text) <= budget:
        return text
    cut = raw
    while cut and telegram_len(escape(cut) + "…") > budget:
        # cutting raw characters (never escaped ones) keeps every &entity; whole
        cut = cut[: len(cut) - max(1, (telegram_len(escape(cut) + "…") - budget) // 6)]
    return escape(cut.rstrip()) + "…" if cut else ""


def localized(t: Translator, en: str, zh: str) -> str:
    """A shop-made name in the customer's language (English where untranslated)."""
    return zh if t.language == "zh_CN" and zh else en


def short(name: str, limit: int = BUTTON_NAME_CHARS) -> str:
    """A name short enough for a button."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def cart_button(t: Translator) -> Button:
    """Open the cart (in place of the pressed screen)."""
    return Button(t("catalog.cart_button"), callbacks.encode("cart"))


def catalog_button(t: Translator) -> Button:
    """Back to the categories."""
    return Button(t("catalog.categories_button"), callbacks.encode("cats"))


def _put(turn: Turn, text: str, keyboard: Inline) -> None:
    """Answer the press and show the screen in place of the pressed one (new after a command)."""
    turn.answer()
    turn.show(text, keyboard)


async def categories(turn: Turn) -> None:
    """The shelves with their count of products (menu, /catalog, "cats")."""
    t = turn.t
    shelves = (await turn.services.catalog.categories())[:MAX_CATEGORY_BUTTONS]
    buttons = [Button(t("catalog.category_button", name=short(localized(t, c.name_en, c.name_zh)),
                        count=c.product_count), callbacks.encode("cat", c.id, 0)) for c in shelves]
    rows = tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))
    text = t("catalog.choose_category") if shelves else t("catalog.no_categories")
    _put(turn, text, Inline(rows + ((cart_button(t),),)))


async def categories_button(turn: Turn, pressed: Callback) -> None:
    """The "categories" button."""
    await categories(turn)


def _listing(t: Translator, page: Page, currency: str, where: int,
             page_data: Callable[[int], str]) -> Rows:
    """Product buttons, then ◀ i/n ▶ when there is more than one page."""
    rows: list[tuple[Button, ...]] = []
    for p in page.items:
        name = short(localized(t, p.name_en, p.name_zh))
        label = (t("catalog.product_button", name=name, price=t.money(p.price, currency))
                 if p.available > 0 else t("catalog.product_button_sold_out", name=name))
        rows.append((Button(label, callbacks.encode("item", p.id, where, page.page)),))
    if page.pages > 1:  # wraps around, so the row keeps its shape on every page
        rows.append((Button("◀", page_data((page.page - 1) % page.pages)),
                     Button(f"{page.page + 1}/{page.pages}", callbacks.encode("noop")),
                     Button("▶", page_data((page.page + 1) % page.pages))))
    return tuple(rows)


async def _category_page(turn: Turn, category_id: int, page: int) -> None:
    t = turn.t
    listing = await turn.services.catalog.products(category_id, page)
    name = localized(t, *listing.shelf) if listing.shelf else ""
    text = t.plural("catalog.category", listing.total, name=fit(name, 200),
                    page=listing.page + 1, pages=listing.pages)
    if not listing.items:
        text += "\n\n" + t("catalog.category_empty")
    rows = _listing(t, listing, turn.services.ctx.rules.currency, FROM_CATEGORY,
                    lambda n: callbacks.encode("cat", category_id, n))
    _put(turn, text, Inline(rows + ((catalog_button(t), cart_button(t)),)))


async def category_page(turn: Turn, pressed: Callback) -> None:
    """A category's page of products, edited in place when paging."""
    await _category_page(turn, pressed.int(0), pressed.int(1))


def card_text(t: Translator, p: ProductDetail, limit: int) -> str:
    """Name, price, stock, rating, latest reviews and as much description as fits `limit`."""
    if p.available <= 0:
        stock = t("catalog.out_of_stock")
    elif p.available <= FEW_LEFT:
        stock = t("catalog.few_left", count=p.available)
    else:
        stock = t("catalog.in_stock")
    rating = (t("catalog.rating", average=f"{p.rating:.1f}", count=p.review_count)
              if p.rating is not None else t("catalog.no_reviews"))
    lines = [f"<b>{escape(localized(t, p.name_en, p.name_zh))}</b>",
             t("catalog.price", price=t.money(p.price, p.currency)), stock, rating]
    for review in p.reviews:
        quoted = t("catalog.review", stars="★" * review.rating + "☆" * (5 - review.rating),
                   text=fit(review.text, REVIEW_CHARS), author=fit(review.customer_name, 32))
        if telegram_len("\n".join([*lines, quoted])) > limit // 2:
            break  # the description deserves the rest
        lines.append(quoted)
    head = "\n".join(lines)
    description = localized(t, p.description_en, p.description_zh).strip()
    rest = fit(description, limit - telegram_len(head) - 2) if description else ""
    return f"{head}\n\n{rest}" if rest else head


def card_keyboard(t: Translator, p: ProductDetail, back: str,
                  steps: tuple[Button, ...] = ()) -> Inline:
    """Add (one or a few), or "notify me" when sold out; ◀ ▶ through the list; back to the
    list; the cart."""
    rows: list[tuple[Button, ...]] = []
    if p.available > 0:
        rows.append((Button(t("catalog.add"), callbacks.encode("add", p.id, 1)),
                     Button(t("catalog.buy_now"), callbacks.encode("buy", p.id))))
        more = [Button(t("catalog.add_n", qty=q), callbacks.encode("add", p.id, q))
                for q in ADD_QUANTITIES if q <= p.available]
        if more:
            rows.append(tuple(more))
    else:
        rows.append((Button(t("catalog.notify"), callbacks.encode("notify", p.id)),))
    if steps:
        rows.append(steps)
    rows.append((Button(t("catalog.back"), back), cart_button(t)))
    return Inline(tuple(rows))


async def _list(turn: Turn, where: int, category_id: int, page: int) -> Page | None:
    """A page of the list a card belongs to (None: the search is no longer remembered)."""
    if where == FROM_CATEGORY:
        return await turn.services.catalog.products(category_id, page)
    query = turn.state.data.get("query") if turn.state.name == SEARCH_STEP else None
    if not isinstance(query, str) or not query:
        return None
    return await turn.services.catalog.search(query, page)


def _steps(listing: Page | None, product_id: int, where: int, category_id: int
           ) -> tuple[Button, ...]:
    """◀ n/total ▶ to the list's previous and next products (around the ends, as pages go)."""
    index = next((i for i, x in enumerate(listing.items) if x.id == product_id), None
                 ) if listing is not None else None
    if listing is None or index is None or listing.total < 2:
        return ()
    position = listing.page * PAGE_SIZE + index
    return (Button("◀", callbacks.encode("nx", where, category_id,
                                        (position - 1) % listing.total)),
            Button(f"{position + 1}/{listing.total}", callbacks.encode("noop")),
            Button("▶", callbacks.encode("nx", where, category_id,
                                        (position + 1) % listing.total)))


async def _card(turn: Turn, product_id: int, where: int, page: int,
                listing: Page | None = None, steps: bool = True) -> None:
    """The card in place of the pressed list or card: a photo card by editMessageMedia."""
    p = await turn.services.catalog.product(product_id)
    category_id = p.category_id if where == FROM_CATEGORY else 0
    back = callbacks.encode("back", where, category_id, page)
    if steps and listing is None:
        listing = await _list(turn, where, category_id, page)
    keyboard = card_keyboard(turn.t, p, back,
                             _steps(listing, p.id, where, category_id) if steps else ())
    turn.answer()
    if p.photos:
        turn.show_photo(p.photos[0], card_text(turn.t, p, CAPTION_LIMIT), keyboard)
    else:
        turn.show(card_text(turn.t, p, TEXT_LIMIT), keyboard)


async def product(turn: Turn, pressed: Callback) -> None:
    """A product card from anywhere ("prod": back leads to its category)."""
    await _card(turn, pressed.int(0), FROM_CATEGORY, 0, steps=False)


async def item(turn: Turn, pressed: Callback) -> None:
    """A product card opened from a list, which "back" returns to."""
    if pressed.int(1) not in (FROM_CATEGORY, FROM_SEARCH):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    await _card(turn, pressed.int(0), pressed.int(1), pressed.int(2))


async def step(turn: Turn, pressed: Callback) -> None:
    """◀ or ▶ on a card: the card of the product at that position of the list."""
    where, category_id, position = pressed.int(0), pressed.int(1), pressed.int(2)
    if where not in (FROM_CATEGORY, FROM_SEARCH) or not 0 <= position < PAGE_SIZE * (MAX_PAGE + 1):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    listing = await _list(turn, where, category_id, position // PAGE_SIZE)
    if listing is None:
        return turn.answer(turn.t("search.expired"), alert=True)
    index = position - listing.page * PAGE_SIZE
    if not 0 <= index < len(listing.items):  # the list got shorter meanwhile
        return turn.answer(turn.t("error.stale_button"), alert=True)
    await _card(turn, listing.items[index].id, where, listing.page, listing)


async def back(turn: Turn, pressed: Callback) -> None:
    """From a card back to its list, in place of the card."""
    where, category_id, page = pressed.int(0), pressed.int(1), pressed.int(2)
    if where == FROM_SEARCH:
        return await _search_page(turn, page)
    if where == FROM_CATEGORY:
        return await _category_page(turn, category_id, page)
    turn.answer(turn.t("error.stale_button"), alert=True)


async def add(turn: Turn, pressed: Callback) -> None:
    """Add to the cart (the service checks quantity and stock); confirm with the cart's total."""
    t, product_id, qty = turn.t, pressed.int(0), pressed.int(1)
    cart = await turn.services.cart.add(turn.customer.id, product_id, qty)
    line = next(x for x in cart.lines if x.product_id == product_id)
    name = localized(t, line.name_en, line.name_zh)
    turn.answer(t("catalog.added", qty=qty, name=name)[:200])
    turn.send(t.plural("catalog.added_message", sum(x.quantity for x in cart.lines), qty=qty,
                       name=fit(name, 200), total=t.money(cart.subtotal, cart.currency)),
              Inline(((cart_button(t),
                       Button(t("catalog.checkout"), callbacks.encode("checkout"))),)))


async def notify(turn: Turn, pressed: Callback) -> None:
    """ "Notify me" on a sold-out product: one subscription, however many presses."""
    # read the card first: a product taken off sale (or back in stock) gets a plain answer
    p = await turn.services.catalog.product(pressed.int(0))
    if p.available > 0:
        return turn.answer(turn.t("catalog.notify_in_stock"), alert=True)
    new = await turn.services.inventory.subscribe(turn.customer.id, p.id)
    turn.answer(turn.t("catalog.notify_set" if new else "catalog.notify_already"))


async def ask_search(turn: Turn) -> None:
    """Ask what to look for (menu button, bare /search, the "search" button)."""
    turn.go(SEARCH_STEP)
    turn.answer()
    turn.send(turn.t("search.ask"))


async def search_button(turn: Turn, pressed: Callback) -> None:
    """The "search" button."""
    await ask_search(turn)


async def search_command(turn: Turn) -> None:
    """/search [text]."""
    if turn.event.args.strip():
        return await _search(turn, turn.event.args)
    await ask_search(turn)


async def search_input(turn: Turn) -> None:
    """Whatever arrives at the search step: text is a query, anything else gets asked for text."""
    if turn.event.kind != "message" or not turn.event.text.strip():
        return turn.send(turn.t("search.send_text"))
    await _search(turn, turn.event.text)


async def _search(turn: Turn, text: str) -> None:
    # the same check the service makes, so the state keeps the query it searched for
    query = clean_text(text, "query", max_len=100)
    found = await turn.services.catalog.search(query)
    turn.go(SEARCH_STEP, query=query)  # stay here: another text is another search
    _results(turn, query, found)


async def _search_page(turn: Turn, page: int) -> None:
    query = turn.state.data.get("query") if turn.state.name == SEARCH_STEP else None
    if not isinstance(query, str) or not query:
        return turn.answer(turn.t("search.expired"), alert=True)
    _results(turn, query, await turn.services.catalog.search(query, page))


def _results(turn: Turn, query: str, found: Page) -> None:
    t = turn.t
    if not found.items:
        text = t("search.nothing", query=escape(query))
        return _put(turn, text, Inline(((catalog_button(t),),)))
    text = t("search.results", query=escape(query), count=found.total,
             page=found.page + 1, pages=found.pages)
    rows = _listing(t, found, turn.services.ctx.rules.currency, FROM_SEARCH,
                    lambda n: callbacks.encode("sp", n))
    _put(turn, text, Inline(rows + ((catalog_button(t), cart_button(t)),)))


async def search_page(turn: Turn, pressed: Callback) -> None:
    """Another page of the results, edited in place."""
    await _search_page(turn, pressed.int(0))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("catalog", categories)
    r.menu_button("menu.catalog", categories)
    r.action("cats", categories_button)
    r.action("cat", category_page)
    r.action("prod", product)
    r.action("item", item)
    r.action("nx", step)
    r.action("back", back)
    r.action("add", add)
    r.action("notify", notify)
    r.command("search", search_command)
    r.menu_button("menu.search", ask_search)
    r.action("search", search_button)
    r.action("sp", search_page)
    r.step(SEARCH_STEP, search_input)
