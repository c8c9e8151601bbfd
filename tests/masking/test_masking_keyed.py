"""Keyed rules: pseudonyms per consuming application, reversible tokens bound to their scope."""

from __future__ import annotations

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masking import KeyRing, MaskKeyRequired, MaskScope, UnmaskError, compile_rule, mask, unmask
from tests.masking.support import KEYS, OTHER_KEYS, PROPERTY, SCOPE

PSEUDONYM = re.compile(r"psn_[a-z2-7]{24}")
TOKEN = re.compile(r"enc1\.([as])\.([A-Za-z0-9_-]+)")
OTHER_APP = MaskScope("ga-traffic", "Person.mobile")
OTHER_FIELD = MaskScope("mz-assistance", "Person.idNumber")
CIPHERS = ["aes-gcm", "sm4-gcm"]
HASHES = ["sha256", "sm3"]


def pseudonym(value: object, scope: MaskScope = SCOPE, keys: KeyRing = KEYS, hash_name: str = "sha256") -> object:
    return mask(f"pseudonym(hash={hash_name})", value, scope, keys)


@pytest.mark.parametrize("rule", ["pseudonym", "reversible", "pseudonym(hash=sm3)", "reversible(cipher=sm4-gcm)"])
def test_keyed_rules_need_scope_and_keys(rule: str) -> None:
    for scope, keys in [(None, None), (SCOPE, None), (None, KEYS), ("mz-assistance", KEYS), (SCOPE, b"k" * 32)]:
        with pytest.raises(MaskKeyRequired, match=r"is keyed: compile it with a MaskScope"):
            compile_rule(rule, scope, keys)  # type: ignore[arg-type]
    with pytest.raises(MaskKeyRequired):
        mask(rule, None)  # a missing key is a configuration error, found on the first call


# --- pseudonym ------------------------------------------------------------------------------


def test_pseudonym_known_answer() -> None:
    """Pinned: consumers link their records on pseudonyms, so they must not change between releases."""
    assert pseudonym("13812345678") == "psn_olpvywozudeere5aaige3jq5"
    assert pseudonym("13812345678", hash_name="sm3") == "psn_zqtubks35he2nv5qlgjwdqqd"


@PROPERTY
@given(st.text(), st.sampled_from(HASHES))
def test_pseudonym_is_stable_per_application_across_fields(value: str, hash_name: str) -> None:
    token = pseudonym(value, hash_name=hash_name)
    assert isinstance(token, str) and PSEUDONYM.fullmatch(token)
    assert pseudonym(value, hash_name=hash_name) == token
    assert pseudonym(value, OTHER_FIELD, hash_name=hash_name) == token  # one consumer links its own records


@PROPERTY
@given(st.text(), st.sampled_from(HASHES))
def test_pseudonym_differs_across_applications_keys_and_hashes(value: str, hash_name: str) -> None:
    token = pseudonym(value, hash_name=hash_name)
    assert pseudonym(value, OTHER_APP, hash_name=hash_name) != token
    assert pseudonym(value, keys=OTHER_KEYS, hash_name=hash_name) != token
    other_hash = "sm3" if hash_name == "sha256" else "sha256"
    assert pseudonym(value, hash_name=other_hash) != token


@PROPERTY
@given(st.text(max_size=20), st.text(max_size=20))
def test_distinct_values_get_distinct_pseudonyms(first: str, second: str) -> None:
    from masking.pseudonym import canonical

    if canonical(first) != canonical(second):
        assert pseudonym(first) != pseudonym(second)
    else:
        assert pseudonym(first) == pseudonym(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("13812345678", 13812345678),
        ("13812345678", " 138 1234 5678 "),
        ("13812345678", "１３８１２３４５６７８"),  # full width
        ("11010119900307123x", "11010119900307123X"),
        ("zhangsan@example.com", "ZhangSan@Example.com"),
        ("张 三", "张三"),
    ],
)
def test_pseudonym_ignores_trivial_spelling_differences(first: object, second: object) -> None:
    assert pseudonym(first) == pseudonym(second)


@pytest.mark.parametrize("value", [b"13812345678", 13.8, True, ["13812345678"], object()])
def test_pseudonym_refuses_other_types(value: object) -> None:
    assert pseudonym(value) == "***"


# --- reversible -----------------------------------------------------------------------------


@PROPERTY
@given(st.text() | st.integers(), st.sampled_from(CIPHERS))
def test_reversible_round_trips_with_the_same_key_and_scope(value: str | int, cipher: str) -> None:
    token = mask(f"reversible(cipher={cipher})", value, SCOPE, KEYS)
    assert isinstance(token, str)
    found = TOKEN.fullmatch(token)
    assert found and found.group(1) == cipher[0]
    assert unmask(token, SCOPE, KEYS) == str(value)


@PROPERTY
@given(st.text(min_size=1), st.sampled_from(CIPHERS))
def test_reversible_tokens_never_repeat(value: str, cipher: str) -> None:
    masker = compile_rule(f"reversible(cipher={cipher})", SCOPE, KEYS)
    assert masker(value) != masker(value)  # random nonce: no linkage between records


@PROPERTY
@given(st.text(), st.sampled_from(CIPHERS))
def test_reversible_opens_only_with_its_key_and_scope(value: str, cipher: str) -> None:
    token = mask(f"reversible(cipher={cipher})", value, SCOPE, KEYS)
    assert isinstance(token, str)
    for scope, keys in [(SCOPE, OTHER_KEYS), (OTHER_APP, KEYS), (OTHER_FIELD, KEYS), (OTHER_APP, OTHER_KEYS)]:
        with pytest.raises(UnmaskError):
            unmask(token, scope, keys)


def _body(token: str) -> tuple[str, bytes]:
    found = TOKEN.fullmatch(token)
    assert found
    body = found.group(2)
    return token[: found.start(2)], urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _token(prefix: str, sealed: bytes) -> str:
    return prefix + urlsafe_b64encode(sealed).rstrip(b"=").decode()


@PROPERTY
@given(st.text(max_size=30), st.sampled_from(CIPHERS), st.data())
def test_any_flipped_bit_is_detected(value: str, cipher: str, data: st.DataObject) -> None:
    prefix, sealed = _body(str(mask(f"reversible(cipher={cipher})", value, SCOPE, KEYS)))
    index = data.draw(st.integers(0, len(sealed) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    tampered = bytearray(sealed)
    tampered[index] ^= 1 << bit
    with pytest.raises(UnmaskError):
        unmask(_token(prefix, bytes(tampered)), SCOPE, KEYS)


def test_malformed_tokens_are_refused_with_one_generic_message() -> None:
    value = "13812345678"
    token = str(mask("reversible", value, SCOPE, KEYS))
    prefix, sealed = _body(token)
    sm4 = str(mask("reversible(cipher=sm4-gcm)", value, SCOPE, KEYS))
    # 10 bytes sealed into 38: the body's last character carries 2 unused bits, so flipping the
    # lowest one spells the same bytes differently; only the canonical spelling is accepted
    short = str(mask("reversible", value[:10], SCOPE, KEYS))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelt = short[:-1] + alphabet[alphabet.index(short[-1]) ^ 1]
    assert _body(respelt)[1] == _body(short)[1] and unmask(short, SCOPE, KEYS) == value[:10]
    malformed: list[object] = [
        "",
        "enc1",
        "enc1.a.",
        "enc2" + token[4:],
        token.replace("enc1.a.", "enc1.s."),  # cipher swapped
        sm4.replace("enc1.s.", "enc1.a."),
        token.replace("enc1.a.", "enc1.x."),
        token + ".x",
        token + "=",
        token[:-1] + "!",
        _token(prefix, sealed[:27]),  # shorter than nonce + tag
        _token(prefix, sealed[:-1]),  # truncated tag
        _token(prefix, sealed + b"\x00"),
        respelt,
        None,
        b"enc1.a.xxxx",
        12345,
    ]
    messages = set()
    for bad in malformed:
        with pytest.raises(UnmaskError) as raised:
            unmask(bad, SCOPE, KEYS)  # type: ignore[arg-type]
        messages.add(str(raised.value))
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert messages == {"the token cannot be unmasked with this key for this application and field"}
    assert value not in messages.pop()


@pytest.mark.parametrize("cipher", CIPHERS)
def test_token_layout_is_nonce_ciphertext_tag(cipher: str) -> None:
    value = "张三 13812345678"
    prefix, sealed = _body(str(mask(f"reversible(cipher={cipher})", value, SCOPE, KEYS)))
    assert prefix == f"enc1.{cipher[0]}."
    assert len(sealed) == 12 + len(value.encode()) + 16


def test_aes_tokens_follow_the_documented_construction() -> None:
    """An independent decryption with AESGCM and the documented associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _, sealed = _body(str(mask("reversible", "13812345678", SCOPE, KEYS)))
    aad = b"mz-assistance\x1fPerson.mobile\x1faes-gcm"
    plain = AESGCM(KEYS.cipher_key("aes-gcm")).decrypt(sealed[:12], sealed[12:], aad)
    assert plain == b"13812345678"


def test_sm4_tokens_follow_the_documented_construction() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    _, sealed = _body(str(mask("reversible(cipher=sm4-gcm)", "13812345678", SCOPE, KEYS)))
    nonce, ciphertext, tag = sealed[:12], sealed[12:-16], sealed[-16:]
    decryptor = Cipher(algorithms.SM4(KEYS.cipher_key("sm4-gcm")), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(b"mz-assistance\x1fPerson.mobile\x1fsm4-gcm")
    assert decryptor.update(ciphertext) + decryptor.finalize() == b"13812345678"


@pytest.mark.parametrize("value", [b"13812345678", 13.8, False, {"a": 1}])
def test_reversible_refuses_other_types(value: object) -> None:
    assert mask("reversible", value, SCOPE, KEYS) == "***"
