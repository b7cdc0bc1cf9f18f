"""Security headers on every response: a pure ASGI middleware (a few header appends on the hot path).

All responses: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy`` and a
``Content-Security-Policy`` with ``frame-ancestors 'none'``. The web pages may run this server's scripts
and an inline script only if it carries the request's nonce: templates write
``<script nonce="{{ csp_nonce() }}">`` (a fresh random nonce, made only when a page asks for one); the
bundled plotly.js needs no ``eval``. Styles may be inline (plotly.js and the pages set ``style``; CSS runs
no script). The API's documentation pages (``/docs``, ``/redoc``) load Swagger UI and ReDoc from their CDN
with an inline start-up script, so they get a policy of their own. Other answers (JSON, CSV, images) get
``default-src 'none'``. A header a route set itself is kept.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = ("default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            b"font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
            b"https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
            b"base-uri 'none'; frame-ancestors 'none'")
OTHER_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
COMMON = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
          (b"referrer-policy", b"strict-origin-when-cross-origin"))
_OURS = frozenset(name for name, _ in COMMON) | {b"content-security-policy"}
_OTHER_HEADERS = [*COMMON, (b"content-security-policy", OTHER_CSP)]

#: the current request's nonce holder: empty until a template asks for the nonce
_NONCE: ContextVar[list[str]] = ContextVar("batteryloop_csp_nonce")


def csp_nonce() -> str:
    """The current request's script nonce (made on first use); a Jinja global of the web templates."""
    holder = _NONCE.get(None)
    if holder is None:
        return ""  # rendered outside a request: no nonce, so the inline script is refused, never let through
    if not holder:
        holder.append(secrets.token_urlsafe(18))
    return holder[0]


def _page_csp(nonce: list[str]) -> bytes:
    return PAGE_CSP.format(nonce=f" 'nonce-{nonce[0]}'" if nonce else "").encode()


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce: list[str] = []
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                html = ours = False
                for n, v in headers:  # one pass; starlette writes header names in lower case already
                    n = n.lower()
                    if n == b"content-type":
                        html = v.startswith(b"text/html")
                    elif n in _OURS:
                        ours = True
                if not html and not ours:  # the hot path (JSON answers): a precomputed tail
                    message = {**message, "headers": headers + _OTHER_HEADERS}
                else:
                    present = {n.lower() for n, _ in headers} & _OURS
                    csp = (DOCS_CSP if docs else _page_csp(nonce)) if html else OTHER_CSP
                    added = (*COMMON, (b"content-security-policy", csp))
                    message = {**message, "headers": headers + [(n, v) for n, v in added if n not in present]}
            await send(message)

        token = _NONCE.set(nonce)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _NONCE.reset(token)
