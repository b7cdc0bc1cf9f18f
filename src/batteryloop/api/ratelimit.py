"""Rate limiting per signed-in participant, and per client address for everyone else.

A token bucket per key: ``burst`` requests at once, refilled at ``per_minute / 60`` per second. The key
is the participant a valid bearer token or web cookie stands for (its own, higher limit); a request
without one, or with a token that is unknown, expired or revoked, counts as anonymous, by its client
address (IPv6 by its /64). The node administrator is not limited. The address is the direct peer's;
``X-Forwarded-For`` and ``Forwarded`` are believed only when that peer is a trusted proxy, and then the
client is the last hop that is not one. Over the limit the answer is a 429 problem document with
``Retry-After``. A pure ASGI middleware: an anonymous request costs a dictionary look-up, a signed-in
one the (cached) token check.

Where the buckets live: on SQLite (one API process) in this process's memory; on PostgreSQL in the
store (``shared``: :class:`batteryloop.store.ratelimit.SharedBuckets`), one row per key updated by an
atomic upsert, so that any number of workers and hosts behind one database share one limit — one round
trip per limited request (the upsert, in autocommit, run on the event loop: a worker thread's hand-over cost
more than the statement). Their clock is the wall clock (:data:`wallclock`; hosts keep it in step), the
in-memory buckets' the process's monotonic clock.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from typing import Any
from time import monotonic
from time import time as wallclock

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ..access import Caller
from ..store.db import StoreBusy
from .limits import request_token
from .problems import problem

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _forwarded_hops(scope: Scope) -> list[str]:
    """The client addresses proxies recorded, first to last (``Forwarded`` if sent, else ``X-Forwarded-For``)."""
    forwarded, xff = [], []
    for name, value in scope["headers"]:
        if name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, v = pair.strip().partition("=")
                    if key.lower() == "for":
                        v = v.strip('"')
                        v = v[1:v.find("]")] if v.startswith("[") else v.split(":")[0] if v.count(":") == 1 else v
                        forwarded.append(v)
        elif name == b"x-forwarded-for":
            xff += [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
    return forwarded or xff


def client_address(scope: Scope, trusted: tuple[Network, ...]) -> str:
    peer = (scope.get("client") or ("?", 0))[0]
    if not trusted or not _within(peer, trusted):
        return peer
    hops = _forwarded_hops(scope)
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int, participant_per_minute: int = 0, burst: int | None = None,
                 max_clients: int = 100_000, authenticate: Callable[[str], Caller | None] | None = None,
                 trusted_proxies: str = "", shared: Any = None) -> None:
        """``shared``: buckets shared with other processes (:class:`batteryloop.store.ratelimit.SharedBuckets`:
        ``take(key, rate, burst, now) -> (allowed, tokens left)``, called on the event loop, ``claim_prune(now)``, called
        on the event loop, and ``prune_idle(now, rate, burst)``, called in a worker thread); ``None``: in memory."""
        self.app = app
        self.shared = shared
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(10, per_minute // 5))
        self.participant_rate = participant_per_minute / 60.0
        self.participant_burst = float(max(10, participant_per_minute // 5))
        self.max_clients = max_clients
        self.authenticate = authenticate
        self.trusted = parse_networks(trusted_proxies)
        self.buckets: dict[str, tuple[float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        token = request_token(scope)
        caller = None
        if token is not None and self.authenticate is not None:
            caller = await run_in_threadpool(self.authenticate, token)
        if caller is not None and caller.is_admin:
            await self.app(scope, receive, send)
            return
        if caller is not None and caller.participant_id is not None:
            key, rate, burst = f"p:{caller.participant_id}", self.participant_rate, self.participant_burst
        else:
            address = client_address(scope, self.trusted)
            if ":" in address:  # one IPv6 subscriber holds a /64
                try:
                    address = str(ipaddress.ip_network(f"{address}/64", strict=False))
                except ValueError:
                    pass
            key, rate, burst = f"a:{address}", self.rate, self.burst
        if rate <= 0:
            await self.app(scope, receive, send)
            return
        if self.shared is not None:
            now = wallclock()
            if self.shared.claim_prune(now):  # claimed here, on the loop: one DELETE, not one per waiting request
                await run_in_threadpool(self.shared.prune_idle, now, rate, burst)  # a DELETE: off the event loop
            # one upsert, one round trip, its commit not waiting for the disk (store/ratelimit.py): on the event
            # loop, as the passport read (api/passports.py) — handed to a worker thread it cost more CPU than the
            # statement (docs/benchmarks.md, "Fourth pass")
            try:
                allowed, tokens = self.shared.take(key, rate, burst, now)
            except StoreBusy as exc:  # the limiter's store did not answer in time: fail closed (never a pass)
                await problem(503, "Rate limiter unavailable", str(exc), scope["path"],
                              headers={"Retry-After": "1"})(scope, receive, send)
                return
        else:
            now = monotonic()
            tokens, last = self.buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            if allowed:
                if len(self.buckets) >= self.max_clients and key not in self.buckets:
                    self.buckets.clear()  # bounded memory under an address-spraying flood
                self.buckets[key] = (tokens - 1.0, now)
            else:
                self.buckets[key] = (tokens, now)
        if not allowed:
            retry = max(1, math.ceil((1.0 - tokens) / rate))
            if key.startswith("p:"):
                detail = (f"requests are limited to {rate * 60:.0f} per minute per participant "
                          f"(BATTERYLOOP_RATE_LIMIT_PARTICIPANT_PER_MINUTE); retry in {retry} s")
            else:
                detail = (f"anonymous requests are limited to {rate * 60:.0f} per minute per address "
                          f"(BATTERYLOOP_RATE_LIMIT_PER_MINUTE); retry in {retry} s or sign in")
            await problem(429, "Too many requests", detail, scope["path"],
                          headers={"Retry-After": str(retry)})(scope, receive, send)
            return
        await self.app(scope, receive, send)

