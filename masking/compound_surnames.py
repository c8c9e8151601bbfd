"""Chinese compound (two-character) surnames, used by the ``name`` rule.

The list covers the compound surnames of the *Hundred Family Surnames*
(百家姓) plus a few others still in use, in simplified and traditional
script.  It is data, not logic: the ``name`` rule keeps exactly the surname,
so a compound surname missing from this list would merely cause one character
too few to be kept (fail closed), never one too many.
"""

from __future__ import annotations

_SIMPLIFIED = """
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐
钟离 端木 独孤 南宫 西门 百里 呼延 申屠 太史 闻人 万俟 澹台 公冶 濮阳 赫连
第五 拓跋 司空 淳于 单于 太叔 仲孙 宗政 公羊 公良 乐正 壤驷 公西 漆雕 巫马
谷梁 宰父 颛孙 子车 亓官 司寇 梁丘 左丘 东郭 微生 羊舌 段干 夹谷 归海 东门
公户 公玉 公仪 公仲 公上 公门 公山 公坚 左人 北宫 闾丘 鲜于 呼衍 即墨 成公
"""

_TRADITIONAL = """
歐陽 司馬 諸葛 東方 尉遲 公孫 長孫 軒轅 鍾離 獨孤 南宮 西門 聞人 澹臺 濮陽
赫連 仲孫 樂正 壤駟 巫馬 穀梁 顓孫 子車 東郭 夾谷 歸海 東門 北宮 閭丘 鮮于
單于
"""

COMPOUND_SURNAMES: frozenset[str] = frozenset((_SIMPLIFIED + _TRADITIONAL).split())
"""All known compound surnames; every entry is exactly two characters."""
