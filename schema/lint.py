"""Catalog lint: fields that look personal but are labelled as if they were not.

Providers label each field's sensitivity and mask rule by hand, and a label that was forgotten
shares personal information unmasked. The lint is a second pair of eyes (docs/catalog-lint.md):

* `lint_names` reads the catalog only. A field whose GraphQL name, column or Chinese title
  matches a row of `NAME_RULES` (ID number, mobile, bank card, person's name, ...) while it is
  labelled NONE or names no mask rule is reported with the row's suggestion. `PUBLIC_ITEMS`
  lists the few items the law publishes anyway (an enterprise's 法定代表人, its 住所).
* `lint_samples` reads up to `limit` rows of every resource from its library, only the columns
  of fields labelled NONE, and scans them with `masking.free_text.find`. A field where any
  sample holds an ID number, a mobile number or a bank card number is reported with the kind and
  the count, the samples that are the identifier and nothing else ("bare") counted apart from
  those that hold it inside longer text; a value itself is never kept or printed. Credit codes
  are not reported: they name organisations and are published (GB 32100).

A finding is advice for a policy administrator: the lint never changes the catalog.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from libraries.tables import ROW_ID
from masking import free_text
from resolvers.datasource import LibrarySource, LibraryUnavailable
from schema.catalog import Catalog, DataType, Entity, Field, FieldRef, Resource, Sensitivity, ShareClass

__all__ = [
    "DEFAULT_SAMPLE_LIMIT",
    "NAME_RULES",
    "PUBLIC_ITEMS",
    "VALUE_KINDS",
    "Finding",
    "NameRule",
    "PublicItem",
    "lint",
    "lint_cross_field",
    "lint_names",
    "lint_samples",
]

DEFAULT_SAMPLE_LIMIT = 200


@dataclass(frozen=True)
class Finding:
    """One field that looks more sensitive than its label; `detail` never holds a value."""

    coordinate: str  # Person.remark
    resource: str  # its resource code
    evidence: str  # "name" or "values"
    detail: str  # what looked sensitive, and the label it has
    sensitivity: Sensitivity  # suggested
    mask_rule: str  # suggested

    def __str__(self) -> str:
        return (
            f"{self.coordinate} [{self.resource}] {self.evidence}: {self.detail}; "
            f"suggest sensitivity {self.sensitivity.value}, mask {self.mask_rule}"
        )


@dataclass(frozen=True)
class NameRule:
    """Names and titles that mean one kind of personal information, and how to label it."""

    what: str  # "a mobile or phone number", as the finding says it
    names: re.Pattern[str]  # searched in the words of the GraphQL name and the column: "contact phone"
    titles: re.Pattern[str]  # searched in the Chinese title
    sensitivity: Sensitivity
    mask_rule: str


def _rule(what: str, names: str, titles: str, sensitivity: Sensitivity, mask_rule: str) -> NameRule:
    return NameRule(what, re.compile(names), re.compile(titles), sensitivity, mask_rule)


PERSONAL, SENSITIVE = Sensitivity.PERSONAL, Sensitivity.SENSITIVE_PERSONAL

# The first matching row wins, so the more specific rows come first ("contact phone" is a phone
# number, not a person's name). Sensitivities follow GB/T 35273 annex B: identity card and
# financial account numbers are 个人敏感信息.
NAME_RULES: tuple[NameRule, ...] = (
    _rule("an ID number", r"\bid ?(number|no|card)\b|\bsfzh?\b|\b(identity|citizen|resident) (number|card|id)\b",
          r"身份证|公民身份号码", SENSITIVE, "idNumber"),
    _rule("a bank card number", r"\bbank ?(card|account)|\b(card|account) (number|no)\b|\baccount$",
          r"银行卡|银行账|账号|金融账户|卡号", SENSITIVE, "bankCard"),
    _rule("a landline number", r"\b(home|fixed|office|work) ?(phone|tel)\b|\blandline\b",
          r"固定电话|座机|办公电话", PERSONAL, "fixedPhone"),
    _rule("a mobile or phone number", r"\b(mobile|cellphone|phone|telephone|tel)\b",
          r"手机|电话|联系方式", PERSONAL, "mobile"),
    _rule("an e-mail address", r"\be ?mail\b", r"邮箱|电子邮件", PERSONAL, "email"),
    _rule("a birth date", r"\bbirth ?(day|date)\b|\bdate of birth\b|\bdob\b",
          r"出生日期|出生年月|生日", PERSONAL, "year"),
    _rule("an address", r"\baddr(ess)?\b|\bresidence\b|\bdomicile\b",
          r"住址|地址|住所|居住地", PERSONAL, "address"),
    _rule("a person's name",
          r"\b(holder|contact|applicant|owner|person|real|full|guardian|spouse|patient) name\b"
          r"|\blegal representative\b|^contact( person)?$",
          r"姓名|法定代表人|联系人|负责人", PERSONAL, "name"),
)


@dataclass(frozen=True)
class PublicItem:
    """A name-rule match that is not a finding: information the law makes public anyway."""

    entity: Entity
    what: str  # the NameRule.what it excuses
    names: re.Pattern[str]  # on the words of the GraphQL name
    reason: str


# 《企业信息公示暂行条例》第六条: the registration authority publishes an enterprise's registration
# items through the 国家企业信用信息公示系统, among them its 住所 and its 法定代表人.
PUBLIC_ITEMS: tuple[PublicItem, ...] = (
    PublicItem(Entity.ENTERPRISE, "a person's name", re.compile(r"^legal representative( name)?$"),
               "法定代表人姓名 is a published registration item (企业信息公示暂行条例 第六条)"),
    PublicItem(Entity.ENTERPRISE, "an address", re.compile(r"^(registered )?address$|^domicile$"),
               "an enterprise's 住所 is a published registration item (企业信息公示暂行条例 第六条)"),
)

# What a value scan reports (`free_text.PERSONAL_KINDS`), and the label each kind calls for.
VALUE_KINDS: dict[free_text.Kind, tuple[str, Sensitivity]] = {
    free_text.Kind.ID_NUMBER: ("ID numbers", SENSITIVE),
    free_text.Kind.BANK_CARD: ("bank card numbers", SENSITIVE),
    free_text.Kind.MOBILE: ("mobile numbers", PERSONAL),
}
# A value that is the identifier and nothing else takes the kind's rule; an identifier inside
# longer text (a remark) has no rule of its own that keeps the text readable.
FREE_TEXT_MASK = "redact"
_SCANNED_TYPES = (DataType.STRING, DataType.INTEGER)  # integers: numbers stored numerically
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def lint_names(catalog: Catalog) -> list[Finding]:
    """Findings from names, columns and titles alone, in catalog order."""
    findings = []
    for ref in catalog.field_refs():
        match = _match_name(ref.resource, ref.field) if _unlabelled(ref.field) else None
        if match is not None:
            rule, evidence = match
            detail = f"{evidence} looks like {rule.what}, {_label(ref.field)}"
            findings.append(Finding(ref.coordinate, ref.resource.code, "name", detail, rule.sensitivity, rule.mask_rule))
    return findings


def lint_cross_field(catalog: Catalog) -> list[Finding]:
    """Masks that another field of the same entity undoes: the `idNumber` mask hides exactly the
    birth date (digits 7-14), so a birth date served raw to every department rebuilds a masked ID
    number, and an ID number served raw makes a masked birth date pointless."""
    findings = []
    by_type: dict[str, list[FieldRef]] = {}
    for ref in catalog.field_refs():
        by_type.setdefault(ref.resource.type_name, []).append(ref)
    for refs in by_type.values():
        ids = [r for r in refs if (r.field.mask_rule or "").split("(")[0] == "idNumber"]
        births = [r for r in refs if _is_birth_date(r.field)]
        for id_ref in ids:
            for birth in births:
                if _masked_somewhere(id_ref.field) and _raw_for_all(birth.field):
                    detail = (f"served raw to every department, it rebuilds the digits the masked {id_ref.coordinate} "
                              "hides; share it CONDITIONAL with a year preview")
                    findings.append(Finding(birth.coordinate, birth.resource.code, "cross-field", detail,
                                            Sensitivity.PERSONAL, "year"))
                if _masked_somewhere(birth.field) and _raw_for_all(id_ref.field):
                    detail = f"its mask hides nothing: {id_ref.coordinate} is served raw to every department"
                    findings.append(Finding(birth.coordinate, birth.resource.code, "cross-field", detail,
                                            Sensitivity.PERSONAL, "year"))
    return findings


def _is_birth_date(f: Field) -> bool:
    return f.data_type is DataType.DATE and ("birth" in f.name.lower() or "出生" in f.title)


def _masked_somewhere(f: Field) -> bool:
    return f.share_class is not ShareClass.NOT_SHARED and (f.mask_required or f.without_grant == "MASKED")


def _raw_for_all(f: Field) -> bool:
    return f.share_class is ShareClass.UNCONDITIONAL and not f.mask_required


async def lint_samples(
    catalog: Catalog, sources: Mapping[str, LibrarySource], limit: int = DEFAULT_SAMPLE_LIMIT
) -> list[Finding]:
    """Findings from up to `limit` rows per resource (the first by row id), read from `sources`
    by library code. Raises `LibraryUnavailable` when a library cannot be read."""
    findings = []
    for resource in catalog.resources.values():
        fields = [f for f in resource.fields if f.sensitivity is Sensitivity.NONE and f.data_type in _SCANNED_TYPES]
        if not fields:
            continue
        columns = list(dict.fromkeys(f.column for f in fields))
        rows = await _sample(sources[resource.library], resource, columns, limit)
        scans = {column: _scan(row[column] for row in rows) for column in columns}
        for f in fields:
            findings.extend(_value_findings(resource, f, scans[f.column]))
    return findings


async def lint(
    catalog: Catalog, sources: Mapping[str, LibrarySource] | None, limit: int = DEFAULT_SAMPLE_LIMIT
) -> list[Finding]:
    """Both checks (names only when `sources` is None), each field's findings together."""
    findings = lint_names(catalog) + lint_cross_field(catalog)
    if sources is not None:
        findings += await lint_samples(catalog, sources, limit)
    order = {ref.coordinate: i for i, ref in enumerate(catalog.field_refs())}
    return sorted(findings, key=lambda f: order[f.coordinate])  # stable: a field's name finding first


# Names ----------------------------------------------------------------------------------------


def _unlabelled(f: Field) -> bool:
    return f.sensitivity is Sensitivity.NONE or not f.mask_rule


def _label(f: Field) -> str:
    if f.sensitivity is Sensitivity.NONE:
        return "labelled NONE"
    return f"labelled {f.sensitivity.value} without a mask rule"


def _words(identifier: str) -> str:
    """`legalRepresentativeIdNumber` and `legal_representative_id_number` -> "legal representative id number"."""
    return " ".join(word.lower() for word in _WORD.findall(identifier))


def _match_name(resource: Resource, f: Field) -> tuple[NameRule, str] | None:
    name, column = _words(f.name), _words(f.column)
    for rule in NAME_RULES:
        if rule.names.search(name):
            evidence = f"name {f.name!r}"
        elif rule.names.search(column):
            evidence = f"column {f.column!r}"
        elif rule.titles.search(f.title):
            evidence = f"title {f.title!r}"
        else:
            continue
        if any(p.entity is resource.entity and p.what == rule.what and p.names.search(name) for p in PUBLIC_ITEMS):
            return None
        return rule, evidence
    return None


# Values ---------------------------------------------------------------------------------------


@dataclass
class _Scan:
    """What one column's samples hold; counts and kinds only, never a value."""

    samples: int = 0  # non-empty values read
    bare: Counter[free_text.Kind] = field(default_factory=Counter)  # samples that are one identifier of a kind
    embedded: Counter[free_text.Kind] = field(default_factory=Counter)  # samples holding a kind inside longer text


# What may stand beside an identifier in a value that is that identifier and nothing else: blanks,
# and before a mobile number its country or long-distance prefix ("+86 ", "(+86)", "0086-", "0").
_BARE_BEFORE = re.compile(r"\s*(?:\(?(?:\+|00)?86\)?[\s-]?|0)?")


async def _sample(source: LibrarySource, resource: Resource, columns: list[str], limit: int) -> list[dict[str, object]]:
    # Not `LibrarySource.page`: that also reads the entity key, which the lint has no use for.
    table = source.tables[resource.code]
    query = select(*(table.c[c] for c in columns)).order_by(table.c[ROW_ID]).limit(limit)
    try:
        async with source.engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]
    except (SQLAlchemyError, OSError) as exc:
        raise LibraryUnavailable(source.code) from exc


def _scan(values: Iterable[object]) -> _Scan:
    scan = _Scan()
    for value in values:
        text = "" if value is None or isinstance(value, bool) else str(value)
        if not text.strip():
            continue
        scan.samples += 1
        found = free_text.find(text, free_text.PERSONAL_KINDS)
        if len(found) == 1 and _is_bare(text, found[0]):
            scan.bare[found[0].kind] += 1
        else:
            scan.embedded.update({f.kind for f in found})
    return scan


def _is_bare(text: str, found: free_text.Finding) -> bool:
    """Whether `text` is the identifier `found` and nothing else."""
    before = text[: found.start]
    if found.kind is not free_text.Kind.MOBILE:
        return not before.strip() and not text[found.end :].strip()
    return _BARE_BEFORE.fullmatch(before) is not None and not text[found.end :].strip()


def _value_findings(resource: Resource, f: Field, scan: _Scan) -> list[Finding]:
    """One finding per kind held. The suggested rule is the kind's own when every sample holding it
    is that identifier and nothing else, `redact` as soon as one holds it inside longer text."""
    findings = []
    for kind, (what, sensitivity) in VALUE_KINDS.items():
        bare, inside = scan.bare[kind], scan.embedded[kind]
        if not bare + inside:
            continue
        held = f"{bare + inside} of {scan.samples} samples hold {what}"
        if inside and bare:
            a_bare = f"a bare {what.removesuffix('s')}"
            held += f": {bare} {_hold(bare)} {a_bare}, {inside} {_hold(inside)} one inside longer text"
        elif inside:
            held += " inside longer text"
        mask_rule = FREE_TEXT_MASK if inside else kind.value
        detail = f"{held}, {_label(f)}"
        findings.append(Finding(resource.coordinate(f), resource.code, "values", detail, sensitivity, mask_rule))
    return findings


def _hold(count: int) -> str:
    return "holds" if count == 1 else "hold"
