"""The key ring of keyed rules and the scope values are masked for."""

from __future__ import annotations

import base64
import hmac
import stat
from pathlib import Path

import pytest

from masking import KeyRing, MaskScope

MASTER = bytes(range(32))
LABEL = b"gov-data-gateway/masking/v1/"


def test_master_key_must_have_32_bytes() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        KeyRing(b"x" * 31)
    with pytest.raises(TypeError):
        KeyRing("x" * 32)  # type: ignore[arg-type]
    KeyRing(b"x" * 32)
    KeyRing(bytes(64))


def test_generated_keys_differ() -> None:
    first, second = KeyRing.generate(), KeyRing.generate()
    assert first.cipher_key("aes-gcm") != second.cipher_key("aes-gcm")


def test_repr_shows_a_fingerprint_never_the_key() -> None:
    keys = KeyRing(MASTER)
    text = repr(keys)
    assert text == f"KeyRing(fingerprint={keys.fingerprint!r})"
    assert len(keys.fingerprint) == 8
    for spelling in (MASTER.hex(), base64.b64encode(MASTER).decode(), repr(MASTER)):
        assert spelling not in text
        assert spelling[:16] not in text


def test_derivation_is_hmac_sha256_of_documented_labels() -> None:
    """Pinned: changing a label re-keys every pseudonym and token ever issued."""
    keys = KeyRing(MASTER)

    def expected(label: str) -> bytes:
        return hmac.digest(MASTER, LABEL + label.encode(), "sha256")

    assert keys.pseudonym_key("mz-assistance", "sha256") == expected("pseudonym\x1fsha256\x1fmz-assistance")
    assert keys.pseudonym_key("mz-assistance", "sm3") == expected("pseudonym\x1fsm3\x1fmz-assistance")
    assert keys.cipher_key("aes-gcm") == expected("cipher\x1faes-gcm")
    assert keys.cipher_key("sm4-gcm") == expected("cipher\x1fsm4-gcm")[:16]
    assert keys.derive("cursor") == expected("derived\x1fcursor")
    assert keys.fingerprint == expected("fingerprint")[:4].hex()


def test_derived_keys_are_distinct_and_sized() -> None:
    keys = KeyRing(MASTER)
    derived = [
        keys.pseudonym_key("app-a", "sha256"),
        keys.pseudonym_key("app-b", "sha256"),
        keys.pseudonym_key("app-a", "sm3"),
        keys.cipher_key("aes-gcm"),
        keys.derive("cursor"),
        keys.derive("other"),
    ]
    assert len(set(derived)) == len(derived)
    assert all(len(key) == 32 for key in derived)
    assert len(keys.cipher_key("sm4-gcm")) == 16


def test_bad_derivation_inputs_are_refused() -> None:
    keys = KeyRing(MASTER)
    with pytest.raises(ValueError, match="unknown cipher 'des'"):
        keys.cipher_key("des")
    with pytest.raises(ValueError, match="control characters"):
        keys.pseudonym_key("app\x1fsha256", "sha256")
    with pytest.raises(ValueError, match="non-empty"):
        keys.pseudonym_key("", "sha256")
    with pytest.raises(ValueError, match="control characters"):
        keys.derive("cursor\x1f")


def test_from_file_creates_a_private_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "nested" / "masking.key"
    created = KeyRing.from_file(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip(), validate=True)) == 32
    again = KeyRing.from_file(path)
    assert again.cipher_key("aes-gcm") == created.cipher_key("aes-gcm")
    # create=True on an existing file reads it, never replaces it
    assert KeyRing.from_file(path, create=True).fingerprint == created.fingerprint


def test_from_file_without_create_needs_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KeyRing.from_file(tmp_path / "missing.key")
    assert not (tmp_path / "missing.key").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not base64!", "does not hold a base64-encoded key"),
        (b"\xff\xfe", "does not hold a base64-encoded key"),
        (base64.b64encode(b"short"), "holds a key of fewer than 32 bytes"),
        (b"", "holds a key of fewer than 32 bytes"),
    ],
)
def test_malformed_key_file_names_the_path_not_the_content(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "masking.key"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as raised:
        KeyRing.from_file(path, create=True)
    assert str(path) in str(raised.value)
    if content:
        assert content.decode("latin-1") not in str(raised.value)


def test_key_file_may_end_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "masking.key"
    path.write_text(base64.b64encode(MASTER).decode() + "\n")
    assert KeyRing.from_file(path).fingerprint == KeyRing(MASTER).fingerprint


def test_scope_is_a_frozen_value() -> None:
    scope = MaskScope("mz-assistance", "Person.mobile")
    assert scope == MaskScope("mz-assistance", "Person.mobile")
    assert len({scope, MaskScope("mz-assistance", "Person.mobile")}) == 1
    with pytest.raises(AttributeError):
        scope.application = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("application", "coordinate"), [("", "Person.mobile"), ("app", ""), ("a\x1fb", "c"), ("a", "b\nc")])
def test_scope_refuses_empty_or_control_characters(application: str, coordinate: str) -> None:
    with pytest.raises(ValueError):
        MaskScope(application, coordinate)


def _open_key(path: str) -> str:
    from pathlib import Path

    from masking import KeyRing

    return KeyRing.from_file(Path(path), create=True).fingerprint


def test_workers_starting_together_share_one_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The first worker's key wins; none reads a half-written file."""
    from concurrent.futures import ProcessPoolExecutor

    for attempt in range(5):
        path = str(tmp_path / f"run{attempt}" / "masking.key")
        with ProcessPoolExecutor(max_workers=6) as pool:
            fingerprints = list(pool.map(_open_key, [path] * 12))
        assert len(set(fingerprints)) == 1
        assert sorted(p.name for p in (tmp_path / f"run{attempt}").iterdir()) == ["masking.key"]
