"""Free text leaves with embedded identifiers masked in place, and says so."""

from __future__ import annotations

from gateway.settings import Settings
from tests.support import Gateway, change, fetch

MOBILE, ID_NUMBER = "13812345678", "110101199003071233"


async def test_identifiers_in_unlabelled_text_are_masked_on_the_way_out(gateway: Gateway, settings: Settings) -> None:
    database = settings.library_urls["credit"]
    [(credit_code,)] = await fetch(database, "SELECT credit_code FROM administrative_penalty ORDER BY row_id LIMIT 1")
    await change(database, "UPDATE administrative_penalty SET violation = :text WHERE credit_code = :code",
                 text=f"当事人联系电话{MOBILE}，身份证{ID_NUMBER}，订单号20240101123456", code=credit_code)
    body = await gateway.query(
        'query($code: ID!) { enterprise(creditCode: $code) { penalties { violation } } }',
        variables={"code": credit_code}, app_id="scjg-licensing", purpose="ADMINISTRATIVE_BASIS",
    )
    assert "errors" not in body, body
    texts = [p["violation"] for p in body["data"]["enterprise"]["penalties"]]
    assert "当事人联系电话138****5678，身份证110101********1233，订单号20240101123456" in texts
    assert MOBILE not in str(body) and ID_NUMBER not in str(body)
    assert body["extensions"]["freeTextMasked"] == {"AdministrativePenalty.violation": 1}
    [record] = await gateway.runtime.audit.records(limit=1)
    assert record["scrubbed"] == {"AdministrativePenalty.violation": 1}
    assert MOBILE not in str(record)


async def test_a_field_that_is_one_identifier_is_its_own_content(gateway: Gateway) -> None:
    """An enterprise's credit code is public and labelled so by the catalog: it is not free text."""
    body = await gateway.query('query($code: ID!) { enterprise(creditCode: $code) { creditCode } }',
                               variables={"code": gateway.sample_code}, app_id="scjg-licensing",
                               purpose="ADMINISTRATIVE_BASIS")
    assert body["data"]["enterprise"]["creditCode"] == gateway.sample_code
    assert "freeTextMasked" not in body["extensions"]
