"""Cut passport data to a set of access tiers, from the tiers declared on the model's fields."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from .model import BatteryData, BatteryModelData
from .tiers import Tier


@cache
def field_tiers(model: type[BaseModel]) -> dict[str, Tier]:
    """Map each top-level field of ``model`` to the tier declared on it (``x-access-tier``)."""
    out: dict[str, Tier] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        tier = extra.get("x-access-tier")
        if tier is None:
            raise TypeError(f"{model.__name__}.{name} declares no access tier")
        out[name] = Tier(tier)
    return out


MODEL_TIERS = field_tiers(BatteryModelData)
BATTERY_TIERS = field_tiers(BatteryData)


def redact(data: Mapping[str, Any], tier_map: Mapping[str, Tier], tiers: frozenset[Tier]) -> dict[str, Any]:
    """Keep only the keys whose tier is in ``tiers``; keys the model does not declare are dropped."""
    return {k: v for k, v in data.items() if (t := tier_map.get(k)) is not None and t in tiers}


def redact_model(data: Mapping[str, Any], tiers: frozenset[Tier]) -> dict[str, Any]:
    return redact(data, MODEL_TIERS, tiers)


def redact_battery(data: Mapping[str, Any], tiers: frozenset[Tier]) -> dict[str, Any]:
    return redact(data, BATTERY_TIERS, tiers)
