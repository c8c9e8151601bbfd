"""``grid``: generalise a geographic coordinate to the corner of its grid cell.

Each coordinate is rounded *down* (towards south and west) to a multiple of
``step`` degrees and written with as many decimals as the step has, so the
output names the south-west corner of the cell that contains the point::

    39.9087,116.3975 -> 39.90,116.39         (step=0.01, the default: about 1 km)
    grid(step=0.1):  39.9087,116.3975 -> 39.9,116.3
    grid(step=0.5):  -33.8688,151.2093 -> -34.0,151.0

``step`` is a power of ten or five times one, from 0.0001 to 1 degree (1,
0.5, 0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001; 0.01 degree of latitude is
about 1.1 km).  Accepted inputs:

* a string ``"lat,lng"`` (whitespace around the numbers allowed) or a single
  number as a string; numbers in plain decimal notation;
* a ``(lat, lng)`` tuple or list of ``int``/``float``/``Decimal`` (or numeric
  strings);
* a single ``int``/``float``/``Decimal``, generalised on its own.

Latitude must be within -90..90 and longitude (or a single number) within
-180..180.  Arithmetic is exact (``Decimal``; a ``float`` is taken as its
shortest repr, 39.9087 not 39.908699999...).  Anything else - other shapes,
NaN, infinities, ``bool``, out-of-range values - becomes the fixed ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Context, Decimal

from masking._base import REDACTED, Masker
from masking.strategy import Param, Strategy

STEPS = tuple(Decimal(step) for step in ("1", "0.5", "0.1", "0.05", "0.01", "0.005", "0.001", "0.0005", "0.0001"))
LATITUDE_LIMIT = Decimal(90)
LONGITUDE_LIMIT = Decimal(180)

_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*", re.ASCII)
# Every step is a multiple of 1e-12 and |coordinate| <= 180, so flooring to
# 1e-12 first loses nothing and keeps every later operation exact in 40 digits.
_FINE = Decimal("1e-12")
_EXACT = Context(prec=40, rounding=ROUND_FLOOR)


def _number(value: object, limit: Decimal) -> Decimal:
    """One coordinate as a finite ``Decimal`` within ``-limit..limit``; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        number = Decimal(value.strip())
    else:
        raise ValueError
    if not number.is_finite() or abs(number) > limit:
        raise ValueError
    return number


def _pair(value: object) -> Sequence[object]:
    """The coordinate(s) in ``value``: one or two items."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, tuple | list):
        return value
    return (value,)


def build(step: Decimal = Decimal("0.01")) -> Masker:
    """Floor coordinates to multiples of ``step`` degrees."""
    places = max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]
    quantum = Decimal(1).scaleb(-places)

    def floor(number: Decimal) -> str:
        fine = number.quantize(_FINE, context=_EXACT)
        corner = _EXACT.multiply(_EXACT.to_integral_value(_EXACT.divide(fine, step)), step)
        if corner.is_zero():
            corner = corner.copy_abs()  # no "-0.00"
        return format(corner.quantize(quantum, context=_EXACT), "f")

    def grid(value: object) -> str:
        parts = _pair(value)
        try:
            if len(parts) == 2:
                latitude, longitude = parts
                return f"{floor(_number(latitude, LATITUDE_LIMIT))},{floor(_number(longitude, LONGITUDE_LIMIT))}"
            if len(parts) == 1:
                return floor(_number(parts[0], LONGITUDE_LIMIT))
        except ValueError:
            pass
        return REDACTED

    return grid


STRATEGY = Strategy(
    name="grid",
    description="Rounds a latitude,longitude down to a 0.01-degree grid cell's south-west corner, "
    "e.g. 39.9087,116.3975 -> 39.90,116.39.",
    build=build,
    params=(
        Param(
            "step",
            Decimal,
            Decimal("0.01"),
            "cell size in degrees",
            choices=STEPS,
        ),
    ),
    takes_text=False,
)
