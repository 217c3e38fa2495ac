"""How many of the written test addresses services.address_parse reads fully right, per language.

    .venv/bin/python -m bench.address_recognition [--show-wrong]

The sets are tests/data/addresses_zh.tsv and addresses_en.tsv (one address a line: the pasted
text, `\\n` for a new line, then the six fields expected). "Fully right" means all six fields
equal the expected ones; an empty expected field means the parser must leave it empty (the
checkout then asks for it). tests/services/test_address_parse.py asserts a floor on these
shares; this script prints them and, with --show-wrong, every address read wrong.
"""
from __future__ import annotations

import sys
from dataclasses import astuple
from pathlib import Path

from services.address_parse import ParsedAddress, parse

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LANGUAGES = {"zh": "addresses_zh.tsv", "en": "addresses_en.tsv"}
# Written after the parser was built on the sets above, measured before any change for them:
# the fairer figure of what a customer's paste meets.
HOLDOUT = {"zh-holdout": "addresses_zh_holdout.tsv", "en-holdout": "addresses_en_holdout.tsv"}
SETS = {**LANGUAGES, **HOLDOUT}


def cases(language: str) -> list[tuple[str, ParsedAddress]]:
    """The pasted texts of one language with the fields expected of each."""
    found = []
    for row in (DATA / SETS[language]).read_text("utf-8").splitlines():
        if not row or row.startswith("#"):
            continue
        text, *expected = row.split("\t")
        found.append((text.replace("\\n", "\n"), ParsedAddress(*expected)))
    return found


def wrong(language: str) -> list[tuple[str, ParsedAddress, ParsedAddress]]:
    """The texts read wrong: the text, what was expected, what was read."""
    return [(text, expected, got) for text, expected in cases(language)
            if (got := parse(text)) != expected]


def main() -> None:
    show = "--show-wrong" in sys.argv
    total = right_total = 0
    for language in SETS:
        count = len(cases(language))
        failed = wrong(language)
        right = count - len(failed)
        total, right_total = total + count, right_total + right
        print(f"{language}: {right}/{count} fully right ({right / count:.1%})")
        if show:
            for text, expected, got in failed:
                diff = {name: (e, g) for name, e, g in zip(
                    ("recipient", "phone", "region", "city", "line", "postcode"),
                    astuple(expected), astuple(got), strict=True) if e != g}
                print(f"  {text!r}: {diff}")
    print(f"all: {right_total}/{total} fully right ({right_total / total:.1%})")


if __name__ == "__main__":
    main()
