"""Texts from gettext catalogues (Babel): message keys in code, words in locales/<lang>/*.po.

Every .po file of a language is merged into one catalogue, so each feature keeps its own file
(locales/zh_CN/LC_MESSAGES/cart.po ...). Catalogues are read once at start-up. A text that
counts something has gettext plural forms (msgid_plural, msgstr[n]), chosen by the
Plural-Forms rule in the header of its file (English 2 forms, Chinese 1).
"""
from __future__ import annotations

import gettext
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from services.postal import format_address

LANGUAGES = ("en", "zh_CN")
DEFAULT = "en"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# Dates are written as the CLDR locale writes them. Babel's "en" is US English (12/7/26,
# 3:53 PM); "en_001", international English, writes 7 Dec 2026 (day, month name, year),
# which no reader can take for another date.
DATE_LOCALES = {"en": "en_001", "zh_CN": "zh_CN"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Texts:
    """One language's catalogue: plain texts, plural texts, and which plural form a count takes."""

    texts: dict[str, str]
    plurals: dict[str, tuple[str, ...]]
    plural_rule: str

    def form(self, key: str, count: int) -> str | None:
        """The plural form of `key` for `count`, None when the catalogue does not have it."""
        forms = self.plurals.get(key)
        if not forms:
            return None
        return forms[min(_rule(self.plural_rule)(count), len(forms) - 1)]


@cache
def _rule(expression: str) -> Callable[[int], int]:
    """The Plural-Forms expression as a function of n (gettext's own parser)."""
    return gettext.c2py(expression)


@cache
def texts(language: str, root: Path = LOCALES_DIR) -> Texts:
    """Every text of a language, from all of its .po files."""
    plain: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    rule = "0"
    for path in sorted((root / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            po = read_po(fh, locale=language)
        rule = po.plural_expr
        for message in po:
            if isinstance(message.id, str) and message.id and message.string:
                plain[message.id] = str(message.string)
            elif (isinstance(message.id, tuple) and isinstance(message.string, tuple | list)
                  and all(message.string)):
                plurals[message.id[0]] = tuple(str(s) for s in message.string)
    return Texts(plain, plurals, rule)


def catalogue(language: str, root: Path = LOCALES_DIR) -> dict[str, str]:
    """key -> text for a language (the plain texts)."""
    return texts(language, root).texts


class Translator:
    """Texts, money and dates in one language, times in the shop's time zone."""

    def __init__(self, language: str, timezone: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)

    def __call__(self, key: str, **params: Any) -> str:
        """The text for `key` with its {placeholders} filled in."""
        text = catalogue(self.language).get(key) or catalogue(DEFAULT).get(key)
        if text is None:
            log.error("missing text %r", key)
            return key
        return _filled(text, key, self.language, params)

    def plural(self, key: str, count: int, **params: Any) -> str:
        """The text for `key` in the plural form `count` takes, {count} filled in too."""
        text = texts(self.language).form(key, count) or texts(DEFAULT).form(key, count)
        if text is None:
            log.error("missing plural text %r", key)
            return key
        return _filled(text, key, self.language, {**params, "count": count})

    def money(self, amount: int, currency: str) -> str:
        """Minor units as a price: 12345 CNY -> "¥123.45" / "CN¥123.45"."""
        return _money(amount, currency, self.language)

    def when(self, moment: datetime | None) -> str:
        """A date and time in the shop's time zone: 7 Dec 2026, 12:48 / 2026年12月7日 12:48."""
        if moment is None:
            return ""
        return format_datetime(moment, _patterns(self.language)[1], tzinfo=self._zone,
                               locale=DATE_LOCALES[self.language])

    def day(self, moment: datetime | date | None) -> str:
        """The date alone (of a moment: in the shop's time zone): 7 Dec 2026 / 2026年12月7日."""
        if moment is None:
            return ""
        if isinstance(moment, datetime):
            moment = moment.astimezone(self._zone).date()
        return format_date(moment, _patterns(self.language)[0], locale=DATE_LOCALES[self.language])

    def address(self, region: str, city: str, line: str, postcode: str = "") -> str:
        """An address as a reader of this language writes it (services.postal)."""
        return format_address(self.language, region, city, line, postcode)

    def remaining(self, delta: timedelta) -> str:
        """Time still to go, in words: "in 1 hour" / "1小时后" (at least a minute)."""
        return format_timedelta(max(delta, timedelta(minutes=1)), add_direction=True,
                                locale=DATE_LOCALES[self.language])


def _filled(text: str, key: str, language: str, params: dict[str, Any]) -> str:
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        log.error("text %r of %s does not fit params %s", key, language, sorted(params))
        return text


@cache
def _patterns(language: str) -> tuple[str, str]:
    """(date, date and time) CLDR patterns: the locale's own medium date with a 24-hour time."""
    locale = Locale.parse(DATE_LOCALES[language])
    date = locale.datetime_skeletons["yMMMd"].pattern
    time = locale.datetime_skeletons["Hm"].pattern
    return date, str(locale.datetime_formats["medium"]).format(time, date)


@lru_cache(maxsize=16_384)
def _money(amount: int, currency: str, language: str) -> str:
    # Babel parses the locale's pattern on every call (~12 us): a shop shows the same few
    # hundred prices over and over, on every list, card and cart.
    return format_currency(amount / 100, currency, locale=language)
