"""Generalisations are consistent: the class contains the value, and order is kept."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masking import age_band, compile_rule, mask
from masking.divisions import COUNTY, PREFECTURE, PROVINCE, build_table, division_table
from masking.grid import STEPS
from tests.masking.support import PROPERTY

# --- year, yearMonth --------------------------------------------------------------------------


@PROPERTY
@given(st.dates() | st.datetimes())
def test_year_and_month_of_any_date(value: date) -> None:
    assert mask("year", value) == f"{value.year:04d}"
    assert mask("yearMonth", value) == f"{value.year:04d}-{value.month:02d}"
    assert mask("year", value.isoformat()) == f"{value.year:04d}"
    assert mask("yearMonth", f"{value.year:04d}/{value.month}/{value.day}") == f"{value.year:04d}-{value.month:02d}"


# --- amountRange ------------------------------------------------------------------------------

_BUCKET = re.compile(r"[\[(](\d+), (\d+)\)")


def _bucket_bounds(label: str) -> tuple[Decimal, Decimal]:
    """The bucket as [low, high): ``< 0`` and ``>= 1e9`` are open-ended."""
    if label == "< 0":
        return Decimal("-Infinity"), Decimal(0)
    if label == "0":
        return Decimal(0), Decimal(0)
    if label.startswith(">= "):
        return Decimal(label[3:]), Decimal("Infinity")
    found = _BUCKET.fullmatch(label)
    assert found, label
    return Decimal(found.group(1)), Decimal(found.group(2))


NUMBERS = st.decimals(allow_nan=False, allow_infinity=True) | st.integers() | st.floats(allow_nan=False)


@PROPERTY
@given(NUMBERS)
def test_amount_bucket_contains_the_amount(value: Decimal | int | float) -> None:
    low, high = _bucket_bounds(str(mask("amountRange", value)))
    number = Decimal(value)
    assert low <= number
    assert number < high or number == high and (number.is_zero() or number.is_infinite())


@PROPERTY
@given(NUMBERS, NUMBERS)
def test_amount_buckets_are_monotone(first: Decimal | int | float, second: Decimal | int | float) -> None:
    low, high = sorted([first, second], key=Decimal)
    assert _bucket_bounds(str(mask("amountRange", low))) <= _bucket_bounds(str(mask("amountRange", high)))


# --- ageBand ----------------------------------------------------------------------------------

WIDTHS = st.integers(1, 50)
AGES = st.integers(0, 150)


def _first(band: object) -> int:
    assert isinstance(band, str) and re.fullmatch(r"\d+-\d+", band), band
    return int(band.split("-")[0])


@PROPERTY
@given(AGES, WIDTHS)
def test_age_band_contains_the_age(age: int, width: int) -> None:
    band = mask(f"ageBand(width={width})", age)
    first = _first(band)
    assert band == f"{first}-{first + width - 1}"
    assert first <= age <= first + width - 1
    assert first % width == 0
    assert mask(f"ageBand(width={width})", str(age)) == band


@PROPERTY
@given(AGES, AGES, WIDTHS)
def test_age_bands_are_monotone(first: int, second: int, width: int) -> None:
    young, old = sorted([first, second])
    assert _first(mask(f"ageBand(width={width})", young)) <= _first(mask(f"ageBand(width={width})", old))


TODAY = date(2024, 6, 15)


@PROPERTY
@given(st.dates(date(1875, 1, 1), TODAY), st.dates(date(1875, 1, 1), TODAY), WIDTHS)
def test_age_band_of_birth_dates_is_monotone_and_exact(first: date, second: date, width: int) -> None:
    band = age_band.build(width=width, today=lambda: TODAY)
    earlier, later = sorted([first, second])
    assert _first(band(earlier)) >= _first(band(later))  # born earlier: older
    age = TODAY.year - earlier.year - ((TODAY.month, TODAY.day) < (earlier.month, earlier.day))
    assert _first(band(earlier)) == age - age % width
    assert band(earlier.isoformat()) == band(earlier)


def test_age_changes_on_the_birthday() -> None:
    band = age_band.build(width=1, today=lambda: TODAY)
    assert band(date(1994, 6, 15)) == "30-30"
    assert band(date(1994, 6, 16)) == "29-29"
    assert band("2024-06-15") == "0-0"
    assert age_band.age_on(date(2000, 2, 29), date(2001, 2, 28)) == 0
    assert age_band.age_on(date(2000, 2, 29), date(2001, 3, 1)) == 1


def test_reference_date_is_today_in_china() -> None:
    today = age_band.today_in_china()
    assert abs((today - date.today()).days) <= 1
    born = date(today.year - 40, today.month, 1)
    assert mask("ageBand", born) in ("40-49", "30-39")


@pytest.mark.parametrize(
    "value", [-1, 151, 10**6, "151", "-5", "1234", "2999-01-01", True, 35.0, "thirty", "", b"35", [35], None]
)
def test_age_band_fails_closed(value: object) -> None:
    expected = None if value is None else "***"
    assert mask("ageBand", value) == expected


# --- grid -------------------------------------------------------------------------------------

LATITUDES = st.decimals(-90, 90, places=6) | st.floats(-90, 90)
LONGITUDES = st.decimals(-180, 180, places=6) | st.floats(-180, 180)


def _exact(number: Decimal | float) -> Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else number


def _decimals(step: Decimal) -> int:
    return max(0, -step.normalize().as_tuple().exponent)  # type: ignore[operator]


@PROPERTY
@given(LATITUDES, LONGITUDES, st.sampled_from(STEPS))
def test_grid_cell_contains_the_point(latitude: Decimal | float, longitude: Decimal | float, step: Decimal) -> None:
    masker = compile_rule(f"grid(step={step})")
    result = masker((latitude, longitude))
    assert isinstance(result, str)
    corners = result.split(",")
    for corner, number in zip(corners, (latitude, longitude), strict=True):
        value = Decimal(corner)
        assert value <= _exact(number) < value + step
        assert value % step == 0
        decimals = _decimals(step)
        assert corner == format(value, "f") and len(corner.partition(".")[2]) == decimals
        assert not corner.startswith("-0") or value < 0 and not corner.startswith("-0.0" + "0" * decimals)
    assert masker([latitude, longitude]) == result
    assert masker(f"{_exact(latitude):f}, {_exact(longitude):f}") == result


@PROPERTY
@given(st.decimals(-180, 180, places=5), st.decimals(-180, 180, places=5), st.sampled_from(STEPS))
def test_grid_is_monotone(first: Decimal, second: Decimal, step: Decimal) -> None:
    masker = compile_rule(f"grid(step={step})")
    low, high = sorted([first, second])
    assert Decimal(str(masker(low))) <= Decimal(str(masker(high)))


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("grid", "39.9087,116.3975", "39.90,116.39"),
        ("grid", "39.9087, 116.3975", "39.90,116.39"),
        ("grid", (39.9087, 116.3975), "39.90,116.39"),
        ("grid", [Decimal("39.9087"), 116], "39.90,116.00"),
        ("grid", 116.3975, "116.39"),
        ("grid", "-33.8688,151.2093", "-33.87,151.20"),
        ("grid", "-0.001,0", "-0.01,0.00"),
        ("grid", "-0.0,0", "0.00,0.00"),
        ("grid", "90,180", "90.00,180.00"),
        ("grid(step=1)", "39.9087,116.3975", "39,116"),
        ("grid(step=0.5)", "-33.8688,151.2093", "-34.0,151.0"),
        ("grid(step=0.05)", "39.9087,116.3975", "39.90,116.35"),
        ("grid(step=0.0001)", "39.9087,116.3975", "39.9087,116.3975"),
        ("grid(step=0.0005)", (39.90874, 116.39759), "39.9085,116.3975"),
        ("grid(step=0.1)", "39.99999999999999999999999999999999999,0", "39.9,0.0"),
    ],
)
def test_grid_examples(rule: str, value: object, expected: str) -> None:
    assert mask(rule, value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "90.0001,0",
        "0,180.5",
        "116.3975,39.9087",  # longitude first: latitude out of range
        "181",
        (1, 2, 3),
        (),
        "1,2,3",
        "",
        "north",
        "nan,0",
        "1e2,0",
        "inf",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        True,
        (True, 1),
        ("39.9", None),
        b"39.9,116.3",
        {"lat": 39.9},
    ],
)
def test_grid_fails_closed(value: object) -> None:
    assert mask("grid", value) == "***"


# --- divisionCode -----------------------------------------------------------------------------

KNOWN_CODES = sorted(division_table().codes)


def test_division_table_is_loaded() -> None:
    table = division_table()
    assert len(table.codes) > 3000
    assert {"110000", "110105", "440305", "330782"} <= table.codes


@PROPERTY
@given(st.sampled_from(KNOWN_CODES))
def test_division_code_keeps_only_the_chosen_level(code: str) -> None:
    assert mask("divisionCode(level=county)", code) == code
    assert mask("divisionCode", code) == code[:4] + "00"
    assert mask("divisionCode(level=province)", code) == code[:2] + "0000"
    assert mask("divisionCode", int(code)) == code[:4] + "00"


@PROPERTY
@given(st.text(max_size=8) | st.from_regex(r"\d{6}", fullmatch=True), st.sampled_from(["county", "prefecture", "province"]))
def test_division_code_output_is_a_generalised_known_code_or_stars(text: str, level: str) -> None:
    result = mask(f"divisionCode(level={level})", text)
    if text.strip() in division_table().codes:
        assert isinstance(result, str) and result[:2] == text.strip()[:2] and len(result) == 6
    else:
        assert result == "***"


@pytest.mark.parametrize("value", ["999999", "11010", "1101050", "11010a", "１１０１０５", 110105.0, True, "", None])
def test_division_code_fails_closed(value: object) -> None:
    assert mask("divisionCode", value) == (None if value is None else "***")


# --- address ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # recognised by the division table although the suffix rules would not
        ("江苏省南京市鼓楼区中山路1号", "江苏省南京市鼓楼区****"),
        ("福建省福州市鼓楼区五四路", "福建省福州市鼓楼区****"),
        ("浙江省台州市路桥区路桥大道", "浙江省台州市路桥区****"),
        ("南京市鼓楼区中山路1号", "南京市鼓楼区****"),
        ("湖北省仙桃市沔阳大道", "湖北省仙桃市****"),
        ("河北省邢台市襄都区", "河北省邢台市襄都区****"),
        ("河北省邢台市桥东区", "河北省邢台市桥东区****"),  # a name the district had until 2019
        # the table knows what is *not* a district of the province or city named
        ("北京市朝阳公园南区3号", "北京市****"),
        ("北京市南山区科技园", "北京市****"),
        ("广东省深圳市科技园区1号", "广东省深圳市****"),
        ("广东省东莞市长安镇", "广东省东莞市****"),
        ("东莞市长安镇", "东莞市****"),
        ("北京市", "北京市****"),
        # nothing the table knows: suffix rules, as before
        ("香港特别行政区中西区皇后大道", "香港特别行政区中西区****"),  # the table lists no districts there
        ("台湾省台北市大安区", "台湾省台北市大安区****"),
        ("某某自治县某村", "某某自治县****"),
    ],
)
def test_address_uses_the_division_table(value: str, expected: str) -> None:
    assert mask("address", value) == expected


def test_parse_prefix_levels() -> None:
    table = division_table()
    assert table.parse_prefix("北京市朝阳区建国路") == (6, COUNTY)
    assert table.parse_prefix("中国广东省深圳市") == (8, PREFECTURE)
    assert table.parse_prefix("广东省某某") == (3, PROVINCE)
    assert table.parse_prefix("广东省东莞市长安镇") == (6, COUNTY)  # a city without districts
    assert table.parse_prefix("香港特别行政区中西区") == (0, 0)  # no districts in the table
    assert table.parse_prefix("某某") == (0, 0)


def test_an_empty_table_recognises_nothing() -> None:
    table = build_table("")
    assert table.parse_prefix("北京市朝阳区") == (0, 0)
    assert not table.codes


ADDRESSES = st.from_regex(r"(北京市|广东省|江苏省南京市)?[\u4e00-\u9fff]{0,12}(区|县|市)?[\u4e00-\u9fff0-9]{0,8}", fullmatch=True)


@PROPERTY
@given(st.text(max_size=30) | ADDRESSES)
def test_address_keeps_a_prefix_and_hides_the_rest(text: str) -> None:
    result = mask("address", text)
    assert isinstance(result, str) and result.endswith("****")
    kept = result.removesuffix("****")
    compact = "".join(text.split())
    assert compact.startswith(kept)
