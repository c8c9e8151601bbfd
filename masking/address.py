"""``address``: postal / residential address in mainland China.

Keeps the administrative prefix down to and including the district/county
level and replaces everything after it by a fixed ``****``, so neither the
street address nor its length leaks::

    北京市朝阳区建国路88号3单元502        -> 北京市朝阳区****
    广东省深圳市南山区科技园科苑路15号    -> 广东省深圳市南山区****
    江苏省苏州市昆山市前进西路1号         -> 江苏省苏州市昆山市****
    浙江省义乌市稠城街道                  -> 浙江省义乌市****

The prefix is found in two ways:

1. **By the division table** (:mod:`masking.divisions`, python-stdnum's table of
   every county-level division name since 1980): an optional ``中国``, then an
   optional province, an optional prefecture inside it and a county inside
   whichever came last, each a real name of a unit inside the one before.  So
   江苏省南京市鼓楼区 is recognised although 鼓楼 contains a "street" word, and
   北京市朝阳公园南区 keeps only 北京市, because 朝阳公园南区 is no district of
   Beijing.  When the table recognises a province or prefecture but no county
   after it, only that province or prefecture is kept.
2. **By suffix rules**, only when the table recognises nothing at the start
   (unusual spellings, units newer than the table), as up to three contiguous
   tokens:

   a. an optional province-level unit (``…省``, ``…自治区``, ``…特别行政区``
      or one of the municipalities 北京市/天津市/上海市/重庆市), optionally
      preceded by ``中国``;
   b. an optional prefecture-level unit (``…市``, ``…地区``, ``…盟``,
      ``…自治州``);
   c. the district/county-level unit (``…区``, ``…县``, ``…旗``, a
      county-level ``…市``, ``…自治县``, ``…自治旗``) - this one is required.

   Token names are short runs of Han characters (at most 6 before ``市``,
   ``地区``, ``盟``, ``区`` or ``县``; 8 before ``旗``; 10 before ``自治州``;
   12 before ``自治县``/``自治旗``) that contain no street words
   (路, 街, 巷, 弄, 号, 栋, 幢, 楼, 室) and never end in 小区, 社区, 校区, 园区,
   景区, 厂区, 片区 or 街区, so that e.g. the 区 of a housing estate is not
   mistaken for a district and the estate name leaked.

If neither finds a district/county, only the first 3 characters are kept
(``某地某街道`` -> ``某地某****``); values of 3 characters or fewer become
just ``****``.  Failing to parse therefore always keeps *less*, never more.
The rule takes no parameters.
"""
from __future__ import annotations

import re

from masking._base import TextCore
from masking.divisions import division_table
from masking.strategy import Strategy

TAIL = "****"
"""Fixed replacement for the detailed part of an address."""

_FALLBACK_KEEP = 3

# One Han character that may appear inside an administrative unit's name.
_HAN = r"(?:(?![路街巷弄号栋幢楼室省])[\u4e00-\u9fff])"
# Prefecture names additionally never contain level suffix characters.
_PREFECTURE_HAN = r"(?:(?![区县旗市])" + _HAN + ")"

_PROVINCE = (
    r"(?:中华人民共和国|中国)?"
    r"(?:北京市|天津市|上海市|重庆市"
    r"|内蒙古自治区|广西壮族自治区|西藏自治区|宁夏回族自治区|新疆维吾尔自治区"
    r"|香港特别行政区|澳门特别行政区"
    r"|" + _HAN + r"{2,3}省)?"
)
_PREFECTURE = (
    r"(?:"
    + _PREFECTURE_HAN
    + r"{1,10}?自治州|"
    + _PREFECTURE_HAN
    + r"{1,6}?(?:地区|盟|市))?"
)
_COUNTY = (
    r"(?:"
    + _HAN
    + r"{1,12}?自治[县旗]|"
    + _HAN
    + r"{1,8}?旗|"
    + _HAN
    + r"{1,6}?[区县市])"
)

_PREFIX = re.compile(_PROVINCE + _PREFECTURE + _COUNTY)
_NOT_A_DISTRICT = ("小区", "社区", "校区", "园区", "景区", "厂区", "片区", "街区")


def _suffix_prefix(address: str) -> str | None:
    """Return the address prefix down to the district/county by suffix rules, if any."""
    found = _PREFIX.match(address)
    if found is None or found.group().endswith(_NOT_A_DISTRICT):
        return None
    return found.group()


def build() -> TextCore:
    """Mask addresses, keeping them down to the district/county level."""
    table = division_table()

    def mask_address(text: str) -> str:
        address = "".join(text.split())
        end, level = table.parse_prefix(address)
        if level:
            return address[:end] + TAIL
        prefix = _suffix_prefix(address)
        if prefix is None:
            prefix = address[:_FALLBACK_KEEP] if len(address) > _FALLBACK_KEEP else ""
        return prefix + TAIL

    return mask_address


STRATEGY = Strategy(
    name="address",
    description="Keeps an address down to its district or county and replaces the rest "
    "with a fixed ****, e.g. 北京市朝阳区建国路88号3单元502 -> 北京市朝阳区****.",
    build=build,
)
