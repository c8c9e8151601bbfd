"""Exact expected outputs of every masking rule.

The expectations are literal strings on purpose: changing what a rule keeps
or how it stars must break a test, because the output shape is part of the
gateway's contract with data owners.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from masking import mask


def _check(rule: str, value: object, expected: object) -> None:
    assert mask(rule, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110101199003071233", "110101********1233"),
        ("11010119900307123x", "110101********123X"),
        ("11010119900307123X", "110101********123X"),
        ("110101900307123", "110101*****7123"),
        (" 110101 19900307 1233 ", "110101********1233"),
        (110101199003071233, "110101********1233"),
    ],
)
def test_id_number(value: object, expected: str) -> None:
    _check("idNumber", value, expected)


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+8613812345678",
        "008613812345678",
        "8613812345678",
        "138-1234-5678",
        " 13812345678 ",
        13812345678,
    ],
)
def test_mobile(value: object) -> None:
    _check("mobile", value, "138****5678")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳修", "欧阳*"),
        ("欧阳娜娜", "欧阳**"),
        ("司马相如", "司马**"),
        ("诸葛亮", "诸葛*"),
        ("上官婉儿", "上官**"),
        ("万俟卨", "万俟*"),
        ("歐陽修", "歐陽*"),
        ("欧阳", "欧*"),
        ("张", "*"),
        (" 张三 ", "张*"),
        ("John Smith", "J*** *****"),
        ("J", "*"),
        ("阿卜杜拉·买买提", "阿*******"),
    ],
)
def test_name(value: str, expected: str) -> None:
    _check("name", value, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("010-62345678", "010-******78"),
        ("0755-87654321", "0755-******21"),
        ("01062345678", "010-******78"),
        ("075587654321", "0755-******21"),
        ("021-6234567", "021-*****67"),
        ("(010) 6234 5678", "010-******78"),
        ("+86 10 62345678", "010-******78"),
        ("0086-755-87654321", "0755-******21"),
        ("62345678", "******78"),
    ],
)
def test_fixed_phone(value: str, expected: str) -> None:
    _check("fixedPhone", value, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("北京市朝阳区建国路88号3单元502", "北京市朝阳区****"),
        ("广东省深圳市南山区科技园科苑路15号", "广东省深圳市南山区****"),
        ("江苏省苏州市昆山市前进西路1号", "江苏省苏州市昆山市****"),
        ("浙江省义乌市稠城街道", "浙江省义乌市****"),
        ("上海市浦东新区世纪大道100号", "上海市浦东新区****"),
        ("山东省济南市市中区经十路1号", "山东省济南市市中区****"),
        ("重庆市巫山县广东路1号", "重庆市巫山县****"),
        (
            "内蒙古自治区锡林郭勒盟东乌珠穆沁旗乌里雅斯太镇",
            "内蒙古自治区锡林郭勒盟东乌珠穆沁旗****",
        ),
        (
            "新疆维吾尔自治区伊犁哈萨克自治州察布查尔锡伯自治县1号",
            "新疆维吾尔自治区伊犁哈萨克自治州察布查尔锡伯自治县****",
        ),
        ("中国北京市海淀区中关村大街1号", "中国北京市海淀区****"),
        ("北京市 朝阳区 建国路88号", "北京市朝阳区****"),
        ("南山区科技园", "南山区****"),
        # No district token: only the first 3 characters survive.
        ("北京市建国路小区3号", "北京市****"),
        ("北京市阳光小区3号楼", "北京市****"),
        ("某地某街道某号", "某地某****"),
        ("北京", "****"),
    ],
)
def test_address(value: str, expected: str) -> None:
    _check("address", value, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6222021234567890123", "622202*********0123"),
        ("6222 0212 3456 7890 123", "622202*********0123"),
        ("6222021234567890", "622202******7890"),
        (6222021234567890, "622202******7890"),
    ],
)
def test_bank_card(value: object, expected: str) -> None:
    _check("bankCard", value, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangsan@example.com", "z****@example.com"),
        ("a@b.cn", "a****@b.cn"),
        (" Li.Si@gov.cn ", "L****@gov.cn"),
        ('"a@b"@example.com', '"****@example.com'),
    ],
)
def test_email(value: str, expected: str) -> None:
    _check("email", value, expected)


@pytest.mark.parametrize(
    "value", ["91110105MA01ABCD2X", "91110105ma01abcd2x", " 91110105 MA01ABCD2X "]
)
def test_credit_code(value: str) -> None:
    _check("creditCode", value, "91110105********2X")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (0.0, "0"),
        (Decimal("-0"), "0"),
        (0.5, "(0, 1)"),
        (1, "[1, 5)"),
        (4.99, "[1, 5)"),
        (5, "[5, 10)"),
        (10, "[10, 50)"),
        (49, "[10, 50)"),
        (50, "[50, 100)"),
        (3500, "[1000, 5000)"),
        (12000, "[10000, 50000)"),
        (2_345_678, "[1000000, 5000000)"),
        (999_999_999, "[500000000, 1000000000)"),
        (Decimal("999999999.99"), "[500000000, 1000000000)"),
        (1_000_000_000, ">= 1000000000"),
        (1e15, ">= 1000000000"),
        (float("inf"), ">= 1000000000"),
        (-1, "< 0"),
        (-0.01, "< 0"),
        (float("-inf"), "< 0"),
        (Decimal("12000.50"), "[10000, 50000)"),
        ("3500", "[1000, 5000)"),
        (" 1,234.5 ", "[1000, 5000)"),
        ("¥3500", "[1000, 5000)"),
        ("3500元", "[1000, 5000)"),
        ("1e4", "[10000, 50000)"),
        (float("nan"), "***"),
        ("NaN", "***"),
        ("abc", "***"),
        ("", "***"),
        (True, "***"),
        ([3500], "***"),
    ],
)
def test_amount_range(value: object, expected: str) -> None:
    result = mask("amountRange", value)
    assert isinstance(result, str)
    assert result == expected


_DATES: list[object] = [
    date(1990, 3, 7),
    datetime(1990, 3, 7, 23, 59),
    "1990-03-07",
    "1990/03/07",
    "1990/3/7",
    "19900307",
    "1990-03-07T08:00:00+08:00",
    " 1990-03-07 08:00:00 ",
    19900307,
]


@pytest.mark.parametrize("value", _DATES)
def test_year(value: object) -> None:
    _check("year", value, "1990")


@pytest.mark.parametrize("value", _DATES)
def test_year_month(value: object) -> None:
    _check("yearMonth", value, "1990-03")


def test_year_pads_to_four_digits() -> None:
    _check("year", date(5, 1, 1), "0005")
    _check("yearMonth", date(5, 1, 1), "0005-01")


@pytest.mark.parametrize("rule", ["year", "yearMonth"])
@pytest.mark.parametrize(
    "value", ["2023-02-30", "1990-3/7", "199003071", "1990-03-07x", "1990", "abc", ""]
)
def test_dates_reject_non_dates(rule: str, value: str) -> None:
    _check(rule, value, "***")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A12345678", "A1*****78"),
        ("京交运管许可字110105001234号", "京交****************4号"),
        ("ABCDE", "AB*DE"),
        ("ABCD", "****"),
        ("AB", "**"),
        (" A12345678 ", "A1*****78"),
    ],
)
def test_license_number(value: str, expected: str) -> None:
    _check("licenseNumber", value, expected)


@pytest.mark.parametrize("value", ["13812345678", 42, 3.5, "", object(), [1, 2]])
def test_suppress(value: object) -> None:
    assert mask("suppress", value) is None


@pytest.mark.parametrize(
    "value", ["患者自述头痛三天", "", 12345, {"a": 1}, date(1990, 3, 7)]
)
def test_redact(value: object) -> None:
    _check("redact", value, "***")


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # Unexpected shapes keep only the length, as stars.
        ("idNumber", "12345", "*****"),
        ("idNumber", "1101011990030712", "****************"),
        ("idNumber", "11010119900307123Y", "******************"),
        ("mobile", "1381234567", "**********"),
        ("mobile", "+1 415 555 0100", "***************"),
        ("fixedPhone", "010-62345678-801", "****************"),
        ("fixedPhone", "13812345678", "***********"),
        ("bankCard", "622202123456", "************"),
        ("creditCode", "91110105MA01ABCD2", "*****************"),
        ("creditCode", "91110105-MA01ABCD2X", "*******************"),
        # Unparsable e-mail addresses become the fixed marker.
        ("email", "zhangsan", "***"),
        ("email", "@example.com", "***"),
        ("email", "zhangsan@", "***"),
        ("email", "zhang@exa mple.com", "***"),
        # Wrong types never pass through.
        ("mobile", 13.8, "***"),
        ("name", ["张三"], "***"),
        ("idNumber", True, "***"),
        ("address", b"\xe5\x8c\x97", "***"),
    ],
)
def test_fails_closed(rule: str, value: object, expected: str) -> None:
    _check(rule, value, expected)
