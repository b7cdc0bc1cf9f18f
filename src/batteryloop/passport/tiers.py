"""Access tiers of the battery passport (EU 2023/1542 Annex XIII).

Annex XIII splits passport data by who may read it:

1. public (per battery model);
2. persons with a legitimate interest and the Commission (per model: detailed composition, spare
   parts, dismantling information, safety measures);
3. notified bodies, market surveillance authorities and the Commission (test reports);
4. persons with a legitimate interest (per battery: performance and durability values, state of
   health, status, usage data).

We add a fourth audience, ``operator``, for data only the economic operator that placed the battery
on the market sees (e.g. who owns the battery). Tiers are a *set* a caller holds, not a ladder: a
notified body reads test reports but not the state of health of a customer's battery.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field


class Tier(StrEnum):
    PUBLIC = "public"
    LEGITIMATE_INTEREST = "legitimate_interest"
    AUTHORITY = "authority"
    OPERATOR = "operator"


ALL_TIERS: frozenset[Tier] = frozenset(Tier)
PUBLIC_ONLY: frozenset[Tier] = frozenset({Tier.PUBLIC})

TIER_ORDER: tuple[Tier, ...] = (Tier.PUBLIC, Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY, Tier.OPERATOR)


def parse_tiers(values: str | list[str] | None) -> frozenset[Tier]:
    """Parse ``"public,legitimate_interest"`` (or a list) into a tier set; ``all`` means every tier."""
    if values is None:
        return PUBLIC_ONLY
    items = values.split(",") if isinstance(values, str) else list(values)
    out: set[Tier] = set()
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item == "all":
            return ALL_TIERS
        try:
            out.add(Tier(item))
        except ValueError:
            raise ValueError(
                f"unknown access tier {item!r}: use one of {', '.join(t.value for t in Tier)} or 'all'"
            ) from None
    out.add(Tier.PUBLIC)
    return frozenset(out)


def tiered(tier: Tier, default: Any = ..., **kwargs: Any) -> Any:
    """A pydantic ``Field`` that carries its Annex XIII access tier in the model itself."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["x-access-tier"] = tier.value
    return Field(default, json_schema_extra=extra, **kwargs)
