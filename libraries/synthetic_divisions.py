"""Administrative divisions (行政区划) for the synthetic-data generator.

Taken from python-stdnum's `cn/loc` database, the one `stdnum.cn.ric` checks a resident ID's
birth place against. Each county-level code is listed with the years it was in use
(`[1983-2014]新市区,[2015-]竞秀区`); `stdnum.cn.ric.validate` accepts a code only if it was
in use in the birth year. We keep the codes still in use today, with the first year from
which they have been in use without a gap, so that a birth year can pick a code that both
validates and names a current place.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache

from stdnum import numdb

from libraries.synthetic_vocab import ETHNIC_GROUPS, PROVINCE_ABBREVIATIONS

_INTERVAL = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
# Entries that are groupings, not places: no city name in an address.
_NOT_A_CITY = ("市辖区", "县", "林区")
_MUNICIPALITIES = ("11", "12", "31", "50")


@dataclass(frozen=True)
class Division:
    """A county-level division in use today, with its current names."""

    code: str  # 6 digits
    province: str  # 广东省
    city: str  # 深圳市; "" for municipalities' districts and province-administered counties
    county: str  # 南山区; "" when the code is a city without districts (东莞市)
    valid_from: int  # first year of uninterrupted use (0: always)

    @property
    def municipality(self) -> bool:
        return self.code[:2] in _MUNICIPALITIES

    @property
    def city_level(self) -> str:
        """The city an authority is named after: 深圳市, 北京市, 仙桃市."""
        if self.city:
            return self.city
        return self.province if self.municipality else self.county

    @property
    def place(self) -> str:
        """Province, city and county as written at the start of an address."""
        return f"{self.province}{self.city}{self.county}"

    @property
    def local(self) -> str:
        """City and county as an authority's name starts: 深圳市南山区, 仙桃市, 东莞市."""
        city = self.city_level
        return city if city == self.county or not self.county else f"{city}{self.county}"

    @property
    def city_short(self) -> str:
        """The city without its suffix, as in enterprise names: 深圳, 北京, 延边."""
        return short_name(self.city_level)

    @property
    def abbreviation(self) -> str:
        """One character for decision numbers: 深 for 深圳, 京 for Beijing."""
        if self.municipality:
            return PROVINCE_ABBREVIATIONS[self.code[:2]]
        return self.city_short[0]

    @property
    def province_abbreviation(self) -> str:
        return PROVINCE_ABBREVIATIONS[self.code[:2]]

    @property
    def province_department(self) -> str:
        """Suffix of a provincial department: 厅 in a province, 局 in a municipality."""
        return "局" if self.municipality else "厅"


_ETHNIC_STEMS = sorted(
    {stem for name, _ in ETHNIC_GROUPS for stem in (name, name.removesuffix("族"))}, key=len, reverse=True
)


def short_name(name: str) -> str:
    """深圳市 → 深圳, 延边朝鲜族自治州 → 延边, 广西壮族自治区 → 广西, 锡林郭勒盟 → 锡林郭勒."""
    for suffix in ("自治州", "自治区", "自治县", "地区", "林区", "盟", "省", "市", "县", "区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            name = name[: -len(suffix)]
            break
    else:
        return name
    stripped = suffix.startswith("自治")
    while stripped:
        stripped = False
        for stem in _ETHNIC_STEMS:
            if name.endswith(stem) and len(name) > len(stem) + 1:
                name = name[: -len(stem)]
                stripped = True
                break
    return name


def _intervals(value: str) -> list[tuple[int | None, int | None, str]]:
    result: list[tuple[int | None, int | None, str]] = []
    for part in value.split(","):
        match = _INTERVAL.match(part)
        if match:
            start = int(match[1]) if match[1] else None
            end = int(match[2]) if match[2] else None
            result.append((start, end, match[3]))
        else:
            result.append((None, None, part))
    return result


def _current(value: str) -> tuple[str, int] | None:
    """The current name and the first year of uninterrupted use, or None if no longer in use."""
    intervals = _intervals(value)
    start, end, name = intervals[-1]
    if end is not None:
        return None
    for previous_start, previous_end, _ in reversed(intervals[:-1]):
        if start is None or previous_end is None or previous_end + 1 < start:
            break
        start = previous_start
    return name, start or 0


@dataclass(frozen=True)
class Divisions:
    """All current county-level divisions, sorted by `valid_from`."""

    items: tuple[Division, ...]
    valid_from: tuple[int, ...]

    def usable_in(self, year: int) -> int:
        """How many leading items were in use in `year` (pick an index below it)."""
        return bisect.bisect_right(self.valid_from, year)

    def by_code(self) -> dict[str, Division]:
        return {d.code: d for d in self.items}


@cache
def divisions() -> Divisions:
    db = numdb.get("cn/loc")
    found: list[Division] = []
    for _, province_code, _, province_props, children in db.prefixes:
        if province_code not in PROVINCE_ABBREVIATIONS:
            continue  # 台湾省, 香港, 澳门: no county codes
        province = province_props["province"]
        current: dict[str, tuple[str, int]] = {}
        for _, low, _, props, _ in children:
            entry = _current(props.get("county", "[-0]"))
            if entry is not None:
                current[low] = entry
        for code, (name, since) in sorted(current.items()):
            if code.endswith("00"):
                has_counties = any(
                    other[:2] == code[:2] and not other.endswith("00") and _is_county(n)
                    for other, (n, _) in current.items()
                )
                if code == "0000" or has_counties or not _is_city(name):
                    continue
                found.append(Division(province_code + code, province, name, "", since))  # 东莞市
            elif _is_county(name):
                city_entry = current.get(code[:2] + "00")
                city = city_entry[0] if city_entry and _is_city(city_entry[0]) else ""
                found.append(Division(province_code + code, province, city, name, since))
    found.sort(key=lambda d: (d.valid_from, d.code))
    return Divisions(tuple(found), tuple(d.valid_from for d in found))


def _is_county(name: str) -> bool:
    return name not in ("市辖区", "县") and "直辖" not in name


def _is_city(name: str) -> bool:
    return name not in _NOT_A_CITY and "直辖" not in name
