"""The policy as Casbin lines, derived from the catalog and the grants (policies are data).

`PolicySet` is an immutable snapshot: the model text, every line indexed by subject, the
grants, and a version that names the snapshot. A reload builds a new snapshot and swaps one
reference, so no request ever sees a half-applied version.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from policies.grants import Grant, GrantStatus
from policies.mask_rules import MaskOverride, MaskRuleBook
from schema.catalog import Catalog, ShareClass

MODEL_PATH = Path(__file__).with_name("model.conf")
ALWAYS_FROM, ALWAYS_UNTIL = "0000-01-01", "9999-12-31"
ANY = "*"

PolicyLine = tuple[str, str, str, str, str, str, str, str]  # sub, obj, act, pur, acc, from, until, ref
GroupLine = tuple[str, str]


@dataclass(frozen=True)
class AdminLines:
    """Policy administrators' own lines (policies/versions.py), beside the generated ones."""

    policies: tuple[PolicyLine, ...] = ()
    groups: tuple[GroupLine, ...] = ()


def app_subject(application_id: str) -> str:
    return f"app:{application_id}"


def department_subject(department_code: str) -> str:
    return f"dept:{department_code}"


def catalog_lines(catalog: Catalog) -> list[PolicyLine]:
    """What the catalog allows every department: UNCONDITIONAL fields, and masked previews."""
    lines: list[PolicyLine] = []
    for ref in catalog.field_refs():
        f = ref.field
        if f.share_class is ShareClass.UNCONDITIONAL:
            access, modes = ("MASKED" if f.mask_required else "RAW"), [m.value for m in ref.resource.share_modes]
        elif f.share_class is ShareClass.CONDITIONAL and f.without_grant == "MASKED":
            # A preview is for reading only: checking a conditional field needs a CHECK grant,
            # or the check would reveal what the mask hides.
            access, modes = "MASKED", ["QUERY"]
        else:
            continue
        for mode in modes:
            lines.append((ANY, ref.coordinate, mode, ANY, access, ALWAYS_FROM, ALWAYS_UNTIL, "catalog"))
    return lines


def conditional_coordinates(catalog: Catalog, resource_code: str) -> frozenset[str]:
    resource = catalog.resources.get(resource_code)
    if resource is None:
        return frozenset()
    return frozenset(
        resource.coordinate(f) for f in resource.fields if f.share_class is ShareClass.CONDITIONAL
    )


def grant_lines(catalog: Catalog, grant: Grant) -> list[PolicyLine]:
    """A stored-ACTIVE grant's lines; its validity period is matched by the model, so an
    expired grant stops serving on its own. SUSPENDED and REVOKED grants give no line."""
    if grant.status is not GrantStatus.ACTIVE:
        return []
    coordinates = grant.fields or tuple(sorted(conditional_coordinates(catalog, grant.resource)))
    subject, purpose, ref = app_subject(grant.application), grant.purpose, f"grant:{grant.id}"
    valid_from, valid_until = grant.valid_from.isoformat(), grant.valid_until.isoformat()
    lines: list[PolicyLine] = []
    for coordinate in coordinates:
        found = catalog.by_coordinate.get(coordinate)
        # A grant never reaches a NOT_SHARED field, nor a field of another resource.
        if found is None or found.resource.code != grant.resource or found.field.share_class is ShareClass.NOT_SHARED:
            continue
        access = "MASKED" if grant.masks(coordinate) or found.field.mask_required else "RAW"
        lines.extend((subject, coordinate, mode, purpose, access, valid_from, valid_until, ref) for mode in grant.modes)
    return lines


@dataclass(frozen=True)
class PolicySet:
    """One version of the whole policy."""

    model_text: str
    catalog: Catalog
    lines_by_subject: dict[str, tuple[PolicyLine, ...]]
    groups: tuple[GroupLine, ...]
    grants_by_application: dict[str, tuple[Grant, ...]]
    version: str
    departments: dict[str, str] = field(default_factory=dict)  # application id → department code
    mask_rules: MaskRuleBook = field(default_factory=MaskRuleBook)
    grants_by_id: dict[str, Grant] = field(default_factory=dict)
    stored_version: int | None = None  # the platform store's policy version it was built from (None: shipped)

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        grants: Iterable[Grant],
        departments: dict[str, str],
        model_text: str | None = None,
        mask_overrides: Iterable[MaskOverride] = (),
        admin_lines: AdminLines = AdminLines(),
        stored_version: int | None = None,
    ) -> PolicySet:
        model_text = model_text if model_text is not None else MODEL_PATH.read_text(encoding="utf-8")
        grants = list(grants)
        book = MaskRuleBook(mask_overrides)
        derived = _DERIVED.derive(catalog, grants)
        lines = catalog_lines(catalog)
        for each in derived:
            lines.extend(each.lines)
        lines.extend(admin_lines.policies)
        groups = tuple(sorted({*((app_subject(a), department_subject(d)) for a, d in departments.items()),
                               *admin_lines.groups}))
        by_subject: dict[str, list[PolicyLine]] = defaultdict(list)
        for line in lines:
            by_subject[line[0]].append(line)
        by_application: dict[str, list[Grant]] = defaultdict(list)
        for grant in grants:
            by_application[grant.application].append(grant)
        return cls(
            model_text=model_text,
            catalog=catalog,
            lines_by_subject={s: tuple(ls) for s, ls in by_subject.items()},
            groups=groups,
            grants_by_application={a: tuple(gs) for a, gs in by_application.items()},
            version=_version(model_text, sorted(lines), groups, derived, book.overrides),
            departments=dict(departments),
            mask_rules=book,
            grants_by_id={g.id: g for g in grants},
            stored_version=stored_version,
        )

    def lines_for(self, application_id: str) -> list[PolicyLine]:
        """The lines that can apply to one application: for everyone, for it, for its groups
        (its department, and any group an administrator's `g` line puts it in)."""
        subject = app_subject(application_id)
        subjects = [ANY, subject, *sorted({group for _, group in self.groups_of(application_id)})]
        return [line for s in subjects for line in self.lines_by_subject.get(s, ())]

    def groups_of(self, application_id: str) -> tuple[GroupLine, ...]:
        """The `g` lines naming one application as the member."""
        return self._groups_by_member.get(app_subject(application_id), ())

    @cached_property
    def _groups_by_member(self) -> dict[str, tuple[GroupLine, ...]]:
        by_member: dict[str, list[GroupLine]] = defaultdict(list)
        for line in self.groups:
            by_member[line[0]].append(line)
        return {member: tuple(lines) for member, lines in by_member.items()}


@dataclass(frozen=True)
class _Derived:
    """What a policy takes from one grant: its lines, and its text in the version's hash."""

    grant: Grant
    catalog: Catalog
    lines: tuple[PolicyLine, ...]
    hashed: str

    def holds(self, grant: Grant, catalog: Catalog) -> bool:
        """Derived from an equal grant (its mask rules in the same order too, as its text shows
        them) on the same catalog."""
        return (catalog is self.catalog and grant == self.grant
                and list(grant.mask_rules.items()) == list(self.grant.mask_rules.items()))


class _LastGrants:
    """What the last policy built derived from its grants. Every reload builds the policy from all
    the grants while a change touches one or two, so the next build reuses the rest: at 10,000
    grant lines, deriving them again was a third of a reload."""

    def __init__(self) -> None:
        self._by_id: dict[str, _Derived] = {}

    def derive(self, catalog: Catalog, grants: Iterable[Grant]) -> list[_Derived]:
        last, derived = self._by_id, []
        for grant in grants:
            known = last.get(grant.id)
            if known is None or not known.holds(grant, catalog):
                known = _Derived(grant, catalog, tuple(grant_lines(catalog, grant)), repr(grant) + "\n")
            derived.append(known)
        self._by_id = {d.grant.id: d for d in derived}  # replaced, never changed: builds in other threads are safe
        return derived


_DERIVED = _LastGrants()


def _version(model_text: str, lines: Sequence[PolicyLine], groups: Sequence[GroupLine], grants: Sequence[_Derived],
             overrides: Sequence[MaskOverride]) -> str:
    """A content hash: the same policy has the same version on every worker. Grants count in
    full (a suspension changes the reasons given even when it changes no line), and so do the
    mask rules (a new rule changes what leaves)."""
    parts = [model_text]  # hashed as one text: the digest of the whole, built in one pass
    parts += [g.hashed for g in sorted(grants, key=lambda g: g.grant.id)]
    parts += [repr(override) + "\n" for override in overrides]
    parts += ["\x1f".join(line) + "\n" for line in lines]
    parts += ["\x1f".join(group) + "\n" for group in groups]
    digest = hashlib.sha256("".join(parts).encode())
    return digest.hexdigest()[:16]
