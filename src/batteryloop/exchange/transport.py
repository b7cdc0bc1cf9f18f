"""A small keep-alive HTTP/1.1 client for the node's own protocol traffic (DSP messages, data pulls,
did.json and status-list fetches), built on the standard library's :mod:`http.client`.

Why not httpx for these: a DSP round trip is ~10 small requests, and httpx spends ~0.5 ms of CPU on
each (request/response models, header normalisation, cookie jar) where :mod:`http.client` on a kept-alive
connection spends ~0.1 ms. Nothing about the protocol changes: same requests, same headers, TLS for
``https`` URLs with the system's (or certifi's) CA bundle. ``Node.http`` stays an ``httpx.Client`` for
everything else; requests that would go through a proxy configured in the environment use it too.

Transport failures raise ``httpx`` exceptions (``ConnectError``, ``TimeoutException``,
``RemoteProtocolError``), so callers catching ``httpx.HTTPError`` see no difference.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

IDLE_S = 4.0  # a kept connection older than this is closed, not reused (uvicorn closes idle ones after 5 s)


class Response:
    """The part of ``httpx.Response`` the node uses: ``status_code``, ``headers``, ``content``, ``text``, ``json()``."""

    __slots__ = ("status_code", "headers", "content", "url")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> Response:
        if not self.is_success:
            raise httpx.HTTPStatusError(f"HTTP {self.status_code} from {self.url}",
                                        request=httpx.Request("GET", self.url),
                                        response=httpx.Response(self.status_code, content=self.content))
        return self


def _readable(sock: socket.socket | None) -> bool:
    """True when an idle kept-alive socket has something to read: the server closed it (EOF) or misbehaved."""
    if sock is None:
        return True
    try:
        r, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(r)


class KeepAliveClient:
    """Thread-safe: each request borrows one idle connection of its origin (or opens one) and returns it."""

    def __init__(self, timeout: float = 10.0, fallback: httpx.Client | None = None) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str, int], list[tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._fallback = fallback
        self._proxies = urllib.request.getproxies()

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                import certifi

                self._ssl = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi comes with httpx
                self._ssl = ssl.create_default_context()
        return self._ssl

    def _proxied(self, scheme: str, host: str) -> bool:
        return scheme in self._proxies and not urllib.request.proxy_bypass(host)

    def _take(self, key: tuple[str, str, int]) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                since, conn = idle.pop()
                if now - since < IDLE_S and not _readable(conn.sock):
                    return conn
                conn.close()
        return None

    def _give_back(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append((time.monotonic(), conn))

    def request(self, method: str, url: str, *, content: bytes | None = None, json: Any = None,
                headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Response:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        if scheme not in ("http", "https") or (self._fallback is not None and self._proxied(scheme, host)):
            if self._fallback is None:
                raise httpx.UnsupportedProtocol(f"cannot send {scheme!r} requests")
            r = self._fallback.request(method, url, content=content, json=json, headers=headers, params=params)
            return Response(r.status_code, r.headers, r.content, url)
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params)
        hdrs = dict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            hdrs.setdefault("Content-Type", "application/json")
        key = (scheme, host, port)
        for attempt in (0, 1):
            conn = self._take(key) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = (http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context())
                        if scheme == "https" else http.client.HTTPConnection(host, port, timeout=self.timeout))
            try:
                conn.request(method, target, body=content, headers=hdrs)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused:  # the server closed the kept-alive connection as we used it: one fresh try
                    continue
                raise httpx.RemoteProtocolError(f"{method} {url}: {exc}") from None
            except TimeoutError as exc:
                conn.close()
                raise httpx.TimeoutException(f"{method} {url}: timed out ({exc})") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise httpx.ConnectError(f"{method} {url}: {exc}") from None
            out = Response(resp.status, resp.msg, body, url)  # resp.msg: the headers, case-insensitive
            if resp.will_close:
                conn.close()
            else:
                self._give_back(key, conn)
            return out
        raise AssertionError("unreachable")

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Response:
        return self.request("PUT", url, **kw)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for _, conn in conns:
                conn.close()
