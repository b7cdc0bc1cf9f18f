"""The composition root: every service of a node, built from its settings in one place.

The command line, the web server (:mod:`batteryloop.server`), the simulator and the demos all get their
services from :func:`build_services`; none of them builds a service by hand or imports an adapter
(``api/``, ``web/``, ``cli/``) to reach one. A new service is constructed here and added to
:class:`Services`, so every entry point has it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from .config import Settings
from .identity import ParticipantService
from .passport.service import PassportService
from .store.db import Store

if TYPE_CHECKING:  # the services below are imported when built, so that a light command stays light
    from .alerts.service import AlertService
    from .audit import AuditLog
    from .circular.service import CircularService
    from .health.service import HealthService
    from .passport.aas_repository import AasRepository
    from .passport.twin_registry import DigitalTwinRegistry
    from .store.ratelimit import SharedBuckets
    from .relations import Delegations
    from .trace.keystore import KeyStore
    from .trace.service import TraceService


@dataclass
class Services:
    """What a request, a command or a simulation works with: one node's settings, store and services."""

    settings: Settings
    store: Store
    participants: ParticipantService
    passports: PassportService
    circular: CircularService
    health: HealthService
    audit: AuditLog
    trace: TraceService
    keys: KeyStore
    delegations: Delegations

    @cached_property
    def rate_buckets(self) -> SharedBuckets | None:
        """The rate limiter's token buckets in the store when it is PostgreSQL — shared by every API worker and
        host on it — or ``None`` on SQLite, where the one API process keeps them in memory."""
        if self.store.is_sqlite:
            return None
        from .store.ratelimit import SharedBuckets

        return SharedBuckets(self.store)

    @cached_property
    def alerts(self) -> AlertService:
        """Alert rules, their firings and deliveries (built on first use)."""
        from .alerts.service import AlertService

        import os

        return AlertService(self.store, trace=self.trace, base_url=self.settings.public_base_url,
                            allow_private_targets=os.environ.get("BATTERYLOOP_ALERT_PRIVATE_WEBHOOKS") == "1")

    @cached_property
    def aas(self) -> AasRepository:
        """The passports as AAS shells and submodels (built on first use: it loads basyx)."""
        from .passport.aas_repository import AasRepository

        return AasRepository(self.passports)

    @cached_property
    def twins(self) -> DigitalTwinRegistry:
        """The Digital Twin Registry (shell descriptors, lookups, access rules) on this node's store."""
        from .passport.twin_registry import DigitalTwinRegistry

        return DigitalTwinRegistry(self.store)


def build_services(settings: Settings, store: Store | None = None, *, migrate: bool = True) -> Services:
    """Open (and by default migrate) the store named by ``settings`` and wire every service to it."""
    from .audit import AuditLog
    from .circular.service import CircularService
    from .health.service import HealthService
    from .relations import Delegations
    from .trace.keystore import KeyStore
    from .trace.service import TraceService, TraceSettings

    store = store or Store(settings.database_url)
    if migrate:
        store.upgrade()
    participants = ParticipantService(store, admin_token=settings.admin_token,
                                      token_ttl=timedelta(days=settings.token_ttl_days))
    passports = PassportService(store, base_url=settings.public_base_url,
                                issuing_agency_code=settings.issuing_agency_code,
                                accepted_issuing_agency_codes=settings.accepted_issuing_agency_codes)
    passports.audit = AuditLog(store)
    trace = TraceService(store, TraceSettings.from_env(), passports=passports)
    keys = KeyStore(settings.var_dir / "keys")
    return Services(
        settings=settings,
        store=store,
        participants=participants,
        passports=passports,
        circular=CircularService(passports, participants, trace=trace),
        health=HealthService(passports, settings.var_dir / "health", trace=trace, keys=keys),
        audit=passports.audit,
        trace=trace,
        keys=keys,
        delegations=Delegations(store),
    )
