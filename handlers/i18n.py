"""Texts from gettext catalogues (Babel): message keys in code, words in locales/<lang>/*.po.

Every .po file of a language is merged into one catalogue, so each feature keeps its own file
(locales/zh_CN/LC_MESSAGES/cart.po ...). Catalogues are read once at start-up.
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency

LANGUAGES = ("en", "zh_CN")
DEFAULT = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
log = logging.getLogger(__name__)


@cache
def catalogue(language: str, root: Path = LOCALES_DIR) -> dict[str, str]:
    """key -> text for a language, from all of its .po files."""
    texts: dict[str, str] = {}
    for path in sorted((root / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if message.id and message.string and isinstance(message.id, str):
                    texts[message.id] = str(message.string)
    return texts


class Translator:
    """Texts, money and dates in one language."""

    def __init__(self, language: str, timezone: str = "Asia/Shanghai") -> None:
        self.language = language if language in LANGUAGES else DEFAULT
        self.timezone = timezone

    def __call__(self, key: str, **params: Any) -> str:
        """The text for `key` with its {placeholders} filled in."""
        text = catalogue(self.language).get(key) or catalogue(DEFAULT).get(key)
        if text is None:
            log.error("missing text %r", key)
            return key
        try:
            return text.format(**params) if params else text
        except (KeyError, IndexError, ValueError):
            log.error("text %r of %s does not fit params %s", key, self.language, sorted(params))
            return text

    def money(self, amount: int, currency: str) -> str:
        """Minor units as a price: 12345 CNY -> "¥123.45" / "CN¥123.45"."""
        return _money(amount, currency, self.language)

    def when(self, moment: datetime | None) -> str:
        """A date and time in the shop's time zone, short form."""
        if moment is None:
            return ""
        return format_datetime(moment, "short", tzinfo=ZoneInfo(self.timezone), locale=self.language)


@lru_cache(maxsize=16_384)
def _money(amount: int, currency: str, language: str) -> str:
    # Babel parses the locale's pattern on every call (~12 us): a shop shows the same few
    # hundred prices over and over, on every list, card and cart.
    return format_currency(amount / 100, currency, locale=language)


def for_user(language: str | None) -> Translator:
    """The translator for a customer's stored language."""
    return Translator(language or DEFAULT)
