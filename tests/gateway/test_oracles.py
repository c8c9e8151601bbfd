"""No oracle: filtering, sorting, grouping and paging work only on fields the caller sees raw.

Every route to a masked or denied field (a filter, a sort key, a group key, a cursor, and the
same through aliases, fragments and variables) is refused before anything runs, with
FILTER_NOT_ALLOWED, and neither the answer nor the audit record holds the probed value.
"""

from __future__ import annotations

import base64

import pytest

from tests.support import Gateway, codes

LICENSING = {"app_id": "scjg-licensing", "purpose": "ADMINISTRATIVE_BASIS"}  # no grants: mobile masked, marital denied
ASSISTANCE = {"app_id": "mz-assistance", "purpose": "SOCIAL_ASSISTANCE_REVIEW"}  # grant: idNumber, mobile raw
PROBE = "13912"


async def assert_refused(gateway: Gateway, query: str, variables: dict | None = None, **caller: str) -> dict:
    before = await gateway.runtime.audit.records(limit=1)
    body = await gateway.query(query, variables=variables, expect_status=400, **(caller or LICENSING))
    assert codes(body) == {"FILTER_NOT_ALLOWED"}
    assert body.get("data") is None
    assert PROBE not in str(body)
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["seq"] == (before[0]["seq"] if before else 0) + 1
    assert record["code"] == "FILTER_NOT_ALLOWED" and record["rows"] == {}  # refused before any read
    assert PROBE not in str(record)
    return record


@pytest.mark.parametrize("query", [
    'query { populationRecords(where: {mobile: {startsWith: "%s"}}) { edges { node { name } } } }' % PROBE,
    'query { populationRecords(where: {mobile: {eq: "%s"}}) { edges { node { name } } } }' % PROBE,
    'query { populationRecords(orderBy: [{field: mobile}]) { edges { node { name } } } }',
    'query { populationRecords(orderBy: [{field: gender}, {field: birthDate, direction: DESC}]) '
    '{ edges { node { name } } } }',
    'query { populationRecordsGroups(groupBy: [birthDate]) { values count } }',
    'query { populationRecordsGroups(groupBy: [gender], where: {mobile: {in: ["%s"]}}) { values count } }' % PROBE,
])
async def test_masked_field_cannot_be_filtered_sorted_or_grouped(gateway: Gateway, query: str) -> None:
    record = await assert_refused(gateway, query)
    assert set(record["uses"]) & {"Person.mobile", "Person.birthDate"}


@pytest.mark.parametrize("field", ["maritalStatus", "religion"])
async def test_denied_and_not_shared_fields_cannot_be_filtered(gateway: Gateway, field: str) -> None:
    query = 'query { populationRecords(where: {%s: {eq: "%s"}}) { edges { node { name } } } }' % (field, PROBE)
    await assert_refused(gateway, query)


async def test_refusal_names_the_field_and_the_reason_not_the_value(gateway: Gateway) -> None:
    body = await gateway.query(
        'query { populationRecords(where: {mobile: {eq: "%s"}}) { edges { node { name } } } }' % PROBE,
        expect_status=400, **LICENSING,
    )
    [error] = body["errors"]
    assert "Person.mobile" in error["message"] and "MASKED" in error["message"]


async def test_aliases_fragments_and_variables_reach_the_same_refusal(gateway: Gateway) -> None:
    await assert_refused(gateway, """
        query { harmless: populationRecords(first: 1) { edges { node { name } } }
                probe: populationRecords(where: {mobile: {startsWith: "%s"}}) { edges { node { name } } } }
    """ % PROBE)
    await assert_refused(gateway, """
        query { ...Probe }
        fragment Probe on Query { populationRecords(orderBy: [{field: mobile, direction: DESC}]) { edges { cursor } } }
    """)
    await assert_refused(gateway, """
        query { ... on Query { populationRecordsGroups(groupBy: [idNumber]) { count } } }
    """)
    await assert_refused(
        gateway,
        "query($w: PopulationRecordsWhere, $o: [PopulationRecordsOrder!]) "
        "{ populationRecords(where: $w, orderBy: $o) { edges { node { name } } } }",
        variables={"w": {"gender": {"eq": "女"}}, "o": [{"field": "mobile"}]},
    )
    await assert_refused(
        gateway, "query($w: PopulationRecordsWhere) { populationRecords(where: $w) { edges { node { name } } } }",
        variables={"w": {"mobile": {"startsWith": PROBE}}},
    )


async def test_a_grant_that_serves_raw_allows_filtering(gateway: Gateway) -> None:
    target = gateway.sample_id
    body = await gateway.query(
        'query($id: String!) { populationRecords(where: {idNumber: {eq: $id}}) { edges { node { idNumber name } } } }',
        variables={"id": target}, **ASSISTANCE,
    )
    assert "errors" not in body
    assert [e["node"]["idNumber"] for e in body["data"]["populationRecords"]["edges"]] == [target]
    # The same filter by a caller who sees the field masked is refused.
    await assert_refused(
        gateway, 'query { populationRecords(where: {idNumber: {eq: "%s"}}) { edges { node { name } } } }' % target,
    )


async def test_filters_on_raw_fields_select_exactly_the_matching_rows(gateway: Gateway) -> None:
    everyone = await all_rows(gateway, "", "gender ethnicity")
    women = await all_rows(gateway, 'where: {gender: {eq: "女"}}', "gender ethnicity")
    assert women and all(p["gender"] == "女" for p in women)
    assert len(women) == sum(p["gender"] == "女" for p in everyone)
    han = await all_rows(gateway, 'where: {gender: {in: ["男", "女"]}, ethnicity: {startsWith: "汉"}}', "ethnicity")
    assert len(han) == sum(p["ethnicity"].startswith("汉") for p in everyone)


async def test_keyset_pages_follow_the_sort_order_and_cover_every_row_once(gateway: Gateway) -> None:
    order = 'orderBy: [{field: birthPlaceCode, direction: DESC}, {field: gender}]'
    rows = await all_rows(gateway, order, "idNumber birthPlaceCode gender", page=7, **ASSISTANCE)
    everyone = await all_rows(gateway, "", "idNumber", page=100, **ASSISTANCE)
    assert sorted(r["idNumber"] for r in rows) == sorted(r["idNumber"] for r in everyone)
    keys = [(r["birthPlaceCode"] or "", r["gender"] or "") for r in rows]
    for before, after in zip(keys, keys[1:], strict=False):
        assert before[0] > after[0] or (before[0] == after[0] and before[1] <= after[1])


async def test_grouped_counts_add_up(gateway: Gateway) -> None:
    body = await gateway.query('query { populationRecordsGroups(groupBy: [gender]) { values count } }', **LICENSING)
    groups = body["data"]["populationRecordsGroups"]
    everyone = await all_rows(gateway, "", "gender")
    assert {tuple(g["values"]): g["count"] for g in groups} == {
        (gender,): sum(p["gender"] == gender for p in everyone) for gender in {p["gender"] for p in everyone}
    }
    assert [g["count"] for g in groups] == sorted((g["count"] for g in groups), reverse=True)


async def test_cursors_cannot_be_forged_moved_or_shared(gateway: Gateway) -> None:
    query = 'query($after: String) { populationRecords(first: 2, after: $after, %s) { edges { node { name } } ' \
            'pageInfo { endCursor } } }'
    first = await gateway.query(query % "orderBy: [{field: gender}]", variables={}, **LICENSING)
    cursor = first["data"]["populationRecords"]["pageInfo"]["endCursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-1] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    legacy = base64.urlsafe_b64encode(b"row:5").decode().rstrip("=")
    attempts = [
        (query % "orderBy: [{field: gender}]", forged, LICENSING),  # tampered
        (query % "orderBy: [{field: gender}]", legacy, LICENSING),  # a plain row id
        (query % "orderBy: [{field: ethnicity}]", cursor, LICENSING),  # another sort order
        (query % 'orderBy: [{field: gender}], where: {gender: {eq: "男"}}', cursor, LICENSING),  # another filter
        (query % "orderBy: [{field: gender}]", cursor, ASSISTANCE),  # another application
    ]
    for text, after, caller in attempts:
        body = await gateway.query(text, variables={"after": after}, **caller)
        assert codes(body) == {"BAD_USER_INPUT"}, body
        assert body["data"] is None
    again = await gateway.query(query % "orderBy: [{field: gender}]", variables={"after": cursor}, **LICENSING)
    assert "errors" not in again and len(again["data"]["populationRecords"]["edges"]) == 2


async def test_cursor_position_is_opaque(gateway: Gateway) -> None:
    body = await gateway.query('query { populationRecords(first: 1, orderBy: [{field: idNumber}]) '
                               '{ edges { cursor node { idNumber } } } }', **ASSISTANCE)
    [edge] = body["data"]["populationRecords"]["edges"]
    decoded = base64.urlsafe_b64decode(edge["cursor"] + "=" * (-len(edge["cursor"]) % 4))
    assert edge["node"]["idNumber"].encode() not in decoded
    assert edge["node"]["idNumber"][:6].encode() not in decoded


async def all_rows(gateway: Gateway, arguments: str, fields: str, page: int = 100, **caller: str) -> list[dict]:
    caller = caller or LICENSING
    extra = f", {arguments}" if arguments else ""
    query = 'query($after: String) { populationRecords(first: %d, after: $after %s) ' \
            '{ edges { node { %s } } pageInfo { hasNextPage endCursor } } }' % (page, extra, fields)
    rows: list[dict] = []
    after = None
    while True:
        body = await gateway.query(query, variables={"after": after}, **caller)
        assert "errors" not in body, body
        connection = body["data"]["populationRecords"]
        rows.extend(e["node"] for e in connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            return rows
        after = connection["pageInfo"]["endCursor"]


async def test_free_text_cannot_be_filtered_sorted_or_grouped_even_when_raw(gateway: Gateway) -> None:
    """`AdministrativePenalty.violation` is unconditional, but free text whose identifiers are
    masked on the way out: a filter would read them back digit by digit."""
    for query in (
        'query { administrativePenalties(where: {violation: {startsWith: "%s"}}) { edges { cursor } } }' % PROBE,
        'query { administrativePenalties(orderBy: [{field: violation}]) { edges { cursor } } }',
        'query { administrativePenaltiesGroups(groupBy: [violation]) { count } }',
    ):
        record = await assert_refused(gateway, query)
        assert record["uses"] == {"AdministrativePenalty.violation": record["uses"]["AdministrativePenalty.violation"]}
    body = await gateway.query('query { administrativePenalties(where: {violation: {eq: "x"}}) { edges { cursor } } }',
                               expect_status=400, **LICENSING)
    assert "free text" in body["errors"][0]["message"]


@pytest.mark.parametrize("condition", ['fineAmount: {gt: "1e100000"}', 'fineAmount: {lt: "NaN"}',
                                       'decisionNumber: {eq: "a\\u0000b"}'])
async def test_out_of_range_filter_values_are_bad_input(gateway: Gateway, condition: str) -> None:
    body = await gateway.query('query { administrativePenalties(where: {%s}) { edges { cursor } } }' % condition,
                               **LICENSING)
    assert codes(body) == {"BAD_USER_INPUT"}, body
