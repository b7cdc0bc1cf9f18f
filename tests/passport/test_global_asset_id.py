"""A pack's global asset id is published to partners (AAS, registry, SerialPart, BOM): it must never change.

UUIDv5 (RFC 4122 §4.3, SHA-1) of "part:" + the passport id in the namespace 6f1c3f52-8a54-4f0e-9a55-2f6b1a0c7e11;
the values below were computed once and are pinned, so a change of namespace, prefix or case shows."""

from __future__ import annotations

import uuid

import pytest

from batteryloop.passport.identifiers import PASSPORT_NS, global_asset_id


@pytest.mark.parametrize(("passport_id", "expected"), [
    ("BL.BPNL000000000EM1.NMC811-042-0000001", "urn:uuid:5626ca15-6aa3-54ff-b9ca-1a09a9cbc288"),
    ("X", "urn:uuid:f1ba8d39-da1f-5922-9c94-ebfd5a4b16be"),
])
def test_the_global_asset_id_never_changes(passport_id: str, expected: str) -> None:
    assert str(PASSPORT_NS) == "6f1c3f52-8a54-4f0e-9a55-2f6b1a0c7e11"
    assert global_asset_id(passport_id) == expected
    got = uuid.UUID(expected.removeprefix("urn:uuid:"))
    assert got.version == 5 and got.variant == uuid.RFC_4122


def test_the_global_asset_id_is_the_standard_library_uuid5_for_any_id() -> None:
    # the function derives the UUID by hand (SHA-1, version and variant bits): the same text as uuid.uuid5
    import random

    rng = random.Random(7)
    ids = ["", "é", "BL.BPNL000000000EM1.NMC811-042-" + "9" * 40] + [
        "".join(rng.choice("ABCxyz0123456789.-_é€") for _ in range(rng.randint(1, 60))) for _ in range(2000)]
    for pid in ids:
        assert global_asset_id(pid) == f"urn:uuid:{uuid.uuid5(PASSPORT_NS, 'part:' + pid)}"
