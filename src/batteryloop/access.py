"""Who may read what: the one access decision every adapter calls (API, pages, exports, transfers).

The rules (Annex XIII of Regulation (EU) 2023/1542, and the foundation issue):

* anonymous → public;
* recyclers, repairers and second-life operators, and the battery's owner → legitimate interest;
* notified bodies → the authority tier (test reports); market surveillance authorities → legitimate
  interest and the authority tier;
* the economic operator that placed the battery on the market → everything;
* for a battery *model* on its own, its manufacturer → everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .participants import Role
from .passport.tiers import ALL_TIERS, PUBLIC_ONLY, Tier

LEGITIMATE_INTEREST_ROLES: frozenset[Role] = frozenset(
    {Role.RECYCLER, Role.REPAIRER, Role.SECOND_LIFE_OPERATOR}
)


@dataclass(frozen=True)
class Caller:
    """Who is asking: a participant (with roles) authenticated by token, or anonymous."""

    participant_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.participant_id is None and not self.is_admin


ANONYMOUS = Caller()


def battery_tiers(caller: Caller, *, economic_operator_id: str, owner_id: str | None) -> frozenset[Tier]:
    """The tiers ``caller`` holds on one battery's passport, from who they are and their relation to it."""
    if caller.is_admin:
        return ALL_TIERS
    if caller.participant_id is None:
        return PUBLIC_ONLY
    if caller.participant_id == economic_operator_id:
        return ALL_TIERS
    tiers = {Tier.PUBLIC}
    if owner_id is not None and caller.participant_id == owner_id:
        tiers.add(Tier.LEGITIMATE_INTEREST)
    if caller.roles & LEGITIMATE_INTEREST_ROLES:
        tiers.add(Tier.LEGITIMATE_INTEREST)
    if Role.AUTHORITY in caller.roles:
        tiers.update({Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY})
    if Role.NOTIFIED_BODY in caller.roles:
        tiers.add(Tier.AUTHORITY)
    return frozenset(tiers)


def model_tiers(caller: Caller, *, manufacturer_id: str) -> frozenset[Tier]:
    """The tiers ``caller`` holds on a battery model's data (no battery relation involved)."""
    if caller.is_admin or (caller.participant_id is not None and caller.participant_id == manufacturer_id):
        return ALL_TIERS
    return battery_tiers(caller, economic_operator_id="", owner_id=None) - {Tier.OPERATOR}


def can_write_battery(caller: Caller, *, economic_operator_id: str) -> bool:
    """Only the economic operator (or the node admin) changes a battery's passport data."""
    return caller.is_admin or caller.participant_id == economic_operator_id
