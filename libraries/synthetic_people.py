"""Persons for the synthetic-data generator: 人口基本信息 rows and the person-keyed records
of the other libraries (licences, dishonesty, social insurance, contributions).

Every generator draws from its own `random.Random`, seeded from the run's seed and a label,
and persons are generated in index order, so a run is reproducible batch by batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from libraries.synthetic_codes import (
    Weighted,
    add_years,
    cents,
    digits,
    id_number,
    luhn_complete,
    random_day,
    years_between,
)
from libraries.synthetic_divisions import Division, Divisions
from libraries.synthetic_vocab import (
    BANK_BINS,
    BUDDHIST_GROUPS,
    BUDDHIST_RELIGIONS,
    CITY_AREA_CODES,
    EMAIL_DOMAINS,
    ETHNIC_GROUPS,
    FEMALE_CHARS,
    MALE_CHARS,
    MOBILE_PREFIXES,
    MUSLIM_GROUPS,
    MUSLIM_RELIGIONS,
    NEUTRAL_CHARS,
    PROVINCE_AREA_CODES,
    PROVINCE_ETHNIC_SHARES,
    RELIGIONS,
    STREET_DIRECTIONS,
    STREET_STEMS,
    SURNAMES,
)

Row = dict[str, Any]

# The data describe the state of the libraries on this day, whatever day it is run.
REFERENCE_DATE = date(2025, 6, 30)
# The last three months of contributions, ending with the reference month.
CONTRIBUTION_PERIODS = ("2025-04", "2025-05", "2025-06")
# 长期: the valid-until date of a licence that does not expire.
LONG_TERM = date(9999, 12, 31)
FIRST_BIRTH = date(1940, 1, 1)
LAST_BIRTH = date(2015, 12, 31)

# Relative births per year, by decade (the 1960s and 1980s booms, fewer births in the 1940s).
_DECADE_WEIGHTS = {1940: 0.5, 1950: 1.0, 1960: 1.5, 1970: 1.35, 1980: 1.45, 1990: 1.25, 2000: 1.0, 2010: 1.05}
_BIRTH_YEARS = Weighted((y, _DECADE_WEIGHTS[y // 10 * 10]) for y in range(FIRST_BIRTH.year, LAST_BIRTH.year + 1))

_MARITAL_STATUSES = ("未婚", "已婚", "离婚", "丧偶")
_MARITAL: tuple[tuple[int, Weighted[str]], ...] = tuple(
    (below, Weighted(zip(_MARITAL_STATUSES, weights, strict=True)))
    for below, weights in (
        # (below this age, weights of 未婚 已婚 离婚 丧偶)
        (25, (75, 24, 1, 0)),
        (30, (40, 56, 4, 0)),
        (40, (10, 83, 6, 1)),
        (60, (3, 87, 7, 3)),
        (75, (1, 80, 4, 15)),
        (999, (1, 55, 2, 42)),
    )
)
_RELIGIONS = Weighted(RELIGIONS)
_MUSLIM_RELIGIONS = Weighted(MUSLIM_RELIGIONS)
_BUDDHIST_RELIGIONS = Weighted(BUDDHIST_RELIGIONS)
_INSURANCE_STATUSES = Weighted((("参保缴费", 82.0), ("暂停缴费", 10.0), ("终止参保", 8.0)))
_BANK_BINS = Weighted(BANK_BINS)
_EMAIL_DOMAINS = Weighted(EMAIL_DOMAINS)
_SURNAMES = Weighted(((s, p), w) for s, p, w in SURNAMES)


class Person(NamedTuple):
    """What the other libraries' records need to know about a generated person."""

    position: int  # the index of the person in the run
    id_number: str
    name: str
    male: bool
    born: date
    age: int
    division: Division  # where the person lives
    marital: str


def _ethnic_groups(province: str) -> Weighted[str]:
    shares = PROVINCE_ETHNIC_SHARES.get(province)
    if shares is None:
        return Weighted(ETHNIC_GROUPS)
    rest = 100.0 - sum(shares.values())
    minorities = sum(w for name, w in ETHNIC_GROUPS if name != "汉族" and name not in shares)
    return Weighted(
        (name, shares[name] if name in shares else rest * 0.97 if name == "汉族" else rest * 0.03 * w / minorities)
        for name, w in ETHNIC_GROUPS
    )


def _name_pool(chars: Sequence[tuple[str, str, str]], era: str) -> tuple[tuple[str, str], ...]:
    return tuple((c, p) for c, p, e in chars if era == "" or e in (era, "b"))


class PersonGenerator:
    """Generates person_basic rows in index order; `constraints` bound some birth dates."""

    def __init__(self, seed: int, divisions: Divisions, constraints: dict[int, tuple[date, date]]) -> None:
        self.rng = random.Random(f"{seed}:population")
        self.divisions = divisions
        self.constraints = constraints
        self.seen: set[int] = set()
        self.mobile_offset = self.rng.randrange(10**8)
        self.ethnic_groups = {p: _ethnic_groups(p) for p in PROVINCE_AREA_CODES}
        self.pools = {
            (male, era): _name_pool((MALE_CHARS if male else FEMALE_CHARS) + NEUTRAL_CHARS, era)
            for male in (True, False)
            for era in ("o", "n", "")
        }

    def batch(self, start: int, stop: int) -> tuple[list[Row], list[Person]]:
        rows: list[Row] = []
        persons: list[Person] = []
        for index in range(start, stop):
            row, person = self.person(index)
            rows.append(row)
            persons.append(person)
        return rows, persons

    def person(self, index: int) -> tuple[Row, Person]:
        rng = self.rng
        born = self._birth_date(self.constraints.get(index))
        birth_place, division = self.divisions.birth_place(rng, born.year)
        male = rng.random() < 0.512
        number = self._id_number(birth_place, born, male)
        age = years_between(born, REFERENCE_DATE)
        surname, surname_pinyin = _SURNAMES.pick(rng)
        era = "o" if born.year < 1975 else "n" if born.year >= 1990 else ""
        single = rng.random() < (0.35 if born.year < 1980 else 0.12)
        pool = self.pools[male, era]
        given = [rng.choice(pool)] if single else [rng.choice(pool), rng.choice(pool)]
        name = surname + "".join(c for c, _ in given)
        ethnicity = self.ethnic_groups[division.code[:2]].pick(rng)
        marital = self._marital(age, male)
        row: Row = {
            "id_number": number,
            "name": name,
            "gender": "男" if male else "女",
            "ethnicity": ethnicity,
            "birth_date": born,
            "birth_place_code": birth_place,
            "mobile": self._mobile(index),
            "home_phone": self._home_phone(division.code) if rng.random() < 0.5 else None,
            "email": self._email(surname_pinyin, [p for _, p in given], born) if rng.random() < 0.6 else None,
            "address": self._address(division),
            "marital_status": marital,
            "religion": self._religion(ethnicity),
        }
        return row, Person(index, number, name, male, born, age, division, marital)

    def _birth_date(self, bounds: tuple[date, date] | None) -> date:
        rng = self.rng
        for _ in range(1 if bounds is None else 8):
            year = _BIRTH_YEARS.pick(rng)
            born = date.fromordinal(date(year, 1, 1).toordinal() + rng.randrange(366 if year % 4 == 0 else 365))
            if bounds is None or bounds[0] <= born <= bounds[1]:
                return born
        assert bounds is not None
        return random_day(rng, *bounds)

    def _id_number(self, code: str, born: date, male: bool) -> str:
        prefix = f"{code}{born.year:04d}{born.month:02d}{born.day:02d}"
        while True:
            # 顺序码: odd for men, even for women.
            sequence = 2 * self.rng.randrange(500) + 1 if male else 2 * self.rng.randrange(1, 500)
            body = f"{prefix}{sequence:03d}"
            key = int(body)
            if key not in self.seen:
                self.seen.add(key)
                return id_number(body)

    def _mobile(self, index: int) -> str:
        # The last 8 digits are a bijection of the index: mobiles are unique without a lookup.
        suffix = (index * 73_939_133 + self.mobile_offset) % 10**8
        return f"{self.rng.choice(MOBILE_PREFIXES)}{suffix:08d}"

    def _home_phone(self, code: str) -> str:
        area = CITY_AREA_CODES.get(code[:4]) or PROVINCE_AREA_CODES[code[:2]]
        length = 8 if len(area) == 3 or self.rng.random() < 0.7 else 7
        return f"{area}-{self.rng.randint(2, 8)}{digits(self.rng, length - 1)}"

    def _email(self, surname: str, given: list[str], born: date) -> str:
        rng = self.rng
        domain = _EMAIL_DOMAINS.pick(rng)
        if domain == "qq.com":
            return f"{rng.randrange(10_000, 3_999_999_999)}@qq.com"
        style = rng.randrange(5)
        if style == 0:
            local = surname + "".join(given)
        elif style == 1:
            local = f"{surname}{''.join(given)}{born.year}"
        elif style == 2:
            local = f"{surname}{''.join(g[0] for g in given)}{born.year % 100:02d}{born.month:02d}"
        elif style == 3:
            local = f"{''.join(given)}.{surname}"
        else:
            local = f"{surname}_{''.join(given)}{rng.randrange(1, 1000)}"
        return f"{local}@{domain}"

    def _address(self, division: Division) -> str:
        rng = self.rng
        if division.county.endswith(("县", "旗")) and rng.random() < 0.6:
            town, village = rng.sample(STREET_STEMS, 2)
            return f"{division.place}{town}镇{village}村{rng.randint(1, 12)}组{rng.randint(1, 120)}号"
        street = rng.choice(STREET_STEMS) + rng.choice(STREET_DIRECTIONS)
        floor = rng.randint(1, 33)
        return (
            f"{division.place}{street}路{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
            f"{rng.randint(1, 6)}单元{floor}{rng.randint(1, 6):02d}"
        )

    def _marital(self, age: int, male: bool) -> str:
        if age < (22 if male else 20):
            return "未婚"
        return next(statuses for below, statuses in _MARITAL if age < below).pick(self.rng)

    def _religion(self, ethnicity: str) -> str:
        if ethnicity in MUSLIM_GROUPS:
            return _MUSLIM_RELIGIONS.pick(self.rng)
        if ethnicity in BUDDHIST_GROUPS:
            return _BUDDHIST_RELIGIONS.pick(self.rng)
        return _RELIGIONS.pick(self.rng)


class LicenseType(NamedTuple):
    name: str
    weight: float
    min_age: int  # at issue
    first_issued: date  # no earlier electronic record of this kind


_PERSON_LICENSES = (
    LicenseType("机动车驾驶证", 50.0, 18, date(1990, 1, 1)),
    LicenseType("结婚证", 30.0, 20, date(1980, 1, 1)),
    LicenseType("离婚证", 30.0, 20, date(1980, 1, 1)),
    LicenseType("职业资格证书", 15.0, 20, date(1994, 1, 1)),
    LicenseType("教师资格证", 6.0, 22, date(1996, 1, 1)),
    LicenseType("医师资格证书", 3.0, 24, date(1999, 1, 1)),
    LicenseType("残疾人证", 2.0, 0, date(2008, 1, 1)),
)


class PersonLicenseGenerator:
    """个人电子证照: about 40% of persons hold one or two licences."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:license:person")

    def rows(self, person: Person, forced: bool) -> list[Row]:
        rng = self.rng
        eligible = [t for t in _PERSON_LICENSES if person.age >= t.min_age and self._fits(t.name, person)]
        chance = 0.45 if person.age >= 18 else 0.01
        if not eligible or (not forced and rng.random() >= chance):
            return []
        chosen: list[LicenseType] = []
        for _ in range(2 if rng.random() < 0.3 else 1):
            if eligible:
                pick = rng.choices(eligible, [t.weight for t in eligible])[0]
                eligible.remove(pick)
                chosen.append(pick)
        return [self._row(t, person) for t in chosen]

    @staticmethod
    def _fits(name: str, person: Person) -> bool:
        if name == "结婚证":
            return person.marital == "已婚" and person.age >= (22 if person.male else 20)
        if name == "离婚证":
            return person.marital == "离婚" and person.age >= (22 if person.male else 20)
        return True

    def _row(self, kind: LicenseType, person: Person) -> Row:
        rng = self.rng
        division = person.division
        marriage = kind.name in ("结婚证", "离婚证")
        earliest = add_years(person.born, kind.min_age + (2 if marriage and person.male else 0))
        if kind.name == "结婚证":  # most marry within twelve years of the legal age
            earliest = max(earliest, kind.first_issued)
            issued = random_day(rng, earliest, min(add_years(earliest, 12), REFERENCE_DATE))
        else:
            issued = random_day(rng, max(earliest, kind.first_issued), REFERENCE_DATE)
        valid_until = LONG_TERM
        if kind.name == "机动车驾驶证":
            number = person.id_number
            issuer = (
                f"{division.province}公安局公安交通管理局"
                if division.municipality
                else f"{division.city_level}公安局交通警察支队"
            )
            years = rng.choice((6, 10, 10, 0))
            if years:
                while add_years(issued, years) < REFERENCE_DATE:  # renewed: the current licence
                    issued = add_years(issued, years)
                valid_until = add_years(issued, years)
        elif marriage:
            prefix = "J" if kind.name == "结婚证" else "L"
            number = f"{prefix}{division.code}-{issued.year}-{rng.randrange(1, 20_000):06d}"
            issuer = f"{division.local}民政局"
        elif kind.name == "职业资格证书":
            number = f"{issued.year}{division.code[:4]}{digits(rng, 8)}"
            issuer = f"{division.province}人力资源和社会保障{division.province_department}"
        elif kind.name == "教师资格证":
            number = f"{issued.year}{division.code[:2]}{rng.randint(1, 5)}{digits(rng, 10)}"
            issuer = f"{division.city_level}教育局"
        elif kind.name == "医师资格证书":
            number = f"{issued.year}{rng.randint(1, 4)}{division.code[:2]}{digits(rng, 9)}"
            issuer = f"{division.province}卫生健康委员会"
        else:  # 残疾人证: the ID number, the category (1–7) and the grade (1–4)
            issued = random_day(rng, max(issued, add_years(REFERENCE_DATE, -10)), REFERENCE_DATE)
            number = f"{person.id_number}{rng.randint(1, 7)}{rng.randint(1, 4)}"
            issuer = f"{division.local}残疾人联合会"
            valid_until = add_years(issued, 10)
        return {
            "holder_id_number": person.id_number,
            "license_number": number,
            "license_type": kind.name,
            "issuer": issuer,
            "issued_on": issued,
            "valid_until": valid_until,
        }


class DishonestyGenerator:
    """失信被执行人信息: one row per person, about 2% of adults listed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:credit:person")

    def row(self, person: Person) -> Row:
        listed = person.age >= 18 and self.rng.random() < 0.024
        since = None
        if listed:
            since = random_day(self.rng, max(add_years(person.born, 18), date(2013, 10, 1)), REFERENCE_DATE)
        return {"id_number": person.id_number, "dishonest_debtor": listed, "dishonest_since": since}


class Employers(NamedTuple):
    """The enterprises persons may be insured through, and a count of each one's contributors."""

    credit_codes: Sequence[str]
    names: Sequence[str]
    active: Sequence[int]  # indices of enterprises still in business
    insured: list[int]  # per enterprise: persons paying contributions through it


class InsuranceGenerator:
    """社会保险参保信息 and 缴费记录: about 80% of persons aged 16–70 are insured."""

    def __init__(self, seed: int, employers: Employers) -> None:
        self.rng = random.Random(f"{seed}:social_security")
        self.employers = employers
        self.account_offset = self.rng.randrange(10**12)

    def rows(self, person: Person, forced: bool) -> tuple[Row | None, list[Row]]:
        rng = self.rng
        if not forced and not (16 <= person.age <= 70 and rng.random() < 0.8):
            return None, []
        status = "参保缴费" if forced else _INSURANCE_STATUSES.pick(rng)
        # A forced (sample) person has contributed for at least a year: all three months are there.
        latest = add_years(REFERENCE_DATE, -1) if forced else REFERENCE_DATE
        since = random_day(rng, max(add_years(person.born, 16), date(1995, 1, 1)), latest)
        # Busy employers: the square skews the choice towards the first active enterprises.
        active = self.employers.active
        employer = active[int(len(active) * rng.random() ** 2)]
        base = max(3_000, min(35_000, round(rng.lognormvariate(8.85, 0.45))))  # 元/月, median ≈ 7,000
        # 12 digits after the BIN: a bijection of the index, so that accounts are unique.
        account = (person.position * 7_919_000_003 + self.account_offset) % 10**12
        bank = _BANK_BINS.pick(rng)
        insurance: Row = {
            "id_number": person.id_number,
            "insurance_status": status,
            "insured_since": since,
            "employer_credit_code": self.employers.credit_codes[employer],
            "contribution_base": cents(base * 100),
            "bank_account": luhn_complete(f"{bank}{account:012d}"),
        }
        if status != "参保缴费":
            return insurance, []
        self.employers.insured[employer] += 1
        amount = cents(base * 8)  # 8% of the base, in cents
        name = self.employers.names[employer]
        periods = [p for p in CONTRIBUTION_PERIODS if p >= f"{since.year:04d}-{since.month:02d}"]
        contributions = [
            {"id_number": person.id_number, "period": p, "insurance_type": "养老保险", "amount": amount,
             "employer_name": name}
            for p in periods or CONTRIBUTION_PERIODS[-1:]
        ]
        return insurance, contributions
