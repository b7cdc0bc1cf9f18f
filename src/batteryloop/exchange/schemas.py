"""The official Dataspace Protocol 2025-1 and Catena-X ODRL profile JSON schemas, read in place.

They are found where :func:`batteryloop.formats.schemas.schemas_dir` finds the other official
schemas (``$BATTERYLOOP_SCHEMAS_DIR`` or ``shared/fixtures``): ``dsp/**`` and ``cx-odrl-profile/schema/**``.
Cross-file ``$ref`` URLs (``https://w3id.org/dspace/2025/1/...``) resolve to the local copies through a
``referencing`` registry keyed by each schema's ``$id`` — nothing is fetched.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from ..formats.schemas import schemas_dir

#: DSP message type (its ``@type``) → schema file under dsp/
DSP_SCHEMAS: dict[str, str] = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
    "VersionResponse": "common/protocol-version-schema.json",
    "DidService": "common/did-service-schema.json",
}

#: Catena-X leftOperand → constraint schema file under cx-odrl-profile/schema/constraint/
CX_CONSTRAINT_SCHEMAS: dict[str, str] = {
    "BusinessPartnerNumber": "business-partner-number", "BusinessPartnerGroup": "business-partner-group",
    "Membership": "membership", "FrameworkAgreement": "framework-agreement", "UsagePurpose": "usage-purpose",
    "ContractReference": "contract-reference", "AffiliatesRegion": "affiliates-region",
    "AffiliatesBpnl": "affiliates-bpnl", "ManagedLegalEntityRegion": "managed-legal-entity-region",
    "ManagedLegalEntityBpnl": "managed-legal-entity-bpnl", "DataUsageEndDate": "data-usage-end-date",
    "DataUsageEndDurationDays": "data-usage-end-duration-days", "DataUsageEndDefinition": "data-usage-end-definition",
    "DataProvisioningEndDate": "data-provisioning-end-date",
    "DataProvisioningEndDurationDays": "data-provisioning-end-duration-days",
    "DataFrequency": "data-frequency", "VersionChanges": "version-changes", "ContractTermination": "contract-termination",
    "ConfidentialInformationMeasures": "confidential-information-measures",
    "ConfidentialInformationSharing": "confidential-information-sharing", "ExclusiveUsage": "exclusive-usage",
    "Warranty": "warranty", "WarrantyDefinition": "warranty-definition", "WarrantyDurationMonths": "warranty-duration",
    "Liability": "liability", "Precedence": "precedence", "JurisdictionLocation": "jurisdiction-location",
    "JurisdictionLocationReference": "jurisdiction-location-reference", "UsageRestriction": "usage-restriction",
}


def _load(path: Path) -> dict[str, Any]:
    """Read a schema; repairs the one known defect of the DSP 2025-1 files: ``$ref`` pointers written
    ``#definitions/X`` (no slash) in the transfer schemas, which a strict resolver rejects."""
    text = path.read_text(encoding="utf-8").replace('#definitions/', '#/definitions/')
    return json.loads(text)  # type: ignore[no-any-return]


def dsp_dir() -> Path:
    return schemas_dir() / "dsp"


def cx_profile_dir() -> Path:
    return schemas_dir() / "cx-odrl-profile" / "schema"


@cache
def registry() -> Registry:  # type: ignore[type-arg]
    resources = []
    for folder in (dsp_dir(), cx_profile_dir()):
        for path in sorted(folder.rglob("*-schema*.json")):
            doc = _load(path)
            if "$id" in doc:
                resources.append((doc["$id"], Resource.from_contents(doc, default_specification=DRAFT201909)))
    return Registry().with_resources(resources)


@cache
def _validator(path: str) -> Draft201909Validator:
    schema = _load(Path(path))
    return Draft201909Validator(schema, registry=registry())


#: keys whose values the DSP 2025-1 schemas constrain only as "type: string" (no pattern, const, enum,
#: length or uniqueness anywhere in them): a message's validity does not depend on which string they hold.
_FREE_STRINGS = frozenset({"providerPid", "consumerPid", "agreementId", "callbackAddress", "@id", "target",
                           "assigner", "assignee", "endpoint", "value", "endpointURL", "participantId", "dataset"})
_valid_shapes: dict[tuple[str, bytes], list[str]] = {}


def _shape(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: ("\x00" if k in _FREE_STRINGS and isinstance(v, str) else _shape(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shape(x) for x in obj]
    return obj


def dsp_errors(message: Any, message_type: str | None = None) -> list[str]:
    """Schema errors of a DSP message (by its ``@type`` unless given); ``[]`` when it validates.

    Every message is validated; results are remembered per message *shape* (the message with its free
    identifier strings blanked, see ``_FREE_STRINGS``), which the schemas cannot tell apart — so a node
    validating thousands of messages that differ only in their process ids pays for the schema walk once.
    """
    kind = message_type or (message.get("@type") if isinstance(message, dict) else None)
    if kind not in DSP_SCHEMAS:
        return [f"@type {kind!r} is not a Dataspace Protocol 2025-1 message type"]
    try:
        # stdlib json on purpose: it refuses what JSON cannot hold (datetime, UUID …), where orjson would
        # write a datetime as its string and NaN as null — two messages the schemas tell apart, one key
        key = (kind, json.dumps(_shape(message), sort_keys=True).encode())
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _valid_shapes:
        return list(_valid_shapes[key])
    v = _validator(str(dsp_dir() / DSP_SCHEMAS[kind]))
    errs = [f"{kind} {'/'.join(map(str, e.absolute_path)) or '(message)'}: {e.message}"
            for e in sorted(v.iter_errors(message), key=lambda e: list(map(str, e.absolute_path)))]
    if key is not None and not errs:  # only successes are remembered (error texts name the values)
        if len(_valid_shapes) > 5_000:
            _valid_shapes.clear()
        _valid_shapes[key] = errs
    return errs


def cx_constraint_errors(constraint: dict[str, Any]) -> list[str] | None:
    """Errors of one atomic constraint against its Catena-X schema; ``None`` if the profile has no such operand.

    Results are cached by the constraint's canonical JSON (policies are evaluated on every message)."""
    if not isinstance(constraint.get("leftOperand"), str):
        return None
    key = json.dumps(constraint, sort_keys=True, default=str)
    hit = _constraint_cache.get(key)
    if hit is None:
        hit = _constraint_errors(constraint)
        if len(_constraint_cache) > 10_000:
            _constraint_cache.clear()
        _constraint_cache[key] = hit
    return None if hit is _NO_SCHEMA else list(hit)  # type: ignore[arg-type]


_constraint_cache: dict[str, Any] = {}
_NO_SCHEMA: Any = object()


def _constraint_errors(constraint: dict[str, Any]) -> Any:
    name = CX_CONSTRAINT_SCHEMAS.get(constraint.get("leftOperand"))  # type: ignore[arg-type]
    if name is None:
        return _NO_SCHEMA
    missing = [k for k in ("leftOperand", "operator", "rightOperand") if k not in constraint]
    errs = [f"{constraint.get('leftOperand')}: missing {k}" for k in missing]
    v = _validator(str(cx_profile_dir() / "constraint" / f"{name}-constraint-schema.json"))
    errs += [f"{constraint['leftOperand']} {'/'.join(map(str, e.absolute_path)) or ''}: {e.message}".replace("  ", " ")
             for e in v.iter_errors(constraint)]
    return tuple(errs)


def cx_policy_errors(policy: dict[str, Any]) -> list[str]:
    v = _validator(str(cx_profile_dir() / "policy-schema.json"))
    return [f"policy {'/'.join(map(str, e.absolute_path)) or '(policy)'}: {e.message}" for e in v.iter_errors(policy)]
