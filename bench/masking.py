"""Throughput of every mask rule's compiled masker, against an identity function.

Run from the repository root::

    .venv/bin/python -m bench.masking                 # 200,000 values, median of 5 repeats
    .venv/bin/python -m bench.masking --values 20000  # quicker, noisier

For each rule (and the non-default cipher/hash of the keyed rules) it
generates realistic inputs once, then times the same loop over them with the
masker and with ``lambda value: value``, interleaved, ``--repeats`` times.
Reported: values per second (median), the spread of the repeats (max - min,
relative to the median), and the ratio of the masker's time to the identity's
- the number that survives a noisy machine.  The aim is 500,000 values/s for
the partial masks, which sit on the hot path of every masked list.

Writes ``bench/results/masking.json`` and ``bench/results/masking.md`` (or
into ``--out``) and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from stdnum.cn import ric

from bench.figures import RESULTS, Figure, machine
from masking import KeyRing, MaskScope, compile_rule, parse_rule, rule_names
from masking.divisions import division_table

PARTIAL_MASKS = frozenset(
    {"idNumber", "mobile", "bankCard", "creditCode", "licenseNumber", "licensePlate", "fixedPhone", "name", "email", "partial"}
)
PARTIAL_AIM = 500_000

Generator = Callable[[random.Random], object]

_HAN = (
    "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_ADDRESSES = [
    "北京市朝阳区建国路88号",
    "广东省深圳市南山区科技园科苑路15号",
    "江苏省苏州市昆山市前进西路1号",
    "浙江省义乌市稠城街道",
    "上海市浦东新区世纪大道100号",
    "内蒙古自治区锡林郭勒盟东乌珠穆沁旗乌里雅斯太镇",
    "江苏省南京市鼓楼区中山路1号",
    "北京市阳光小区3号楼",
]
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices(string.digits, k=count))


def _id_number(rng: random.Random) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(29_000))
    body = f"110105{birth:%Y%m%d}{_digits(rng, 3)}"
    return body + ric.calc_check_digit(body + "0")


def _birth_date(rng: random.Random) -> str:
    return (date(1940, 1, 1) + timedelta(days=rng.randrange(29_000))).isoformat()


_CODES = sorted(division_table().codes)

INPUTS: dict[str, Generator] = {
    "idNumber": _id_number,
    "mobile": lambda rng: "1" + rng.choice("3456789") + _digits(rng, 9),
    "name": lambda rng: "".join(rng.choices(_HAN, k=rng.choice((2, 3, 3, 4)))),
    "fixedPhone": lambda rng: rng.choice(("010-", "021-", "0755-")) + rng.choice("2345678") + _digits(rng, 7),
    "bankCard": lambda rng: "62" + _digits(rng, rng.choice((14, 17))),
    "email": lambda rng: "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 12))) + "@example.com",
    "creditCode": lambda rng: "9111" + _digits(rng, 4) + "".join(rng.choices(_SERIAL, k=10)),
    "licenseNumber": lambda rng: "".join(rng.choices(_SERIAL, k=rng.randint(8, 20))),
    "licensePlate": lambda rng: rng.choice(_PROVINCES) + rng.choice("ABCDE") + "".join(rng.choices(_SERIAL, k=5)),
    "partial": lambda rng: "".join(rng.choices(_SERIAL + _HAN, k=rng.randint(4, 24))),
    "address": lambda rng: rng.choice(_ADDRESSES) + _digits(rng, 3) + "室",
    "divisionCode": lambda rng: rng.choice(_CODES),
    "amountRange": lambda rng: round(rng.lognormvariate(8, 2), 2),
    "year": _birth_date,
    "yearMonth": _birth_date,
    "ageBand": _birth_date,
    "grid": lambda rng: f"{rng.uniform(18, 53):.6f},{rng.uniform(73, 135):.6f}",
    "suppress": lambda rng: _digits(rng, 11),
    "redact": lambda rng: _digits(rng, 11),
    "pseudonym": lambda rng: "1" + rng.choice("3456789") + _digits(rng, 9),
    "reversible": lambda rng: "1" + rng.choice("3456789") + _digits(rng, 9),
}
"""How to make one realistic input for each rule (keyed by rule name)."""

EXTRA_SPECS = ["pseudonym(hash=sm3)", "reversible(cipher=sm4-gcm)"]


@dataclass(frozen=True)
class Row:
    rule: str
    values_per_second: float
    spread: float  # (max - min) / median of the repeats' times
    ratio_to_identity: float  # masker time / identity time
    identity_values_per_second: float
    aim: int | None

    @property
    def meets_aim(self) -> bool | None:
        return None if self.aim is None else self.values_per_second >= self.aim


def _loop(function: Callable[[object], object], values: Sequence[object]) -> float:
    start = time.perf_counter()
    for value in values:
        function(value)
    return time.perf_counter() - start


def _identity(value: object) -> object:
    return value


def measure(spec: str, values: Sequence[object], repeats: int) -> Row:
    """Time the compiled masker of ``spec`` and the identity over ``values``, interleaved."""
    keys = KeyRing(bytes(range(32)))
    masker = compile_rule(spec, MaskScope("bench-app", "Person.field"), keys)
    masker(values[0])  # warm caches
    masked, identity = [], []
    for _ in range(repeats):
        identity.append(_loop(_identity, values))
        masked.append(_loop(masker, values))
    median, identity_median = statistics.median(masked), statistics.median(identity)
    name = parse_rule(spec).name
    return Row(
        rule=spec,
        values_per_second=len(values) / median,
        spread=(max(masked) - min(masked)) / median,
        ratio_to_identity=median / identity_median,
        identity_values_per_second=len(values) / identity_median,
        aim=PARTIAL_AIM if name in PARTIAL_MASKS else None,
    )


def run(count: int = 200_000, repeats: int = 5, seed: int = 2024) -> list[Row]:
    """Benchmark every rule; raises if a rule has no input generator (so none is forgotten)."""
    missing = set(rule_names()) - set(INPUTS)
    if missing:
        raise SystemExit(f"bench.masking has no inputs for {sorted(missing)}; add them to INPUTS")
    rows = []
    for spec in [*rule_names(), *EXTRA_SPECS]:
        rng = random.Random(f"{seed}:{spec}")
        generate = INPUTS[parse_rule(spec).name]
        values = [generate(rng) for _ in range(count)]
        rows.append(measure(spec, values, repeats))
    return rows


def markdown(rows: Sequence[Row], count: int, repeats: int) -> str:
    lines = [
        f"{count:,} values per rule, median of {repeats} repeats; ratio = masker time / identity time.",
        "",
        "| Rule | values/s | spread | × identity | aim |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        aim = "—" if row.aim is None else f"≥ {row.aim:,}/s {'✓' if row.meets_aim else '✗'}"
        lines.append(
            f"| `{row.rule}` | {row.values_per_second:,.0f} | ±{row.spread:.0%} | {row.ratio_to_identity:,.1f} | {aim} |"
        )
    identity = statistics.median(row.identity_values_per_second for row in rows)
    lines += ["", f"Identity function (median over all runs): {identity:,.0f} values/s."]
    return "\n".join(lines) + "\n"


def partial_figure(rows: Sequence[Row]) -> Figure:
    """The slowest partial mask against the aim: every partial mask sits on the hot path of a masked list."""
    partial = [row for row in rows if row.aim is not None]
    slowest = min(partial, key=lambda row: row.values_per_second)
    return Figure("6. Masking", f"slowest of {len(partial)} partial masks (`{slowest.rule}`)",
                  f"{slowest.values_per_second:,.0f} values/s", f"≥ {PARTIAL_AIM:,}/s",
                  all(row.meets_aim for row in partial),
                  f"±{slowest.spread:.0%}; {slowest.ratio_to_identity:,.1f}× an identity function")


def write(rows: Sequence[Row], count: int, repeats: int, out: Path) -> str:
    """Write the JSON and Markdown results into ``out``; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, count, repeats)
    document = {
        "benchmark": "masking",
        "values": count,
        "repeats": repeats,
        "machine": machine(),
        "aim_values_per_second_for_partial_masks": PARTIAL_AIM,
        "results": [{**asdict(row), "meets_aim": row.meets_aim} for row in rows],
        "figures": [partial_figure(rows).as_json()],
    }
    (out / "masking.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "masking.md").write_text("# Masking throughput\n\n" + table, encoding="utf-8")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.masking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=200_000, help="inputs per rule (default 200000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median counts (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for masking.json and masking.md")
    parser.add_argument("--quick", action="store_true", help="20,000 values per rule, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.values, args.repeats = 20_000, 3
    rows = run(args.values, args.repeats)
    print(write(rows, args.values, args.repeats, args.out), end="")
    missed = [row.rule for row in rows if row.meets_aim is False]
    if missed:
        print(f"\nbelow the aim: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
