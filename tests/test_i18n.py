"""Texts, dates, plurals, addresses and phone numbers as people read them (no database)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from handlers.i18n import LANGUAGES, LOCALES_DIR, Translator, texts
from services.postal import format_address, format_phone

EN, ZH = Translator("en", "Asia/Shanghai"), Translator("zh_CN", "Asia/Shanghai")
# 17:30 on the 6th in UTC is 01:30 on the 7th in Shanghai: the date itself differs.
EVENING = datetime(2026, 12, 6, 17, 30, tzinfo=UTC)
PLURAL_FORMS = {"en": "nplurals=2; plural=(n != 1);", "zh_CN": "nplurals=1; plural=0;"}


# --- dates and times ------------------------------------------------------------------------------
def test_a_moment_reads_in_the_shops_time_zone_and_the_readers_words() -> None:
    assert EN.when(EVENING) == "7 Dec 2026, 01:30"
    assert ZH.when(EVENING) == "2026年12月7日 01:30"
    assert EN.day(EVENING) == "7 Dec 2026" and ZH.day(EVENING) == "2026年12月7日"
    utc = Translator("en", "UTC")
    assert utc.when(EVENING) == "6 Dec 2026, 17:30" and utc.day(EVENING) == "6 Dec 2026"
    assert Translator("en", "America/New_York").when(EVENING) == "6 Dec 2026, 12:30"


def test_never_a_us_style_date_nor_a_12_hour_clock() -> None:
    afternoon = datetime(2026, 1, 5, 7, 48, tzinfo=UTC)  # 15:48 in Shanghai
    assert EN.when(afternoon) == "5 Jan 2026, 15:48" and ZH.when(afternoon) == "2026年1月5日 15:48"
    for text in (EN.when(afternoon), ZH.when(afternoon)):
        assert not re.search(r"\d+/\d+/\d+|AM|PM|下午", text), text


def test_a_day_without_a_time_and_nothing_for_no_moment() -> None:
    assert EN.day(date(2026, 1, 5)) == "5 Jan 2026" and ZH.day(date(2026, 1, 5)) == "2026年1月5日"
    assert EN.when(None) == "" and ZH.day(None) == ""


@pytest.mark.parametrize(("left", "en", "zh"), [
    (timedelta(hours=1), "in 1 hour", "1小时后"),
    (timedelta(minutes=59, seconds=40), "in 1 hour", "1小时后"),
    (timedelta(minutes=10), "in 10 minutes", "10分钟后"),
    (timedelta(days=1), "in 1 day", "1天后"),
    (timedelta(seconds=20), "in 1 minute", "1分钟后"),  # at least a minute: never "0 seconds"
    (timedelta(minutes=-3), "in 1 minute", "1分钟后"),  # sent late: still not "3 minutes ago"
])
def test_the_time_left_in_words(left: timedelta, en: str, zh: str) -> None:
    assert (EN.remaining(left), ZH.remaining(left)) == (en, zh)


def test_a_translator_needs_the_shops_time_zone() -> None:
    with pytest.raises(TypeError):
        Translator("en")  # type: ignore[call-arg]


# --- plurals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "en"), [(0, "0 items"), (1, "1 item"), (2, "2 items"),
                                           (21, "21 items")])
def test_counts_take_their_plural_form(count: int, en: str) -> None:
    text = EN.plural("catalog.added_message", count, qty=1, name="Tea", total="¥1")
    assert f"Your cart: {en}, ¥1." in text
    assert f"购物车：共 {count} 件，¥1。" in ZH.plural("catalog.added_message", count, qty=1,
                                                    name="Tea", total="¥1")


@pytest.mark.parametrize(("count", "en"), [(0, "0 slips"), (1, "1 slip"), (2, "2 slips"),
                                           (21, "21 slips")])
def test_slips_and_photos_count_in_words(count: int, en: str) -> None:
    assert f"packed: {en} to print." in EN.plural("admin_cards.packed", count, number="7")
    assert f"{count} 张发货单待打印" in ZH.plural("admin_cards.packed", count, number="7")
    photos = EN.plural("returns.btn_photos_done", count)
    assert f"({count} photo{'' if count == 1 else 's'})" in photos


def test_a_missing_plural_text_says_its_key() -> None:
    assert EN.plural("no.such.key", 2) == "no.such.key"


def catalogue_files() -> list[Path]:
    """Every .po file of every language."""
    return sorted(p for lang in LANGUAGES for p in (LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"))


@pytest.mark.parametrize("path", catalogue_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_catalogue_declares_its_plural_forms_and_keeps_to_them(path: Path) -> None:
    language = path.parent.parent.name
    header = path.read_text(encoding="utf-8")
    assert f'"Plural-Forms: {PLURAL_FORMS[language]}\\n"' in header
    with path.open("rb") as fh:
        po = read_po(fh, locale=language)
    for message in po:
        if isinstance(message.id, tuple):
            assert len(message.string) == po.num_plurals, message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            # Counted words go through plural forms, never "(s)" or "pcs".
            assert not re.search(r"\(s\)|\bpcs\b", str(text)), (message.id, text)


def test_both_languages_have_the_same_texts_and_plurals() -> None:
    en, zh = texts("en"), texts("zh_CN")
    assert set(en.texts) == set(zh.texts)
    assert set(en.plurals) == set(zh.plurals) and en.plurals


# --- addresses ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("parts", "zh", "en"), [
    (("上海", "上海市", "浦东新区世纪大道100号", "200120"),
     "上海市浦东新区世纪大道100号，200120", "浦东新区世纪大道100号, 上海市 200120"),
    (("广东省", "广州市", "天河区体育西路1号", ""), "广东省广州市天河区体育西路1号",
     "天河区体育西路1号, 广州市, 广东省"),
    # The city and region typed again at the start of the street line are said once.
    (("广东省", "广州市", "广东省广州市天河区1号", ""), "广东省广州市天河区1号", "广东省广州市天河区1号"),
    # ... but a street named after the city keeps the city in front of it.
    (("广东省", "广州市", "广州大道100号", ""), "广东省广州市广州大道100号", "广州大道100号, 广州市, 广东省"),
    # Typed in Latin letters: it reads as English whoever reads it.
    (("Shanghai", "Shanghai", "88 Nanjing Road", "200001"), "88 Nanjing Road, Shanghai 200001",
     "88 Nanjing Road, Shanghai 200001"),
    # Missing parts.
    (("", "", "88 Nanjing Road", ""), "88 Nanjing Road", "88 Nanjing Road"),
    (("", "上海市", "", ""), "上海市", "上海市"),
    (("上海", "", "南京路88号", ""), "上海南京路88号", "南京路88号, 上海"),
    (("", "", "", "200001"), "200001", "200001"),
    (("", "", "", ""), "", ""),
    (("  上海 ", "上海市 ", " 南京路88号", " "), "上海市南京路88号", "南京路88号, 上海市"),
])
def test_an_address_reads_as_its_reader_writes_one(parts: tuple[str, str, str, str], zh: str, en: str) -> None:
    assert format_address("zh_CN", *parts) == zh
    assert format_address("en", *parts) == en
    assert ZH.address(*parts) == zh and EN.address(*parts) == en


def test_chinese_parts_have_no_comma_or_space_between_them_but_latin_words_do() -> None:
    text = format_address("zh_CN", "上海", "上海市", "浦东新区世纪大道100号")
    assert "," not in text and " " not in text
    assert format_address("zh_CN", "Shanghai", "上海市", "Room 5, 100 Century Ave") == (
        "Shanghai 上海市 Room 5, 100 Century Ave")


# --- phone numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(("stored", "home", "shown"), [
    ("+8613800138000", "CN", "138 0013 8000"),   # a mobile at home: national form
    ("+862168888888", "CN", "021 6888 8888"),    # a Shanghai landline with its area code
    ("+16502530000", "CN", "+1 650-253-0000"),   # foreign: international form
    ("+447911123456", "CN", "+44 7911 123456"),
    ("+85261234567", "CN", "+852 6123 4567"),
    ("+16502530000", "US", "(650) 253-0000"),    # the home region is the shop's
    ("+8613800138000", "US", "+86 138 0013 8000"),
    ("+86138", "CN", "+86138"),                  # not a valid number: shown as stored
    ("not a phone", "CN", "not a phone"),
    ("", "CN", ""),
])
def test_a_phone_number_reads_for_people(stored: str, home: str, shown: str) -> None:
    assert format_phone(stored, home) == shown
