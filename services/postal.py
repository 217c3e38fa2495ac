"""Addresses and phone numbers as people read them; what is stored stays as it was (E.164 phones).

A Chinese reader sees a Chinese address the way it is written on a parcel, biggest part first
and nothing between the parts (上海市浦东新区世纪大道100号); an English reader, or an address
typed in Latin letters, reads it smallest part first with commas (88 Nanjing Road, Shanghai).
"""
from __future__ import annotations

import re

import phonenumbers

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Administrative endings: "上海" and "上海市" name the same place; a street line that starts
# with "广州市" repeats the city, one that starts with "广州" may be 广州大道 (a street).
_UNIT = re.compile(r"(省|市|自治区|特别行政区|区|县)$")
_LETTER = re.compile(r"[A-Za-z]")
_ALNUM = re.compile(r"[0-9A-Za-z]")


def format_address(language: str, region: str, city: str, line: str, postcode: str = "") -> str:
    """The address for a reader of `language` (parts may be empty)."""
    parts = _distinct(region.strip(), city.strip(), line.strip())
    postcode = postcode.strip()
    if language == "zh_CN" and any(_CJK.search(p) for p in parts):
        text = _glued(parts)
        return f"{text}，{postcode}" if postcode and text else text or postcode
    text = ", ".join(reversed(parts))
    return f"{text} {postcode}" if postcode and text else text or postcode


def _core(name: str) -> str:
    return _UNIT.sub("", name).casefold()


def _distinct(region: str, city: str, line: str) -> list[str]:
    """Region, city, line without the parts another one already says."""
    if region and city and _core(region) == _core(city):
        region = ""  # a municipality: 上海 / 上海市, Shanghai / Shanghai
    # People often type the region and city again at the start of the street line.
    kept, rest = [], line
    for part in (region, city):
        if part and _UNIT.search(part) and rest.startswith(part):
            rest = rest[len(part):]
        elif part:
            kept.append(part)
    return kept + [line] if line else kept


def _glued(parts: list[str]) -> str:
    """Chinese parts side by side; a space only where a word in Latin letters meets a part."""
    text = ""
    for part in parts:
        left, right = text[-1:], part[0]
        if left and (_LETTER.match(left) or _LETTER.match(right)
                     or (_ALNUM.match(left) and _ALNUM.match(right))):
            text += " "
        text += part
    return text


def format_phone(number: str, home_region: str) -> str:
    """A stored (E.164) number for people: national form at home, international otherwise."""
    try:
        parsed = phonenumbers.parse(number, home_region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    home = phonenumbers.region_code_for_number(parsed) == home_region
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if home
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, style)
