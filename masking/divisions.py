"""Administrative divisions of China (行政区划), read from python-stdnum's ``cn/loc.dat``.

python-stdnum ships the division table it uses to check resident ID numbers
(see ``stdnum.cn.ric``): every 6-digit division code since 1980 with its
name(s), historical names marked with the years they were in use
(``[1983-2019]桥东区,[2020-]襄都区``).  The ``address`` and ``divisionCode``
rules read it here, once, on first use.

Codes are ``PPCCXX``: province ``PP0000``, prefecture ``PPCC00``, county
``PPCCXX``.  Every name a code ever had is kept (addresses in old records
use old names); the placeholders that are not names of a place (市辖区, 县,
省直辖县级行政单位 ...) are left out so that they never count as a match.

If the file cannot be read or parsed the table is empty: ``address`` then
falls back to its suffix rules and ``divisionCode`` masks every code as
``***`` (fail closed).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

logger = logging.getLogger(__name__)

PROVINCE, PREFECTURE, COUNTY = 1, 2, 3
"""Levels of a division, as returned by :meth:`DivisionTable.parse_prefix`."""

_PLACEHOLDERS = frozenset(
    {"市辖区", "市区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位", "省直辖行政单位"}
)
_PROVINCE_LINE = re.compile(r'(\d{2}) province="([^"]*)"')
_COUNTY_LINE = re.compile(r' {2}(\d{4}) county="([^"]*)"')
_PERIOD = re.compile(r"^\[[^\]]*\]")
_COUNTRY = ("中华人民共和国", "中国")

Names = Mapping[str, frozenset[str]]
"""Division name -> the codes it has had."""

_NO_CODES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DivisionTable:
    """Division names indexed for prefix parsing, and the set of known codes."""

    codes: frozenset[str]
    provinces: Names
    prefectures: Mapping[str, Names]  # by 2-digit province code, and "" for all
    counties: Mapping[str, Names]  # by 2-digit province code, 4-digit prefecture code, and "" for all
    lengths: Mapping[str, tuple[int, ...]]  # by first character: the lengths of the names, longest first
    _prefecture_cache: dict[frozenset[str], list[Names]] = field(default_factory=dict, compare=False, repr=False)
    _county_cache: dict[tuple[frozenset[str], frozenset[str]], tuple[list[Names], bool]] = field(
        default_factory=dict, compare=False, repr=False)

    def parse_prefix(self, address: str) -> tuple[int, int]:
        """Return ``(end, level)`` of the longest division prefix of ``address``.

        The prefix is an optional 中国/中华人民共和国, then optionally a province,
        optionally a prefecture inside it, and a county inside whichever came
        last; each name must belong to the unit before it (北京市朝阳区 is a
        county of Beijing, 北京市南山区 is not).  A prefix that reaches a county
        is returned as soon as one is found; otherwise the deepest one (level
        ``PROVINCE`` or ``PREFECTURE``).  A prefecture without counties in the
        table (东莞市) counts as a county; a province without any (the table
        lists none for Hong Kong, Macao and Taiwan) as nothing recognised,
        since the table cannot tell what follows it.  ``(0, 0)`` if no name is
        recognised.
        """
        start = next((len(c) for c in _COUNTRY if address.startswith(c)), 0) if address.startswith(_COUNTRY) else 0
        best = (0, 0)
        provinces = list(self._matches(address, start, [self.provinces]))
        for province_end, province_codes in provinces or [(start, _NO_CODES)]:
            prefecture_names = self._prefectures_in(province_codes)
            options = [*self._matches(address, province_end, prefecture_names), (province_end, _NO_CODES)]
            for prefecture_end, prefecture_codes in options:
                county_names, has_counties = self._counties_in(province_codes, prefecture_codes)
                for county_end, _ in self._matches(address, prefecture_end, county_names):
                    return county_end, COUNTY
                if prefecture_codes:
                    level = PREFECTURE if has_counties else COUNTY
                else:
                    level = PROVINCE if province_codes and has_counties else 0
                if level == COUNTY:
                    return prefecture_end, COUNTY
                if level > best[1]:
                    best = (prefecture_end, level)
        return best

    # The indexes to search inside the divisions matched so far depend only on their codes: worked
    # out once per set of codes (a few thousand at most), not again for every address.

    def _prefectures_in(self, province_codes: frozenset[str]) -> list[Names]:
        found = self._prefecture_cache.get(province_codes)
        if found is None:
            keys = _province_keys(province_codes)
            found = self._prefecture_cache[province_codes] = [self.prefectures.get(key, {}) for key in keys]
        return found

    def _counties_in(self, province_codes: frozenset[str], prefecture_codes: frozenset[str]) -> tuple[list[Names], bool]:
        """The county indexes inside the prefecture (or else the province) matched, and whether any
        of them lists a county."""
        found = self._county_cache.get((province_codes, prefecture_codes))
        if found is None:
            keys = {code[:4] for code in prefecture_codes} or _province_keys(province_codes)
            found = ([self.counties.get(key, {}) for key in keys], any(self.counties.get(key) for key in keys))
            self._county_cache[(province_codes, prefecture_codes)] = found
        return found

    def _matches(self, text: str, start: int, names: list[Names]) -> Iterator[tuple[int, frozenset[str]]]:
        """Yield ``(end, codes)`` for each name in ``names`` that starts at ``start``, longest first."""
        # Only the lengths some name starting with this character has: a few lookups, not one per length.
        for length in self.lengths.get(text[start:start + 1], ()):
            end = start + length
            if end > len(text):
                continue
            candidate = text[start:end]
            for index in names:
                codes = index.get(candidate)
                if codes:
                    yield end, codes
                    break


def _entries(text: str) -> Iterator[tuple[str, str]]:
    """Yield ``(6-digit code, name)`` for every name every code has had."""
    province = None
    for line in text.splitlines():
        if found := _PROVINCE_LINE.fullmatch(line):
            province = found.group(1)
            yield province + "0000", found.group(2)
        elif (found := _COUNTY_LINE.fullmatch(line)) and province is not None:
            for name in found.group(2).split(","):
                yield province + found.group(1), _PERIOD.sub("", name)


def build_table(text: str) -> DivisionTable:
    """Index the contents of a ``loc.dat`` file."""
    codes: set[str] = set()
    provinces: dict[str, set[str]] = defaultdict(set)
    prefectures: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    counties: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for code, name in _entries(text):
        codes.add(code)
        if not name or name in _PLACEHOLDERS:
            continue
        if code.endswith("0000"):
            provinces[name].add(code)
        elif code.endswith("00"):
            for key in (code[:2], ""):
                prefectures[key][name].add(code)
        else:
            for key in (code[:4], code[:2], ""):
                counties[key][name].add(code)
    everything = [*provinces, *(name for names in prefectures.values() for name in names)]
    everything += [name for names in counties.values() for name in names]
    return DivisionTable(
        codes=frozenset(codes),
        provinces=_freeze(provinces),
        prefectures={key: _freeze(names) for key, names in prefectures.items()},
        counties={key: _freeze(names) for key, names in counties.items()},
        lengths=_lengths_by_first_character(everything),
    )


def _lengths_by_first_character(names: list[str]) -> dict[str, tuple[int, ...]]:
    """The lengths (2 or more: a one-character name is never matched) of the names that start
    with each character, longest first."""
    lengths: dict[str, set[int]] = defaultdict(set)
    for name in names:
        if len(name) >= 2:
            lengths[name[0]].add(len(name))
    return {first: tuple(sorted(found, reverse=True)) for first, found in lengths.items()}


def _province_keys(province_codes: frozenset[str]) -> set[str]:
    return {code[:2] for code in province_codes} or {""}


def _freeze(names: Mapping[str, set[str]]) -> Names:
    return {name: frozenset(codes) for name, codes in names.items()}


@cache
def division_table() -> DivisionTable:
    """The table from the installed python-stdnum, read once (empty if unreadable)."""
    try:
        text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError, UnicodeDecodeError):
        logger.warning("python-stdnum's cn/loc.dat is unreadable; division names are not recognised")
        text = ""
    return build_table(text)
