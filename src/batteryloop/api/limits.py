"""Request limits, enforced before a route reads or parses a body: size (413), JSON depth and numbers (400).

* **Size.** A ``Content-Length`` over the limit is refused before a byte of the body is read; a body
  without one (chunked) is counted as it arrives and refused as soon as it passes the limit, so it is
  never buffered whole. The limit is ``max_body`` everywhere; the bulk imports and uploads
  (:data:`BULK`) allow ``max_bulk_body``, to a signed-in participant only, so an anonymous caller never
  gets a large body read.
* **JSON.** A write (POST, PUT, PATCH) whose body is not a form, a multipart upload or a zip package is
  buffered (within the size limit) and scanned before the route sees it: nesting deeper than
  ``max_depth``, a number with more than ``max_digits`` digits in a row, ``NaN``/``Infinity`` or a number too
  large for a float are refused. The scan is a few passes of C-level byte operations, no parse.

A pure ASGI middleware; every refusal is an RFC 9457 problem naming the limit and its setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..access import Caller
from .deps import COOKIE
from .problems import error_body_of, problem

#: paths that take bulk bodies (to a signed-in participant): batch and standard imports, ledger batches,
#: cycler uploads. Nothing under the /node connector takes bulk: DSP, DTR, PACT and Ouranos messages are small.
BULK = re.compile(r"/api/v1/(?:passports/(?:batch|import|[^/]+/(?:cycler-data|state-of-health))|trace/batches)")
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_NOT_SCANNED = (b"multipart/", b"application/x-www-form-urlencoded")

_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_ONE_DIGIT = bytes.maketrans(b"123456789E", b"000000000e")
#: an exponent of 250 or more: with at most 50 digits before it, the smallest number that can overflow a float
_HUGE = re.compile(rb"[eE]\+?0*+(?:2[5-9]\d|[3-9]\d\d|[1-9]\d{3,})")


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def _depth(steps: bytes) -> int:
    """Nesting depth of a bracket sequence (``steps``: +1 opens, -1 closes): the running sum's range, so
    unclosed brackets count, and so does nesting after a stray close (a JSON-lines body reads line by line)."""
    import numpy as np

    values = np.frombuffer(steps, dtype=np.int8)
    top = bottom = level = 0
    for start in range(0, len(values), 1 << 20):  # blocks: memory stays flat on a bulk body
        running = np.cumsum(values[start:start + (1 << 20)], dtype=np.int64) + level
        top, bottom, level = max(top, int(running.max())), min(bottom, int(running.min())), int(running[-1])
    return top - bottom


def request_token(scope: Scope) -> str | None:
    """The bearer token of a request, or its web sign-in cookie; ``None`` without either."""
    cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"cookie" and COOKIE.encode() in value:
            cookie = cookie_parser(value.decode("latin-1")).get(COOKIE) or cookie
    return cookie


def json_limit_error(body: bytes, *, max_depth: int, max_digits: int) -> tuple[str, str] | None:
    """``(rule, detail)`` for the first JSON limit ``body`` breaks, else ``None``. Not a validator: a body
    that passes may still be invalid JSON, for the parser to report; one that fails cannot crash it."""
    try:
        encoding = json.detect_encoding(body)  # as json.loads will read it (UTF-8, -16 or -32)
    except Exception:  # noqa: BLE001 - an undecidable encoding is the parser's problem, not ours
        encoding = "utf-8"
    if encoding != "utf-8":
        body = body.decode(encoding, errors="replace").encode()
    if b"\\" in body:  # drop escaped backslashes, then escaped quotes: pairs as a JSON reader pairs them
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    bare = b'""'.join(body.split(b'"')[::2])  # outside strings: structure, numbers, literals
    digits = bare.translate(_ONE_DIGIT)
    if b"0" * (max_digits + 1) in digits:
        return "json:digits", f"a number in the JSON body has more than {max_digits} digits"
    if b"NaN" in bare or b"Infinity" in bare or (b"e000" in digits or b"e+000" in digits) and _HUGE.search(bare):
        return "json:finite", ("the JSON body holds NaN, Infinity or a number with an exponent of 250 or more "
                               "(numbers must stay finite)")
    del digits
    if _depth(bare.translate(_STEP, _NOT_BRACKET)) > max_depth:
        return "json:depth", f"the JSON body nests arrays and objects more than {max_depth} levels deep"
    return None


_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})  # no route of ours reads a body on these


class BodyTooLarge(Exception):
    """Raised to a route reading past the body limit; the middleware answers 413 instead."""


class Limits:
    def __init__(self, app: ASGIApp, *, max_body: int = 4 * 2**20, max_bulk_body: int = 200 * 2**20,
                 max_depth: int = 64, max_digits: int = 50,
                 authenticate: Callable[[str], Caller | None] | None = None) -> None:
        self.app = app
        self.max_body, self.max_bulk_body = max_body, max_bulk_body
        self.max_depth, self.max_digits = max_depth, max_digits
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:  # reads take no body: nothing to limit
            await self.app(scope, receive, send)
            return
        length: int | None = None
        ctype = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"content-type":
                ctype = value.lower()
        limit, bulk = self.max_body, BULK.fullmatch(scope["path"]) is not None
        if bulk and (length is None or length > limit) and await self._signed_in(scope):
            limit = self.max_bulk_body
        if length is not None and length > limit:
            await self._too_large(scope, receive, send, limit, bulk)
            return
        if scope["method"] in _WRITES and not ctype.startswith(_NOT_SCANNED):
            await self._scanned(scope, receive, send, limit, bulk)
        else:
            await self._counted(scope, receive, send, limit, bulk)

    async def _signed_in(self, scope: Scope) -> bool:
        token = request_token(scope)
        if token is None or self.authenticate is None:
            return False
        caller = await run_in_threadpool(self.authenticate, token)
        return caller is not None and not caller.anonymous

    async def _scanned(self, scope: Scope, receive: Receive, send: Send, limit: int, bulk: bool) -> None:
        """Read the whole body (refusing it past ``limit``), check its JSON limits, then hand it on."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send, limit, bulk)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        del chunks
        if not body.startswith(b"PK\x03\x04"):  # a zip package (AASX) is checked by its reader
            scan = partial(json_limit_error, body, max_depth=self.max_depth, max_digits=self.max_digits)
            error = scan() if len(body) < 2**20 else await run_in_threadpool(scan)  # the loop serves others meanwhile
            if error is not None:
                rule, detail = error
                setting = "BATTERYLOOP_MAX_JSON_DEPTH" if rule == "json:depth" else (
                    "BATTERYLOOP_MAX_JSON_DIGITS" if rule == "json:digits" else None)
                how = f"; the limit is set by {setting}" if setting else "; JSON numbers must be finite"
                own = error_body_of(scope.get("app"), scope.get("path", ""))  # e.g. the registry's Part 2 Result
                if own is not None:
                    await own(400, detail + how, {})(scope, receive, send)
                    return
                await problem(400, "JSON limit exceeded", detail + how, scope["path"], rule=rule,
                              limit={"json:depth": self.max_depth, "json:digits": self.max_digits}.get(rule),
                              setting=setting)(scope, receive, send)
                return
        pending: list[bytes] = [body]
        del body

        async def replay() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int, bulk: bool) -> None:
        """Stream the body through (multipart uploads spool to disk), stopping the route past ``limit``."""
        size, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal size, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the route's own answer to the aborted read (often a 400) gives way to our 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send, limit, bulk)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int, bulk: bool) -> None:
        if limit == self.max_bulk_body:
            detail = (f"the request body is larger than {_mib(limit)}, the limit for bulk imports and uploads; "
                      "set BATTERYLOOP_MAX_BULK_BODY_BYTES to change it")
            setting = "BATTERYLOOP_MAX_BULK_BODY_BYTES"
        else:
            detail = (f"the request body is larger than {_mib(limit)}; the limit is set by BATTERYLOOP_MAX_BODY_BYTES"
                      + (f" (signed-in participants may send up to {_mib(self.max_bulk_body)} here)" if bulk else ""))
            setting = "BATTERYLOOP_MAX_BODY_BYTES"
        response = problem(413, "Content too large", detail, scope["path"], limit=limit, setting=setting)
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
