"""Personal identifiers embedded in free text: find them, and mask them where they stand.

A text field labelled NONE may still carry identifiers, typed into a remark by a clerk
("联系人张三 138-1234-5678，身份证110101199003071233"). `find` reports them and `scrub` masks
each one in place with the rule of its kind, so the rest of the remark stays readable:

    kind        detected when                                              masked by rule
    idNumber    17 digits + digit/X, GB 11643 check digit, a province      idNumber
                code, a real birth date between 1900 and today; or 15
                digits (first generation, no check digit): a known
                division code (GB/T 2260, any year), a real date 19YYMMDD
    creditCode  8 digits + 10 of GB 32100's alphabet (upper case), check   creditCode
    mobile      1[3-9] + 9 digits, optionally after 86 / +86 / 0086 / 0    mobile (prefix kept)
    bankCard    15-19 digits, an issuer prefix (UnionPay 62, Visa 4,       bankCard
                Mastercard 51-55 or 2221-2720, Amex 34/37, JCB 35) and
                Luhn; no letter beside them

Compact numbers. Digits are taken as whole runs: a mobile number is never found inside a longer
number, and an 18-digit run is either an ID number, a credit code or a card number, a 15-digit
run an ID number or a card number, tried in that order (the more specific check wins; `Kind`
lists that order). A credit code with letters is found as a run of 18 letters and digits, and it
wins over a mobile number that the digits inside it may spell.

Separated numbers. Digits may also be written in groups joined by one separator, the same one
throughout the number: a space (also U+00A0 and the ideographic U+3000) or a hyphen (also
U+2010-2013, U+2212 and the full-width U+FF0D). Only these layouts, counted in digits, are read:

    mobile      3-4-4            138-1234-5678, +86 138 1234 5678 (the prefix is kept)
    idNumber    6-8-4, 6-6-3     110101 19900307 1233, 110105 19491231 002X, 110101 900307 123
    bankCard    4-6-5 (Amex)     3714 496353 98431
    either      groups of 4, then at most one group of 1-3 digits, 15-19 digits in all:
                an ID number if it checks as one, else a card number if it checks as one
                (6222 0202 0000 1234 562, 1101 0119 9003 0712 33)

A run of groups of 4 is read whole: it starts at the first of its 4-digit groups and takes all
of them, so a card number is never read out of the middle of a longer grouped number. The
other layouts may stand anywhere in a longer chain of groups ("2024 138 1234 5678" holds a
mobile number), and a chain may start at the last group of a chain of the other separator
("302 138-1234-5678"). The checks are those of the compact form, on the digits taken together.

Positions. Detection runs on a folded copy of the text in which full-width digits and letters
(e.g. "１３８") become their ASCII twins and the separators above become " " or "-", one character
for one character, so that every position found in the copy is a position in the original. Full
NFKC is not used: it changes lengths ("①" becomes "1", "㍿" becomes "株式会社"), which would shift
the positions of everything after it.

Masking. The digits (and X) of an identifier, taken together, are masked by the rule of its
kind exactly as the compact number would be, and the masked characters are put back in the
digits' places; separators stay where they were, as they were: "138-1234-5678" becomes
"138-****-5678" and "6222 0202 0000 1234 562" (masked 622202*********4562) becomes
"6222 02** **** ***4 562". A full-width digit comes out half-width. The four rules keep the
length, so `scrub` does too.

Cost. Most values (street names, statuses, dates, short codes) hold no stretch of 11 digits or
upper-case letters, separators aside; a length test and one compiled regex turn them away
before any other work (a second, anchored one when the stretch holds separators, as a date and
time does). The division table for 15-digit numbers is read on first use (about 0.1 s, once).
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_left
from collections.abc import Collection
from datetime import date
from functools import cache
from itertools import pairwise
from operator import mul
from typing import NamedTuple

from masking import Masker, compile_rule
from masking.divisions import division_table

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


# Full-width digits and letters -> ASCII, one code point for one (what NFKC does to them), and
# the separators written between groups of digits -> " " or "-". Other full-width punctuation
# (，：（）) is common in Chinese text and left alone: it matters to no kind.
_SPACES = "\u00a0\u3000"
_HYPHENS = "\u2010\u2011\u2012\u2013\u2212\uff0d"
_FOLD: dict[int, int] = {
    code: code - 0xFEE0 for code in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}
_FOLD.update({ord(char): ord(" ") for char in _SPACES})
_FOLD.update({ord(char): ord("-") for char in _HYPHENS})
_TO_FOLD = re.compile(f"[０-９Ａ-Ｚａ-ｚ{_SPACES}{_HYPHENS}]")

# The precheck: a stretch of 11 digits or capital letters (either width), separators allowed
# between them. One character class, then one class repeated, keeps it on the regex engine's fast
# path (about 10 ns a character); the separators are counted out only when such a stretch exists.
_ALNUM = "0-9A-Z０-９Ａ-Ｚ"
_PRECHECK = re.compile(f"[{_ALNUM}][{_ALNUM} \\-{_SPACES}{_HYPHENS}]{{10,}}")
_ELEVEN = re.compile(f"(?:[{_ALNUM}][ \\-{_SPACES}{_HYPHENS}]*){{11}}")  # from a stretch's start
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{11,19}(?![0-9])")
_SEPARATED = re.compile(r"(?<![0-9])[0-9]+([ -])[0-9]+(?:\1[0-9]+)*")  # on the folded copy
_CREDIT_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]{8}[0-9A-Z]{10}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?:0086|86|0)?(1[3-9][0-9]{9})")

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
# Issuer prefixes (ISO/IEC 7812 IIN ranges) of the cards in use in China: UnionPay 62, older
# domestic cards 60 (Bank of China and others) and 9558 (ICBC), Amex 34/37, JCB 35, Mastercard
# 51-55 (and 2221-2720, below), Visa 4.
_CARD_PREFIXES = frozenset({"62", "60", "34", "35", "37", "51", "52", "53", "54", "55"})


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
        parts.append(_masked(f.kind, folded[f.start : f.end], text[f.start : f.end]))
        position = f.end
    parts.append(text[position:])
    return "".join(parts)


def _masked(kind: Kind, folded: str, original: str) -> str:
    """The identifier `folded` masked by its kind's rule, its separators (as in `original`) kept."""
    if folded.isalnum():  # written compact: the rule's output as it is
        return str(_masker(kind, len(folded))(folded))
    groups = folded.split(" " if " " in folded else "-")  # one separator throughout (`_SEPARATED`)
    compact = "".join(groups)
    masked = str(_masker(kind, len(compact))(compact))
    if len(masked) != len(folded) - len(groups) + 1:  # no rule does this; fail closed all the same
        return "*" * len(folded)
    parts = []
    taken = position = 0  # characters of `masked` used, of `folded` passed
    for group in groups:
        parts.append(masked[taken : taken + len(group)])
        taken += len(group)
        position += len(group)
        if position < len(folded):
            parts.append(original[position])
            position += 1
    return "".join(parts)


@cache
def _masker(kind: Kind, length: int) -> Masker:
    # A 15-digit (first-generation) ID number ends in its birth day's last digit and a 3-digit
    # sequence: keeping 3, not 4, hides the whole birth date.
    return compile_rule("idNumber(tail=3)" if kind is Kind.ID_NUMBER and length == 15 else kind.value)


def _worth_scanning(text: str, found: re.Match[str] | None) -> bool:
    """Whether `text` has a stretch of at least 11 digits or capital letters, separators aside,
    from `found`, the first stretch of 11 such characters or separators (`_PRECHECK`)."""
    while found is not None:
        if _ELEVEN.match(text, found.start()):
            return True
        found = _PRECHECK.search(text, found.end())
    return False


def _find(text: str, kinds: Collection[Kind]) -> tuple[str, list[Finding]]:
    if len(text) < 11:
        return text, []
    stretch = _PRECHECK.search(text)
    if stretch is None or not _worth_scanning(text, stretch):
        return text, []
    folded = text if text.isascii() or not _TO_FOLD.search(text) else text.translate(_FOLD)
    # A code that could also be an ID number (17 digits, then a digit or X) is left to `_classify`.
    candidates = [
        Finding(Kind.CREDIT_CODE, m.start(), m.end())
        for m in _CREDIT_CODE.finditer(folded)
        if not (m.group()[:17].isdigit() and m.group()[17] in _ID_CHECK_CHARS) and is_credit_code(m.group())
    ]
    for m in _DIGIT_RUN.finditer(folded):
        found = _classify(folded, m.start(), m.end())
        if found is not None:
            candidates.append(found)
    if " " in folded or "-" in folded:
        chain = _SEPARATED.search(folded)
        while chain is not None:
            candidates.extend(_classify_groups(folded, chain))
            # The next chain may start at this one's last group, with the other separator:
            # "302 138-1234-5678".
            chain = _SEPARATED.search(folded, chain.end() - len(chain.group().rpartition(chain.group(1))[2]))
    chosen = _resolve(candidates)  # before filtering: a credit code still hides the digits inside it
    return folded, chosen if kinds is ALL_KINDS else [f for f in chosen if f.kind in kinds]


def _classify(folded: str, start: int, end: int) -> Finding | None:
    """What the maximal digit run `folded[start:end]` is, if anything."""
    digits = folded[start:end]
    after = folded[end : end + 1]
    beside_letter = _is_letter(after) or _is_letter(folded[start - 1 : start])
    if len(digits) == 17 and after in ("X", "x"):
        if is_id_number(digits + "X"):
            return Finding(Kind.ID_NUMBER, start, end + 1)
        alone = after == "X" and not _is_letter(folded[start - 1 : start]) and not _is_alnum(folded[end + 1 : end + 2])
        return Finding(Kind.CREDIT_CODE, start, end + 1) if alone and is_credit_code(digits + "X") else None
    if len(digits) == 18:
        if is_id_number(digits):
            return Finding(Kind.ID_NUMBER, start, end)
        if not beside_letter and is_credit_code(digits):
            return Finding(Kind.CREDIT_CODE, start, end)
    elif len(digits) == 15 and _is_old_id_number(digits):
        return Finding(Kind.ID_NUMBER, start, end)
    mobile = _MOBILE.fullmatch(digits)
    if mobile is not None:  # a 86 or 0 prefix is kept as it stands; it identifies no one
        return Finding(Kind.MOBILE, start + mobile.start(1), end)
    if 15 <= len(digits) <= 19 and not beside_letter and _is_card_number(digits):
        return Finding(Kind.BANK_CARD, start, end)
    return None


def _classify_groups(folded: str, chain: re.Match[str]) -> list[Finding]:
    """The identifiers written in the layouts of the module docstring within `chain`, a maximal
    chain of digit groups joined by one separator."""
    separator = chain.group(1)
    groups = chain.group().split(separator)
    lengths = tuple(map(len, groups))
    starts = [chain.start()]
    for length in lengths:
        starts.append(starts[-1] + length + 1)  # starts[i + 1] - 1: where group i ends
    x_after = folded[chain.end() : chain.end() + 1] in ("X", "x")  # an ID number's check character
    last = len(groups) - 1
    found = []
    for i in range(last + 1):
        start = starts[i]
        layout = _LAYOUTS.get(lengths[i : i + 3])
        if layout is not None:
            end = starts[i + 3] - 1
            digits = "".join(groups[i : i + 3])
            if layout is _Layout.MOBILE:
                if digits[0] == "1" and digits[1] in "3456789":
                    found.append(Finding(Kind.MOBILE, start, end))
            elif layout is _Layout.AMEX:
                if digits[:2] in ("34", "37") and _passes_luhn(digits) and not _beside_letter(folded, start, end):
                    found.append(Finding(Kind.BANK_CARD, start, end))
            elif layout is _Layout.ID_X:
                if i + 2 == last and x_after and is_id_number(digits + "X"):
                    found.append(Finding(Kind.ID_NUMBER, start, end + 1))
            elif is_id_number(digits) if len(digits) == 18 else _is_old_id_number(digits):
                found.append(Finding(Kind.ID_NUMBER, start, end))
        if lengths[i] == 4 and (i == 0 or lengths[i - 1] != 4):  # the first of a run of 4-digit groups
            j = i + 1
            while j <= last and lengths[j] == 4:
                j += 1
            if j <= last and lengths[j] <= 3:
                j += 1
            count = sum(lengths[i:j])
            if not 15 <= count <= 19:
                continue
            end = starts[j] - 1
            digits = "".join(groups[i:j])
            if count == 17 and j - 1 == last and x_after:
                if is_id_number(digits + "X"):
                    found.append(Finding(Kind.ID_NUMBER, start, end + 1))
            elif is_id_number(digits) if count == 18 else count == 15 and _is_old_id_number(digits):
                found.append(Finding(Kind.ID_NUMBER, start, end))
            elif _is_card_number(digits) and not _beside_letter(folded, start, end):
                found.append(Finding(Kind.BANK_CARD, start, end))
    return found


class _Layout(enum.Enum):
    MOBILE = "3-4-4"
    ID = "6-8-4 or 6-6-3"
    ID_X = "6-8-3 and X"
    AMEX = "4-6-5"


_LAYOUTS: dict[tuple[int, ...], _Layout] = {
    (3, 4, 4): _Layout.MOBILE, (6, 8, 4): _Layout.ID, (6, 6, 3): _Layout.ID, (6, 8, 3): _Layout.ID_X, (4, 6, 5): _Layout.AMEX,
}


def _is_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _is_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _beside_letter(folded: str, start: int, end: int) -> bool:
    return _is_letter(folded[start - 1 : start]) or _is_letter(folded[end : end + 1])


# The checks below are written out rather than taken from python-stdnum, whose general-purpose
# versions cost 5-16 us a call; the tests hold them equal to stdnum's.


def is_id_number(number: str) -> bool:
    """GB 11643, for 17 digits and a check character: province code, ISO 7064 MOD 11-2 check
    character, a birth date that was."""
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


def _is_old_id_number(number: str) -> bool:
    """GB 11643-1989, the first-generation 15-digit number: division code, YYMMDD (19YY), a
    3-digit sequence and no check digit, so the division code must be one that existed."""
    divisions = _division_codes()
    if (number[:6] not in divisions) if divisions else (number[:2] not in _PROVINCES):
        return False
    try:
        date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    except ValueError:
        return False
    return True


@cache
def _division_codes() -> frozenset[str]:
    """Every division code since 1980 (python-stdnum's table); empty if it cannot be read, and
    then a province code is all that is asked (more is masked, not less)."""
    return division_table().codes


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_USCC_VALUES = {char: value for value, char in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def is_credit_code(code: str) -> bool:
    """GB 32100, for 18 characters: 8 digits, then characters of its alphabet, the last a MOD 31 check."""
    try:
        values = [_USCC_VALUES[char] for char in code]
    except KeyError:
        return False
    total: int = sum(map(mul, values, _USCC_WEIGHTS))
    return values[17] == (31 - total % 31) % 31


def _is_card_number(digits: str) -> bool:
    """An issuer prefix of `_CARD_PREFIXES` (or Visa 4, Mastercard 2221-2720), and Luhn."""
    plausible = (digits[0] == "4" or digits[:2] in _CARD_PREFIXES or "2221" <= digits[:4] <= "2720"
                 or digits[:4] == "9558")
    return plausible and _passes_luhn(digits)


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _passes_luhn(digits: str) -> bool:
    """ISO/IEC 7812 check: every second digit from the right doubled (digit sum), total mod 10."""
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(map(_LUHN_DOUBLED.__getitem__, map(int, digits[-2::-2])))
    return (kept + doubled) % 10 == 0


def _resolve(candidates: list[Finding]) -> list[Finding]:
    """Keep the longest, then the most specific, of overlapping candidates (a mobile number can
    only overlap a credit code that holds it, or a number written in groups around it)."""
    candidates.sort(key=lambda f: f.start)
    if all(a.end <= b.start for a, b in pairwise(candidates)):
        return candidates
    chosen: list[Finding] = []
    starts: list[int] = []  # of the chosen, in order; they do not overlap, so their ends are in order too
    ends: list[int] = []
    for c in sorted(candidates, key=lambda f: (f.start - f.end, _PRIORITY[f.kind], f.start)):
        i = bisect_left(starts, c.start)
        if (i == 0 or ends[i - 1] <= c.start) and (i == len(starts) or c.end <= starts[i]):
            starts.insert(i, c.start)
            ends.insert(i, c.end)
            chosen.append(c)
    return sorted(chosen, key=lambda f: f.start)
