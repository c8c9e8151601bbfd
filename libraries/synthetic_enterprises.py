"""Enterprises for the synthetic-data generator.

`plan_enterprises` fixes, before any person exists, what persons' records depend on: each
enterprise's credit code, name, division, founding date, status and the index of the person
who will be its legal representative. `EnterpriseDetails` then writes the enterprise-keyed
records once the representatives' names and ID numbers are known.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from libraries.synthetic_codes import Weighted, add_years, cents, credit_code, digits, org_code, random_day
from libraries.synthetic_divisions import Division, Divisions
from libraries.synthetic_people import FIRST_BIRTH, LONG_TERM, REFERENCE_DATE, Row
from libraries.synthetic_vocab import (
    ACTIVE_STATUSES,
    BUILDING_STEMS,
    ENTERPRISE_TYPES,
    INDUSTRIES,
    PENALTY_KINDS,
    REGISTRATION_STATUSES,
    STREET_DIRECTIONS,
    STREET_STEMS,
    TRADE_CHARS,
    EnterpriseType,
    Industry,
    PenaltyKind,
)

FIRST_FOUNDING = date(1990, 1, 1)
LAST_FOUNDING = date(2024, 6, 30)  # so that every enterprise has a full report year
REPORT_YEAR = REFERENCE_DATE.year - 1
_USCC_SINCE = date(2015, 10, 1)  # founded since: a new-style (MA…) organization code
_TRADE_CHARS = "".join(dict.fromkeys(TRADE_CHARS))


class Enterprise(NamedTuple):
    credit_code: str
    name: str
    division: Division
    kind: EnterpriseType
    industry: Industry
    established: date
    status: str
    representative: int  # the index of a person


@dataclass
class EnterprisePlan:
    enterprises: list[Enterprise]
    samples: list[int]  # indices of the sample enterprises
    # Birth-date bounds of the persons who represent an enterprise (adult when it was founded).
    constraints: dict[int, tuple[date, date]] = field(default_factory=dict)

    @property
    def active(self) -> list[int]:
        return [i for i, e in enumerate(self.enterprises) if e.status in ACTIVE_STATUSES]


def plan_enterprises(
    seed: int,
    divisions: Divisions,
    count: int,
    persons: int,
    sample_persons: list[int],
    constraints: dict[int, tuple[date, date]],
) -> EnterprisePlan:
    """`count` enterprises; sample enterprise k is represented by sample person k.

    `constraints` (birth-date bounds already imposed on some persons) is extended with the
    representatives': adult when their enterprise was founded, at most 65 years old then.
    """
    rng = random.Random(f"{seed}:legal_entity")
    samples = sorted(rng.sample(range(count), len(sample_persons)))
    representative_of = dict(zip(samples, sample_persons, strict=True))
    kinds = Weighted((k, k.weight) for k in ENTERPRISE_TYPES)
    industries = Weighted((i, i.weight) for i in INDUSTRIES)
    statuses = Weighted(REGISTRATION_STATUSES)
    first, span = FIRST_FOUNDING.toordinal(), LAST_FOUNDING.toordinal() - FIRST_FOUNDING.toordinal()
    codes: set[str] = set()
    names: set[str] = set()
    plan = EnterprisePlan([], samples, dict(constraints))
    for index in range(count):
        division = divisions.pick(rng)
        kind = kinds.pick(rng)
        industry = industries.pick(rng)
        # Skewed towards recent years: most enterprises alive today are young.
        established = date.fromordinal(first + int(span * rng.random() ** 0.55))
        status = "存续" if index in representative_of else statuses.pick(rng)
        code = credit_code(division.code, org_code(rng, established >= _USCC_SINCE))
        while code in codes:
            code = credit_code(division.code, org_code(rng, established >= _USCC_SINCE))
        codes.add(code)
        name = _name(rng, division, industry, kind)
        while name in names:
            name = _name(rng, division, industry, kind)
        names.add(name)
        person = representative_of.get(index, rng.randrange(persons))
        plan.enterprises.append(Enterprise(code, name, division, kind, industry, established, status, person))
        low, high = plan.constraints.get(person, (FIRST_BIRTH, REFERENCE_DATE))
        plan.constraints[person] = (max(low, add_years(established, -65)), min(high, add_years(established, -18)))
    return plan


def _name(rng: random.Random, division: Division, industry: Industry, kind: EnterpriseType) -> str:
    trade = "".join(rng.sample(_TRADE_CHARS, 2))
    return f"{division.city_short}{trade}{industry.word}{kind.name_suffix}"


def _address(rng: random.Random, division: Division) -> str:
    street = rng.choice(STREET_STEMS) + rng.choice(STREET_DIRECTIONS)
    head = f"{division.place}{street}路{rng.randint(1, 999)}号"
    style = rng.randrange(3)
    if style == 0:
        return f"{head}{rng.choice(BUILDING_STEMS)}大厦{rng.randint(2, 40)}层{rng.randint(1, 30):02d}室"
    if style == 1:
        return f"{head}{rng.randint(1, 20)}栋{rng.randint(1, 12)}{rng.randint(1, 20):02d}室"
    return f"{head}{rng.randint(1, 6)}号楼"


class EnterpriseDetails:
    """The enterprise-keyed rows of all four libraries, enterprise by enterprise."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:legal_entity:details")
        self.kinds = [k for k, _ in PENALTY_KINDS]
        self.kind_weights = [w for _, w in PENALTY_KINDS]

    def registration(self, e: Enterprise, representative: tuple[str, str]) -> Row:
        rng = self.rng
        values, weights = zip(*e.kind.capital, strict=True)
        capital = rng.choices(values, weights)[0]
        if rng.random() < 0.1:  # an odd amount, e.g. 123.45 万元
            capital *= 0.5 + rng.random()
        return {
            "credit_code": e.credit_code,
            "name": e.name,
            "enterprise_type": e.kind.label,
            "legal_representative": representative[0],
            "legal_representative_id_number": representative[1],
            "registered_capital": cents(max(100, round(capital * 100))),
            "established_on": e.established,
            "registered_address": _address(rng, e.division),
            "business_scope": e.industry.scope,
            "registration_status": e.status,
        }

    def annual_report(self, e: Enterprise, insured: int) -> Row:
        rng = self.rng
        small = e.kind.name_suffix not in ("有限公司", "股份有限公司")
        employees = max(insured, 1, round(rng.lognormvariate(1.5 if small else 2.6, 1.1)))
        per_head = rng.lognormvariate(12.6, 0.6)  # 元 of revenue per employee, median ≈ 300,000
        revenue = round(employees * per_head * 100)
        tax = round(revenue * rng.uniform(0.005, 0.08))
        return {
            "credit_code": e.credit_code,
            "report_year": REPORT_YEAR,
            "employee_count": employees,
            "annual_revenue": cents(revenue),
            "tax_paid": cents(tax),
        }

    def licenses(self, e: Enterprise) -> list[Row]:
        rng = self.rng
        d = e.division
        active = e.status in ACTIVE_STATUSES
        issued = e.established
        if active and rng.random() < 0.3:  # re-issued after a change of registration
            issued = random_day(rng, max(e.established, add_years(REFERENCE_DATE, -8)), REFERENCE_DATE)
        rows: list[Row] = [{
            "holder_credit_code": e.credit_code,
            "license_number": e.credit_code,
            "license_type": "营业执照",
            "issuer": f"{d.local}市场监督管理局",
            "issued_on": issued,
            "valid_until": self._term(e, active),
        }]
        permit = e.industry.permit
        if permit is not None and active and rng.random() < 0.8:
            years = 4 if permit == "道路运输经营许可证" else 5
            issued = random_day(rng, max(e.established, add_years(REFERENCE_DATE, -years)), REFERENCE_DATE)
            if permit == "食品经营许可证":
                number = f"JY{rng.randint(1, 3)}{d.code}{digits(rng, 7)}"
                issuer = f"{d.local}市场监督管理局"
            elif permit == "药品经营许可证":
                number = f"{d.province_abbreviation}AA{digits(rng, 7)}"
                issuer = f"{d.province}药品监督管理局"
            elif permit == "建筑业企业资质证书":
                number = f"D{d.code[:3]}{digits(rng, 6)}"
                issuer = f"{d.province}住房和城乡建设{d.province_department}"
            elif permit == "道路运输经营许可证":
                number = f"{d.province_abbreviation}交运管许可{d.abbreviation}字{d.code}{digits(rng, 6)}号"
                issuer = f"{d.city_level}交通运输局"
            elif permit == "增值电信业务经营许可证":
                number = f"{d.province_abbreviation}B2-{issued.year}{digits(rng, 4)}"
                issuer = f"{d.province}通信管理局"
            elif permit == "排污许可证":
                number = f"{e.credit_code}00{rng.randint(1, 9)}{rng.choice('PUV')}"
                issuer = f"{d.city_level}生态环境局"
            else:  # 人力资源服务许可证
                number = f"{d.code}{issued.year}{digits(rng, 4)}"
                issuer = f"{d.local}人力资源和社会保障局"
            rows.append({
                "holder_credit_code": e.credit_code,
                "license_number": number,
                "license_type": permit,
                "issuer": issuer,
                "issued_on": issued,
                "valid_until": add_years(issued, years),
            })
        return rows

    def _term(self, e: Enterprise, active: bool) -> date:
        """营业期限: 长期, or a fixed term that has not run out while the enterprise is in business."""
        if self.rng.random() < 0.5:
            return LONG_TERM
        term = add_years(e.established, self.rng.choice((20, 30, 50)))
        return LONG_TERM if term <= REFERENCE_DATE and active else term

    def penalties(self, e: Enterprise, forced: bool) -> list[Row]:
        rng = self.rng
        rows: list[Row] = []
        if e.status == "吊销":
            decided = random_day(rng, max(e.established, add_years(REFERENCE_DATE, -6)), REFERENCE_DATE)
            violation = "成立后无正当理由超过六个月未开业（吊销营业执照）"
            rows.append(self._penalty(e, PENALTY_KINDS[0][0], violation, 0, decided))
        if forced or rng.random() < 0.1:
            for _ in range(rng.choices((1, 2, 3), (70, 20, 10))[0]):
                kind = rng.choices(self.kinds, self.kind_weights)[0]
                violation, low, high = rng.choice(kind.violations)
                fine = rng.randint(low // 100, high // 100) * 100
                decided = random_day(rng, max(e.established, add_years(REFERENCE_DATE, -6)), REFERENCE_DATE)
                rows.append(self._penalty(e, kind, violation, fine, decided))
        return rows

    def _penalty(self, e: Enterprise, kind: PenaltyKind, violation: str, fine: int, decided: date) -> Row:
        d = e.division
        authority = (
            f"国家税务总局{d.city_level}税务局" if kind.authority == "税务局" else f"{d.city_level}{kind.authority}"
        )
        return {
            "credit_code": e.credit_code,
            "decision_number": f"{d.abbreviation}{kind.abbreviation}〔{decided.year}〕{self.rng.randint(1, 3000)}号",
            "violation": violation,
            "fine_amount": cents(fine * 100),
            "decided_on": decided,
            "authority": authority,
        }

    def credit_rating(self, e: Enterprise, penalized: bool) -> Row:
        rng = self.rng
        if e.status == "吊销":
            rating = "D"
        elif penalized:
            rating = rng.choices("ABCD", (15, 45, 30, 10))[0]
        else:
            rating = rng.choices("ABCD", (48, 40, 9, 3))[0]
        return {
            "credit_code": e.credit_code,
            "credit_rating": rating,
            "credit_rated_on": random_day(rng, add_years(REFERENCE_DATE, -1), REFERENCE_DATE),
        }
