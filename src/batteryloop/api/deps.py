"""Request-scoped dependencies: the services, and the caller from the bearer token or the web cookie."""

from __future__ import annotations

from fastapi import Request

from ..access import ANONYMOUS, Caller, Resource, authorize, oversees
from ..errors import Unauthorized
from ..services import Services

COOKIE = "batteryloop_token"



def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _token_caller(request: Request, token: str) -> Caller:
    ids = services(request).participants
    caller = ids.authenticate(token)
    if caller is None:  # "is unknown", "expired on …", "was revoked on …"
        raise Unauthorized(f"the bearer token {ids.refusal(token)}; ask your node operator for a new one")
    return caller


def caller(request: Request) -> Caller:
    """The caller of an API request: anonymous without an ``Authorization: Bearer`` header."""
    auth = request.headers.get("authorization")
    if not auth:
        return ANONYMOUS
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <token>'")
    return _token_caller(request, token.strip())


def page_caller(request: Request) -> Caller:
    """The reader of a web page: signed in by the cookie set at /login, else anonymous."""
    token = request.cookies.get(COOKIE)
    if not token:
        return caller(request)
    c = services(request).participants.authenticate(token)
    return c if c is not None else ANONYMOUS


def require_participant(c: Caller) -> Caller:
    if c.anonymous:
        raise Unauthorized("this needs a participant's bearer token")
    return c


def participant(request: Request) -> Caller:
    """Like :func:`caller`, but refuses anonymous requests (401) before the body is even validated."""
    return require_participant(caller(request))


def require_supply_chain(c: Caller, s: Services, pack_id: str) -> None:
    """``passport.supply_chain.read`` on the pack's passport (lineage, custody, sourcing, recycled content): its
    economic operator, authorities and the admin. The API's trace routes and the trace pages both ask here, so a
    page never answers differently from the API. Overseers pass without reading the record."""
    if oversees(c):
        return
    rec = s.passports.get_record(pack_id)
    authorize(c, "passport.supply_chain.read", Resource("passport", pack_id, operator=rec.economic_operator_id))
