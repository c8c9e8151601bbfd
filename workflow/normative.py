"""The platform's normative check (规范性审核, 南昌 第十四条): is the application complete and
admissible? Each finding is a sentence the consumer can act on; an application with findings
is returned with them, never forwarded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from schema.catalog import Catalog, ShareClass
from workflow.model import Request

MIN_SCENARIO = 10  # characters: a scenario says which business, for whom, why (应用场景)
MAX_GRANT_DAYS = 1096  # a grant is for a period (期限): three years at most, then renew


def normative_findings(catalog: Catalog, purposes: Mapping[str, object], request: Request, today: date) -> list[str]:
    resource = catalog.resources.get(request.resource)
    if resource is None:
        return [f"There is no resource {request.resource} in the catalog."]
    findings: list[str] = []
    if request.purpose not in purposes:
        findings.append(f"{request.purpose} is not a registered purpose (使用用途).")
    if len(request.scenario.strip()) < MIN_SCENARIO:
        findings.append(f"Describe the application scenario (应用场景) in at least {MIN_SCENARIO} characters: which "
                        "business, for whom, and why this data is needed.")
    if not request.system_name.strip():
        findings.append("Name the system that will use the data (应用系统).")
    conditional = [f for f in resource.fields if f.share_class is ShareClass.CONDITIONAL]
    if not request.fields and not conditional:
        findings.append(f"{resource.code} has no conditional field: its shared fields are read without applying.")
    for coordinate in request.fields:
        ref = catalog.by_coordinate.get(coordinate)
        if ref is None or ref.resource.code != resource.code:
            findings.append(f"{coordinate} is not a field of {resource.code}.")
        elif ref.field.share_class is ShareClass.NOT_SHARED:
            findings.append(f"{coordinate} is not shared (不予共享; {ref.field.legal_basis}): it cannot be applied for.")
        elif ref.field.share_class is ShareClass.UNCONDITIONAL:
            findings.append(f"{coordinate} is shared unconditionally: read it without applying, and leave it out.")
    offered = {m.value for m in resource.share_modes}
    findings.extend(f"{resource.code} is not shared by {mode} (offered: {', '.join(sorted(offered))})."
                    for mode in request.modes if mode not in offered)
    if not request.modes:
        findings.append("Name at least one share mode (QUERY or CHECK).")
    if request.valid_until < request.valid_from:
        findings.append("The requested period ends before it starts.")
    elif request.valid_until < today:
        findings.append("The requested period is over already.")
    elif (request.valid_until - request.valid_from).days > MAX_GRANT_DAYS:
        findings.append(f"A grant lasts at most {MAX_GRANT_DAYS} days; apply to renew it before it ends.")
    referenced = {m.name for m in request.materials if m.reference.strip()}
    findings.extend(f"Reference the required material {name} (申请材料)." for name in resource.materials
                    if name not in referenced)
    return findings
