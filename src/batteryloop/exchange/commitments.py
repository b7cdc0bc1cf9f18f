"""Verifiable confidential aggregation: publish a total, commit to its components, prove the sum to an auditor.

A supplier's footprint total is the sum of confidential components (its own suppliers' parts and its
processes, with names and volumes). It publishes a **signed statement** with the total and the Merkle
root of salted SHA-256 commitments to the components, and keeps the **opening** (components + salts).

* The customer receives only the statement: the total, the root, the padded leaf count. Each leaf is
  ``SHA-256("batteryloop/commitment/v1" ‖ salt ‖ canonical JSON of the component)`` with a fresh 32-byte
  salt, so a leaf reveals nothing about its component (hiding) and cannot be reopened to another one
  (binding). Leaves are padded with zero-valued dummies to a multiple of 8 so the count is not revealed.
* An auditor granted the opening checks, with :func:`audit`, that every leaf opens, that the leaves
  give the signed root, and that the values add up **exactly** to the total (integer micro-units).
* :func:`inclusion_proof` / :func:`verify_inclusion` let one component's owner (say, a sub-supplier)
  check that its figure is inside the total without seeing the others.

Hashing is ``hashlib``; the statement is a JWS signed with the supplier's Ed25519 key through joserfc.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import JoseError

from .credentials import ALG
from .did import DidResolver, Identity
from .errors import CredentialError

DOMAIN = b"batteryloop/commitment/v1"
MICRO = Decimal("0.000001")
PAD_TO = 8


def micro(value: float | str | Decimal) -> int:
    """A kg CO2e figure as integer micro-units (exact sums, no float drift)."""
    return int((Decimal(str(value)) / MICRO).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _canon(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def leaf_hash(component: dict[str, Any], salt_hex: str) -> str:
    return hashlib.sha256(DOMAIN + bytes.fromhex(salt_hex) + _canon(component)).hexdigest()


def _node(a: str, b: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(a) + bytes.fromhex(b)).hexdigest()


def merkle_levels(leaves: list[str]) -> list[list[str]]:
    levels = [leaves]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        if len(cur) % 2:
            cur = cur + [cur[-1]]
        levels.append([_node(cur[i], cur[i + 1]) for i in range(0, len(cur), 2)])
    return levels


@dataclass(frozen=True)
class Opening:
    """What only the supplier (and an auditor it grants) holds."""

    components: list[dict[str, Any]]  # each with "value_micro" plus confidential fields (name, supplier, volume …)
    salts: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"components": self.components, "salts": self.salts}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Opening:
        return cls(list(d["components"]), list(d["salts"]))


def commit(issuer: Identity, *, subject: str, unit: str, components: list[dict[str, Any]],
           value_key: str = "ghg_kgco2e") -> tuple[str, Opening, dict[str, Any]]:
    """Sign a statement of the total of ``components[*][value_key]`` with a Merkle commitment to them.

    Returns (statement JWS, opening, statement claims). The statement carries no component data.
    """
    comps = []
    for c in components:
        if value_key not in c:
            raise ValueError(f"component {c!r} has no {value_key!r}")
        d = {k: v for k, v in c.items() if k != value_key}
        d["value_micro"] = micro(c[value_key])
        comps.append(d)
    while len(comps) % PAD_TO or not comps:
        comps.append({"padding": True, "value_micro": 0})
    salts = [secrets.token_hex(32) for _ in comps]
    leaves = [leaf_hash(c, s) for c, s in zip(comps, salts, strict=True)]
    root = merkle_levels(leaves)[-1][0]
    total = sum(c["value_micro"] for c in comps)
    now = int(time.time())
    claims = {"iss": issuer.did, "sub": subject, "iat": now, "jti": f"urn:uuid:{secrets.token_hex(16)}",
              "commitment": {"scheme": "sha256-salted-merkle/v1", "root": root, "leaves": len(leaves),
                             "total": str(Decimal(total) * MICRO), "total_micro": total, "unit": unit}}
    tok = jwt.encode({"alg": ALG, "kid": issuer.kid, "typ": "JWT"}, claims, issuer.jwk, algorithms=[ALG])
    return tok, Opening(comps, salts), claims


def verify_statement(token: str, resolver: DidResolver) -> dict[str, Any]:
    """The claims of a commitment statement after checking its signature against the issuer's did:web key."""
    from .credentials import _verify_jws

    claims = _verify_jws(token, resolver, "commitment statement")
    if "commitment" not in claims:
        raise CredentialError("malformed", "statement has no 'commitment' claim")
    return claims


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    total_micro: int
    sum_micro: int
    leaves: int
    problems: list[str]


def audit(statement: dict[str, Any], opening: Opening) -> AuditReport:
    """Check that the opening matches the signed root and that its values sum exactly to the signed total."""
    c = statement["commitment"]
    problems = []
    if len(opening.components) != c["leaves"] or len(opening.salts) != c["leaves"]:
        problems.append(f"opening has {len(opening.components)} components for {c['leaves']} committed leaves")
    leaves = [leaf_hash(comp, s) for comp, s in zip(opening.components, opening.salts, strict=False)]
    if not problems and merkle_levels(leaves)[-1][0] != c["root"]:
        problems.append("the opened components do not give the committed Merkle root (a component or salt changed)")
    total = sum(int(comp.get("value_micro", 0)) for comp in opening.components)
    if total != c["total_micro"]:
        problems.append(f"components sum to {total} µ{c['unit']} but the signed total is {c['total_micro']}")
    if any(int(comp.get("value_micro", 0)) < 0 for comp in opening.components):
        problems.append("a component has a negative value")
    return AuditReport(not problems, c["total_micro"], total, len(leaves), problems)


def inclusion_proof(opening: Opening, index: int) -> dict[str, Any]:
    """The path from leaf ``index`` to the root (siblings, bottom-up), with that leaf's component and salt."""
    leaves = [leaf_hash(c, s) for c, s in zip(opening.components, opening.salts, strict=True)]
    levels = merkle_levels(leaves)
    path, i = [], index
    for level in levels[:-1]:
        lv = level + [level[-1]] if len(level) % 2 else level
        sib = i ^ 1
        path.append({"hash": lv[sib], "left": sib < i})
        i //= 2
    return {"index": index, "component": opening.components[index], "salt": opening.salts[index], "path": path}


def verify_inclusion(statement: dict[str, Any], proof: dict[str, Any]) -> bool:
    h = leaf_hash(proof["component"], proof["salt"])
    for step in proof["path"]:
        h = _node(step["hash"], h) if step["left"] else _node(h, step["hash"])
    return h == statement["commitment"]["root"]


def jose_error(exc: JoseError) -> str:  # pragma: no cover - small helper for messages
    return exc.error
