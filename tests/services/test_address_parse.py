"""services.address_parse: a whole address pasted in one message, read into its fields.

The recognition floor is measured on the written sets tests/data/addresses_{zh,en}.tsv
(`python -m bench.address_recognition` prints the shares and every miss).
"""
from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.address_recognition import LANGUAGES, SETS, cases, wrong
from services.address_parse import MAX_PASTE, ParsedAddress, parse

FLOOR = 0.97  # share of the written addresses read fully right, per set (all now ≥ 99 %)


@pytest.mark.parametrize("language", SETS)
def test_recognition_floor(language: str) -> None:
    count, failed = len(cases(language)), wrong(language)
    assert (count - len(failed)) / count >= FLOOR, failed


def test_the_written_sets_are_big_enough_and_their_phones_real() -> None:
    both = [expected for language in SETS for _, expected in cases(language)]
    assert len(both) >= 200 and all(len(cases(language)) >= 100 for language in LANGUAGES)
    for expected in both:
        if expected.phone:
            number = phonenumbers.parse(expected.phone)
            assert phonenumbers.is_valid_number(number), expected
            assert expected.phone == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164)


def test_the_two_examples_of_the_issue() -> None:
    assert parse("张三 13800138000 上海市浦东新区世纪大道100号 200120") == ParsedAddress(
        "张三", "+8613800138000", "上海市", "上海市", "浦东新区世纪大道100号", "200120")
    assert parse("Alice Wang, +86 138 0013 8000, 100 Century Ave, Pudong, Shanghai 200120") == (
        ParsedAddress("Alice Wang", "+8613800138000", "Shanghai", "Shanghai",
                      "100 Century Ave, Pudong", "200120"))


def test_missing_names_the_required_fields_not_found() -> None:
    found = parse("李四 上海市浦东新区世纪大道100号")
    assert found.missing() == ("phone",)
    assert parse("13800138000").missing() == ("recipient", "region", "city", "line")
    assert ParsedAddress().missing() == ("recipient", "phone", "region", "city", "line")
    assert "postcode" not in parse("张三 13800138000 上海市浦东新区世纪大道100号").missing()


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "x" * 5000, "张" * (MAX_PASTE + 1),
                                  "\u200d\ufe0f\n\n", "你好，我想买茶叶", "hello, I want tea"])
def test_nothing_recognised_in_what_is_no_address(text: str) -> None:
    assert parse(text).found() in ((), ("recipient",))  # at most a name, never a guess
    assert not parse(text).phone and not parse(text).line


def test_a_name_alone_is_a_name() -> None:
    assert parse("张三") == ParsedAddress(recipient="张三")
    assert parse("Alice Wang") == ParsedAddress(recipient="Alice Wang")


def test_full_width_digits_and_a_phone_with_the_shops_default_country() -> None:
    assert parse("１３８００１３８０００").phone == "+8613800138000"
    assert parse("+44 20 7946 0958").phone == "+442079460958"
    assert parse("020 7946 0958", default_country="GB").phone == "+442079460958"


def test_a_district_that_two_cities_have_is_not_guessed() -> None:
    found = parse("赵六 15011112222 朝阳区建国路88号")  # 北京 and 长春 both have a 朝阳区
    assert (found.region, found.city, found.line) == ("", "", "朝阳区建国路88号")


@settings(max_examples=200, deadline=None)  # no clock: a loaded machine must not fail it
@given(st.text(max_size=300))
def test_any_text_is_read_without_error_into_plain_fields(text: str) -> None:
    found = parse(text)
    assert all(isinstance(getattr(found, name), str) for name in found.found())
    if found.phone:
        assert phonenumbers.is_valid_number(phonenumbers.parse(found.phone))
    assert set(found.missing()) | set(found.found()) >= {"recipient", "phone", "region", "city",
                                                          "line"}
