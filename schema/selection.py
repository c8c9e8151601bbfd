"""What an operation asks for, read from its validated document before anything runs:
its root fields, the catalog coordinates it selects (through aliases and fragments alike),
the fields it filters, sorts or groups on, and, after execution, the paths at which masked values were returned."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from resolvers.listing import enum_value
from schema.catalog import Catalog, Resource
from schema.list_inputs import groups_field

Visit = Callable[[GraphQLObjectType, FieldNode, Any], None]
LOOKUP_ROOTS = {"person", "enterprise"}


class Selection:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                 variables: Mapping[str, Any] | None = None) -> None:
        self.schema = schema
        self.operation = operation
        self.variables = variables
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        root = schema.query_type if operation.operation.value == "query" else schema.mutation_type
        assert root is not None
        self.root: GraphQLObjectType = root

    def root_fields(self) -> set[str]:
        names: set[str] = set()
        self._walk(self.root, self.operation.selection_set, lambda _t, node, _d: names.add(node.name.value),
                   descend=False)
        return names

    def coordinates(self) -> set[str]:
        """Every `Type.field` the operation selects, whatever the alias or fragment."""
        found: set[str] = set()
        self._walk(self.root, self.operation.selection_set,
                   lambda parent, node, _d: found.add(f"{parent.name}.{node.name.value}"))
        return found

    @cached_property
    def root_arguments(self) -> list[tuple[str, dict[str, Any]]]:
        """Each root field with its coerced arguments (aliases, fragments and variables resolved),
        coerced once per request; empty when the variables do not coerce (execution then reports
        them and runs nothing)."""
        coerced = get_variable_values(self.schema, self.operation.variable_definitions or [],
                                      dict(self.variables or {}))
        if isinstance(coerced, list):
            return []
        found = []
        for node, owner in self._fields(self.root, self.operation.selection_set):
            field = owner.fields.get(node.name.value)
            if field is None:
                continue
            try:
                found.append((node.name.value, get_argument_values(field, node, coerced)))
            except GraphQLError:
                continue  # execution reports it; the field resolves nothing
        return found

    def argument_uses(self, catalog: Catalog) -> dict[str, set[str]]:
        """The catalog fields the operation filters, sorts or groups on (`filter` / `sort` /
        `group` by coordinate), through aliases, fragments and variables alike."""
        lists = {r.list_field: r for r in catalog.resources.values()}
        groups = {groups_field(r): r for r in catalog.resources.values()}
        uses: dict[str, set[str]] = {}
        for name, args in self.root_arguments:
            resource = lists.get(name) or groups.get(name)
            if resource is None:
                continue
            for field_name, conditions in (args.get("where") or {}).items():
                if conditions and any(v is not None for v in conditions.values()):
                    uses.setdefault(f"{resource.type_name}.{field_name}", set()).add("filter")
            for key in args.get("orderBy") or ():
                uses.setdefault(f"{resource.type_name}.{enum_value(key['field'])}", set()).add("sort")
            for key in args.get("groupBy") or ():
                uses.setdefault(f"{resource.type_name}.{enum_value(key)}", set()).add("group")
        return uses

    def subject_counts(self, catalog: Catalog) -> dict[str, int]:
        """How many subjects the operation names: `check` (subjects checked, a batch counting
        each item) and `lookup` (entities looked up by key, whether by `person(idNumber:)` or
        by a list filtered on the key), for rate limits and quotas."""
        lists = {r.list_field: r for r in catalog.resources.values()}
        counts = {"check": 0, "lookup": 0}
        for name, args in self.root_arguments:
            if name.startswith("check"):
                counts["check"] += len(args["items"]) if isinstance(args.get("items"), list) else 1
            elif name in LOOKUP_ROOTS:
                counts["lookup"] += 1
            elif name in lists:
                counts["lookup"] += _keys_filtered(lists[name], args.get("where") or {})
        return counts

    def _walk(self, parent: GraphQLObjectType, selection_set: SelectionSetNode, visit: Visit,
              descend: bool = True) -> None:
        for node, owner in self._fields(parent, selection_set):
            visit(owner, node, None)
            field = owner.fields.get(node.name.value)
            if descend and field is not None and node.selection_set is not None:
                child = get_named_type(field.type)
                if isinstance(child, GraphQLObjectType):
                    self._walk(child, node.selection_set, visit)

    def _fields(self, parent: GraphQLObjectType, selection_set: SelectionSetNode) -> list[tuple[FieldNode, GraphQLObjectType]]:
        """The field nodes of a selection set, fragments flattened; introspection skipped."""
        out: list[tuple[FieldNode, GraphQLObjectType]] = []
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if not sel.name.value.startswith("__"):
                    out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                out.extend(self._fields(self._condition(sel.type_condition, parent), sel.selection_set))
            elif isinstance(sel, FragmentSpreadNode):
                fragment = self.fragments[sel.name.value]
                out.extend(self._fields(self._condition(fragment.type_condition, parent), fragment.selection_set))
        return out

    def _condition(self, condition: Any, parent: GraphQLObjectType) -> GraphQLObjectType:
        named = self.schema.get_type(condition.name.value) if condition is not None else parent
        return named if isinstance(named, GraphQLObjectType) else parent

    def masked_paths(self, data: Mapping[str, Any] | None, rules: Mapping[str, str]) -> list[dict[str, Any]]:
        """One `{path, rule}` per masked value returned; `rules` maps coordinate → mask rule."""
        out: list[dict[str, Any]] = []
        if data is None or not rules:
            return out
        plan = _MaskPlan(self, rules)
        _collect_masked(plan.steps(self.root, self.operation.selection_set), data, [], out)
        if plan.repeats_keys:  # a response key selected twice: each path once, where first found
            out = list({tuple(masked["path"]): masked for masked in out}.values())
        return out


# What to do at one field of a selection set while listing masked paths: its response key, its
# mask rule (None when not masked) and, for an unmasked object field, the steps of its selection.
Step = tuple[str, str | None, list[Any] | None]


class _MaskPlan:
    """The steps of every selection set of an operation, worked out once per request rather than
    again for every row of a list."""

    def __init__(self, selection: Selection, rules: Mapping[str, str]) -> None:
        self.selection = selection
        self.rules = rules
        self.repeats_keys = False  # True when a selection set names a response key twice

    def steps(self, parent: GraphQLObjectType, selection_set: SelectionSetNode) -> list[Step]:
        """The steps that can lead to a masked value: a field neither masked nor an object is left out."""
        steps = [self._step(owner, node) for node, owner in self.selection._fields(parent, selection_set)]
        self.repeats_keys = self.repeats_keys or len({key for key, _, _ in steps}) < len(steps)
        return [(key, rule, child) for key, rule, child in steps if rule is not None or child]

    def _step(self, owner: GraphQLObjectType, node: FieldNode) -> Step:
        key = node.alias.value if node.alias else node.name.value
        rule = self.rules.get(f"{owner.name}.{node.name.value}")
        if rule is not None or node.selection_set is None:
            return key, rule, None
        field = owner.fields.get(node.name.value)
        child = get_named_type(field.type) if field is not None else None
        return key, None, self.steps(child, node.selection_set) if isinstance(child, GraphQLObjectType) else None


def _collect_masked(steps: list[Step], data: Mapping[str, Any], path: list[Any], out: list[dict[str, Any]]) -> None:
    for key, rule, child in steps:
        value = data.get(key)
        if value is None:
            continue
        if rule is not None:
            out.append({"path": [*path, key], "rule": rule})
        elif child is not None:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, (dict, Mapping)):  # dict first: no ABC check for the usual case
                        _collect_masked(child, item, [*path, key, i], out)
            elif isinstance(value, (dict, Mapping)):
                _collect_masked(child, value, [*path, key], out)


def _keys_filtered(resource: Resource, where: Mapping[str, Any]) -> int:
    """Keys a list's filter names outright (`eq` / `in` on the entity key's field)."""
    count = 0
    for f in resource.fields:
        conditions = where.get(f.name) if f.column == resource.key_column else None
        if conditions:
            count += len(conditions.get("in") or ()) + (conditions.get("eq") is not None)
    return count
