"""The catalog refuses what the regulations forbid, and drives the schema."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from schema.builder import build_schema
from schema.catalog import CatalogError, ShareClass
from schema.loader import DEMO_CATALOG_DIR, load_catalog, parse_documents


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, tomllib.loads(p.read_text(encoding="utf-8"))) for p in sorted(DEMO_CATALOG_DIR.glob("*.toml"))]


def find_field(docs: list[tuple[str, dict[str, Any]]], name: str) -> dict[str, Any]:
    return next(f for _, d in docs for r in d["resources"] for f in r["fields"] if f["name"] == name)


def test_shipped_catalog_loads() -> None:
    catalog = load_catalog()
    assert set(catalog.libraries) == {"population", "legal_entity", "license", "credit", "social_security"}
    assert "Person.mobile" in catalog.by_coordinate and "Enterprise.creditCode" in catalog.by_coordinate


def test_not_shared_field_without_legal_basis_is_refused() -> None:
    docs = copy.deepcopy(documents())
    del find_field(docs, "religion")["legal_basis"]
    with pytest.raises(CatalogError, match="religion.*legal basis"):
        parse_documents(docs)


def test_not_shared_resource_without_legal_basis_is_refused() -> None:
    docs = copy.deepcopy(documents())
    resource = docs[0][1]["resources"][0]
    resource["share_class"] = "NOT_SHARED"
    with pytest.raises(CatalogError, match="NOT_SHARED but cites no legal basis"):
        parse_documents(docs)


def test_masked_preview_needs_a_mask_rule() -> None:
    docs = copy.deepcopy(documents())
    del find_field(docs, "mobile")["mask"]
    with pytest.raises(CatalogError, match="needs a mask_rule"):
        parse_documents(docs)


def test_sensitive_field_without_a_rule_takes_its_sensitivity_default() -> None:
    docs = copy.deepcopy(documents())
    field = find_field(docs, "mobile")
    del field["mask"]
    field["without_grant"] = "DENIED"
    assert parse_documents(docs).by_coordinate["Person.mobile"].field.mask_rule is None


def test_unknown_or_malformed_mask_rule_is_refused() -> None:
    for rule, message in (("noSuchRule", "unknown mask rule"), ("mobile(head=99)", "head")):
        docs = copy.deepcopy(documents())
        find_field(docs, "mobile")["mask"] = rule
        with pytest.raises(CatalogError, match=message):
            parse_documents(docs)


def test_a_coordinate_has_one_owner() -> None:
    docs = copy.deepcopy(documents())
    population = next(d for name, d in docs if name == "population.toml")
    population["resources"].append({**population["resources"][0], "code": "1-01-001-001/000099", "anchor": False})
    with pytest.raises(CatalogError, match="is owned by"):
        parse_documents(docs)


def test_bad_resource_code_is_refused() -> None:
    docs = copy.deepcopy(documents())
    docs[0][1]["resources"][0]["code"] = "X1"
    with pytest.raises(CatalogError, match="类-项-目-细目/顺序码"):
        parse_documents(docs)


def test_schema_has_a_field_for_every_catalog_coordinate() -> None:
    catalog = load_catalog()
    sdl_schema = build_schema(catalog)._schema
    for coordinate in catalog.by_coordinate:
        type_name, field = coordinate.split(".")
        assert field in sdl_schema.type_map[type_name].fields, coordinate  # type: ignore[attr-defined]


def test_every_resource_has_a_paginated_list_field() -> None:
    catalog = load_catalog()
    query = build_schema(catalog)._schema.query_type
    assert query is not None
    for resource in catalog.resources.values():
        field = query.fields[resource.list_field]
        assert {"first", "after"} <= set(field.args)


def test_not_shared_fields_cite_their_basis_in_the_shipped_catalog() -> None:
    for ref in load_catalog().field_refs():
        if ref.field.share_class is ShareClass.NOT_SHARED:
            assert ref.field.legal_basis and "法" in ref.field.legal_basis
