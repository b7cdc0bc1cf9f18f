"""The HTTP face of a :class:`~batteryloop.exchange.node.Node` (FastAPI): DSP provider and consumer
endpoints, did:web document, status lists, data plane, a small management API and a dashboard.

Paths (relative to the node's base URL):

* ``GET /.well-known/did.json``, ``GET /.well-known/dspace-version``
* ``GET /credentials/status/{list}`` — the issuer's signed status list (VC-JWT)
* DSP provider under ``/dsp``: ``POST /catalog/request``, ``GET /catalog/datasets/{id}``,
  ``GET /negotiations/{pid}``, ``POST /negotiations/request``, ``POST /negotiations/{pid}/request``,
  ``/events``, ``/agreement/verification``, ``/termination``; ``GET /transfers/{pid}``,
  ``POST /transfers/request``, ``POST /transfers/{pid}/start|completion|suspension|termination``
* DSP consumer callbacks under ``/dsp/callback``: ``/negotiations/{pid}/offers|agreement|events|termination``,
  ``/transfers/{pid}/start|completion|suspension|termination``
* ``GET /data/{pid}`` — HTTP pull with the short-lived access token from the TransferStartMessage
* ``/management/*`` (admin bearer token) and ``GET /dashboard``
* ``/api/v3/*`` — the Digital Twin Registry (Tractus-X DTR, every operation): the same implementation as the
  main API's (:mod:`batteryloop.api.dtr` on :class:`~batteryloop.passport.twin_registry.DigitalTwinRegistry`),
  on the node's store; callers are known by :func:`registry_caller`

Errors on DSP paths are the protocol's error objects (``CatalogError``, ``ContractNegotiationError``,
``TransferError``) with ``code`` and ``reason``; under ``/api/v3`` the registry's Part 2 ``Result``; elsewhere
RFC 9457 problem+json.
"""

from __future__ import annotations

import html
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from starlette.routing import Route
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ..access import ANONYMOUS, Caller
from ..errors import Unauthorized
from ..identity import TOKEN_PREFIX
from ..responses import PROBLEM, json_response
from . import dsp
from .errors import CredentialError, ExchangeError, ProtocolError
from .node import Node
from .trust import ParticipantClaims

CLAIMS = object()  # placeholder for the authenticated caller's claims in ``authed`` calls


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError("InvalidMessage", "the request body is not JSON") from None


def _error_kind(path: str) -> str | None:
    if "/dsp/" not in path and not path.endswith("/dsp"):
        return None
    if "/transfers" in path:
        return "TransferError"
    if "/negotiations" in path:
        return "ContractNegotiationError"
    return "CatalogError"


def create_node_app(node: Node, *, title: str | None = None) -> FastAPI:
    app = FastAPI(title=title or f"batteryloop node {node.config.name}",
                  description="Dataspace Protocol 2025-1 connector (provider and consumer) of one participant.")
    app.state.node = node

    @app.exception_handler(ExchangeError)
    async def _exchange_error(request: Request, exc: ExchangeError) -> Response:
        reasons = [exc.detail] + [r for r in getattr(exc, "reasons", []) if r != exc.detail]
        kind = _error_kind(request.url.path)
        status = exc.status
        if kind is None:
            return json_response({"type": f"https://batteryloop.dev/problems/{status}", "title": exc.title,
                                  "status": status, "detail": exc.detail, "code": exc.code,
                                  "reasons": reasons, "instance": request.url.path}, status, media_type=PROBLEM)
        pid = request.path_params.get("pid")
        body = dsp.error_body(kind, exc.code, reasons, provider_pid=pid, consumer_pid=pid)
        return json_response(body, status)

    async def authed(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
        """Authenticate and handle in one worker-thread hop; ``CLAIMS`` stands for the caller's claims."""
        auth = request.headers.get("authorization")

        def run() -> Any:
            claims = node.authenticate(auth)
            return fn(*[claims if a is CLAIMS else a for a in args])

        return await run_in_threadpool(run)

    # ------------------------------------------------------------------ discovery
    @app.get("/did.json", tags=["identity"], include_in_schema=False)  # did:web with a path (node mounted under one)
    @app.get("/.well-known/did.json", tags=["identity"])
    def did_document() -> Response:
        services = [{"id": node.did + "#dsp", "type": "DataService",
                     "serviceEndpoint": node.base_url + "/.well-known/dspace-version"},
                    {"id": node.did + "#catalog", "type": "CatalogService",
                     "serviceEndpoint": node.dsp_url + "/catalog"}]
        return json_response(node.identity.document(services))

    @app.get("/.well-known/dspace-version", tags=["dsp"])
    def dspace_version() -> Response:
        return json_response(dsp.version_document(dsp_path(), node.did + "#dsp"))

    def dsp_path() -> str:
        from urllib.parse import urlsplit

        return urlsplit(node.dsp_url).path

    @app.get("/credentials/status/{list_id}", tags=["identity"])
    def status_list(list_id: str) -> Response:
        return Response(node.status_list_token(list_id), media_type="application/vc+jwt")

    # ------------------------------------------------------------------ DSP provider and consumer callbacks
    # Each handler takes the request and returns the response. They are served as plain Starlette routes
    # placed first (no FastAPI dependency solving or response validation on the ~10 messages of a round trip)
    # and registered a second time as FastAPI routes so that the OpenAPI document lists them.
    routes: list[tuple[str, str, str, Callable[[Request], Awaitable[Response]]]] = []

    def route(path: str, method: str = "POST", tag: str = "dsp provider") -> Callable[[Any], Any]:
        def deco(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
            routes.append((path, method, tag, fn))
            return fn
        return deco

    def with_tasks(resp: Response, tasks: BackgroundTasks) -> Response:
        resp.background = tasks
        return resp

    @route("/dsp/catalog/request")
    async def catalog_request(request: Request) -> Response:
        body = await _body(request)

        def run(claims: ParticipantClaims) -> dict[str, Any]:
            m = dsp.require_valid(body, "CatalogRequestMessage")
            return node.catalog(claims, m.get("filter"))

        return json_response(await authed(request, run, CLAIMS))

    @route("/dsp/catalog/datasets/{dataset_id:path}", "GET")
    async def catalog_dataset(request: Request) -> Response:
        return json_response(await authed(request, node.dataset, request.path_params["dataset_id"], CLAIMS))

    @route("/dsp/negotiations/{pid}", "GET")
    async def negotiation_state(request: Request) -> Response:
        pid = request.path_params["pid"]
        n = await authed(request, lambda c: node._owned(node.repo.negotiation(pid, "provider"), c), CLAIMS)
        return json_response(dsp.negotiation(n.pid, n.peer_pid or "", dsp.N(n.state)))

    @route("/dsp/negotiations/request")
    async def negotiation_request(request: Request) -> Response:
        body = await _body(request)
        bg = BackgroundTasks()
        out = await authed(request, node.on_contract_request, body, CLAIMS, bg.add_task)
        return with_tasks(json_response(out, 201), bg)

    @route("/dsp/negotiations/{pid}/request")
    async def negotiation_counter(request: Request) -> Response:
        pid = request.path_params["pid"]
        body = await _body(request)
        bg = BackgroundTasks()
        out = await authed(request, node.on_counter_request, pid, body, CLAIMS, bg.add_task)
        return with_tasks(json_response(out, 200), bg)

    @route("/dsp/negotiations/{pid}/events")
    async def negotiation_event(request: Request) -> Response:
        body = await _body(request)
        bg = BackgroundTasks()
        await authed(request, node.on_negotiation_event, request.path_params["pid"], body, CLAIMS, "provider",
                     bg.add_task)
        return with_tasks(Response(status_code=200), bg)

    @route("/dsp/negotiations/{pid}/agreement/verification")
    async def negotiation_verification(request: Request) -> Response:
        body = await _body(request)
        bg = BackgroundTasks()
        await authed(request, node.on_verification, request.path_params["pid"], body, CLAIMS, bg.add_task)
        return with_tasks(Response(status_code=200), bg)

    @route("/dsp/negotiations/{pid}/termination")
    async def negotiation_termination(request: Request) -> Response:
        body = await _body(request)
        await authed(request, node.on_negotiation_termination, request.path_params["pid"], body, CLAIMS, "provider")
        return Response(status_code=200)

    @route("/dsp/transfers/{pid}", "GET")
    async def transfer_state(request: Request) -> Response:
        pid = request.path_params["pid"]
        t = await authed(request, lambda c: node._owned(node.repo.transfer(pid, "provider"), c), CLAIMS)
        return json_response(dsp.transfer_process(t.pid, t.peer_pid or "", dsp.T(t.state)))

    @route("/dsp/transfers/request")
    async def transfer_request(request: Request) -> Response:
        body = await _body(request)
        bg = BackgroundTasks()
        out = await authed(request, node.on_transfer_request, body, CLAIMS, bg.add_task)
        return with_tasks(json_response(out, 201), bg)

    def _transfer_route(prefix: str, action: str, kind: str, role: str) -> None:
        async def handler(request: Request) -> Response:
            body = await _body(request)
            await authed(request, node.on_transfer_message, request.path_params["pid"], kind, body, CLAIMS, role)
            return Response(status_code=200)

        handler.__name__ = f"{role}_transfer_{action}"
        route(f"{prefix}/transfers/{{pid}}/{action}", tag=f"dsp {role}")(handler)

    transfer_actions = (("start", "TransferStartMessage"), ("completion", "TransferCompletionMessage"),
                        ("suspension", "TransferSuspensionMessage"), ("termination", "TransferTerminationMessage"))
    for action, kind in transfer_actions:
        _transfer_route("/dsp", action, kind, "provider")

    # consumer callbacks
    @route("/dsp/callback/negotiations/{pid}", "GET", tag="dsp consumer")
    async def cb_negotiation_state(request: Request) -> Response:
        pid = request.path_params["pid"]
        n = await authed(request, lambda c: node._owned(node.repo.negotiation(pid, "consumer"), c), CLAIMS)
        return json_response(dsp.negotiation(n.peer_pid or "", n.pid, dsp.N(n.state)))

    @route("/dsp/callback/transfers/{pid}", "GET", tag="dsp consumer")
    async def cb_transfer_state(request: Request) -> Response:
        pid = request.path_params["pid"]
        t = await authed(request, lambda c: node._owned(node.repo.transfer(pid, "consumer"), c), CLAIMS)
        return json_response(dsp.transfer_process(t.peer_pid or "", t.pid, dsp.T(t.state)))

    @route("/dsp/callback/negotiations/offers", tag="dsp consumer")
    async def cb_initial_offer(request: Request) -> Response:
        body = await _body(request)
        return json_response(await authed(request, node.on_initial_offer, body, CLAIMS), 201)

    @route("/dsp/callback/negotiations/{pid}/offers", tag="dsp consumer")
    async def cb_offer(request: Request) -> Response:
        body = await _body(request)
        out = await authed(request, node.on_counter_offer, request.path_params["pid"], body, CLAIMS)
        return json_response(out, 200)

    @route("/dsp/callback/negotiations/{pid}/agreement", tag="dsp consumer")
    async def cb_agreement(request: Request) -> Response:
        body = await _body(request)
        bg = BackgroundTasks()
        await authed(request, node.on_agreement, request.path_params["pid"], body, CLAIMS, bg.add_task)
        return with_tasks(Response(status_code=200), bg)

    @route("/dsp/callback/negotiations/{pid}/events", tag="dsp consumer")
    async def cb_event(request: Request) -> Response:
        body = await _body(request)
        await authed(request, node.on_negotiation_event, request.path_params["pid"], body, CLAIMS, "consumer")
        return Response(status_code=200)

    @route("/dsp/callback/negotiations/{pid}/termination", tag="dsp consumer")
    async def cb_termination(request: Request) -> Response:
        body = await _body(request)
        await authed(request, node.on_negotiation_termination, request.path_params["pid"], body, CLAIMS, "consumer")
        return Response(status_code=200)

    for action, kind in transfer_actions:
        _transfer_route("/dsp/callback", action, kind, "consumer")

    if node.tck is not None:  # DSP TCK mode only (exchange/tck.py): the TCK's signals to act as consumer
        @route("/tck/negotiations/requests", tag="dsp tck")
        async def tck_negotiation(request: Request) -> Response:
            body = await _body(request)
            await authed(request, lambda c: node.tck.initiate_negotiation(body), CLAIMS)
            return Response(status_code=200)

        @route("/tck/transfers/requests", tag="dsp tck")
        async def tck_transfer(request: Request) -> Response:
            body = await _body(request)
            await authed(request, lambda c: node.tck.initiate_transfer(body), CLAIMS)
            return Response(status_code=200)

    for path, method, tag, fn in routes:
        app.add_api_route(path, fn, methods=[method], tags=[tag], name=fn.__name__)  # listed in the OpenAPI
    app.router.routes[:0] = [Route(path, fn, methods=[method], include_in_schema=False, name=f"{fn.__name__}_fast")
                             for path, method, _, fn in routes]

    from .ouranos_api import ouranos_router

    app.include_router(ouranos_router(node.ouranos, node.ouranos_operator))
    install_registry(app, node)
    if node.config.pact_clients:
        from .pact import pact_router

        app.include_router(pact_router(node, node.config.pact_clients))

    # ------------------------------------------------------------------ data plane
    async def data(request: Request) -> Response:
        pid, auth = request.path_params["pid"], request.headers.get("authorization")
        return json_response(await run_in_threadpool(node.serve_data, pid, auth))

    app.add_api_route("/data/{pid}", data, methods=["GET"], tags=["data plane"], name="data")
    app.router.routes.insert(0, Route("/data/{pid}", data, methods=["GET"], include_in_schema=False, name="data_fast"))

    # ------------------------------------------------------------------ management
    m = APIRouter(prefix="/management", tags=["management"])

    def admin(request: Request) -> None:
        want = node.config.admin_token
        got = request.headers.get("authorization", "")
        if want is None or not hmac.compare_digest(got.encode(), f"Bearer {want}".encode()):
            raise CredentialError("unauthorized", "management needs 'Authorization: Bearer <admin_token>' of this node")

    @m.post("/catalog")
    async def m_catalog(request: Request) -> Response:
        admin(request)
        b = await _body(request)
        return json_response(await run_in_threadpool(lambda: node.request_catalog(b["counterPartyAddress"], b.get("counterPartyId"),
                                                                                  filter=b.get("filter"))))

    @m.post("/negotiations")
    async def m_negotiate(request: Request) -> Response:
        admin(request)
        b = await _body(request)
        n = await run_in_threadpool(lambda: node.negotiate(b["counterPartyAddress"], b["datasetId"], b.get("offer"),
                                                           audience=b.get("counterPartyId"),
                                                           wait_s=float(b.get("wait_s", 10))))
        return json_response(n.public())

    @m.post("/offers")
    async def m_offer(request: Request) -> Response:
        admin(request)
        b = await _body(request)
        n = await run_in_threadpool(node.offer, b["consumerCallbackAddress"], b["consumerId"], b["datasetId"])
        return json_response(n.public())

    @m.post("/negotiations/{pid}/accept")
    async def m_accept(pid: str, request: Request) -> Response:
        admin(request)
        return json_response((await run_in_threadpool(node.accept_offer, pid)).public())

    @m.post("/negotiations/{pid}/counter")
    async def m_counter(pid: str, request: Request) -> Response:
        admin(request)
        b = await _body(request)
        return json_response((await run_in_threadpool(lambda: node.counter_offer(pid, b["offer"],
                                                                                 wait_s=float(b.get("wait_s", 10))))).public())

    @m.get("/negotiations")
    def m_negotiations(request: Request) -> Response:
        admin(request)
        return json_response([n.public() for n in node.repo.negotiations()])

    @m.get("/negotiations/{pid}")
    def m_negotiation(pid: str, request: Request) -> Response:
        admin(request)
        return json_response(node.repo.negotiation(pid).public())

    @m.post("/transfers")
    async def m_transfer(request: Request) -> Response:
        admin(request)
        b = await _body(request)
        t = await run_in_threadpool(lambda: node.transfer(b["counterPartyAddress"], b["agreementId"],
                                                          audience=b.get("counterPartyId"),
                                                          wait_s=float(b.get("wait_s", 10))))
        return json_response(t.public())

    @m.get("/transfers")
    def m_transfers(request: Request) -> Response:
        admin(request)
        return json_response([t.public() for t in node.repo.transfers()])

    @m.post("/transfers/{pid}/pull")
    def m_pull(pid: str, request: Request) -> Response:
        admin(request)
        return json_response(node.pull(pid))

    @m.post("/fetch")
    async def m_fetch(request: Request) -> Response:
        admin(request)
        b = await _body(request)
        n, t, data = await run_in_threadpool(node.fetch, b["counterPartyAddress"], b["datasetId"])
        return json_response({"negotiation": n.public(), "transfer": t.public(), "data": data})

    @m.post("/credentials")
    async def m_issue(request: Request) -> Response:
        admin(request)
        if not node.config.issuer:
            raise ExchangeError("not_issuer", f"node {node.config.name} is not configured as an issuer")
        b = await _body(request)
        tok = await run_in_threadpool(lambda: node.issue(b["subject"], b["type"], b.get("claims", {}),
                                                         valid_until=b.get("valid_until")))  # signing: off the loop
        return json_response({"credential": tok})

    @m.post("/credentials/{cid}/revoke")
    def m_revoke(cid: str, request: Request) -> Response:
        admin(request)
        node.revoke(cid)
        return Response(status_code=204)

    app.include_router(m)

    @app.get("/dashboard", response_class=HTMLResponse, tags=["dashboard"])
    def dashboard() -> HTMLResponse:
        return HTMLResponse(render_dashboard([node]))

    return app


def registry_caller(node: Node, participants: Any, request: Request) -> Caller:
    """Who calls the node's registry: anonymous without ``Authorization``; the node admin with the node's
    admin token; a participant of the node's store with its API token (``blt_…``, as on the main API);
    otherwise the BPN a verifiable presentation for this node proves (as on the DSP paths). A refused
    token or presentation is a 401 naming why."""
    auth = request.headers.get("authorization")
    if not auth:
        return ANONYMOUS
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("use 'Authorization: Bearer <token>' (the node's admin token, a participant's API token "
                           "or a verifiable presentation for this node)")
    admin = node.config.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Caller(is_admin=True)
    if token.startswith(TOKEN_PREFIX):
        who = participants.authenticate(token)
        if who is None:
            raise Unauthorized(f"the bearer token {participants.refusal(token)}; ask your node operator for a new one")
        return who  # type: ignore[no-any-return]
    try:
        claims = node.authenticate(auth)
    except ExchangeError as exc:
        raise Unauthorized(f"the presentation is refused: {exc.detail}") from None
    if not claims.bpn:
        raise Unauthorized("the presentation proves no BPN (a BpnCredential): the registry answers for a BPN")
    return Caller(participant_id=claims.bpn)


def install_registry(app: FastAPI, node: Node) -> None:
    """The Digital Twin Registry on the node's store under ``/api/v3`` (:mod:`batteryloop.api.dtr`), its
    errors as Part 2 ``Result`` and the node's other non-DSP errors as problem documents
    (:mod:`batteryloop.api.problems`), its schemas in the node's OpenAPI document."""
    from ..api import dtr as dtr_api
    from ..api import problems
    from ..identity import ParticipantService
    from ..passport.twin_registry import DigitalTwinRegistry

    participants = ParticipantService(node.store)  # API tokens of the store's participants (no admin here)
    node.twins = DigitalTwinRegistry(node.store)
    problems.install(app)  # ExchangeError keeps its own handler (the more specific class wins)
    dtr_api.install(app, twins=node.twins, caller_of=lambda request: registry_caller(node, participants, request))
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = plain()
            doc.setdefault("components", {}).setdefault("schemas", {}).update(app.state.openapi_components)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_dashboard(nodes: list[Node]) -> str:
    """One page listing each node's contracts and transfers (server-rendered, no scripts)."""
    esc = html.escape
    parts = ["<!doctype html><meta charset=utf-8><title>batteryloop data space</title>",
             "<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.TERMINATED{color:#b00}"
             ".FINALIZED,.COMPLETED{color:#070}</style><h1>Data space: contracts and transfers</h1>"]
    for node in nodes:
        parts.append(f"<h2>{esc(node.config.name)} <small>({esc(node.config.space)}, {esc(node.did)})</small></h2>")
        parts.append("<table><tr><th>role</th><th>dataset</th><th>counterparty</th><th>state</th><th>agreement</th>"
                     "<th>reason</th><th>updated</th></tr>")
        for n in node.repo.negotiations(50):
            parts.append(f"<tr><td>{esc(n.role)}</td><td>{esc(n.dataset_id)}</td><td>{esc(n.counterparty_did)}</td>"
                         f"<td class={esc(n.state)}>{esc(n.state)}</td><td>{esc(n.agreement_id or '')}</td>"
                         f"<td>{esc(n.reason or '')}</td><td>{esc(n.updated_at)}</td></tr>")
        parts.append("</table><table><tr><th>role</th><th>agreement</th><th>counterparty</th><th>state</th>"
                     "<th>reason</th><th>updated</th></tr>")
        for t in node.repo.transfers(50):
            parts.append(f"<tr><td>{esc(t.role)}</td><td>{esc(t.agreement_id)}</td><td>{esc(t.counterparty_did)}</td>"
                         f"<td class={esc(t.state)}>{esc(t.state)}</td><td>{esc(t.reason or '')}</td>"
                         f"<td>{esc(t.updated_at)}</td></tr>")
        parts.append("</table>")
    return "".join(parts)


def mount_node(app: FastAPI, config: Any, path: str = "/node", *, store: Any = None, passports: Any = None) -> Node:
    """Mount a node under ``path`` of another FastAPI app (the main API), sharing its store and passports.

    ``config`` is a :class:`NodeConfig` or a file path; its ``base_url`` must end with ``path`` (the node's
    did:web then carries that path, its document served at ``{path}/did.json``).
    """
    from pathlib import Path as _P

    from .config import NodeConfig

    cfg = config if isinstance(config, NodeConfig) else NodeConfig.load(_P(config))
    if not cfg.base_url.rstrip("/").endswith(path.rstrip("/")):
        raise ValueError(f"node base_url {cfg.base_url!r} must end with the mount path {path!r}")
    node = Node(cfg, store=store, passports=passports)
    app.mount(path, create_node_app(node))
    app.state.exchange_node = node
    return node


def demo_dashboard_app(nodes: Any) -> Any:
    """One page over several nodes of one process (the data-space demo's ``node demo --serve``)."""
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="batteryloop data-space demo")

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(render_dashboard(nodes))

    return app
