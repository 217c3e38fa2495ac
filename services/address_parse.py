"""A whole address pasted in one message, read into the checkout's fields.

"张三 13800138000 上海市浦东新区世纪大道100号 200120" or "Alice Wang, +86 138 0013 8000,
100 Century Ave, Pudong, Shanghai 200120": the phone is found with phonenumbers; a Chinese
address is read against the table of China's provinces, cities and districts
(services/data/cn_divisions.json: the 2020 administrative division codes, 70 KB, see
services/data/README.md); an English one by its parts (country, "City, ST 12345", a postcode,
a known province or city). Whatever is not recognised stays empty: the checkout asks for it.
Nothing here is checked for length or validity; services.checkout.validate_address does that.

Why no library for the Chinese part: cpca (last release 2021) and addressparser (2022) pull in
pandas (cpca with it: 187 MB installed, 78 MB of memory); jionlp (maintained) is a whole NLP
toolkit (about 200 MB with its dependencies, 1.8 s to import, 1.2 s to its first answer,
117 MB of memory), reads Chinese only and finds no name or phone. This table and the code
below load in about 0.14 s and 5 MB.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import phonenumbers

REQUIRED = ("recipient", "phone", "region", "city", "line")
MAX_PASTE = 1000  # characters; longer text is no address (the name step says it is too long)


@dataclass(frozen=True)
class ParsedAddress:
    """What one message said of an address; an empty field was not recognised."""

    recipient: str = ""
    phone: str = ""      # E.164, e.g. "+8613800138000"
    region: str = ""     # province / state
    city: str = ""
    line: str = ""       # district + street + number (+ building / room)
    postcode: str = ""

    def missing(self) -> tuple[str, ...]:
        """Names of the required fields not recognised."""
        return tuple(name for name in REQUIRED if not getattr(self, name))

    def found(self) -> tuple[str, ...]:
        """Names of the fields recognised."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name))


# ---------------------------------------------------------------- cleaning

_LABEL = re.compile(
    r"(?:收货人|收件人|联系人|姓名|名字|手机号码|手机号|手机|电话号码|联系电话|电话|联系方式|"
    r"收货地址|详细地址|所在地区|地区|地址|邮政编码|邮编|"
    r"\b(?:recipient|name|full name|phone|mobile|tel|telephone|address|addr|postcode|"
    r"post code|postal code|zip|zip code|ship to|deliver to|send to))\s*:",
    re.IGNORECASE,
)
_LABEL_WORDS = {  # the same words standing alone, without a colon: "电话 138..., 收货人 张三"
    "收货人", "收件人", "联系人", "姓名", "手机号码", "手机号", "手机", "电话", "联系电话", "地址",
    "收货地址", "详细地址", "所在地区", "邮编", "邮政编码",
}
_SEPARATORS = re.compile(r"[\n\r,;|、]+")
_SPACES = re.compile(r"[ \t\u3000]+")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _clean(text: str) -> str:
    """Full-width forms folded (１３８ → 138, ， → ,), emoji and other symbols dropped."""
    text = unicodedata.normalize("NFKC", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\n\t" or category[0] in "LNZ" or ch in "-#/()'.&·・+:":
            kept.append(ch)
        elif category[0] == "P":  # other punctuation separates parts
            kept.append("," if ch not in "\"'`“”‘’" else " ")
        else:  # emoji, symbols, control and format characters
            kept.append(" ")
    return "".join(kept).replace("・", "·")


def _tidy(text: str) -> str:
    """Spaces collapsed, and dropped between Chinese characters and digits ("世纪大道 100号")."""
    return _HAN_SPACE.sub("", _SPACES.sub(" ", text).strip(" ,-"))


# A space with a Chinese character on one side and a Chinese character or a digit on the other.
_HAN_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff\d])|"
                        r"(?<=\d) (?=[\u3400-\u9fff])")


# ---------------------------------------------------------------- phones

def _take_phone(text: str, region: str) -> tuple[str, str]:
    """The first valid phone number in E.164, and the text without it.

    A postcode right after a number ("010 6621 1234 100033") reads as one long invalid number:
    then the number is looked for again with each six-digit group set apart."""
    number, rest = _match_phone(text, region)
    if not number:
        apart = re.sub(r"(?<=\d) (\d{6})(?!\d)", "\n\\1", text)
        if apart != text:
            number, rest = _match_phone(apart, region)
    return (number, rest) if number else ("", text)


def _match_phone(text: str, region: str) -> tuple[str, str]:
    try:
        matcher = phonenumbers.PhoneNumberMatcher(text, region,
                                                  leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            return number, f"{text[: match.start]}\n{text[match.end:]}"
    except Exception:  # noqa: BLE001 - a number the library cannot read is no number
        return "", text
    return "", text


# ---------------------------------------------------------------- China's divisions

_ETHNIC = (
    "蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|拉祜|水|"
    "东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|"
    "乌孜别克|俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺|各"
)
_AUTONOMOUS = re.compile(rf"^(.{{2,}}?)(?:(?:{_ETHNIC})族?)+自治(?:州|县|旗)$")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_MUNICIPAL = ("11", "12", "31", "50", "81", "82")  # the province is the city


@dataclass(frozen=True)
class Division:
    """One province, city or district of China."""

    code: str
    name: str        # the official full name: 广东省, 深圳市, 南山区
    level: int       # 1 province, 2 city (prefecture or province-administered), 3 district
    province: str    # full name of its province (itself for a province)
    city: str        # full name of its city ("" for a province)


def _short(name: str, level: int) -> str:
    """The name people type without its unit: 广东, 深圳, 南山, 延边, 浦东."""
    if level == 1:
        return _PROVINCE_SUFFIX.sub("", name)
    found = _AUTONOMOUS.match(name)
    if found:
        return found.group(1)
    for unit in ("新区", "地区", "林区", "矿区", "区", "市", "县", "盟", "旗"):
        if name.endswith(unit) and len(name) - len(unit) >= 2:
            return name[: -len(unit)]
    return name


@dataclass(frozen=True)
class _Table:
    provinces: dict[str, list[Division]]          # name or short name -> divisions
    cities: dict[str, list[Division]]
    districts: dict[str, list[Division]]
    short_districts: dict[str, list[Division]]


@cache
def _table() -> _Table:
    path = Path(__file__).parent / "data" / "cn_divisions.json"
    codes: dict[str, str] = json.loads(path.read_text("utf-8"))
    table = _Table({}, {}, {}, {})
    for code, name in codes.items():
        province = codes[code[:2] + "0000"]
        if code[2:] == "0000":
            division = Division(code, name, 1, name, "")
        elif code[4:] == "00" or (code[:2] not in _MUNICIPAL and code[:4] + "00" not in codes):
            division = Division(code, name, 2, province, name)
        else:
            city = province if code[:2] in _MUNICIPAL else codes[code[:4] + "00"]
            division = Division(code, name, 3, province, city)
        short = _short(name, division.level)
        if division.level == 2 and short != name and name.endswith("自治州"):
            table.cities.setdefault(short + "州", []).append(division)  # 延边州
        if division.level == 1:
            for key in {name, short}:
                table.provinces.setdefault(key, []).append(division)
        elif division.level == 2:
            for key in {name, short}:
                table.cities.setdefault(key, []).append(division)
        else:
            table.districts.setdefault(name, []).append(division)
            if short != name:
                table.short_districts.setdefault(short, []).append(division)
    return table


_UNIT_NEXT = "区县镇乡路街道巷村旗州"


def _longest(text: str, names: dict[str, list[Division]],
             keep: Callable[[Division], bool] | None = None) -> tuple[Division, int] | None:
    """The longest name in `names` that `text` starts with (among divisions `keep` accepts).

    A short name followed by a unit is another place's name: 朝阳区 is not 朝阳(市)."""
    for size in range(min(len(text), 12), 1, -1):
        found = names.get(text[:size])
        if found:
            chosen = [d for d in found if keep is None or keep(d)]
            if len(chosen) == 1 and (chosen[0].name == text[:size]
                                     or text[size: size + 1] not in _UNIT_NEXT
                                     or not text[size: size + 1]):
                return chosen[0], size
    return None


@dataclass
class _Chinese:
    region: str = ""
    city: str = ""
    line: str = ""


def _skip(text: str) -> str:
    return text.lstrip(" ,")


def _read_divisions(text: str) -> _Chinese | None:
    """Province, city and the rest (district first) of an address that starts with one of them."""
    table = _table()
    rest = _skip(text)
    province: Division | None = None
    city: Division | None = None
    hit = _longest(rest, table.provinces)
    as_city = _longest(rest, table.cities)
    if hit and not (as_city and as_city[1] > hit[1]):  # 海南藏族自治州 is in 青海
        province, size = hit
        rest = _skip(rest[size:])
    if province is not None and province.code[:2] in _MUNICIPAL:
        again = _longest(rest, table.provinces, lambda d: d == province)
        if again:
            rest = _skip(rest[again[1]:])
        if rest.startswith("市辖区"):
            rest = _skip(rest[3:])
    else:
        in_province = province
        hit = _longest(rest, table.cities,
                       lambda d: in_province is None or d.province == in_province.name)
        if hit:
            city, size = hit
            rest = _skip(rest[size:])
    district: Division | None = None
    if province is None and city is None:
        hit = _longest(rest, table.districts)
        if hit is None:
            return None
        district = hit[0]
    else:
        def inside(d: Division) -> bool:
            if city is not None:
                return d.city == city.name and d.province == city.province
            return province is not None and d.province == province.name

        hit = _longest(rest, table.districts, inside)
        if hit is None and city is not None and text.rstrip().endswith(city.name + rest):
            # 乐山市中区: 乐山 + 市中区, not 乐山市 + 中区
            unit = city.name[-1]
            if _longest(unit + rest, table.districts, inside):
                rest = unit + rest
                hit = _longest(rest, table.districts, inside)
        if hit is None and (city is not None or (province and province.code[:2] in _MUNICIPAL)):
            hit = _longest(rest, table.short_districts, inside)
        if hit:
            district = hit[0]
    if district is not None:
        province_name = district.province
        city_name = district.city
    else:
        province_name = city.province if city else province.name if province else ""
        city_name = city.name if city else ""
    if province_name[:2] in ("香港", "澳门") or (
            province_name and not city_name and _is_municipal(province_name)):
        city_name = province_name
    return _Chinese(province_name, city_name, _tidy(rest))


def _is_municipal(name: str) -> bool:
    return any(d.code[:2] in _MUNICIPAL for d in _table().provinces.get(name, []))


def _starts_division(word: str) -> bool:
    table = _table()
    return any(_longest(word, names) for names in (table.provinces, table.cities, table.districts))


_ADDRESS_END = re.compile(r"(?:路|街|道|巷|弄|号|室|区|县|市|省|镇|乡|村|楼|栋|幢|层|座|苑|园|"
                          r"小区|大厦|广场|花园|公寓|中心|单元)$")
_NAME_AFTER = re.compile(
    r"^(.*\d\s*(?:号楼|号院|号|室|栋|幢|楼|层|单元|户))\s*([\u3400-\u9fff·]{2,4})$")


def _han_name(word: str) -> bool:
    """A Chinese personal name: 2-4 characters (longer with a middle dot), no address word."""
    if not re.fullmatch(r"[\u3400-\u9fff·]{2,12}", word):
        return False
    if "·" not in word and len(word) > 4:
        return False
    if _starts_division(word):
        return False
    return not (len(word) >= 3 and _ADDRESS_END.search(word))


def _latin_name(word: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z .'\-]{0,62}", word)) and len(word.split()) <= 5


def _words(text: str) -> list[str]:
    """The words of a Chinese text, label words left out."""
    split = re.split(r"[\n\r,;|、 \t\u3000()]+", text)
    return [w for w in (_tidy(w) for w in split) if w and w not in _LABEL_WORDS]


def _as_name(word: str) -> str:
    """The name in a name-like word ("张三收" is 张三's), or ""."""
    if word.endswith("收") and _han_name(word[:-1]):
        return word[:-1]
    return word if _han_name(word) or _latin_name(word) else ""


def _parse_chinese(text: str, phone: str, postcode: str) -> ParsedAddress:
    """A text in Chinese: the name, and the address read from its first division of China."""
    recipient = ""
    address_words: list[str] = []
    for word in _words(text):
        if not address_words and not recipient and _as_name(word):
            recipient = _as_name(word)
            continue
        if not address_words and not _starts_division(word):
            # A name glued to the address: 张三上海市浦东新区...
            glued = next((i for i in range(2, min(5, len(word) - 1))
                          if _starts_division(word[i:]) and _han_name(word[:i])), None)
            if glued and not recipient:
                recipient, word = word[:glued], word[glued:]
            elif not _HAN.search(word):
                continue  # digits or letters before the address: 12345 is no phone
            elif recipient and _han_name(word):
                continue  # a second name-like word: ignored, not guessed
        address_words.append(word)
    if not recipient and len(address_words) > 1 and _as_name(address_words[-1]):
        recipient = _as_name(address_words.pop())  # the name after the address
    joined = _join(address_words)
    if not recipient:
        after = _NAME_AFTER.match(joined)
        if after:
            joined, recipient = after.group(1), after.group(2)
    read = _read_divisions(joined)
    if read is not None:
        return ParsedAddress(recipient, phone, read.region, read.city, read.line, postcode)
    # No place of China named: the street line only when it has a number in it.
    line = joined if re.search(r"\d", joined) else ""
    if not (phone or postcode or line) and len(_words(text)) > 1:
        recipient = ""  # a sentence, not a name
    return ParsedAddress(recipient, phone, "", "", line, postcode)


def _join(words: list[str]) -> str:
    text = ""
    for word in words:
        glue = "" if (text and _HAN.search(text[-1]) and _HAN.search(word[0])) else " "
        text = f"{text}{glue}{word}" if text else word
    return _tidy(text)


# ---------------------------------------------------------------- English addresses

_COUNTRIES = {
    "china": "CN", "prc": "CN", "p.r. china": "CN", "pr china": "CN",
    "people's republic of china": "CN",
    "usa": "US", "us": "US", "u.s.a": "US", "u.s.a.": "US", "u.s.": "US", "united states": "US",
    "united states of america": "US", "america": "US",
    "uk": "GB", "u.k.": "GB", "united kingdom": "GB", "great britain": "GB", "gb": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "singapore": "SG", "hong kong": "HK", "hong kong sar": "HK", "hk": "HK",
    "macau": "MO", "macao": "MO", "canada": "CA", "australia": "AU", "taiwan": "TW",
    "japan": "JP", "germany": "DE", "france": "FR", "new zealand": "NZ", "malaysia": "MY",
}
_CITY_STATES = ("SG", "HK", "MO")
_CITY_STATE_NAMES = {"SG": "Singapore", "HK": "Hong Kong", "MO": "Macau"}
_US_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "FL": "florida", "GA": "georgia",
    "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana", "IA": "iowa",
    "KS": "kansas", "KY": "kentucky", "LA": "louisiana", "ME": "maine", "MD": "maryland",
    "MA": "massachusetts", "MI": "michigan", "MN": "minnesota", "MS": "mississippi",
    "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada", "NH": "new hampshire",
    "NJ": "new jersey", "NM": "new mexico", "NY": "new york", "NC": "north carolina",
    "ND": "north dakota", "OH": "ohio", "OK": "oklahoma", "OR": "oregon", "PA": "pennsylvania",
    "RI": "rhode island", "SC": "south carolina", "SD": "south dakota", "TN": "tennessee",
    "TX": "texas", "UT": "utah", "VT": "vermont", "VA": "virginia", "WA": "washington",
    "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming", "DC": "district of columbia",
}
_OTHER_STATES = {  # Canada's provinces and Australia's states, by their abbreviations
    "ON", "QC", "BC", "AB", "MB", "SK", "NS", "NB", "NL", "PE", "YT", "NT", "NU",
    "NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT",
}
_CN_PROVINCES = {
    "beijing", "tianjin", "shanghai", "chongqing", "hebei", "shanxi", "inner mongolia",
    "liaoning", "jilin", "heilongjiang", "jiangsu", "zhejiang", "anhui", "fujian", "jiangxi",
    "shandong", "henan", "hubei", "hunan", "guangdong", "guangxi", "hainan", "sichuan",
    "guizhou", "yunnan", "tibet", "xizang", "shaanxi", "gansu", "qinghai", "ningxia", "xinjiang",
}
_CN_MUNICIPALITIES = {"beijing", "tianjin", "shanghai", "chongqing"}
_CN_CITIES = {  # big cities people write without their province
    "guangzhou": "Guangdong", "shenzhen": "Guangdong", "dongguan": "Guangdong",
    "foshan": "Guangdong", "zhuhai": "Guangdong", "hangzhou": "Zhejiang", "ningbo": "Zhejiang",
    "wenzhou": "Zhejiang", "nanjing": "Jiangsu", "suzhou": "Jiangsu", "wuxi": "Jiangsu",
    "chengdu": "Sichuan", "wuhan": "Hubei", "xi'an": "Shaanxi", "xian": "Shaanxi",
    "changsha": "Hunan", "zhengzhou": "Henan", "jinan": "Shandong", "qingdao": "Shandong",
    "xiamen": "Fujian", "fuzhou": "Fujian", "hefei": "Anhui", "kunming": "Yunnan",
    "shenyang": "Liaoning", "dalian": "Liaoning", "harbin": "Heilongjiang",
    "changchun": "Jilin", "nanning": "Guangxi", "guiyang": "Guizhou", "nanchang": "Jiangxi",
    "taiyuan": "Shanxi", "shijiazhuang": "Hebei", "lanzhou": "Gansu", "haikou": "Hainan",
    "sanya": "Hainan", "urumqi": "Xinjiang", "lhasa": "Tibet", "hohhot": "Inner Mongolia",
    "yinchuan": "Ningxia", "xining": "Qinghai",
}
_HK_AREAS = {"kowloon", "new territories", "hong kong island", "lantau"}
_POSTCODES = {
    "GB": re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b", re.IGNORECASE),
    "CA": re.compile(r"\b([A-Z]\d[A-Z] ?\d[A-Z]\d)\b", re.IGNORECASE),
    "US": re.compile(r"(?<![\d-])(\d{5}(?:-\d{4})?)$"),
    "AU": re.compile(r"(?<!\d)(\d{4})$"),
    "CN": re.compile(r"(?<!\d)(\d{6})$"),
    "SG": re.compile(r"(?<!\d)(\d{6})$"),
}
_STREET = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    r"floor|flat|unit|room|apt|apartment|suite|building|bldg|tower|block|blk|house|po box|"
    r"district|terrace|square|sq|close|crescent|highway|hwy|park|garden|gardens)\b",
    re.IGNORECASE,
)


def _country(part: str) -> str:
    return _COUNTRIES.get(part.strip(" .").casefold(), "")


_COUNTRY_AT_END = re.compile(
    r"^(.+?)[ ]+(" + "|".join(sorted((re.escape(c) for c in _COUNTRIES if len(c) > 2),
                                    key=len, reverse=True)) + r")\.?$", re.IGNORECASE)
_COUNTRY_THEN_CODE = re.compile(r"^(.+?)[ ]+(\d{4,6})$")


def _parts(text: str) -> list[str]:
    """The comma (or line) separated parts of an English address; a country written at the end
    of a part, or before its postcode ("Wuhan 430000 China", "China 510000"), is a part."""
    found: list[str] = []
    for part in (_tidy(p) for p in _SEPARATORS.split(text)):
        at_end = _COUNTRY_AT_END.match(part)
        then_code = _COUNTRY_THEN_CODE.match(part)
        if at_end and not _country(part):
            found += [at_end.group(1), at_end.group(2)]
        elif then_code and _country(then_code.group(1)):
            found += [then_code.group(2), then_code.group(1)]
        elif part:
            found.append(part)
    return found


def _is_place(part: str) -> bool:
    key = part.strip(" .").casefold()
    return (key in _COUNTRIES or key in _CN_PROVINCES or key in _CN_CITIES
            or key in _HK_AREAS or part.strip().upper() in _US_STATES
            or key in _US_STATES.values())


_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|dr|prof)\.? ", re.IGNORECASE)


def _name_part(part: str) -> bool:
    untitled = _TITLE.sub("", part)
    return (_latin_name(part) and not _STREET.search(untitled) and not _is_place(part)) or (
        _han_name(part))


def _parse_english(text: str, phone: str, country: str) -> ParsedAddress:
    parts = _parts(text)
    if not phone and not any(re.search(r"\d", p) for p in parts):  # no number: no address
        only = parts[0] if len(parts) == 1 and _name_part(parts[0]) else ""
        return ParsedAddress(recipient=only)
    written_country = ""
    named = [i for i, p in enumerate(parts) if _country(p)]
    if named and (named[-1] > 0 or len(parts) > 1):
        written_country = parts.pop(named[-1])
    recipient = ""
    if parts and _name_part(parts[0]) and len(parts) > 1:
        recipient = parts.pop(0)
    elif parts and _name_part(parts[-1]):
        recipient = parts.pop()
    postcode = ""
    for at in (-1, -2):  # "London SW1A 2AA", or the code alone after the city
        if not postcode and len(parts) >= -at:
            parts[at], postcode = _take_postcode(parts[at], country)
    parts = [p for p in parts if p]
    region, city = _region_city(parts, country, written_country)
    line = ", ".join(parts)
    return ParsedAddress(recipient, phone, region, city, line, postcode)


def _region_city(parts: list[str], country: str, written_country: str) -> tuple[str, str]:
    """The region and city at the end of `parts` (taken out of it), as written."""
    if not parts:
        return "", ""
    last = parts[-1]
    words = last.split()
    key = last.casefold().strip(" .")
    states = _US_STATES if country == "US" else _OTHER_STATES if country in ("CA", "AU") else {}
    if len(words) > 1 and words[-1].upper() in states:  # "Chicago IL", "Sydney NSW"
        parts.pop()
        return words[-1], " ".join(words[:-1])
    if (last.upper() in _US_STATES or key in _US_STATES.values()
            or key in _CN_PROVINCES or last.upper() in _OTHER_STATES):
        region = parts.pop()
        if key in _CN_MUNICIPALITIES:
            return region, region
        city = parts.pop() if parts and not re.search(r"\d", parts[-1]) else ""
        return region, city
    if key in _CN_CITIES:
        return _CN_CITIES[key], parts.pop()
    if country in _CITY_STATES:
        region = written_country or _CITY_STATE_NAMES[country]
        city = parts.pop() if key in _HK_AREAS or key == region.casefold() else region
        return region, city
    if not re.search(r"\d", last) and len(parts) > 1:
        return written_country, parts.pop()
    return "", ""


def _take_postcode(part: str, country: str) -> tuple[str, str]:
    """A postcode at the end of a part (or a UK/Canadian one anywhere in it), and the rest."""
    order = [country] if country in _POSTCODES else []
    order += [c for c in ("GB", "CA") if c not in order]
    for code in order:
        found = _POSTCODES[code].search(part)
        if found and (code in ("GB", "CA") or found.end() == len(part)):
            if code in ("GB", "CA") and not any(ch.isdigit() for ch in found.group(1)[-3:]):
                continue
            rest = (part[: found.start()] + part[found.end():]).strip(" ,")
            return rest, found.group(1).upper()
    return part, ""


def _country_of(text: str) -> str:
    """The country a text names in one of its parts, as a two-letter code ("" when none)."""
    for part in reversed(_parts(text)):
        found = _country(part)
        if found:
            return found
        words = part.split()
        if len(words) > 1 and re.fullmatch(r"\d{5}(?:-\d{4})?", words[-1]) and (
                words[-2] in _US_STATES or words[-2].casefold() in _US_STATES.values()
                or " ".join(words[-3:-1]).casefold() in _US_STATES.values()):
            return "US"
        if re.fullmatch(r"(?i)singapore \d{6}", part):
            return "SG"
    return ""


# ---------------------------------------------------------------- the whole message

_CN_POSTCODE = re.compile(r"(?<![\d\-])(\d{6})(?![\d\-])")


def parse(text: str, *, default_country: str = "CN") -> ParsedAddress:
    """Every address field `text` says, the rest left empty."""
    if not isinstance(text, str) or len(text) > MAX_PASTE:
        return ParsedAddress()
    cleaned = _LABEL.sub("\n", _clean(text)).replace(":", ",")
    named = _country_of(cleaned)
    phone, rest = _take_phone(cleaned, named or default_country)
    # No country named: the phone's own country tells (+852 with Kowloon, +61 with NSW).
    country = named or (phonenumbers.region_code_for_number(phonenumbers.parse(phone))
                        if phone else "") or default_country
    if _HAN.search(rest):
        postcode = ""
        found = _CN_POSTCODE.search(rest)
        if found:
            # 000000 is what shops' address exports write when there is none
            postcode = "" if found.group(1) == "000000" else found.group(1)
            rest = f"{rest[: found.start()]}\n{rest[found.end():]}"
        rest = re.sub(r"\(\s*\)", "\n", rest)
        chinese = _parse_chinese(rest, phone, postcode)
        if chinese.region or not re.search(r"[A-Za-z]{3}", rest):
            return chinese
    return _parse_english(rest, phone, country)
