"""Confidential aggregation: the statement hides components; the auditor's check catches any change."""

from __future__ import annotations

import copy

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.exchange.commitments import (Opening, audit, commit, inclusion_proof, micro, verify_inclusion,
                                              verify_statement)
from batteryloop.exchange.did import DidResolver, Identity

SUPPLIER = Identity.generate("did:web:cellmaker.jp.test", "9876543210987")
RES = DidResolver(static={SUPPLIER.did: SUPPLIER.document()})
COMPONENTS = [
    {"supplier": "Secret Cathode KK", "part": "NMC811 CAM", "volume_kg": 412.5, "ghg_kgco2e": 10312.5},
    {"supplier": "Hidden Graphite Co", "part": "anode graphite", "volume_kg": 230.0, "ghg_kgco2e": 2093.0},
    {"process": "cell assembly, Himeji", "energy_mwh": 41.2, "ghg_kgco2e": 1853.123457},
]


def test_statement_reveals_only_total() -> None:
    tok, opening, claims = commit(SUPPLIER, subject="trace-1", unit="kgCO2e", components=COMPONENTS)
    import base64

    payload = base64.urlsafe_b64decode(tok.split(".")[1] + "==").decode()
    text = payload + orjson.dumps(claims).decode()
    for c in COMPONENTS:
        for v in c.values():
            assert str(v) not in text.replace(claims["commitment"]["total"], ""), v
    assert claims["commitment"]["leaves"] == 8  # padded: the count of components is hidden
    st_claims = verify_statement(tok, RES)
    assert micro(st_claims["commitment"]["total"]) == micro(10312.5) + micro(2093.0) + micro(1853.123457)
    assert audit(st_claims, opening).ok


def test_auditor_catches_changes() -> None:
    tok, opening, _ = commit(SUPPLIER, subject="trace-1", unit="kgCO2e", components=COMPONENTS)
    st_claims = verify_statement(tok, RES)
    changed = copy.deepcopy(opening.as_json())
    changed["components"][1]["value_micro"] -= 1_000_000
    rep = audit(st_claims, Opening.from_json(changed))
    assert not rep.ok and any("Merkle root" in p for p in rep.problems)
    # moving value between components keeps the sum but breaks the commitments
    moved = copy.deepcopy(opening.as_json())
    moved["components"][0]["value_micro"] -= 5
    moved["components"][1]["value_micro"] += 5
    assert not audit(st_claims, Opening.from_json(moved)).ok
    # a total that is not the sum
    forged = copy.deepcopy(st_claims)
    forged["commitment"]["total_micro"] += 1
    rep = audit(forged, opening)
    assert not rep.ok and any("signed total" in p for p in rep.problems)


def test_inclusion_proof() -> None:
    tok, opening, claims = commit(SUPPLIER, subject="trace-1", unit="kgCO2e", components=COMPONENTS)
    for i in range(len(opening.components)):
        assert verify_inclusion(claims, inclusion_proof(opening, i))
    bad = inclusion_proof(opening, 1)
    bad["component"] = {**bad["component"], "value_micro": 1}
    assert not verify_inclusion(claims, bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=20))
def test_sum_is_exact_for_any_components(values: list) -> None:
    comps = [{"name": f"c{i}", "ghg_kgco2e": str(v)} for i, v in enumerate(values)]
    tok, opening, claims = commit(SUPPLIER, subject="t", unit="kgCO2e", components=comps)
    assert claims["commitment"]["total_micro"] == sum(micro(v) for v in values)
    assert audit(claims, opening).ok
