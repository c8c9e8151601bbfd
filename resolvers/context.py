"""What one request carries through resolution: who asks, for what purpose, the access plan,
the library sources, the per-request loaders and the counts the audit record needs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from masking import KeyRing
from policies.planner import AccessPlan, Decision, Planner
from resolvers.datasource import LibrarySource
from resolvers.pagination import CursorCodec
from schema.catalog import Catalog, FieldRef


@dataclass
class RequestContext:
    request_id: str
    application: str
    purpose: str | None
    catalog: Catalog
    planner: Planner
    sources: dict[str, LibrarySource]
    cursors: CursorCodec
    keys: KeyRing | None = None
    plan: AccessPlan | None = None
    department_names: dict[str, str] = field(default_factory=dict)
    operator: str | None = None  # the registered real-name operator (X-Operator)
    workflow_unit: Any = None  # workflow.unit.WorkflowUnit: the request's workflow changes, committed after audit
    rows: Counter[str] = field(default_factory=Counter)  # rows read, by resource code
    scrubbed: Counter[str] = field(default_factory=Counter)  # free-text values with identifiers masked
    subjects: list[str] = field(default_factory=list)  # entity keys looked up or checked (pseudonymized in the audit)
    checked: set[str] = field(default_factory=set)  # subjects already checked in this request
    subjects_checked: int = 0
    subjects_failed: int = 0  # checked subjects with a claimed field not MATCH (anomaly alarms)
    # Decisions of data checks and unmasking, labelled `check:<coordinate>` / `unmask:<coordinate>`,
    # and check outcome counts by coordinate, for the audit record (never values).
    side_decisions: dict[str, Decision] = field(default_factory=dict)
    check_outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    loaders: dict[object, Any] = field(default_factory=dict)
    _by_type: dict[str, list[tuple[FieldRef, Decision]]] | None = None

    def requested(self, type_name: str) -> list[tuple[FieldRef, Decision]]:
        """The requested catalog fields of one GraphQL type, with their decisions."""
        if self._by_type is None:
            self._by_type = {}
            decisions = self.plan.decisions if self.plan else {}
            for coordinate, decision in decisions.items():
                ref = self.catalog.by_coordinate[coordinate]
                self._by_type.setdefault(ref.resource.type_name, []).append((ref, decision))
        return self._by_type.get(type_name, [])

    def allowed_columns(self, type_name: str, resource_code: str) -> list[str]:
        return [
            ref.field.column for ref, d in self.requested(type_name)
            if ref.resource.code == resource_code and d.access.value != "DENIED"
        ]
