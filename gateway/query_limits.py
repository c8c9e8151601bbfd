"""How big an operation may be: depth, aliases, root fields, selected fields and cost.

A hostile client does not need a slow query to hurt a shared gateway: twenty aliases of a list
of a hundred rows, nested lists inside each row, or fragments that spread each other twice at
every level multiply into millions of values from a short text. Each operation's *shape* is
measured once, when its document is parsed and validated (gateway/documents.py caches it with
the document, so a repeated query costs no new walk), and checked against `QueryLimits`:

- depth: fields nested inside fields, fragments included;
- aliases and root fields: how many times one request may fan out;
- selected fields: the selection with every fragment spread expanded (a fragment bomb stops here,
  long before its expansion is walked to the end);
- cost: the values the operation may return — each field costs 1 per item of every list around
  it; a list takes its size from `first` (a literal, a variable or the schema's default), from
  the length of a batch argument (`items`, `tokens`), or else counts `LIST_WEIGHT` items. Cost
  depends on the variables, so the shape keeps a small tree and `cost(variables)` adds it up
  per request in microseconds.

Introspection (`__schema`, `__type`) counts towards depth and selected fields but costs 1: its
size is bounded by the schema, and it can be switched off (GATEWAY_INTROSPECTION).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

from gateway.errors import ErrorCode, RequestRefused

LIST_WEIGHT = 10  # items a list without a size argument is assumed to hold (an entity's records)
BATCH_ARGUMENTS = ("items", "tokens")  # list arguments whose length is the size of the answer
NUL = "\x00"
MAX_VARIABLE_DEPTH = 10  # JSON nesting of variables: input objects here nest three levels at most


@dataclass(frozen=True)
class QueryLimits:
    depth: int = 20
    aliases: int = 30
    root_fields: int = 20
    fields: int = 2000
    cost: int = 5000
    string_chars: int = 1000  # longest string argument of a data request


@dataclass(frozen=True)
class Size:
    """How many items a list field returns: a literal, a variable's value, else `default`."""

    default: int
    literal: int | None = None
    variable: str | None = None
    length: bool = False  # the argument is a list: its length is the size

    def of(self, variables: Mapping[str, Any] | None) -> int:
        if self.literal is not None:
            return self.literal
        value = (variables or {}).get(self.variable) if self.variable else None
        if self.length:
            return len(value) if isinstance(value, list) else self.default
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        return self.default


@dataclass(frozen=True)
class CostNode:
    """A selection set: `fields` values per item, times its list `size`, plus its lists inside."""

    fields: int
    size: Size | None
    children: tuple[CostNode, ...]

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        items = self.size.of(variables) if self.size else 1
        return items * (self.fields + sum(child.cost(variables) for child in self.children))


@dataclass(frozen=True)
class OperationShape:
    depth: int
    aliases: int
    root_fields: int
    fields: int
    tree: CostNode
    introspects: bool = False  # selects __schema or __type
    longest_string: int = 0  # characters of the longest string literal in its arguments
    nul: bool = False  # a string literal holds a NUL character

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        return self.tree.cost(variables)

    def refusal(self, limits: QueryLimits) -> RequestRefused | None:
        """Why the operation is refused whatever its variables, or None."""
        if self.nul:
            return nul_refused()
        for measured, limit, what in ((self.depth, limits.depth, "nests fields {} deep"),
                                      (self.aliases, limits.aliases, "uses {} aliases"),
                                      (self.root_fields, limits.root_fields, "asks for {} root fields"),
                                      (self.fields, limits.fields, "selects {} fields")):
            if measured > limit:
                return too_complex(f"The operation {what.format(measured)}; at most {limit} are allowed.")
        return None


def too_complex(message: str) -> RequestRefused:
    return RequestRefused(ErrorCode.QUERY_TOO_COMPLEX, message)


class _FieldBudgetSpent(Exception):
    """The expanded selection passed the field limit: stop walking (a fragment bomb ends here)."""


class _Measure:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits) -> None:
        self.schema = schema
        self.limits = limits
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fields = 0  # fields with every fragment spread expanded
        self.aliases = 0
        self.depth = 0
        self.roots = 0
        self.introspects = False
        self.longest_string = 0
        self.nul = False

    def operation(self, operation: OperationDefinitionNode) -> OperationShape:
        root = self.schema.mutation_type if operation.operation is OperationType.MUTATION else self.schema.query_type
        assert root is not None
        try:
            tree = self._node(root, operation.selection_set, None, paged=False, level=1)
        except _FieldBudgetSpent:
            tree = CostNode(0, None, ())
        return OperationShape(self.depth, self.aliases, self.roots, self.fields, tree, self.introspects,
                              self.longest_string, self.nul)

    def _node(self, parent: GraphQLObjectType, selection_set: SelectionSetNode, size: Size | None,
              paged: bool, level: int) -> CostNode:
        self.depth = max(self.depth, level)
        own, children = 0, []
        for node, owner in self._fields(parent, selection_set):
            self.aliases += node.alias is not None
            self.roots += level == 1 and node.name.value != "__typename"
            own += 1
            for argument in node.arguments or ():
                for literal in _literal_strings(argument.value):
                    self.longest_string = max(self.longest_string, len(literal))
                    self.nul = self.nul or NUL in literal
            if node.name.value.startswith("__"):  # introspection: depth and fields count, cost does not
                if node.selection_set is not None:
                    self.introspects = True
                    self._introspection(node.selection_set, level + 1)
                continue
            definition = owner.fields.get(node.name.value)
            if node.selection_set is None or definition is None:
                continue
            child = get_named_type(definition.type)
            if isinstance(child, GraphQLObjectType):
                item_size = _size(node, definition, paged)
                sized_by_argument = any(name in definition.args for name in ("first", *BATCH_ARGUMENTS))
                children.append(self._node(child, node.selection_set, item_size, sized_by_argument, level + 1))
        return CostNode(own, size, tuple(children))

    def _introspection(self, selection_set: SelectionSetNode, level: int) -> None:
        self.depth = max(self.depth, level)
        for node in self._nodes(selection_set):
            if node.selection_set is not None:
                self._introspection(node.selection_set, level + 1)

    def _fields(self, parent: GraphQLObjectType, selection_set: SelectionSetNode) -> list[tuple[FieldNode, GraphQLObjectType]]:
        out: list[tuple[FieldNode, GraphQLObjectType]] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._count()
                out.append((selection, parent))
            else:
                condition, inner = self._fragment(selection)
                named = self.schema.get_type(condition) if condition else parent
                out.extend(self._fields(named if isinstance(named, GraphQLObjectType) else parent, inner))
        return out

    def _nodes(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        out: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._count()
                out.append(selection)
            else:
                out.extend(self._nodes(self._fragment(selection)[1]))
        return out

    def _count(self) -> None:
        """One more field in the expanded selection; past the limit the walk stops at once."""
        self.fields += 1
        if self.fields > self.limits.fields:
            raise _FieldBudgetSpent

    def _fragment(self, selection: Any) -> tuple[str | None, SelectionSetNode]:
        if isinstance(selection, InlineFragmentNode):
            fragment: InlineFragmentNode | FragmentDefinitionNode = selection
        else:
            assert isinstance(selection, FragmentSpreadNode)
            fragment = self.fragments[selection.name.value]
        condition = fragment.type_condition.name.value if fragment.type_condition else None
        return condition, fragment.selection_set


def _literal_strings(value: ValueNode) -> Iterator[str]:
    if isinstance(value, StringValueNode):
        yield value.value
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _literal_strings(item)
    elif isinstance(value, ObjectValueNode):
        for item in value.fields:
            yield from _literal_strings(item.value)


LARGEST_EXACT = 2.0**63


def longest_string(value: Any, depth: int = 0) -> int:
    """Characters of the longest string in a JSON value (the request's variables). Refuses NUL
    characters (no identifier or text here holds one, and PostgreSQL cannot store them), nesting
    deeper than any input type, and numbers too large for 64 bits (the JSON reader makes them
    floats, which would compare a Decimal filter with a rounded value)."""
    if isinstance(value, str):
        if NUL in value:
            raise nul_refused()
        return len(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= LARGEST_EXACT:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT,
                             "A number in the variables is too large to be exact; send it as a string.")
    if depth > MAX_VARIABLE_DEPTH:
        raise RequestRefused(ErrorCode.BAD_USER_INPUT, f"The variables nest deeper than {MAX_VARIABLE_DEPTH} levels.")
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((longest_string(item, depth + 1) for item in items), default=0)


def nul_refused() -> RequestRefused:
    return RequestRefused(ErrorCode.BAD_USER_INPUT, "A string argument holds a NUL character.")


def _is_list(definition: GraphQLField) -> bool:
    kind = definition.type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def _size(node: FieldNode, definition: GraphQLField, paged: bool) -> Size | None:
    """The size of the list a field returns, or None when it returns one item (or its parent's
    size argument already counted it: a connection's `edges`, a check batch's `results`)."""
    given = {argument.name.value: argument.value for argument in node.arguments or ()}
    if "first" in definition.args:
        default = definition.args["first"].default_value
        return _sized(given.get("first"), default if isinstance(default, int) else LIST_WEIGHT, length=False)
    for name in BATCH_ARGUMENTS:
        if name in definition.args:
            return _sized(given.get(name), 1, length=True)
    if _is_list(definition) and not paged:
        return Size(LIST_WEIGHT)
    return None


def _sized(value: Any, default: int, length: bool) -> Size:
    if isinstance(value, VariableNode):
        return Size(default, variable=value.name.value, length=length)
    if length and isinstance(value, ListValueNode):
        return Size(default, literal=len(value.values))
    if not length and isinstance(value, IntValueNode):
        return Size(default, literal=max(int(value.value), 0))
    return Size(default)


def measure(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits) -> dict[str | None, OperationShape]:
    """The shape of each operation of a validated document, by name (None: the only, unnamed one)."""
    shapes: dict[str | None, OperationShape] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            shapes[name] = _Measure(schema, document, limits).operation(definition)
    return shapes
