"""Personal identifiers embedded in free text: find them, and mask them where they stand.

A text field labelled NONE may still carry identifiers, typed into a remark by a clerk
("联系人张三 13812345678，身份证110101199003071233"). `find` reports them and `scrub` masks
each one in place with the rule of its kind, so the rest of the remark stays readable:

    kind        detected when                                              masked by rule
    idNumber    17 digits + digit/X, GB 11643 check digit, a province      idNumber
                code, a real birth date between 1900 and today
    creditCode  8 digits + 10 of GB 32100's alphabet (upper case), check   creditCode
    mobile      1[3-9] + 9 digits, optionally after 86 / +86               mobile (prefix kept)
    bankCard    15-19 digits passing Luhn, no letter or digit beside them  bankCard

Digits are taken as whole runs: a mobile number is never found inside a longer number, and an
18-digit run is either an ID number, a credit code or a card number, tried in that order (the
more specific check wins; `Kind` lists that order). A credit code with letters is found as a run
of 18 letters and digits, and it wins over a mobile number that the digits inside it may spell.

Positions. Detection runs on a width-folded copy of the text in which full-width digits and
letters (e.g. "１３８") become their ASCII twins, one character for one character,
so that every position found in the copy is a position in the original. Full NFKC is not used:
it changes lengths ("①" becomes "1", "㍿" becomes "株式会社"), which would shift the positions
of everything after it. A masked span is the rule's output for the folded identifier, so a
full-width number comes out half-width; the four rules keep the length, so `scrub` does too.

Cost. Most values (street names, statuses, short codes) hold no run of 11 digits or upper-case
letters; a length test and one compiled regex turn them away before any other work.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from datetime import date
from itertools import pairwise
from operator import mul
from typing import NamedTuple

from masking import mask

__all__ = ["ALL_KINDS", "PERSONAL_KINDS", "Finding", "Kind", "find", "scrub"]


class Kind(str, enum.Enum):
    """What was found; the value is the name of the mask rule that hides it.

    Declared from the most specific check to the least: when two candidates cover the same
    characters, the earlier kind wins.
    """

    ID_NUMBER = "idNumber"
    CREDIT_CODE = "creditCode"
    BANK_CARD = "bankCard"
    MOBILE = "mobile"


_PRIORITY = {kind: rank for rank, kind in enumerate(Kind)}
ALL_KINDS: frozenset[Kind] = frozenset(Kind)
# What identifies a person. A credit code names an organisation and is published (GB 32100).
PERSONAL_KINDS: frozenset[Kind] = frozenset({Kind.ID_NUMBER, Kind.BANK_CARD, Kind.MOBILE})


class Finding(NamedTuple):
    """An identifier at `text[start:end]` (positions in the original, unfolded text)."""

    kind: Kind
    start: int
    end: int


# Full-width digits and letters -> ASCII, one code point for one (what NFKC does to them).
# Full-width punctuation (，：（）) is common in Chinese text and left alone: it matters to no kind.
_FULL_WIDTH = re.compile("[０-９Ａ-Ｚａ-ｚ]")
_FOLD = {code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}

# The precheck: a run long enough to be any of the kinds, in either width (one character class
# keeps it on the regex engine's fast path: about 10 ns a character).
_PRECHECK = re.compile(r"[0-9A-Z０-９Ａ-Ｚ]{11}")
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{11,19}(?![0-9])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]{8}[0-9A-Z]{10}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?:86)?(1[3-9][0-9]{9})")

# GB/T 2260 province-level codes, plus 81-83 (Hong Kong, Macao, Taiwan residence permits) and
# 9x (foreigners' permanent residence ID cards of 2023, same layout and check digit).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83", "91", "92", "93", "94", "95", "96", "97", "98", "99",
})
_ID_CHECK_CHARS = "0123456789X"
_EARLIEST_BIRTH = date(1900, 1, 1)
_YEAR_OF_IMPORT = date.today().year  # a date in an earlier year is in the past for good


def find(text: str, kinds: Collection[Kind] = ALL_KINDS) -> list[Finding]:
    """The identifiers of `kinds` in `text`, in order, none overlapping."""
    return _find(text, kinds)[1]


def scrub(text: str, kinds: Collection[Kind] = ALL_KINDS, embedded_only: bool = False) -> str:
    """`text` with every identifier of `kinds` masked in place; the very same object when none
    was found. Pass `PERSONAL_KINDS` to leave organisations' credit codes readable.

    With `embedded_only`, a value that is one credit code and nothing else is left alone: it is
    the field's own content (an organisation's code is public, 企业信息公示), not an identifier
    slipped into free text. A bare personal identifier is masked all the same."""
    folded, findings = _find(text, kinds)
    if not findings:
        return text
    if embedded_only and len(findings) == 1 and findings[0].kind is Kind.CREDIT_CODE \
            and not text[: findings[0].start].strip() and not text[findings[0].end :].strip():
        return text
    parts: list[str] = []
    position = 0
    for f in findings:
        parts.append(text[position : f.start])
        parts.append(str(mask(f.kind.value, folded[f.start : f.end])))
        position = f.end
    parts.append(text[position:])
    return "".join(parts)


def _find(text: str, kinds: Collection[Kind]) -> tuple[str, list[Finding]]:
    if len(text) < 11 or not _PRECHECK.search(text):
        return text, []
    folded = text if text.isascii() or not _FULL_WIDTH.search(text) else text.translate(_FOLD)
    # A code that could also be an ID number (17 digits, then a digit or X) is left to `_classify`.
    candidates = [
        Finding(Kind.CREDIT_CODE, m.start(), m.end())
        for m in _CREDIT_CODE.finditer(folded)
        if not (m.group()[:17].isdigit() and m.group()[17] in _ID_CHECK_CHARS) and _is_credit_code(m.group())
    ]
    for m in _DIGIT_RUN.finditer(folded):
        found = _classify(folded, m.start(), m.end())
        if found is not None:
            candidates.append(found)
    chosen = _resolve(candidates)  # before filtering: a credit code still hides the digits inside it
    return folded, chosen if kinds is ALL_KINDS else [f for f in chosen if f.kind in kinds]


def _classify(folded: str, start: int, end: int) -> Finding | None:
    """What the maximal digit run `folded[start:end]` is, if anything."""
    digits = folded[start:end]
    after = folded[end : end + 1]
    beside_letter = _is_letter(after) or _is_letter(folded[start - 1 : start])
    if len(digits) == 17 and after in ("X", "x"):
        if _is_id_number(digits + "X"):
            return Finding(Kind.ID_NUMBER, start, end + 1)
        alone = after == "X" and not _is_letter(folded[start - 1 : start]) and not _is_alnum(folded[end + 1 : end + 2])
        return Finding(Kind.CREDIT_CODE, start, end + 1) if alone and _is_credit_code(digits + "X") else None
    if len(digits) == 18:
        if _is_id_number(digits):
            return Finding(Kind.ID_NUMBER, start, end)
        if not beside_letter and _is_credit_code(digits):
            return Finding(Kind.CREDIT_CODE, start, end)
    mobile = _MOBILE.fullmatch(digits)
    if mobile is not None:  # the 86 country prefix is kept as it stands; it identifies no one
        return Finding(Kind.MOBILE, start + mobile.start(1), end)
    if 15 <= len(digits) <= 19 and not beside_letter and _passes_luhn(digits):
        return Finding(Kind.BANK_CARD, start, end)
    return None


def _is_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _is_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


# The checks below are written out rather than taken from python-stdnum, whose general-purpose
# versions cost 5-16 us a call; the tests hold them equal to stdnum's.


def _is_id_number(number: str) -> bool:
    """GB 11643: province code, ISO 7064 MOD 11-2 check character, a birth date that was."""
    if number[:2] not in _PROVINCES:
        return False
    check = (1 - 2 * int(number[:17], 13)) % 11  # the weights 2^(17-i) mod 11, folded into base 13
    if number[17] != ("X" if check == 10 else str(check)):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born >= _EARLIEST_BIRTH and (born.year < _YEAR_OF_IMPORT or born <= date.today())


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_VALUES = {char: value for value, char in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _is_credit_code(code: str) -> bool:
    """GB 32100: 8 digits, then characters of its alphabet, the last a MOD 31 check."""
    try:
        values = [_USCC_VALUES[char] for char in code]
    except KeyError:
        return False
    total: int = sum(map(mul, values, _USCC_WEIGHTS))
    return values[17] == (31 - total % 31) % 31


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _passes_luhn(digits: str) -> bool:
    """ISO/IEC 7812 check: every second digit from the right doubled (digit sum), total mod 10."""
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(map(_LUHN_DOUBLED.__getitem__, map(int, digits[-2::-2])))
    return (kept + doubled) % 10 == 0


def _resolve(candidates: list[Finding]) -> list[Finding]:
    """Keep the longest, then the most specific, of overlapping candidates (a mobile number can
    only overlap a credit code that holds it)."""
    candidates.sort(key=lambda f: f.start)
    if all(a.end <= b.start for a, b in pairwise(candidates)):
        return candidates
    chosen: list[Finding] = []
    for c in sorted(candidates, key=lambda f: (f.start - f.end, _PRIORITY[f.kind], f.start)):
        if all(c.end <= k.start or k.end <= c.start for k in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda f: f.start)
