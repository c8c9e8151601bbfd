"""The catalog model (政务数据资源目录): libraries, resources and their fields.

The catalog is the single source of truth of what exists, who provides it and how it may
be shared. GraphQL types, Casbin object names, masking defaults and audit vocabulary are
all derived from it (BRIEF §3.1). This module only describes and validates; loading from
files lives in `schema.loader`, persistence in `store`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from masking import InvalidMaskRule, parse_rule


class ShareClass(str, enum.Enum):
    """共享类型."""

    UNCONDITIONAL = "UNCONDITIONAL"  # 无条件共享
    CONDITIONAL = "CONDITIONAL"  # 有条件共享
    NOT_SHARED = "NOT_SHARED"  # 不予共享


class OpenClass(str, enum.Enum):
    """开放类型."""

    OPEN = "OPEN"
    CONDITIONAL_OPEN = "CONDITIONAL_OPEN"
    NOT_OPEN = "NOT_OPEN"


class ShareMode(str, enum.Enum):
    """共享方式: how a grant may use a resource."""

    QUERY = "QUERY"  # 联机查询
    CHECK = "CHECK"  # 数据核验
    DOWNLOAD = "DOWNLOAD"  # 批量下载
    SUBSCRIBE = "SUBSCRIBE"  # 订阅


class Sensitivity(str, enum.Enum):
    """敏感级别: a field's default mask rule, when the catalog names none (policies.mask_rules)."""

    NONE = "NONE"
    PERSONAL = "PERSONAL"  # 个人信息
    SENSITIVE_PERSONAL = "SENSITIVE_PERSONAL"  # 个人敏感信息
    COMMERCIAL_SECRET = "COMMERCIAL_SECRET"  # 商业秘密


class DataType(str, enum.Enum):
    STRING = "STRING"
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"


class Cardinality(str, enum.Enum):
    """ONE: the resource adds fields to its entity. MANY: a list of records per entity."""

    ONE = "ONE"
    MANY = "MANY"


class Entity(str, enum.Enum):
    """The federated entities and the key that links their records across libraries."""

    PERSON = "Person"  # keyed by 公民身份号码 (GB 11643)
    ENTERPRISE = "Enterprise"  # keyed by 统一社会信用代码 (GB 32100)

    @property
    def key_argument(self) -> str:
        return "idNumber" if self is Entity.PERSON else "creditCode"


class CatalogError(ValueError):
    """A catalog declaration that the platform refuses; the message names the entry."""


# 资源代码: 类 (1 digit) 项 (2) 目 (3) 细目 (3) / 顺序码 (6), e.g. 1-01-001-001/000001
RESOURCE_CODE = re.compile(r"^[1-3]-\d{2}-\d{3}-\d{3}/\d{6}$")
GRAPHQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
SQL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_NAMES = frozenset({"key"})
FREE_TEXT_LENGTH = 100  # declared lengths above this are free text, not codes or names  # attributes of resolvers.records.Record


@dataclass(frozen=True)
class Library:
    """A 库: one data source (its own database)."""

    code: str
    name: str
    kind: str  # BASE 基础库 / THEMATIC 主题库 / DEPARTMENT 部门库


@dataclass(frozen=True)
class Field:
    """信息项: one attribute of a resource."""

    name: str  # GraphQL field name, unique within the resource's type
    title: str  # Chinese name
    data_type: DataType
    share_class: ShareClass
    column: str
    length: int | None = None
    sensitivity: Sensitivity = Sensitivity.NONE
    mask_rule: str | None = None
    # The catalog itself requires masking (e.g. a desensitized derivative of a NOT_SHARED field).
    mask_required: bool = False
    # What a caller without a grant gets for a CONDITIONAL field: DENIED, or a MASKED preview.
    without_grant: str = "DENIED"
    legal_basis: str | None = None
    checkable: bool = False
    free_text: bool = False  # remarks, descriptions: may hold identifiers however labelled

    @property
    def open_text(self) -> bool:
        """Unlabelled text that may hold identifiers (declared free text, or longer than
        FREE_TEXT_LENGTH): scanned on the way out, and never filtered, sorted or grouped on, since
        a filter would probe the identifiers the scan masks (docs/masking.md, "Free text")."""
        return self.data_type is DataType.STRING and self.sensitivity is Sensitivity.NONE and (
            self.free_text or (self.length or 0) > FREE_TEXT_LENGTH
        )

    def validate(self, resource: Resource) -> None:
        where = f"field {resource.type_name}.{self.name} of resource {resource.code}"
        if not GRAPHQL_NAME.match(self.name) or self.name in RESERVED_NAMES:
            raise CatalogError(f"{where}: name must be a GraphQL name other than {sorted(RESERVED_NAMES)}")
        if not SQL_NAME.match(self.column):
            raise CatalogError(f"{where}: column must be lower_snake_case")
        if self.share_class is ShareClass.NOT_SHARED and not self.legal_basis:
            raise CatalogError(
                f"{where} is NOT_SHARED but cites no legal basis (法律/行政法规/政策依据); "
                "add legal_basis or share it"
            )
        # A CONDITIONAL resource may be partly UNCONDITIONAL field by field (BRIEF §1), but a
        # NOT_SHARED resource shares nothing.
        if resource.share_class is ShareClass.NOT_SHARED and self.share_class is not ShareClass.NOT_SHARED:
            raise CatalogError(f"{where}: a NOT_SHARED resource cannot share a field")
        if self.mask_rule is not None:
            try:
                parse_rule(self.mask_rule)
            except InvalidMaskRule as exc:
                raise CatalogError(f"{where}: {exc}; see docs/masking.md") from None
        if self.mask_required and not self.mask_rule:
            raise CatalogError(f"{where}: mask_required needs a mask_rule")
        if self.without_grant not in ("DENIED", "MASKED"):
            raise CatalogError(f"{where}: without_grant must be DENIED or MASKED")
        if self.without_grant == "MASKED" and not self.mask_rule:
            raise CatalogError(f"{where}: a MASKED preview needs a mask_rule")


@dataclass(frozen=True)
class Resource:
    """信息资源: one catalog entry, with the national catalog guide's metadata."""

    code: str
    name: str
    library: str
    provider: str  # department code
    summary: str
    format: str
    update_cycle: str
    share_class: ShareClass
    share_modes: tuple[ShareMode, ...]
    open_class: OpenClass
    published_on: date
    entity: Entity
    cardinality: Cardinality
    type_name: str  # the GraphQL type its fields land on (the entity itself when ONE)
    table: str
    key_column: str  # column holding the entity key (ID number / credit code)
    list_field: str  # root list field with cursor pagination
    fields: tuple[Field, ...]
    share_conditions: str = ""
    related: tuple[str, ...] = ()
    legal_basis: str | None = None
    entity_field: str | None = None  # MANY: the list field on the entity, e.g. Person.licenses
    # The authoritative record of its entity: `person(idNumber:)` is null when the anchor has no row.
    anchor: bool = False
    # What a share application for it must reference (申请材料), by name: docs/workflow.md.
    materials: tuple[str, ...] = ()

    def validate(self) -> None:
        where = f"resource {self.code} ({self.name})"
        if not RESOURCE_CODE.match(self.code):
            raise CatalogError(f"{where}: code must read 类-项-目-细目/顺序码, e.g. 1-01-001-001/000001")
        if self.share_class is ShareClass.NOT_SHARED and not self.legal_basis:
            raise CatalogError(f"{where} is NOT_SHARED but cites no legal basis (法律/行政法规/政策依据)")
        if self.cardinality is Cardinality.ONE and self.type_name != self.entity.value:
            raise CatalogError(f"{where}: a ONE resource's fields land on its entity {self.entity.value}")
        if self.cardinality is Cardinality.MANY and not self.entity_field:
            raise CatalogError(f"{where}: a MANY resource needs entity_field")
        if not SQL_NAME.match(self.table) or not SQL_NAME.match(self.key_column):
            raise CatalogError(f"{where}: table and key_column must be lower_snake_case")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise CatalogError(f"{where}: duplicate field names")
        for f in self.fields:
            f.validate(self)

    def coordinate(self, field_: Field) -> str:
        return f"{self.type_name}.{field_.name}"


@dataclass(frozen=True)
class FieldRef:
    """A field together with the resource that owns it: the planner's unit of decision."""

    resource: Resource
    field: Field

    @property
    def coordinate(self) -> str:
        return self.resource.coordinate(self.field)


@dataclass
class Catalog:
    """The validated catalog, indexed by resource code and by schema coordinate."""

    libraries: dict[str, Library]
    resources: dict[str, Resource]
    by_coordinate: dict[str, FieldRef] = field(default_factory=dict)

    @classmethod
    def build(cls, libraries: Iterable[Library], resources: Iterable[Resource]) -> Catalog:
        catalog = cls({lib.code: lib for lib in libraries}, {})
        for resource in resources:
            catalog._add(resource)
        catalog.check_complete()
        return catalog

    def _add(self, resource: Resource) -> None:
        resource.validate()
        if resource.code in self.resources:
            raise CatalogError(f"resource {resource.code} is declared twice")
        if resource.library not in self.libraries:
            raise CatalogError(f"resource {resource.code}: unknown library {resource.library!r}")
        for f in resource.fields:
            coordinate = resource.coordinate(f)
            if coordinate in self.by_coordinate:
                owner = self.by_coordinate[coordinate].resource.code
                raise CatalogError(f"{coordinate} is owned by {owner}; resource {resource.code} cannot declare it too")
            self.by_coordinate[coordinate] = FieldRef(resource, f)
        self.resources[resource.code] = resource

    def check_complete(self) -> None:
        """Every entity has exactly one anchor resource; called once all resources are added."""
        for entity in Entity:
            anchors = [r.code for r in self.resources.values() if r.entity is entity and r.anchor]
            if len(anchors) != 1:
                raise CatalogError(f"{entity.value} needs exactly one anchor resource, found {anchors or 'none'}")

    def field_refs(self) -> Iterator[FieldRef]:
        return iter(self.by_coordinate.values())

    def resources_of(self, type_name: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type_name == type_name]

    def anchor_of(self, entity: Entity) -> Resource:
        return next(r for r in self.resources.values() if r.entity is entity and r.anchor)

    def many_resources_of(self, entity: Entity) -> list[Resource]:
        return [
            r for r in self.resources.values() if r.entity is entity and r.cardinality is Cardinality.MANY
        ]
