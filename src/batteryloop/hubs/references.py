"""The reference sets the hubs read: the project's defaults plus the hub sets.

The hub sets are ``tou_tariffs_cn``, ``pv_clear_sky``, ``stationary_storage_costs`` and
``second_life_degradation`` (modules of :mod:`batteryloop.reference`). Until the integrator lists them
in :func:`batteryloop.reference.default_sets`, :func:`hub_references` adds them to whatever
:class:`References` the caller passes.
"""

from __future__ import annotations

from ..reference import References, ReferenceSet
from ..reference import pv_clear_sky, second_life_degradation, stationary_storage_costs, tou_tariffs_cn

HUB_SETS: tuple[ReferenceSet, ...] = (
    tou_tariffs_cn.SET,
    pv_clear_sky.SET,
    stationary_storage_costs.SET,
    second_life_degradation.SET,
)


def hub_references(base: References | None = None) -> References:
    """``base`` (default: ``References.default()``) with the hub sets added where missing."""
    refs = base or References.default()
    missing = {s.name: s for s in HUB_SETS if s.name not in refs}
    if not missing:
        return refs
    return References({**{n: refs.set(n) for n in refs.names()}, **missing})
