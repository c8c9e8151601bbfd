"""Check digits, dates and amounts for the synthetic-data generator."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from stdnum.cn import ric, uscc

T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice, cheaper than `random.choices` for one item at a time."""

    __slots__ = ("items", "cum", "total", "last")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        items: list[T] = []
        weights: list[float] = []
        for item, weight in pairs:
            items.append(item)
            weights.append(weight)
        self.items: Sequence[T] = items
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]
        self.last = len(items) - 1

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total, 0, self.last)]

# GB 11714 organization code: body characters and weights.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Characters a USCC may hold (GB 32100 excludes I, O, Z, S, V).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_number(body: str) -> str:
    """The 18-character resident ID (GB 11643) for its 17-digit body."""
    return body + ric.calc_check_digit(body + "0")


def org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organization code body."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def org_code(rng: random.Random, new_style: bool) -> str:
    """A 9-character organization code: 8 digits before 2015, `MA` + 6 characters since."""
    if not new_style:
        body = f"{rng.randrange(10_000_000, 100_000_000)}"
        return body + org_code_check(body)
    body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    return body + org_code_check(body)


def credit_code(division: str, organization: str) -> str:
    """A GB 32100 unified social credit code of an enterprise (登记管理部门 9, 企业 1)."""
    body = f"91{division}{organization}"
    return body + uscc.calc_check_digit(body)


def luhn_complete(number: str) -> str:
    """`number` followed by its Luhn check digit."""
    total = 0
    for position, char in enumerate(reversed(number)):
        value = ord(char) - 48
        if position % 2 == 0:  # doubled: the check digit will take position 0
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return f"{number}{-total % 10}"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def random_day(rng: random.Random, first: date, last: date) -> date:
    """A uniformly random day in [first, last] (first when the range is empty)."""
    start, end = first.toordinal(), last.toordinal()
    return date.fromordinal(start if end <= start else rng.randint(start, end))


def cents(amount: int) -> Decimal:
    """An amount given in cents (分) as a Decimal with two places."""
    return Decimal(amount).scaleb(-2)


def digits(rng: random.Random, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"
