"""What one request carries through resolution: who asks, for what purpose, the access plan,
the library sources, the per-request loaders and the counts the audit record needs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from policies.planner import AccessPlan, Decision, Planner
from resolvers.datasource import LibrarySource
from schema.catalog import Catalog, FieldRef


@dataclass
class RequestContext:
    request_id: str
    application: str
    purpose: str | None
    catalog: Catalog
    planner: Planner
    sources: dict[str, LibrarySource]
    plan: AccessPlan | None = None
    department_names: dict[str, str] = field(default_factory=dict)
    rows: Counter[str] = field(default_factory=Counter)  # rows read, by resource code
    # Data-check decisions and outcome counts by coordinate, for the audit record (never values).
    check_decisions: dict[str, Decision] = field(default_factory=dict)
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
