"""Whether an edit would change what the pressed message shows.

Telegram refuses an edit that changes nothing (400 "message is not modified"); a button press
carries the message as Telegram shows it now (plain text, formatting entities, buttons), so the
core compares its new screen with that and skips the call. The new screen's HTML is read the way
Telegram reads it: tags become entities with offsets in UTF-16 code units, spaces and newlines
at the ends are trimmed. Entities Telegram finds by itself (links, @mentions, /commands ...)
follow from the text and are left out; bold, italic and the like may be split or merged by
Telegram, so they are compared by the characters they cover. When in doubt (a tag this module
does not know, a caption) the edit is made.
"""
from __future__ import annotations

from html.parser import HTMLParser

from handlers.events import Button, Entity, Inline, Pressed

_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
         "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
         "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link",
         "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji"}
# Formatting Telegram may split or merge: compared by the characters they cover.
SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
FORMATTING = SPLITTABLE | {"text_link", "text_mention", "code", "pre", "blockquote",
                           "expandable_blockquote", "custom_emoji"}
Screen = tuple[str, frozenset[tuple[str, int, int, str]]]


def unchanged(pressed: Pressed, html: str, keyboard: Inline | None) -> bool:
    """True when editing the pressed message to `html` and `keyboard` would change nothing."""
    if pressed.caption or _rows(pressed.keyboard) != _rows(keyboard):
        return False
    parsed = parse_html(html)
    return parsed is not None and screen(*parsed) == screen(pressed.text, pressed.entities)


def _rows(keyboard: Inline | None) -> tuple[tuple[Button, ...], ...]:
    """The buttons row by row (no rows is no keyboard, as Telegram shows it)."""
    return tuple(tuple(row) for row in keyboard.rows) if keyboard is not None else ()


def screen(text: str, entities: tuple[Entity, ...]) -> Screen:
    """Text and formatting in a form that does not depend on how entities were cut."""
    covered: set[tuple[str, int, int, str]] = set()
    for e in entities:
        if e.type in SPLITTABLE:
            covered.update((e.type, i, 1, "") for i in range(e.offset, e.offset + e.length))
        elif e.type in FORMATTING:
            covered.add((e.type, e.offset, e.length, e.extra))
    return text, frozenset(covered)


def parse_html(html: str) -> tuple[str, tuple[Entity, ...]] | None:
    """Plain text and entities as Telegram makes them of `html` (None: a tag not known here)."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    if parser.unknown or parser.stack:
        return None
    return _trim("".join(parser.out), parser.entities)


def _trim(text: str, entities: list[Entity]) -> tuple[str, tuple[Entity, ...]]:
    """Telegram drops spaces and newlines at the end, and at the start before any entity."""
    kept = text.rstrip(" \n")
    end = _utf16(kept)
    cut = [Entity(e.type, e.offset, min(e.length, end - e.offset), e.extra)
           for e in entities if e.offset < end]
    first = min((e.offset for e in cut), default=end)
    lead = len(kept) - len(kept.lstrip(" \n"))
    lead = min(lead, first)  # leading whitespace is one UTF-16 unit per character
    return kept[lead:], tuple(Entity(e.type, e.offset - lead, e.length, e.extra) for e in cut)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    """Telegram's HTML subset -> text and entities; anything else marks the parse unknown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.entities: list[Entity] = []
        self.stack: list[tuple[str, int, str, str]] = []  # tag, start, type, extra
        self.position = 0
        self.unknown = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        kind = _TAGS.get(tag)
        if kind is None or (tag == "span" and values.get("class") != "tg-spoiler"):
            self.unknown = True
            return
        extra = {"text_link": values.get("href", ""),
                 "custom_emoji": values.get("emoji-id", "")}.get(kind, "")
        if kind == "text_link" and extra.startswith("tg://user?id="):
            kind, extra = "text_mention", extra.removeprefix("tg://user?id=")
        if kind == "blockquote" and "expandable" in values:
            kind = "expandable_blockquote"
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x">: one pre entity with a language
            language = values.get("class", "").removeprefix("language-")
            tag_, start, kind_, _ = self.stack.pop()
            self.stack.append((tag_, start, kind_, language))
            self.stack.append(("code", self.position, "", ""))
            return
        self.stack.append((tag, self.position, kind, extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.unknown = True
            return
        _, start, kind, extra = self.stack.pop()
        if kind and (self.position > start or kind == "pre"):
            self.entities.append(Entity(kind, start, self.position - start, extra))

    def handle_data(self, data: str) -> None:
        self.out.append(data)
        self.position += _utf16(data)
