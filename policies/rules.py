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
    lines: list[PolicyLine] = []
    for coordinate in coordinates:
        ref = catalog.by_coordinate.get(coordinate)
        # A grant never reaches a NOT_SHARED field, nor a field of another resource.
        if ref is None or ref.resource.code != grant.resource or ref.field.share_class is ShareClass.NOT_SHARED:
            continue
        masked = grant.masks(coordinate) or ref.field.mask_required
        for mode in grant.modes:
            lines.append((
                app_subject(grant.application), coordinate, mode, grant.purpose,
                "MASKED" if masked else "RAW",
                grant.valid_from.isoformat(), grant.valid_until.isoformat(), f"grant:{grant.id}",
            ))
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
        lines = catalog_lines(catalog)
        for grant in grants:
            lines.extend(grant_lines(catalog, grant))
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
            version=_version(model_text, sorted(lines), groups, grants, book.overrides),
            departments=dict(departments),
            mask_rules=book,
            grants_by_id={g.id: g for g in grants},
            stored_version=stored_version,
        )

    def lines_for(self, application_id: str) -> list[PolicyLine]:
        """The lines that can apply to one application: for everyone, for it, for its groups
        (its department, and any group an administrator's `g` line puts it in)."""
        subject = app_subject(application_id)
        subjects = [ANY, subject, *sorted({group for member, group in self.groups if member == subject})]
        return [line for s in subjects for line in self.lines_by_subject.get(s, ())]


def _version(model_text: str, lines: Sequence[PolicyLine], groups: Sequence[GroupLine], grants: Sequence[Grant],
             overrides: Sequence[MaskOverride]) -> str:
    """A content hash: the same policy has the same version on every worker. Grants count in
    full (a suspension changes the reasons given even when it changes no line), and so do the
    mask rules (a new rule changes what leaves)."""
    digest = hashlib.sha256(model_text.encode())
    for grant in sorted(grants, key=lambda g: g.id):
        digest.update(repr(grant).encode() + b"\n")
    for override in overrides:
        digest.update(repr(override).encode() + b"\n")
    for line in lines:
        digest.update("\x1f".join(line).encode() + b"\n")
    for group in groups:
        digest.update("\x1f".join(group).encode() + b"\n")
    return digest.hexdigest()[:16]
