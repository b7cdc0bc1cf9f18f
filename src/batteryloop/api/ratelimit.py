"""Rate limiting of anonymous requests (the public passport pages and API), per client address.

A token bucket per address: ``burst`` requests at once, refilled at ``per_minute / 60`` per second.
Signed-in callers (bearer token or the web cookie) are accountable and not limited here. Over the
limit the answer is a 429 problem document with ``Retry-After``. A pure ASGI middleware, so the
check costs a dictionary look-up on the hot path.
"""

from __future__ import annotations

import math
import time

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .deps import COOKIE


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_minute: int, burst: int | None = None, max_clients: int = 100_000) -> None:
        self.app = app
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(10, per_minute // 5))
        self.max_clients = max_clients
        self.buckets: dict[str, tuple[float, float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"authorization" or (name == b"cookie" and COOKIE.encode() in value):
                await self.app(scope, receive, send)
                return
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        tokens, last = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            retry = max(1, math.ceil((1.0 - tokens) / self.rate))
            body = orjson.dumps({"type": "https://batteryloop.dev/problems/429", "title": "Too many requests",
                                 "status": 429, "detail": f"anonymous requests are limited to {self.rate * 60:.0f} per "
                                 f"minute per address; retry in {retry} s or sign in", "instance": scope["path"]})
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/problem+json"), (b"retry-after", str(retry).encode()),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if len(self.buckets) >= self.max_clients and client not in self.buckets:
            self.buckets.clear()  # bounded memory under an address-spraying flood
        self.buckets[client] = (tokens - 1.0, now)
        await self.app(scope, receive, send)
