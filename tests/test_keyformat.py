"""The Ed25519 public-key format (batteryloop/keyformat.py) is defined once: the participant registry checks
keys with it and the ledger's key reader (trace/keys.py) reads them with it, with the same messages. The
registry also refuses a key that is not a point of the prime-order group; the ledger reads such a stored key
and lets every signature under it fail (tests/trace/test_keys.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from batteryloop import keyformat
from batteryloop.participants import ParticipantIn
from batteryloop.trace import keys

NEUTRAL = (1).to_bytes(32, "little")  # the neutral element: a small-order point
GOOD = keys.Signer.from_seed("BPNL000000000001", bytes(range(32))).public_key_text


def _register(key: str) -> ParticipantIn:
    return ParticipantIn(id="BPNL000000000001", name="Co", country="DE", roles=["manufacturer"], public_key=key)


def test_the_leaf_imports_nothing_of_batteryloop_but_the_errors() -> None:
    tree = ast.parse(Path(keyformat.__file__).read_text())
    found = {(n.level, n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    found |= {(0, a.name) for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    outside = {m for level, m in found if level == 0 and m.split(".")[0] not in sys.stdlib_module_names
               and m.split(".")[0] != "nacl" and m != "__future__"}
    relative = {m for level, m in found if level > 0}
    assert not outside and relative == {"errors"}, (outside, relative)


@pytest.mark.parametrize(("text", "says"), [
    ("not base64 !!", "public key 'not base64 !!'… is not base64url text"),
    (keyformat.b64url_encode(bytes(5)), "an Ed25519 public key is 32 raw bytes; this one has 5"),
    (keyformat.b64url_encode(bytes(33)), "an Ed25519 public key is 32 raw bytes; this one has 33"),
])
def test_the_registry_and_the_ledger_refuse_a_malformed_key_with_the_same_message(text: str, says: str) -> None:
    with pytest.raises(keyformat.KeyFormatError) as read:
        keys.public_key_from_text(text)
    assert str(read.value) == says
    with pytest.raises(ValidationError) as registered:
        _register(text)
    assert says in str(registered.value)


def test_a_small_order_key_is_refused_at_registration_and_read_by_the_ledger() -> None:
    text = keyformat.b64url_encode(NEUTRAL)
    with pytest.raises(ValidationError, match="small-order points such as the neutral element are refused"):
        _register(text)
    with pytest.raises(keyformat.KeyFormatError, match="small-order"):
        keyformat.public_key_bytes(text)
    assert keys.public_key_from_text(text).raw == NEUTRAL  # read, so that signatures under it fail to verify


def test_a_real_key_is_registered_stripped_and_read_back_to_the_same_bytes() -> None:
    assert _register(f"  {GOOD}\n").public_key == GOOD
    assert keys.public_key_from_text(GOOD).raw == keyformat.public_key_bytes(GOOD) == keyformat.b64url_decode(GOOD)
    assert keys.public_key_text(keys.public_key_from_text(GOOD)) == GOOD


@pytest.mark.parametrize("spoil", [
    lambda k: k + "!!!", lambda k: ".".join(k), lambda k: k[:10] + " " + k[10:],
    lambda k: k.replace("-", "+").replace("_", "/") if ("-" in k or "_" in k) else "+" + k[1:],
])
def test_the_registry_takes_strict_base64url_only(spoil) -> None:  # type: ignore[no-untyped-def]
    """The lenient decoder skips characters outside the alphabet, so a key with stray characters, dots between
    its characters, a blank inside or standard base64's + and / decoded to 32 bytes and was stored — and
    published — as typed (review finding). The registry takes base64url only and stores the canonical text."""
    text = spoil(GOOD)
    assert text != GOOD
    with pytest.raises(ValidationError, match="public key"):
        _register(text)


def test_a_padded_key_is_stored_in_its_canonical_unpadded_form() -> None:
    assert _register(GOOD + "=").public_key == GOOD
