"""Read catalog declarations (TOML, one file per library) into a validated `Catalog`.

A declaration the platform must refuse, such as a NOT_SHARED entry without its legal basis,
raises `CatalogError` naming the file and the entry.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from schema.catalog import (
    Cardinality,
    Catalog,
    CatalogError,
    DataType,
    Entity,
    Field,
    Library,
    OpenClass,
    Resource,
    Sensitivity,
    ShareClass,
    ShareMode,
)

DEMO_CATALOG_DIR = Path(__file__).resolve().parent.parent / "demo" / "catalog"


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def load_catalog(directory: Path = DEMO_CATALOG_DIR) -> Catalog:
    """Load every `*.toml` file of `directory`, sorted by name."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise CatalogError(f"no catalog files (*.toml) in {directory}")
    return parse_documents((path.name, tomllib.loads(path.read_text(encoding="utf-8"))) for path in files)


def parse_documents(documents: Iterable[tuple[str, dict[str, Any]]]) -> Catalog:
    libraries: list[Library] = []
    resources: list[Resource] = []
    for source, doc in documents:
        try:
            library = _library(doc["library"])
            libraries.append(library)
            resources.extend(_resource(r, library.code) for r in doc.get("resources", []))
        except (KeyError, ValueError, TypeError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise CatalogError(f"{source}: {detail}") from None
    return Catalog.build(libraries, resources)


def _library(doc: dict[str, Any]) -> Library:
    return Library(code=doc["code"], name=doc["name"], kind=doc.get("kind", "BASE"))


def _resource(doc: dict[str, Any], library: str) -> Resource:
    entity = Entity(doc["entity"])
    cardinality = Cardinality(doc.get("cardinality", "ONE"))
    return Resource(
        code=doc["code"],
        name=doc["name"],
        library=library,
        provider=doc["provider"],
        summary=doc.get("summary", ""),
        format=doc.get("format", "数据库"),
        update_cycle=doc.get("update_cycle", ""),
        share_class=ShareClass(doc["share_class"]),
        share_modes=tuple(ShareMode(m) for m in doc.get("share_modes", ["QUERY"])),
        open_class=OpenClass(doc.get("open_class", "NOT_OPEN")),
        published_on=_date(doc["published_on"]),
        entity=entity,
        cardinality=cardinality,
        type_name=doc.get("type_name", entity.value),
        table=doc["table"],
        key_column=doc["key_column"],
        list_field=doc["list_field"],
        fields=tuple(_field(f) for f in doc.get("fields", [])),
        share_conditions=doc.get("share_conditions", ""),
        related=tuple(doc.get("related", ())),
        legal_basis=doc.get("legal_basis"),
        entity_field=doc.get("entity_field"),
        anchor=bool(doc.get("anchor", False)),
        materials=tuple(str(m) for m in doc.get("materials", ())),
    )


def _field(doc: dict[str, Any]) -> Field:
    return Field(
        name=doc["name"],
        title=doc["title"],
        data_type=DataType(doc["type"]),
        share_class=ShareClass(doc["share"]),
        column=doc.get("column", snake_case(doc["name"])),
        length=doc.get("length"),
        free_text=bool(doc.get("free_text", False)),
        sensitivity=Sensitivity(doc.get("sensitivity", "NONE")),
        mask_rule=doc.get("mask"),
        mask_required=bool(doc.get("mask_required", False)),
        without_grant=doc.get("without_grant", "DENIED"),
        legal_basis=doc.get("legal_basis"),
        checkable=bool(doc.get("checkable", False)),
    )


def _date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
