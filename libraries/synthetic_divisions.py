"""Administrative divisions (行政区划) for the synthetic-data generator.

Taken from python-stdnum's `cn/loc` database, the one `stdnum.cn.ric` checks a resident ID's
birth place against. Each county-level code is listed with the years it was in use
(`[1983-2014]新市区,[2015-]竞秀区`), and `stdnum.cn.ric.validate` accepts a code only if it
was in use in the birth year. So a person's birth place is drawn among the codes in use in
their birth year (abolished ones too: older persons' ID numbers often carry one), while the
places people live and enterprises are registered are divisions in use today, named with
their current names.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from stdnum import numdb

from libraries.synthetic_codes import Weighted
from libraries.synthetic_vocab import ETHNIC_GROUPS, PROVINCE_ABBREVIATIONS, PROVINCE_POPULATION

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
    {stem for name, _ in ETHNIC_GROUPS for stem in (name, name.removesuffix("族"))}, key=lambda s: (-len(s), s)
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


def _current(value: str) -> str | None:
    """The current name, or None if the code is no longer in use."""
    _, end, name = _intervals(value)[-1]
    return name if end is None else None


_Intervals = tuple[tuple[int | None, int | None], ...]  # (first year, last year) of use


def _in_use(intervals: _Intervals, year: int) -> bool:
    return any((start is None or start <= year) and (end is None or year <= end) for start, end in intervals)


class _Province:
    """One province's current divisions, and every county-level code it ever used."""

    def __init__(self, current: list[Division], codes: list[tuple[str, _Intervals]]) -> None:
        self.current = tuple(current)
        self.by_prefecture: dict[str, tuple[Division, ...]] = {}
        for division in current:
            self.by_prefecture[division.code[:4]] = (*self.by_prefecture.get(division.code[:4], ()), division)
        self.codes = codes
        self.by_year: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def in_use(self, year: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The codes in use in `year`: those still in use today, and those since abolished."""
        found = self.by_year.get(year)
        if found is None:
            codes = [code for code, intervals in self.codes if _in_use(intervals, year)]
            current = {d.code for d in self.current}
            found = self.by_year[year] = (
                tuple(c for c in codes if c in current),
                tuple(c for c in codes if c not in current),
            )
        return found


class Divisions:
    """All divisions; a random one is drawn by province population, then uniformly."""

    def __init__(self, provinces: dict[str, _Province]) -> None:
        self.items = tuple(d for p in provinces.values() for d in p.current)
        self.provinces = Weighted((p, PROVINCE_POPULATION[code]) for code, p in sorted(provinces.items()))
        self.current = self.by_code()

    def pick(self, rng: random.Random) -> Division:
        """A division in use today."""
        province = self.provinces.pick(rng)
        return province.current[rng.randrange(len(province.current))]

    def birth_place(self, rng: random.Random, year: int) -> tuple[str, Division]:
        """A code in use in `year` (so that `stdnum.cn.ric` accepts it as a birth place) and a
        division in use today where the person lives: the same place, or, if its code was
        abolished, another county of the same prefecture (else of the same province)."""
        while True:
            province = self.provinces.pick(rng)
            current, abolished = province.in_use(year)
            # Mostly a code still in use; an abolished one for some (it was valid at birth).
            codes = abolished if abolished and (not current or rng.random() < 0.1) else current
            if codes:
                code = codes[rng.randrange(len(codes))]
                break
        residence = self.current.get(code)
        if residence is None:
            nearby = province.by_prefecture.get(code[:4]) or province.current
            residence = nearby[rng.randrange(len(nearby))]
        return code, residence

    def by_code(self) -> dict[str, Division]:
        return {d.code: d for d in self.items}


@cache
def divisions() -> Divisions:
    db = numdb.get("cn/loc")
    provinces: dict[str, _Province] = {}
    for _, province_code, _, province_props, children in db.prefixes:
        if province_code not in PROVINCE_ABBREVIATIONS:
            continue  # 台湾省, 香港, 澳门: no county codes
        province = province_props["province"]
        current: dict[str, str] = {}
        codes: list[tuple[str, _Intervals]] = []
        for _, low, _, props, _ in sorted(children, key=lambda child: child[1]):
            value = props.get("county", "[-0]")
            name = _current(value)
            if name is not None:
                current[low] = name
            if not low.endswith("00"):
                intervals = tuple((start, end) for start, end, n in _intervals(value) if _is_county(n))
                if intervals:
                    codes.append((province_code + low, intervals))
        found: list[Division] = []
        for code, name in current.items():
            if code.endswith("00"):
                has_counties = any(
                    other[:2] == code[:2] and not other.endswith("00") and _is_county(n)
                    for other, n in current.items()
                )
                if code != "0000" and not has_counties and _is_city(name):
                    found.append(Division(province_code + code, province, name, ""))  # 东莞市
            elif _is_county(name):
                city = current.get(code[:2] + "00", "")
                found.append(Division(province_code + code, province, city if _is_city(city) else "", name))
        provinces[province_code] = _Province(found, codes)
    return Divisions(provinces)


def _is_county(name: str) -> bool:
    return name not in ("市辖区", "县") and "直辖" not in name


def _is_city(name: str) -> bool:
    return name not in _NOT_A_CITY and "直辖" not in name
