"""A node's configuration file (JSON, YAML or TOML): who it is, whom it trusts, what it offers.

Example (YAML)::

    name: automaker
    participant_id: BPNL00000000AUTO
    space: catena-x
    base_url: http://127.0.0.1:8101        # public address; its did:web follows from it
    database_url: sqlite:///./var/automaker.db
    key: <base64url raw Ed25519 private key>  # or key_file: path
    admin_token: change-me                  # protects /management
    credentials: [<VC-JWT>, ...]            # or credentials_file: path (one JWT a line)
    trust:
      registries: {catena-x: {did:web:issuer.cx: [MembershipCredential, BpnCredential]}}
      agreements: [{id: cx-ou, accepting_space: catena-x, issuing_space: ouranos,
                    credential_types: [CertificationCredential]}]
    datasets:
      - id: urn:bl:passport:1
        kind: passport                       # passport | document | ouranos_cfp
        passport_id: BL-...
        usage_policy: {permission: [...]}    # Catena-X ODRL; access_policy likewise (optional)
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class DatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = ""
    kind: Literal["passport", "document", "ouranos_cfp", "commitment_opening"] = "document"
    keywords: list[str] = Field(default_factory=list)  # dcat:keyword in the catalog; catalog filters match them
    passport_id: str | None = None
    trace_id: str | None = None
    document: dict[str, Any] | None = None
    max_tiers: list[str] | None = None  # passport datasets: never more than these tiers
    format: Literal["batteryloop", "catenax"] = "batteryloop"
    offer_id: str | None = None
    access_policy: dict[str, Any] | None = None
    usage_policy: dict[str, Any]

    @property
    def offer(self) -> str:
        return self.offer_id or f"{self.id}:offer"


class TrustConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registries: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    agreements: list[dict[str, Any]] = Field(default_factory=list)
    groups: dict[str, list[str]] = Field(default_factory=dict)  # BPN -> BusinessPartnerGroups


class TckConfig(BaseModel):
    """DSP TCK mode (``exchange/tck.py``): conformance runs only; also needs ``BATTERYLOOP_DSP_TCK=1``."""

    model_config = ConfigDict(extra="forbid")

    authorization: str  # the fixed Authorization header the TCK sends on every request
    participant_id: str = "TCK_PARTICIPANT"
    # talk to an Eclipse EDC runtime that uses its mock identity service (interop tests): send and accept its
    # token, a JSON object {"region", "audience", "clientId"}, instead of presentations
    edc_mock_iam: bool = False


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    participant_id: str
    space: str = "catena-x"
    base_url: str
    host: str = "127.0.0.1"
    port: int | None = None
    did: str | None = None
    database_url: str = "sqlite:///./var/node.db"
    key: str | None = None
    key_file: str | None = None
    admin_token: str | None = None
    credentials: list[str] = Field(default_factory=list)
    credentials_file: str | None = None
    trust: TrustConfig = Field(default_factory=TrustConfig)
    datasets: list[DatasetConfig] = Field(default_factory=list)
    issuer: bool = False
    access_token_ttl_s: int = 300
    status_cache_s: float = 5.0
    did_cache_s: float = 300.0
    ouranos_api_key: str | None = None
    pact_clients: dict[str, str] = Field(default_factory=dict)  # PACT OAuth2 client id -> secret
    issuing_agency_code: str = "BL"  # of the passports this node's store holds
    tck: TckConfig | None = None  # DSP TCK mode: never in production (see exchange/tck.py)

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif p.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
        cfg = cls.model_validate(data)
        base = p.parent
        if cfg.key is None and cfg.key_file:
            cfg.key = (base / cfg.key_file).read_text().strip()
        if cfg.credentials_file:
            cfg.credentials += [ln.strip() for ln in (base / cfg.credentials_file).read_text().splitlines() if ln.strip()]
        return cfg
