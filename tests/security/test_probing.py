"""Attack suite: each test is one attack a hostile department client (or an auditor) would try,
and asserts that the gateway denies it precisely — the exact code at the exact place — and leaks
nothing. Every answer is checked on its way in (`Attacker.read`, tests/security/support.py): never
a server error, never a trace of the code, the SQL or the data directory, and never a raw value of
a denied or masked field, compared with the value read straight from the library database.

Not here: query depth, alias, root-field and cost limits, persisted queries, introspection
switching, batched bodies and policy-store staleness (tested where they are built).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.security.support import (
    ASSISTANCE,
    AUDITOR,
    EXPIRED,
    LICENSING,
    OFF_PURPOSE,
    SUSPENDED,
    TOO_BIG,
    Answer,
    Attacker,
    Caller,
    assert_bad_argument,
    assert_refused,
    attack,
    believer,
    body_of,
    change_policy,
    every_population_secret,
    nested_json,
    person_secrets,
    raw_values,
    row_counts,
)
from tests.support import Gateway, fetch
from workflow.service import now

PROVIDER = {"app_id": "ga-data-officer"}  # 公安, provider of 人口基本信息 and of G-MZ-0001
GRANT_CHANGE = 'mutation($id: String!, $reason: String!) { %s(id: $id, reason: $reason) { id status } }'
PERSON = 'query($id: ID!) { person(idNumber: $id) { %s } }'
CATALOG = "{ catalog { resources { code } } }"
MARITAL = ("population", "person_basic", "id_number", ("marital_status",))


def field_errors(answer: Answer) -> list[tuple[tuple[object, ...], str]]:
    """Every error's path and code, in a stable order (a path reported twice shows twice)."""
    return sorted(((tuple(e.get("path") or ()), e["extensions"]["code"]) for e in answer.body.get("errors", [])),
                  key=str)


def expect_at(where: set[tuple[object, ...]], code: str) -> list[tuple[tuple[object, ...], str]]:
    return sorted(((path, code) for path in where), key=str)


async def last_audit(gateway: Gateway) -> dict:
    [record] = await gateway.runtime.audit.records(limit=1)
    return record


# 1. Aliases and fragments re-requesting a denied or masked field.

DENIED_COPIES = """query($id: ID!, $yes: Boolean!, $no: Boolean!) {
  person(idNumber: $id) {
    name a1: %(f)s a2: %(f)s %(f)s ...Outer
    ... on Person { a3: %(f)s ... on Person { a4: %(f)s } }
    a5: %(f)s @include(if: $yes) a6: %(f)s @skip(if: $no)
  }
  ... on Query { again: person(idNumber: $id) { ...Outer } }
  ...Root
}
fragment Outer on Person { o1: %(f)s ...Inner }
fragment Inner on Person { i1: %(f)s }
fragment Root on Query { third: person(idNumber: $id) { r1: %(f)s ...Inner } }"""
SOURCES = {"maritalStatus": MARITAL, "religion": ("population", "person_basic", "id_number", ("religion",)),
           "insuranceStatus": ("social_security", "social_insurance", "id_number", ("insurance_status",))}


DENIED_CASES = [  # who asks, for which field, and why it is denied
    (LICENSING, "maritalStatus", "GRANT_REQUIRED"),
    (OFF_PURPOSE, "maritalStatus", "PURPOSE_NOT_GRANTED"),
    (ASSISTANCE, "religion", "FIELD_NOT_SHARED"),
    (LICENSING, "insuranceStatus", "GRANT_REQUIRED"),  # another library
]


async def test_aliases_and_fragments_never_reach_a_denied_field(gateway: Gateway) -> None:
    """Thirteen copies of one denied field — aliases, the field itself, named fragments nested in
    named fragments, inline fragments on Person in each other, a fragment and an inline fragment
    on Query at the root, @include and @skip — each null with the field's code at its own path,
    for a field without a grant, under another purpose, not shared, or from another library."""
    subject = await believer(gateway)
    for caller, field, code in DENIED_CASES:
        with attack((caller, field)):
            library, table, key, columns = SOURCES[field]
            attacker = Attacker(gateway, await raw_values(gateway, library, table, key, [subject], columns))
            answer = await attacker.ask(DENIED_COPIES % {"f": field}, {"id": subject, "yes": True, "no": False}, caller)
            copies = {("person", alias) for alias in ("a1", "a2", field, "o1", "i1", "a3", "a4", "a5", "a6")}
            copies |= {("again", "o1"), ("again", "i1"), ("third", "r1"), ("third", "i1")}
            assert field_errors(answer) == expect_at(copies, code)
            assert answer.data["person"]["name"]
            denied = [value for root in answer.data.values() for alias, value in root.items() if alias != "name"]
            assert denied == [None] * 13


MASKED_COPIES = """query($id: ID!) {
  person(idNumber: $id) { mobile m1: mobile m2: mobile ...Contact ... on Person { m3: mobile a1: address }
                          address idNumber i1: idNumber birthDate b1: birthDate }
  ... on Query { twin: person(idNumber: $id) { ...Contact } }
  populationRecords(first: 2, orderBy: [{field: name}]) { edges { node { n1: mobile ...Contact } } }
}
fragment Contact on Person { c1: mobile c2: idNumber }"""


async def test_a_masked_field_under_aliases_and_fragments_stays_masked(gateway: Gateway) -> None:
    """Without a grant, the contact fields are masked previews: every alias and fragment copy is
    the same masked value, and extensions.masked names each copy by its alias path and rule."""
    subject = gateway.sample_id
    attacker = Attacker(gateway, await every_population_secret(gateway) | await person_secrets(gateway, [subject]))
    answer = await attacker.ask(MASKED_COPIES, {"id": subject}, LICENSING)
    assert "errors" not in answer.body
    rules = {"mobile": "mobile", "address": "address", "idNumber": "idNumber", "birthDate": "year"}
    person = {**{f"{f[0]}1": f for f in ("mobile", "address", "idNumber", "birthDate")}, **{f: f for f in rules},
              "m2": "mobile", "m3": "mobile", "c1": "mobile", "c2": "idNumber"}
    expected = {("person", alias): rules[field] for alias, field in person.items()}
    expected |= {("twin", "c1"): "mobile", ("twin", "c2"): "idNumber"}
    expected |= {("populationRecords", "edges", i, "node", alias): rules[field]
                 for i in range(2) for alias, field in (("n1", "mobile"), ("c1", "mobile"), ("c2", "idNumber"))}
    assert answer.masked() == expected
    copies = answer.data["person"]
    assert {copies[alias] for alias, field in person.items() if field == "mobile"} == {copies["mobile"]}
    assert copies["idNumber"] == copies["i1"] == copies["c2"] == answer.data["twin"]["c2"] == subject[:6] + "*" * 8 + subject[-4:]
    assert copies["birthDate"] == copies["b1"] == subject[6:10]


# 2. Inline fragments on abstract types (there are none) and on the concrete ones.


async def test_the_schema_has_no_abstract_type_to_spread_on(gateway: Gateway) -> None:
    """An interface or a union would let a fragment select a field under a type the planner
    does not expect; the schema has none (adding one calls for its own attack here)."""
    answer = await Attacker(gateway).ask("{ __schema { types { name kind } } }", caller=LICENSING)
    kinds = {t["name"]: t["kind"] for t in answer.data["__schema"]["types"] if not t["name"].startswith("__")}
    assert {name for name, kind in kinds.items() if kind in ("INTERFACE", "UNION")} == set()
    assert {"Person", "Enterprise", "PersonConnection", "PersonEdge", "PersonLicense", "Query"} <= set(kinds)


INLINE_ON_CONCRETE = """query($holder: ID!) {
  populationRecords(first: 3, orderBy: [{field: name}]) { ... on PersonConnection { edges {
    ... on PersonEdge { node { ... on Person { name maritalStatus } } } } } }
  holder: person(idNumber: $holder) { ... on Person { licenses { ... on PersonLicense { licenseNumber l2: licenseNumber } } } }
}"""


async def test_inline_fragments_on_the_connection_edge_node_and_record_types(gateway: Gateway) -> None:
    """Fragments on each concrete type of a list — connection, edge, node, nested record — reach
    the decisions plain fields get: the denied field null with its code on every row, the
    licence numbers (masked for everyone) masked on every record."""
    licences = await fetch(gateway.runtime.settings.library_urls["license"],
                           "SELECT license_number, holder_id_number FROM person_license ORDER BY row_id")
    attacker = Attacker(gateway, {str(number) for number, _ in licences} | {"已婚", "未婚", "离婚", "丧偶"})
    answer = await attacker.ask(INLINE_ON_CONCRETE, {"holder": licences[0][1]}, LICENSING)
    assert len(answer.data["populationRecords"]["edges"]) == 3
    assert field_errors(answer) == expect_at({("populationRecords", "edges", i, "node", "maritalStatus")
                                              for i in range(3)}, "GRANT_REQUIRED")
    held = answer.data["holder"]["licenses"]
    assert held and answer.masked() == {("holder", "licenses", j, alias): "licenseNumber"
                                        for j in range(len(held)) for alias in ("licenseNumber", "l2")}


MISPLACED_FRAGMENTS = [
    '{ person(idNumber: "%s") { ... on Enterprise { taxPaid } } }',
    '{ person(idNumber: "%s") { ...Money } } fragment Money on Enterprise { taxPaid }',
    '{ person(idNumber: "%s") { ... on Query { again: person(idNumber: "%s") { religion } } } }',
    '{ ... on Person { religion } person(idNumber: "%s") { name } }',
    '{ ... on Mutation { __typename } person(idNumber: "%s") { name } }',
]


async def test_a_fragment_on_a_type_that_cannot_be_there_is_refused_before_anything_runs(gateway: Gateway) -> None:
    """A type condition that cannot apply where it is spread (Enterprise inside Person, Query
    inside Person, Person or Mutation at the root) never runs: 400 BAD_USER_INPUT."""
    attacker = Attacker(gateway, await person_secrets(gateway, [gateway.sample_id]))
    for query in MISPLACED_FRAGMENTS:
        with attack(query):
            assert_refused(await attacker.ask(query.replace("%s", gateway.sample_id), caller=LICENSING), "BAD_USER_INPUT")


# 3. Filter, sort and cursor oracles on masked fields, through variables of every input type.

ORACLES = [
    ("date", LICENSING, "query($w: PopulationRecordsWhere) { populationRecords(where: $w) { edges { cursor } } }",
     {"w": {"birthDate": {"gte": "1978-11-12", "lte": "1978-11-12"}}}),
    ("date-in", LICENSING,
     "query($w: SocialInsuranceRecordsWhere) { socialInsuranceRecords(where: $w) { edges { cursor } } }",
     {"w": {"insuredSince": {"in": ["2010-03-01", "2011-03-01"]}}}),
    ("decimal", LICENSING,
     "query($w: EnterpriseAnnualReportsWhere) { enterpriseAnnualReports(where: $w) { edges { cursor } } }",
     {"w": {"annualRevenue": {"gt": "3447006.04", "lt": "3447006.06"}}}),
    ("int-with-suspended-decimal", SUSPENDED,
     "query($w: EnterpriseAnnualReportsWhere) { enterpriseAnnualReports(where: $w) { edges { cursor } } }",
     {"w": {"employeeCount": {"gte": 1}, "taxPaid": {"lt": "78007.62"}}}),
    ("boolean", LICENSING, "query($w: DishonestPersonsWhere) { dishonestPersons(where: $w) { edges { cursor } } }",
     {"w": {"dishonestDebtor": {"eq": True}}}),
    ("decimal-masked-by-the-grant", ASSISTANCE,
     "query($w: ContributionRecordsWhere) { contributionRecords(where: $w) { edges { cursor } } }",
     {"w": {"amount": {"in": ["4416.00", "8223.00"]}}}),
    ("string-masked-derivative", ASSISTANCE,
     "query($w: SocialInsuranceRecordsWhere) { socialInsuranceRecords(where: $w) { edges { cursor } } }",
     {"w": {"bankAccountMasked": {"startsWith": "622202"}}}),
    ("string-not-shared", ASSISTANCE,
     "query($w: SocialInsuranceRecordsWhere) { socialInsuranceRecords(where: $w) { edges { cursor } } }",
     {"w": {"bankAccount": {"eq": "6222023555175230325"}}}),
    ("sort-enum", SUSPENDED,
     "query($o: [EnterpriseAnnualReportsOrder!]) { enterpriseAnnualReports(orderBy: $o) { edges { cursor } } }",
     {"o": [{"field": "employeeCount"}, {"field": "taxPaid", "direction": "DESC"}]}),
    ("group-enum", LICENSING,
     "query($g: [SocialInsuranceRecordsField!]!) { socialInsuranceRecordsGroups(groupBy: $g) { values count } }",
     {"g": ["insuranceStatus"]}),
    ("group-enum-expired", EXPIRED,
     "query($g: [PopulationRecordsField!]!) { populationRecordsGroups(groupBy: $g) { values count } }",
     {"g": ["gender", "maritalStatus"]}),
]


async def test_a_filter_sort_or_group_through_variables_of_every_input_type_is_refused(gateway: Gateway) -> None:
    """Date, Decimal, Int, Boolean, `in` lists, sort and group enums, all through variables, on a
    field the caller sees masked, lapsed or not at all: refused before any read (the audit record
    says so, with no row read), and the refusal never echoes the probed value."""
    for case, caller, query, variables in ORACLES:
        with attack(case):
            probes = {v for v in _scalars(variables) if isinstance(v, str) and any(c.isdigit() for c in v)}
            assert_refused(await Attacker(gateway, probes).ask(query, variables, caller), "FILTER_NOT_ALLOWED")
            record = await last_audit(gateway)
            assert record["code"] == "FILTER_NOT_ALLOWED" and record["rows"] == {}


def _scalars(value: object) -> list[object]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v)]
    return [value]


SORTED_BY_ID = ("query($after: String) { populationRecords(first: 2, after: $after, orderBy: [{field: idNumber}]) "
                "{ edges { node { name } } pageInfo { endCursor } } }")


async def test_a_cursor_replayed_under_another_purpose_list_or_application_is_refused(gateway: Gateway) -> None:
    """A cursor sealed over ID numbers (a sort the grant allows) opens nowhere else: under a
    purpose that masks the field the request is refused before the cursor is read; on another
    list, another application, an unsorted query or the audit trail it is not a cursor of theirs."""
    attacker = Attacker(gateway)
    served = await attacker.ask(SORTED_BY_ID, caller=ASSISTANCE)
    cursor = served.data["populationRecords"]["pageInfo"]["endCursor"]
    attacker.secrets |= await every_population_secret(gateway)
    assert_refused(await attacker.ask(SORTED_BY_ID, {"after": cursor}, OFF_PURPOSE), "FILTER_NOT_ALLOWED")
    elsewhere = [
        ("query($after: String) { socialInsuranceRecords(first: 2, after: $after) { edges { cursor } } }", ASSISTANCE),
        ("query($after: String) { dishonestPersons(first: 2, after: $after) { edges { cursor } } }", ASSISTANCE),
        ("query($after: String) { populationRecords(first: 2, after: $after) { edges { cursor } } }", ASSISTANCE),
        (SORTED_BY_ID.replace("idNumber", "gender"), EXPIRED),
        ("query($after: String) { auditRecords(first: 2, after: $after) { edges { cursor } } }", AUDITOR),
    ]
    for query, caller in elsewhere:
        assert_bad_argument(await attacker.ask(query, {"after": cursor}, caller))
    again = await attacker.ask(SORTED_BY_ID, {"after": cursor}, ASSISTANCE)
    assert "errors" not in again.body and len(again.data["populationRecords"]["edges"]) == 2


# 4. Replay after revocation: the very same request, once the right behind it is withdrawn.

REPLAYED = """query($id: ID!) { person(idNumber: $id) { name maritalStatus m2: maritalStatus ...Private mobile } }
fragment Private on Person { m3: maritalStatus idNumber }"""
FILTERED_BY_ID = "query($id: String!) { populationRecords(where: {idNumber: {eq: $id}}) { edges { node { name } } } }"
REPLAY_DENIED = {("person", "maritalStatus"), ("person", "m2"), ("person", "m3")}


async def _served_then_withdrawn(gateway: Gateway, withdraw: Callable[[Attacker], Awaitable[None]], code: str) -> None:
    """Serve REPLAYED, a filter and a cursor raw under G-MZ-0001, withdraw the right, replay all."""
    attacker, subject = Attacker(gateway), gateway.sample_id
    served = await attacker.ask(REPLAYED, {"id": subject}, ASSISTANCE)
    assert "errors" not in served.body and served.data["person"]["idNumber"] == subject
    assert (await attacker.ask(FILTERED_BY_ID, {"id": subject}, ASSISTANCE)).data["populationRecords"]["edges"]
    cursor = (await attacker.ask(SORTED_BY_ID, caller=ASSISTANCE)).data["populationRecords"]["pageInfo"]["endCursor"]
    await withdraw(attacker)
    attacker.secrets |= await person_secrets(gateway, [subject], ("id_number", "mobile", "marital_status"))
    replay = await attacker.ask(REPLAYED, {"id": subject}, ASSISTANCE)
    assert field_errors(replay) == expect_at(REPLAY_DENIED, code)
    assert replay.masked() == {("person", "mobile"): "mobile", ("person", "idNumber"): "idNumber"}
    assert_refused(await attacker.ask(FILTERED_BY_ID, {"id": subject}, ASSISTANCE), "FILTER_NOT_ALLOWED")
    assert_refused(await attacker.ask(SORTED_BY_ID, {"after": cursor}, ASSISTANCE), "FILTER_NOT_ALLOWED")


@pytest.mark.parametrize(("action", "status"), [("revokeGrant", "REVOKED"), ("suspendGrant", "SUSPENDED")])
async def test_replay_after_the_provider_withdraws_the_grant(gateway: Gateway, action: str, status: str) -> None:
    """公安 revokes or suspends G-MZ-0001 through the workflow: the request served raw a moment
    ago is replayed byte for byte — every copy of the conditional field GRANT_SUSPENDED, the
    previews masked again, and the filter and the cursor issued under the grant refused."""
    async def withdraw(attacker: Attacker) -> None:
        changed = await attacker.ask(GRANT_CHANGE % action, {"id": "G-MZ-0001", "reason": "核查使用情况"}, PROVIDER)
        assert changed.data[action]["status"] == status, changed.body

    await _served_then_withdrawn(gateway, withdraw, "GRANT_SUSPENDED")


async def test_replay_after_the_grant_lapses(gateway: Gateway) -> None:
    """G-MZ-0001's validUntil passes (moved back in the store, as time would move on): the replay
    is GRANT_EXPIRED at every copy, with the same refusals of the filter and the cursor."""
    async def lapse(attacker: Attacker) -> None:
        await change_policy(gateway, "UPDATE grants SET valid_until = :day WHERE id = 'G-MZ-0001'",
                            day=now().date() - timedelta(days=2))

    await _served_then_withdrawn(gateway, lapse, "GRANT_EXPIRED")


async def test_the_consumer_cannot_lift_its_own_suspension(gateway: Gateway) -> None:
    """fg-credit, its department's provider desk (FG provides the credit library, not the annual
    reports: 市场监管 does) and another provider try to resume, re-suspend or revoke the suspended
    G-FG-0001: there is no such grant of theirs (BAD_USER_INPUT); the replay is still GRANT_SUSPENDED."""
    attacker = Attacker(gateway)
    for app_id in ("fg-credit", "fg-data-officer", "rs-data-officer"):
        for action in ("resumeGrant", "suspendGrant", "revokeGrant"):
            answer = await attacker.ask(GRANT_CHANGE % action, {"id": "G-FG-0001", "reason": "自行恢复"}, {"app_id": app_id})
            assert_bad_argument(answer)
    replay = await attacker.ask('query($c: ID!) { enterprise(creditCode: $c) { taxPaid } }',
                                {"c": gateway.sample_code}, SUSPENDED)
    assert field_errors(replay) == [(("enterprise", "taxPaid"), "GRANT_SUSPENDED")]


WITHDRAWN = {
    "application-deactivated": ("UPDATE applications SET active = :off WHERE id = 'mz-assistance'", {"off": False}),
    "token-rotated": ("UPDATE applications SET token_sha256 = :digest WHERE id = 'mz-assistance'", {"digest": "0" * 64}),
    "operator-deactivated": ("UPDATE operators SET active = :off WHERE id = 'mz-wangli'", {"off": False}),
    "operator-moved": ("UPDATE operators SET department = 'RS' WHERE id = 'mz-wangli'", {}),
}
EVERY_KIND = [  # data, a data check, the catalog, the workflow, the audit trail
    (PERSON % "name mobile", ASSISTANCE),
    ('query($id: ID!) { checkPerson(idNumber: $id, claims: {name: "张三"}) { results { outcome } } }', ASSISTANCE),
    (CATALOG, {"app_id": "mz-assistance"}),
    ("{ shareApplications { id } }", {"app_id": "mz-assistance"}),
    ("{ auditRecords(first: 1) { edges { cursor } } }", {"app_id": "mz-assistance"}),
]


@pytest.mark.parametrize("withdrawal", list(WITHDRAWN))
async def test_replay_after_the_credentials_are_withdrawn(gateway: Gateway, withdrawal: str) -> None:
    """Requests of every kind, served, are replayed with the same token and headers after the
    platform deactivates the application, rotates its token, deactivates its operator or moves
    the operator to another department: each is 401 UNAUTHENTICATED, with no data."""
    attacker = Attacker(gateway)
    for query, caller in EVERY_KIND:
        served = await attacker.ask(query, {"id": gateway.sample_id} if "$id" in query else None, caller)
        assert "errors" not in served.body, served.body
    statement, params = WITHDRAWN[withdrawal]
    await change_policy(gateway, statement, **params)
    attacker.secrets |= await person_secrets(gateway, [gateway.sample_id], ("id_number", "mobile"))
    for query, caller in EVERY_KIND:
        answer = await attacker.ask(query, {"id": gateway.sample_id} if "$id" in query else None, caller)
        assert_refused(answer, "UNAUTHENTICATED", 401)


# 5. Another application's purpose, another department's operator.

OTHERS_CHECK = 'query($id: ID!) { checkPerson(idNumber: $id, claims: {mobile: "13800000000"}) { results { outcome } } }'
OTHERS_UNMASK = '{ unmask(field: "Person.mobile", tokens: ["enc1.a.AAAA"]) }'


OTHERS_PURPOSES = [  # the caller, the purpose another application holds a grant for, the caller's reason
    ("scjg-licensing", "SOCIAL_ASSISTANCE_REVIEW", "GRANT_REQUIRED"),  # no grant at all
    ("fg-credit", "SOCIAL_ASSISTANCE_REVIEW", "GRANT_REQUIRED"),  # its own grant is suspended, elsewhere
    ("rs-employment", "SOCIAL_ASSISTANCE_REVIEW", "GRANT_REQUIRED"),  # its own grant on the field lapsed
    ("mz-assistance", "MARKET_SUPERVISION", "PURPOSE_NOT_GRANTED"),  # grants on the field, for its own purpose
]  # a console of the grantee's department (rs-data-officer) reads no data at all: test_hardening.py


async def test_a_purpose_for_which_only_another_application_holds_a_grant(gateway: Gateway) -> None:
    """X-Purpose names a purpose another application is granted for: the caller gets nothing of
    that grant — the conditional field, the contribution records, the data check and the
    unmasking refused with the caller's own reason, the previews masked, the filter refused."""
    attacker, subject = Attacker(gateway, await person_secrets(gateway, [gateway.sample_id])), {"id": gateway.sample_id}
    for app_id, purpose, code in OTHERS_PURPOSES:
        caller = {"app_id": app_id, "purpose": purpose}
        with attack(caller):
            answer = await attacker.ask(PERSON % "name maritalStatus mobile idNumber contributions { amount }", subject,
                                        caller)
            assert field_errors(answer) == expect_at({("person", "maritalStatus"), ("person", "contributions")}, code)
            assert answer.masked() == {("person", "mobile"): "mobile", ("person", "idNumber"): "idNumber"}
            for query, root in ((OTHERS_CHECK, "checkPerson"), (OTHERS_UNMASK, "unmask")):
                refusal = await attacker.ask(query, subject, caller)
                assert field_errors(refusal) == [((root,), code)] and refusal.data is None
            assert_refused(await attacker.ask(FILTERED_BY_ID, subject, caller), "FILTER_NOT_ALLOWED")


FOREIGN_OPERATORS = [  # a token, and an operator registered to another department
    ("mz-assistance", "scjg-sunwei"),  # another consumer's
    ("scjg-licensing", "sj-zhoumin"),  # the platform's
    ("sj-auditor", "mz-wangli"),  # a consumer's, with the auditor's token
    ("ga-data-officer", "fg-chenjing"),  # another provider's
    ("rs-employment", "rs-liuyang\u200b"),  # its own, with a zero-width tail
]


async def test_an_operator_of_another_department_is_unauthenticated(gateway: Gateway) -> None:
    """X-Operator names a real-name operator registered to another department (or a look-alike of
    one's own): 401 UNAUTHENTICATED for data, a data check, the catalog, the workflow and the
    audit trail alike, whatever the purpose."""
    attacker = Attacker(gateway, await person_secrets(gateway, [gateway.sample_id], ("id_number", "mobile")))
    for app_id, operator in FOREIGN_OPERATORS:
        for query, _ in EVERY_KIND:
            with attack((app_id, operator, query)):
                answer = await attacker.ask(query, {"id": gateway.sample_id} if "$id" in query else None,
                                            {"app_id": app_id, "purpose": "SOCIAL_ASSISTANCE_REVIEW"},
                                            headers={"X-Operator": operator.encode()})
                assert_refused(answer, "UNAUTHENTICATED", 401)


# 6. Expired and suspended grants through aliases, fragments and batched root fields.


@dataclass(frozen=True)
class Lapsed:
    caller: Caller
    code: str
    root: str
    argument: str
    listing: str
    denied: str
    masked: str
    rule: str
    samples: str
    source: tuple[str, str, str, tuple[str, ...]]
    probe: dict  # a filter on the masked field

    @property
    def where(self) -> str:
        return self.listing[0].upper() + self.listing[1:] + "Where"


LAPSED = {
    "expired": Lapsed(EXPIRED, "GRANT_EXPIRED", "person", "idNumber", "populationRecords", "maritalStatus", "mobile",
                      "mobile", "idNumbers", ("population", "person_basic", "id_number", ("marital_status", "mobile")),
                      {"startsWith": "139"}),
    "suspended": Lapsed(SUSPENDED, "GRANT_SUSPENDED", "enterprise", "creditCode", "enterpriseAnnualReports", "taxPaid",
                        "annualRevenue", "amountRange", "creditCodes",
                        ("legal_entity", "enterprise_annual_report", "credit_code", ("tax_paid", "annual_revenue")),
                        {"in": ["1903252.43"]}),
}
LAPSED_ROOTS = """query($k0: ID!, $k1: ID!, $k2: ID!) {
  first: %(root)s(%(argument)s: $k0) { d1: %(denied)s ...Lapsed m1: %(masked)s }
  second: %(root)s(%(argument)s: $k1) { ... on %(type)s { d2: %(denied)s m2: %(masked)s } }
  ... on Query { third: %(root)s(%(argument)s: $k2) { ...Lapsed } }
  %(listing)s(first: 3) { edges { node { ...Lapsed } } }
}
fragment Lapsed on %(type)s { d3: %(denied)s %(masked)s }"""


@pytest.mark.parametrize("case", list(LAPSED))
async def test_a_lapsed_grant_through_aliases_fragments_and_batched_roots(gateway: Gateway, case: str) -> None:
    """rs-employment's expired grant and fg-credit's suspended one, asked for through three root
    lookups (aliased, in fragments, in an inline fragment on Query) and a list: the denied field
    carries the grant's reason at every path, the masked one is masked at every path, and a
    filter on the masked field through a variable is refused."""
    spec = LAPSED[case]
    keys = gateway.credentials["samples"][spec.samples][:3]
    library, table, key_column, columns = spec.source
    secrets = await raw_values(gateway, library, table, key_column, keys, columns)
    attacker = Attacker(gateway, secrets | await every_population_secret(gateway))
    query = LAPSED_ROOTS % {**vars(spec), "type": spec.root.capitalize()}  # Person, Enterprise
    answer = await attacker.ask(query, {f"k{i}": key for i, key in enumerate(keys)}, spec.caller)
    rows = range(len(answer.data[spec.listing]["edges"]))
    assert len(rows) == 3
    listed = {(spec.listing, "edges", i, "node") for i in rows}
    assert field_errors(answer) == expect_at(
        {("first", "d1"), ("first", "d3"), ("second", "d2"), ("third", "d3"), *((*row, "d3") for row in listed)}, spec.code)
    assert answer.masked() == dict.fromkeys({("first", "m1"), ("first", spec.masked), ("second", "m2"),
                                             ("third", spec.masked), *((*row, spec.masked) for row in listed)}, spec.rule)
    probe = "query($w: %s) { %s(where: $w) { edges { cursor } } }" % (spec.where, spec.listing)
    assert_refused(await attacker.ask(probe, {"w": {spec.masked: spec.probe}}, spec.caller), "FILTER_NOT_ALLOWED")


# 7. SQL injection through every argument type.

INJECTIONS = ["' OR '1'='1", "1; DROP TABLE person_basic;--", '" OR ""="', "') OR ('x'='x", "%", "_", "%_%", "\\",
              "a\x00b", "*/ OR 1=1 /*"]
LONG_INJECTION = "' OR '1'='1' -- " + "A" * 3000
SAMPLE = "__SAMPLE__"


def refused(answer: Answer) -> None:
    assert_bad_argument(answer)


def nothing(answer: Answer) -> None:
    """Served, and empty: no row, no record, no match."""
    assert "errors" not in answer.body, answer.body
    for value in answer.data.values():
        assert value in (None, [], {"edges": []}), answer.body


def outcome(expected: str) -> Callable[[Answer], None]:
    def check(answer: Answer) -> None:
        assert "errors" not in answer.body, answer.body
        [result] = answer.data.values()
        assert {r["outcome"] for r in result["results"]} == {expected}, answer.body
    return check


KEYS_AND_FILTERS = {  # argument kind: (query taking $v, caller, what an injected value gets)
    "id-number": ("query($v: ID!) { person(idNumber: $v) { name } }", LICENSING, refused),
    "credit-code": ("query($v: ID!) { enterprise(creditCode: $v) { name } }", LICENSING, refused),
    "string-eq": ("query($v: String) { populationRecords(where: {name: {eq: $v}}) { edges { cursor } } }", LICENSING, nothing),
    "string-starts-with": ("query($v: String) { populationRecords(where: {name: {startsWith: $v}}) { edges { cursor } } }",
                           LICENSING, nothing),
    "string-in": ("query($v: String!) { populationRecords(where: {ethnicity: {in: [$v]}}) { edges { cursor } } }",
                  LICENSING, nothing),
    "int": ("query($v: Int) { enterpriseAnnualReports(where: {employeeCount: {gt: $v}}) { edges { cursor } } }",
            LICENSING, refused),
    "decimal": ("query($v: Decimal) { administrativePenalties(where: {fineAmount: {lt: $v}}) { edges { cursor } } }",
                LICENSING, refused),
    "date": ("query($v: Date) { administrativePenalties(where: {decidedOn: {gte: $v}}) { edges { cursor } } }",
             LICENSING, refused),
    "date-in": ("query($v: Date!) { personLicenses(where: {issuedOn: {in: [$v]}}) { edges { cursor } } }", LICENSING, refused),
    "boolean": ("query($v: Boolean) { dishonestPersons(where: {dishonestDebtor: {eq: $v}}) { edges { cursor } } }",
                ASSISTANCE, refused),
}
ORDERING_AND_PAGING = {
    "sort-field": ("query($v: PopulationRecordsField!) { populationRecords(orderBy: [{field: $v}]) { edges { cursor } } }",
                   LICENSING, refused),
    "sort-direction": ("query($v: SortDirection!) { populationRecords(orderBy: [{field: name, direction: $v}]) "
                       "{ edges { cursor } } }", LICENSING, refused),
    "group-key": ("query($v: PopulationRecordsField!) { populationRecordsGroups(groupBy: [$v]) { count } }", LICENSING, refused),
    "cursor": ("query($v: String) { populationRecords(after: $v) { edges { cursor } } }", LICENSING, refused),
    "first": ("query($v: Int!) { populationRecords(first: $v) { edges { cursor } } }", LICENSING, refused),
}
CHECKS_AND_TOKENS = {
    "check-claim": ('query($v: String) { checkPerson(idNumber: "%s", claims: {name: $v}) { results { outcome } } }' % SAMPLE,
                    ASSISTANCE, outcome("MISMATCH")),
    "licence-number": ('query($v: String!) { checkPersonLicense(licenseNumber: $v, claims: {licenseType: "职业资格证书"}) '
                       '{ results { outcome } } }', LICENSING, outcome("NOT_FOUND")),
    "unmask-token": ('query($v: String!) { unmask(field: "Person.mobile", tokens: [$v]) }', ASSISTANCE, refused),
    "unmask-field": ('query($v: String!) { unmask(field: $v, tokens: ["enc1.a.AAAA"]) }', ASSISTANCE, refused),
    "explain": ('query($v: String!) { explain(purpose: $v, field: "Person.mobile") { access } }', LICENSING, refused),
}
WORKFLOW_AND_AUDIT = {
    "workflow-id": ("query($v: String!) { shareApplication(id: $v) { id } }", {"app_id": "sj-platform-admin"}, nothing),
    "workflow-filters": ("query($v: String) { shareApplications(resource: $v) { id } workflowEvents(kind: $v) { seq } }",
                         {"app_id": "sj-platform-admin"}, nothing),
    **{f"audit-{key}": ("query($v: String) { auditRecords(first: 5, filter: {%s: $v}) { edges { cursor } } }" % key,
                        AUDITOR, nothing)
       for key in ("application", "department", "operation", "outcome", "purpose", "coordinate", "resource", "subject")},
    "audit-period": ("query($v: String) { auditRecords(first: 5, filter: {from: $v}) { edges { cursor } } }", AUDITOR, refused),
}


ARGUMENT_GROUPS = {"keys-and-filters": KEYS_AND_FILTERS, "ordering-and-paging": ORDERING_AND_PAGING,
                   "checks-and-tokens": CHECKS_AND_TOKENS, "workflow-and-audit": WORKFLOW_AND_AUDIT}


@pytest.mark.parametrize("group", list(ARGUMENT_GROUPS))
async def test_sql_injection_through_every_argument_type(gateway: Gateway, group: str) -> None:
    """Classic payloads (quotes, `;` and comments, LIKE wildcards `%` and `_`, a backslash, a NUL
    byte, 3,000 characters) in every kind of argument: each is bad input or matches nothing —
    `%` and `_` are literal characters — never a server error; afterwards no table lost a row."""
    attacker = Attacker(gateway, await every_population_secret(gateway))
    before = await row_counts(gateway)
    for kind, (query, caller, expected) in ARGUMENT_GROUPS[group].items():
        for payload in [*INJECTIONS, LONG_INJECTION]:
            with attack((kind, payload[:40])):
                answer = await attacker.ask(query.replace(SAMPLE, gateway.sample_id), {"v": payload}, caller)
                if answer.codes and (payload == LONG_INJECTION or "\x00" in payload):  # may be refused, whatever the kind
                    assert_bad_argument(answer, TOO_BIG)
                else:
                    expected(answer)
    assert await row_counts(gateway) == before
    await attacker.still_serving()


async def test_like_wildcards_in_a_filter_are_literal_characters(gateway: Gateway) -> None:
    """`startsWith` is a LIKE prefix underneath: `%`, `_` and `\\` must not widen it, while a real
    prefix still selects its rows (a wildcard would turn the filter into a probe of its own)."""
    attacker = Attacker(gateway)
    query = "query($p: String) { populationRecords(first: 100, where: {ethnicity: {startsWith: $p}}) { edges { cursor } } }"
    assert (await attacker.ask(query, {"p": "汉"})).data["populationRecords"]["edges"]
    for wildcard in ("%", "_", "%族", "_族", "\\%", "[汉]"):
        assert (await attacker.ask(query, {"p": wildcard})).data["populationRecords"]["edges"] == [], wildcard


HEADER_INJECTIONS = ["' OR '1'='1", "1; DROP TABLE operators;--", "%", "*"]


async def test_sql_injection_through_the_headers(gateway: Gateway) -> None:
    """The same payloads as the token, the operator and the purpose: 401, 401 and 400."""
    attacker = Attacker(gateway)
    before = await row_counts(gateway)
    for payload in HEADER_INJECTIONS:
        for header, code, status in (("Authorization", "UNAUTHENTICATED", 401), ("X-Operator", "UNAUTHENTICATED", 401),
                                     ("X-Purpose", "BAD_USER_INPUT", 400)):
            value = f"Bearer {payload}" if header == "Authorization" else payload
            answer = await attacker.ask(PERSON % "name", {"id": gateway.sample_id}, ASSISTANCE, headers={header: value})
            assert_refused(answer, code, status)
    assert await row_counts(gateway) == before


# 8. Unicode look-alikes and normalization tricks.


def digits_of(zero: int) -> dict[int, int]:
    return {ord(str(d)): zero + d for d in range(10)}


ID_LOOK_ALIKES: dict[str, Callable[[str], str]] = {
    "arabic-indic-digits": lambda k: k.translate(digits_of(0x0660)),
    "devanagari-digits": lambda k: k.translate(digits_of(0x0966)),
    "zero-width-space": lambda k: k[:6] + "\u200b" + k[6:],
    "zero-width-joiner": lambda k: k[:-1] + "\u200d" + k[-1],
    "right-to-left-mark": lambda k: "\u200f" + k,
    "left-to-right-override": lambda k: "\u202d" + k + "\u202c",
    "soft-hyphen": lambda k: k[:6] + "\u00ad" + k[6:],
    "cyrillic-kha-for-x": lambda k: k[:-1] + "\u0425",
    "greek-chi-for-x": lambda k: k[:-1] + "\u03a7",
}


async def _id_ending_in_x(gateway: Gateway) -> str:
    [(id_number,)] = await fetch(gateway.runtime.settings.library_urls["population"],
                                 "SELECT id_number FROM person_basic WHERE id_number LIKE '%X' ORDER BY row_id LIMIT 1")
    return str(id_number)


async def test_a_look_alike_id_number_is_never_a_real_subject(gateway: Gateway) -> None:
    """Other scripts' digits, invisible characters, direction marks and a Cyrillic or Greek X
    are not NFKC-equivalent to the ID number they imitate: the key lookup and the data check
    refuse them, the list filter matches nothing; the subject's name never comes back."""
    subject = await _id_ending_in_x(gateway)
    [(name,)] = await _fetch_name(gateway, subject)
    attacker = Attacker(gateway, await person_secrets(gateway, [subject], ("name", "id_number", "mobile")) | {name})
    check = 'query($id: ID!) { checkPerson(idNumber: $id, claims: {name: "%s"}) { results { outcome } } }' % name
    for trick, imitate in ID_LOOK_ALIKES.items():
        fake = imitate(subject)
        with attack((trick, fake)):
            assert fake != subject
            assert_bad_argument(await attacker.ask(PERSON % "name mobile", {"id": fake}, ASSISTANCE))
            assert_bad_argument(await attacker.ask(check, {"id": fake}, ASSISTANCE))
            listed = await attacker.ask(FILTERED_BY_ID, {"id": fake}, ASSISTANCE)
            if listed.codes:
                assert_bad_argument(listed)
            else:
                assert listed.data["populationRecords"]["edges"] == []


async def _fetch_name(gateway: Gateway, id_number: str) -> list[tuple[object, ...]]:
    return await fetch(gateway.runtime.settings.library_urls["population"],
                       "SELECT name FROM person_basic WHERE id_number = :id", id=id_number)


CREDIT_LOOK_ALIKES = {"cyrillic": str.maketrans("AMPX", "\u0410\u041c\u0420\u0425"),
                      "greek": str.maketrans("AMPX", "\u0391\u039c\u03a1\u03a7")}


CREDIT_CODE_USES = [
    'query($c: ID!) { enterprise(creditCode: $c) { name } }',
    'query($c: ID!) { checkEnterprise(creditCode: $c, claims: {name: "x"}) { results { outcome } } }',
    'query($c: ID) { checkEnterpriseLicense(licenseNumber: "1", claims: {holder: $c}) { results { outcome } } }',
]


async def test_a_credit_code_with_look_alike_letters_is_never_a_real_enterprise(gateway: Gateway) -> None:
    """A credit code whose Latin letters are swapped for Cyrillic or Greek capitals that look the
    same: refused as a key, in a data check and in a licence holder claim."""
    code = next(c for c in gateway.credentials["samples"]["creditCodes"] if set(c) & set("AMPX"))
    names = await raw_values(gateway, "legal_entity", "enterprise_registration", "credit_code", [code], ("name",))
    attacker = Attacker(gateway, names)
    for script, letters in CREDIT_LOOK_ALIKES.items():
        for query in CREDIT_CODE_USES:
            with attack((script, query)):
                assert_bad_argument(await attacker.ask(query, {"c": code.translate(letters)}))


async def test_nfkc_forms_of_an_id_number_are_the_same_subject_under_the_same_rules(gateway: Gateway) -> None:
    """Full-width digits (４２９…), circled digits and ideographic spaces are the ASCII key after
    NFKC, which the gateway applies to keys by design (docs/check.md): such a form is the same
    subject, served exactly as the ASCII form — same masking, same refusals, same audited
    pseudonym — and cannot make one subject two in a batch (the repeated-subject rule holds)."""
    subject = gateway.sample_id
    attacker = Attacker(gateway, await person_secrets(gateway, [subject], ("id_number", "mobile", "marital_status")))
    fields = "name mobile idNumber maritalStatus"
    plain = await attacker.ask(PERSON % fields, {"id": subject}, LICENSING)
    pseudonym = (await last_audit(gateway))["subjects"]
    circled = {ord(str(d)): 0x2460 + d - 1 for d in range(1, 10)}
    for form in (subject.translate(digits_of(0xFF10)), subject.translate(circled),
                 f"{subject[:6]}\u3000{subject[6:14]}\u3000{subject[14:]}"):
        variant = await attacker.ask(PERSON % fields, {"id": form}, LICENSING)
        assert (variant.data, field_errors(variant), variant.masked()) == (plain.data, field_errors(plain), plain.masked())
        assert (await last_audit(gateway))["subjects"] == pseudonym
        batch = [{"idNumber": subject, "claims": {"name": "张三"}}, {"idNumber": form, "claims": {"name": "李四"}}]
        assert_bad_argument(await attacker.ask(
            'query($i: [PersonCheckInput!]!) { checkPersons(items: $i) { results { outcome } } }', {"i": batch}, ASSISTANCE))


PURPOSE_LOOK_ALIKES = {
    "cyrillic-a": "SOCIAL_\u0410SSISTANCE_REVIEW",
    "greek-omicron": "S\u039fCIAL_ASSISTANCE_REVIEW",
    "fullwidth": "ＳＯＣＩＡＬ＿ＡＳＳＩＳＴＡＮＣＥ＿ＲＥＶＩＥＷ",
    "lower-case": "social_assistance_review",
    "zero-width-space": "SOCIAL_ASSISTANCE\u200b_REVIEW",
    "right-to-left-mark": "\u200fSOCIAL_ASSISTANCE_REVIEW",
    "ideographic-space": "SOCIAL_ASSISTANCE_REVIEW\u3000",
}
OPERATOR_LOOK_ALIKES = {
    "cyrillic-a": "mz-w\u0430ngli",
    "cyrillic-i": "mz-wangl\u0456",
    "fullwidth": "ｍｚ－ｗａｎｇｌｉ",
    "upper-case": "MZ-WANGLI",
    "zero-width-joiner": "mz-wang\u200dli",
    "right-to-left-override": "\u202emz-wangli",
    "ideographic-space": "\u3000mz-wangli",
}


async def test_look_alike_purposes_and_operators_are_refused(gateway: Gateway) -> None:
    """A purpose code or an operator id with a Cyrillic or Greek letter, full-width letters,
    another case, an invisible character or a direction mark (sent as UTF-8) is an unknown
    value: 400 BAD_USER_INPUT for the purpose, 401 UNAUTHENTICATED for the operator."""
    attacker = Attacker(gateway, await person_secrets(gateway, [gateway.sample_id], ("mobile", "marital_status")))
    query, variables = PERSON % "maritalStatus mobile", {"id": gateway.sample_id}
    for purpose in PURPOSE_LOOK_ALIKES.values():
        answer = await attacker.ask(query, variables, ASSISTANCE, headers={"X-Purpose": purpose.encode()})
        assert_refused(answer, "BAD_USER_INPUT")
    for operator in OPERATOR_LOOK_ALIKES.values():
        answer = await attacker.ask(query, variables, ASSISTANCE, headers={"X-Operator": operator.encode()})
        assert_refused(answer, "UNAUTHENTICATED", 401)


CREDENTIAL_HEADERS = {  # header: (the real value, the refusal code, its status)
    "Authorization": (lambda g: f"Bearer {g.application('mz-assistance')['token']}", "UNAUTHENTICATED", 401),
    "X-Operator": (lambda g: "mz-wangli", "UNAUTHENTICATED", 401),
    "X-Purpose": (lambda g: "SOCIAL_ASSISTANCE_REVIEW", "BAD_USER_INPUT", 400),
}


async def test_whitespace_http_does_not_strip_is_part_of_a_credential(gateway: Gateway) -> None:
    """HTTP strips only spaces and tabs around a header value (RFC 9110 §5.5: a server strips
    them before the application sees them, so they are the same value, as here). A no-break
    space (0xA0) or NEL (0x85) is a byte of the value that a server passes on: a token, an
    operator or a purpose with one before or after it is not the registered one."""
    attacker = Attacker(gateway, await person_secrets(gateway, [gateway.sample_id], ("mobile", "marital_status")))
    query, variables = PERSON % "maritalStatus", {"id": gateway.sample_id}
    for header, (real, code, status) in CREDENTIAL_HEADERS.items():
        value = real(gateway).encode("latin-1")
        spaced = await attacker.ask(PERSON % "name", variables, ASSISTANCE, headers={header: value + b" \t"})
        assert "errors" not in spaced.body, spaced.body
        inside = value.replace(b" ", b" \xa0") if header == "Authorization" else b"\xa0" + value
        for padded in (value + b"\xa0", value + b"\x85", inside):
            with attack(padded.replace(value, header.encode())):
                assert_refused(await attacker.ask(query, variables, ASSISTANCE, headers={header: padded}), code, status)


# 9. Oversized and deeply nested input.


async def test_deeply_nested_json_variables_are_refused(gateway: Gateway) -> None:
    """`variables` holding 10,000 nested lists or objects (far under the body limit; 2,000 in a
    GET query string, which holds less): refused as bad input with a 4xx, not a server error, in
    a POST body and a GET query string alike; the gateway answers on."""
    attacker = Attacker(gateway)
    query = "query($x: [String!]) { populationRecords(first: 1, where: {name: {in: $x}}) { edges { cursor } } }"
    for kind in ("list", "object"):
        with attack(("POST", kind)):
            assert_refused(await attacker.post(body_of(query, '{"x": %s}' % nested_json(10_000, kind))), "BAD_USER_INPUT")
        with attack(("GET", kind)):
            nested = '{"x": %s}' % nested_json(2_000, kind)
            assert_refused(await attacker.get({"query": query, "variables": nested}), "BAD_USER_INPUT")
    await attacker.still_serving()


async def _streamed(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 65_536):
        yield body[start:start + 65_536]


async def test_a_body_over_the_limit_is_refused_however_it_is_sent(gateway: Gateway) -> None:
    """A body of exactly the limit is read; one byte more is refused (400 BAD_USER_INPUT) whether
    it declares its length, streams without one, or declares less than it sends."""
    attacker = Attacker(gateway)
    limit = gateway.runtime.settings.max_body_bytes
    pad = limit - len(body_of(CATALOG, '{"pad": ""}'))
    exact, over = (body_of(CATALOG, '{"pad": "%s"}' % ("x" * n)) for n in (pad, pad + 1))
    assert (len(exact), len(over)) == (limit, limit + 1)
    served = await attacker.post(exact, {"app_id": "mz-assistance"})
    assert served.status == 200 and served.data["catalog"]["resources"], served.body
    for sent, headers in ((over, {}), (_streamed(over), {}), (over, {"Content-Length": "64"})):
        assert_refused(await attacker.post(sent, {"app_id": "mz-assistance"}, headers), "BAD_USER_INPUT")
    await attacker.still_serving()


async def test_a_huge_variables_object_is_refused_or_ignored(gateway: Gateway) -> None:
    """30,000 variables (over the body limit) are refused; 10,000 unused ones under it are not
    worth a failure: the operation runs with the one it declares, promptly."""
    attacker = Attacker(gateway)
    query = "query($id: ID!) { person(idNumber: $id) { name } }"
    many = {f"v{i}": "x" * 8 for i in range(30_000)}
    assert_refused(await attacker.ask(query, {**many, "id": gateway.sample_id}), "BAD_USER_INPUT")
    started = time.perf_counter()
    wide = await attacker.ask(query, {**dict(list(many.items())[:10_000]), "id": gateway.sample_id})
    assert time.perf_counter() - started < 5
    if wide.status == 200:
        assert "errors" not in wide.body and wide.data["person"]["name"]
    else:
        assert_refused(wide, TOO_BIG)
    await attacker.still_serving()


OVERSIZED_QUERIES = {
    "2500-tokens": "{ catalog { resources { " + "code " * 2500 + "} } }",
    "25000-character-literal": '{ person(idNumber: "%s") { name } }' % ("1" * 25_000),
    "nested-list-literal": "{ populationRecords(where: {name: {in: %s}}) { edges { cursor } } }" % nested_json(400, "list"),
    "nested-object-literal": "{ populationRecords(where: {name: {eq: %s}}) { edges { cursor } } }" % (
        "{a: " * 400 + "1" + "}" * 400),
}


async def test_an_oversized_query_document_is_refused(gateway: Gateway) -> None:
    """Too many tokens, a literal past the query's length limit, an input literal nested 400 deep:
    refused whole (400, QUERY_TOO_COMPLEX or BAD_USER_INPUT) before it runs; the gateway answers on."""
    attacker = Attacker(gateway)
    for shape, query in OVERSIZED_QUERIES.items():
        with attack(shape):
            assert_refused(await attacker.ask(query, caller=LICENSING), TOO_BIG)
    await attacker.still_serving()


LONG = "9" * 100_000
LONG_ARGUMENTS = {
    "id-number": ("query($v: ID!) { person(idNumber: $v) { name } }", LICENSING),
    "credit-code": ("query($v: ID!) { enterprise(creditCode: $v) { name } }", LICENSING),
    "string-filter": ("query($v: String) { populationRecords(where: {name: {startsWith: $v}}) { edges { cursor } } }",
                      LICENSING),
    "in-list": ("query($v: String!) { populationRecords(where: {name: {in: [$v, $v, $v]}}) { edges { cursor } } }", LICENSING),
    "cursor": ("query($v: String) { populationRecords(after: $v) { edges { cursor } } }", LICENSING),
    "licence-number": ('query($v: String!) { checkPersonLicense(licenseNumber: $v, claims: {licenseType: "x"}) '
                       '{ results { outcome } } }', LICENSING),
    "unmask-token": ('query($v: String!) { unmask(field: "Person.mobile", tokens: [$v]) }', ASSISTANCE),
    "explain-field": ('query($v: String!) { explain(purpose: "ADMINISTRATIVE_BASIS", field: $v) { access } }', LICENSING),
}


async def test_very_long_strings_in_arguments_are_refused(gateway: Gateway) -> None:
    """A 100,000-character string (under the body limit) as an ID number, a credit code, a
    filter, an `in` list, a cursor, a licence number, an unmask token, a field name or an audit
    subject: refused as bad input, nothing served, never a server error."""
    attacker = Attacker(gateway)
    for kind, (query, caller) in LONG_ARGUMENTS.items():
        answer = await attacker.ask(query, {"v": LONG}, caller)
        assert answer.codes, (kind, answer.body)
        assert_bad_argument(answer, TOO_BIG)
    await attacker.still_serving()


async def test_a_very_long_audit_filter_is_refused_or_matches_nothing(gateway: Gateway) -> None:
    """An auditor, or a department reading its own slice of the trail, filters on a 100,000
    character subject, operation or field, with records in the trail to scan: refused as bad
    input or matching nothing — never an error of the store underneath."""
    attacker = Attacker(gateway)
    await attacker.still_serving()  # a record to scan
    for reader in (AUDITOR, {"app_id": "mz-assistance"}):
        for key in ("subject", "operation", "coordinate"):
            with attack((reader["app_id"], key)):
                query = "query($v: String) { auditRecords(filter: {%s: $v}) { edges { cursor } } }" % key
                answer = await attacker.ask(query, {"v": LONG}, reader)
                if answer.codes:
                    assert_bad_argument(answer, TOO_BIG)
                else:
                    assert answer.data["auditRecords"]["edges"] == [], answer.body


# 10. Error hygiene, read back: the audit trail an auditor reads.


async def test_the_audit_trail_holds_no_raw_value_for_an_auditor_to_read(gateway: Gateway) -> None:
    """After raw reads, data checks and refused probes of five subjects, an auditor reads every
    record: no ID number, mobile, address or birth date of theirs is anywhere in the trail
    (subjects are pseudonyms, probes are refused unrecorded), nor any trace of the code."""
    ids = gateway.credentials["samples"]["idNumbers"]
    secrets = await person_secrets(gateway, ids, ("id_number", "mobile", "address", "birth_date"))
    for subject in ids:
        served = await gateway.query(PERSON % "idNumber mobile address birthDate", variables={"id": subject})
        assert served["data"]["person"]["idNumber"] == subject
        await gateway.query('query($id: ID!) { checkPerson(idNumber: $id, claims: {mobile: "13800000000"}) '
                            '{ results { outcome } } }', variables={"id": subject})
    [mobile] = await raw_values(gateway, "population", "person_basic", "id_number", ids[:1], ("mobile",))
    await gateway.query('{ populationRecords(where: {mobile: {eq: "%s"}}) { edges { cursor } } }' % mobile,
                        **LICENSING)
    trail = await Attacker(gateway, secrets).ask(
        "{ auditRecords(first: 200) { edges { node { body subjects operation code } } } }", caller=AUDITOR)
    records = [edge["node"] for edge in trail.data["auditRecords"]["edges"]]
    assert len(records) >= 2 * len(ids) + 1
    assert json.dumps(records, ensure_ascii=False).count("FILTER_NOT_ALLOWED") >= 1
