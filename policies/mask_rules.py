"""Which rule a masked field is served with. Rules are data, versioned with the policy.

Resolution, most specific first (docs/masking.md, "Choosing the rule"), except that a field
the catalog itself requires masked (`mask_required`) always keeps the catalog's rule:

    1. the grant in force that serves the field masked, if it names a rule for it
    2. an administrator's rule for the field (Person.mobile), for the purpose, then for `*`
    3. an administrator's rule for the resource (1-01-001-001/000001), for the purpose, then `*`
    4. the catalog's mask rule for the field
    5. an administrator's rule for the field's sensitivity (PERSONAL), for the purpose, then `*`
    6. the built-in default for the sensitivity

The answer names its source (`grant:G-1`, `rule:3`, `catalog`, `default:PERSONAL`), which the
response and the audit record carry beside the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from masking import InvalidMaskRule, RuleSpec, parse_rule
from policies.grants import Grant
from schema.catalog import Catalog, FieldRef, Sensitivity, ShareClass
from schema.types import fits_rule

ANY_PURPOSE = "*"

BUILTIN_DEFAULTS: dict[Sensitivity, str] = {
    Sensitivity.NONE: "redact",
    Sensitivity.PERSONAL: "redact",
    Sensitivity.SENSITIVE_PERSONAL: "suppress",
    Sensitivity.COMMERCIAL_SECRET: "redact",
}


# The shortest form of each fixed-shape identifier, and how many of its characters an
# administrator's partial mask must still hide (the catalog's own rules hide more).
IDENTIFIER_LENGTH = {"idNumber": 18, "creditCode": 18, "mobile": 11, "bankCard": 15, "licensePlate": 7}
MIN_HIDDEN = 4


class MaskRuleError(ValueError):
    """An administrator's rule the platform refuses; the message says why."""


@dataclass(frozen=True)
class MaskOverride:
    """One administrator's rule: for `target` (coordinate, resource code or sensitivity) under
    `purpose` (or `*`), mask with `rule`."""

    id: int
    target: str
    purpose: str
    rule: str
    note: str = ""


@dataclass(frozen=True)
class ResolvedRule:
    rule: str
    source: str


class MaskRuleBook:
    """The overrides of one policy version, indexed for resolution. A resource's or a
    sensitivity's rule applies to the fields whose GraphQL type its output fits; the others
    fall through to the next candidate."""

    def __init__(self, overrides: Iterable[MaskOverride] = ()) -> None:
        self.overrides = tuple(sorted(overrides, key=lambda o: o.id))
        self._index = {(o.target, o.purpose): o for o in self.overrides}

    def resolve(self, ref: FieldRef, purpose: str, grant: Grant | None = None) -> ResolvedRule:
        if ref.field.mask_required and ref.field.mask_rule:
            # The provider's own desensitized derivative (002 第十八条): its rule is part of the
            # catalog entry and no override may loosen it.
            return ResolvedRule(ref.field.mask_rule, "catalog")
        if grant is not None and ref.coordinate in grant.mask_rules:
            return ResolvedRule(grant.mask_rules[ref.coordinate], f"grant:{grant.id}")
        for target in (ref.coordinate, ref.resource.code):
            found = self._find(ref, target, purpose)
            if found is not None:
                return found
        if ref.field.mask_rule:
            return ResolvedRule(ref.field.mask_rule, "catalog")
        sensitivity = ref.field.sensitivity
        return self._find(ref, sensitivity.value, purpose) or ResolvedRule(
            BUILTIN_DEFAULTS[sensitivity], f"default:{sensitivity.value}"
        )

    def _find(self, ref: FieldRef, target: str, purpose: str) -> ResolvedRule | None:
        for key in ((target, purpose), (target, ANY_PURPOSE)):
            override = self._index.get(key)
            if override is not None and fits_rule(ref.field, rule_name(override.rule)):
                return ResolvedRule(override.rule, f"rule:{override.id}")
        return None


def rule_name(rule: str) -> str:
    return rule.split("(", 1)[0].strip()


def check_rule(refs: Iterable[FieldRef], rule: str) -> str:
    """The canonical form of `rule`, if it fits at least one of the fields `refs`."""
    try:
        spec = parse_rule(rule)
    except InvalidMaskRule as exc:
        raise MaskRuleError(str(exc)) from None
    if spec.name in IDENTIFIER_LENGTH:
        length = IDENTIFIER_LENGTH[spec.name]
        hidden = length - _kept(spec)
        required = min(MIN_HIDDEN, length - _kept(parse_rule(spec.name)))  # never more than the default hides
        if hidden < required:
            raise MaskRuleError(f"`{spec}` hides {max(hidden, 0)} of the {length} characters of a {spec.name}; "
                                f"an administrator's rule must hide at least {required}")
    refs = list(refs)
    if not any(fits_rule(ref.field, spec.name) for ref in refs):
        where = refs[0].coordinate if len(refs) == 1 else f"none of its {len(refs)} fields"
        raise MaskRuleError(
            f"`{spec.name}` output does not fit {where}: a field served as a typed value "
            "(not String) takes only `suppress`, unless the catalog declares a mask rule or sensitivity for it"
        )
    return str(spec)


def check_override(catalog: Catalog, purposes: Iterable[str], target: str, purpose: str, rule: str) -> str:
    """Validate an administrator's rule before it is stored; returns the canonical rule."""
    if purpose != ANY_PURPOSE and purpose not in set(purposes):
        raise MaskRuleError(f"unknown purpose {purpose!r}; use a registered purpose code or `*`")
    return check_rule(target_fields(catalog, target), rule)


def _kept(spec: RuleSpec) -> int:
    arguments = spec.arguments()
    return int(arguments.get("head", 2)) + int(arguments.get("tail", 0))  # type: ignore[call-overload]  # a plate keeps 2


def target_fields(catalog: Catalog, target: str) -> list[FieldRef]:
    """The shared fields a target names: one coordinate, a resource's fields, or a sensitivity's."""
    if target in catalog.by_coordinate:
        ref = catalog.by_coordinate[target]
        if ref.field.share_class is ShareClass.NOT_SHARED:
            raise MaskRuleError(f"{target} is NOT_SHARED: it is never served, masked or not")
        if ref.field.mask_required:
            raise MaskRuleError(f"{target} is a desensitized derivative: the catalog's rule is part of its entry")
        return [ref]
    if target in catalog.resources:
        resource = catalog.resources[target]
        return [r for r in catalog.field_refs() if r.resource is resource and r.field.share_class is not ShareClass.NOT_SHARED]
    if target in Sensitivity.__members__:
        sensitivity = Sensitivity(target)
        return [r for r in catalog.field_refs()
                if r.field.sensitivity is sensitivity and r.field.share_class is not ShareClass.NOT_SHARED]
    raise MaskRuleError(
        f"unknown target {target!r}: name a field (Person.mobile), a resource code or a sensitivity "
        f"({', '.join(Sensitivity.__members__)})"
    )
