"""One participant's connector: Dataspace Protocol provider and consumer, issuer, data plane.

A :class:`Node` holds its identity (did:web + Ed25519 key), its credentials, its trust framework, its
catalog and its own store. Every DSP request it sends carries a fresh presentation of its credentials
(``Authorization: Bearer <VP-JWT>``, audience = the receiver's DID, used once); every request it
receives is authenticated the same way and the presenter's accepted credentials become the
:class:`~batteryloop.exchange.trust.ParticipantClaims` that policies are evaluated against.

Passports leave a node only through :meth:`PassportService.export` with the tiers that
:func:`batteryloop.access.battery_tiers` grants the consumer (its verified BPN and roles), further
capped by the dataset's ``max_tiers``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import JoseError

from ..access import Caller
from ..participants import Role as ParticipantRole
from ..passport.exporting import export_payload
from ..passport.tiers import Tier
from ..store.db import Store, utcnow_iso
from ..trace.keys import Signer
from . import dsp
from .config import DatasetConfig, NodeConfig
from .credentials import (ALG, ReplayGuard, StatusEntry, StatusListChecker, issue_credential, issue_status_list,
                          present, verify_presentation)
from .did import DidResolver, Identity, did_web
from .dsp import N, Role, T
from .errors import CredentialError, ExchangeError, PolicyDenied, ProtocolError
from .odrl import EvaluationContext, evaluate, narrowing_problems, policy_problems
from .ouranos import OuranosError, OuranosService
from .repository import ExchangeRepository, Negotiation, Transfer
from .status_list import StatusList
from .transport import KeepAliveClient, Response
from .trust import ParticipantClaims, RecognitionAgreement, TrustFramework, TrustRegistry, claims_from

PULL = "HttpData-PULL"
AWAITS_CONSUMER = dsp.FINAL_NEGOTIATION | {N.OFFERED}  # where a consumer's request or counter-offer has its answer
DSP_PATH = "/dsp"
CALLBACK_PATH = "/dsp/callback"

PayloadSource = Callable[[DatasetConfig, ParticipantClaims], Any]


def _rules(policy: dict[str, Any]) -> dict[str, Any]:
    return {k: policy[k] for k in ("permission", "prohibition", "obligation") if policy.get(k)}


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vc_type(token: str) -> str | None:
    import base64

    try:
        claims = orjson.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return next((t for t in claims["vc"]["type"] if t != "VerifiableCredential"), None)
    except (IndexError, KeyError, ValueError, TypeError):
        return None


def peer_did(address: str) -> str:
    """The did:web of the node at ``address`` (its base URL or its DSP URL ``…/dsp``): the DID of its base URL,
    which carries a path when the node is mounted under one (``did:web:host%3A8000:node``)."""
    base = address.rstrip("/")
    for suffix in ("/dsp/callback", "/dsp"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return did_web(base)


EDC_NS = "https://w3id.org/edc/v0.0.1/ns/"


def pull_endpoint(address: dict[str, Any]) -> tuple[str, str]:
    """The URL and the access token of a DSP ``DataAddress`` for HTTP pull.

    DSP 2025-1 puts the URL in ``endpoint`` and the token in the ``endpointProperties`` named
    ``authorization``; Eclipse EDC (0.15) leaves ``endpoint`` out and names its properties with its own
    namespace (``https://w3id.org/edc/v0.0.1/ns/endpoint``, ``…/authorization``): both are read.
    """
    props: dict[str, str] = {}
    for p in address.get("endpointProperties", []):
        name = str(p.get("name", ""))
        props[name.removeprefix(EDC_NS)] = p.get("value")
    endpoint = address.get("endpoint") or props.get("endpoint")
    token = props.get("authorization")
    if not endpoint or not token:
        raise ProtocolError("InvalidDataAddress", "the data address names no endpoint or no authorization token")
    return str(endpoint), str(token)


def claims_json(c: ParticipantClaims) -> dict[str, Any]:
    return {"did": c.did, "bpn": c.bpn, "memberships": sorted(c.memberships),
            "framework_agreements": sorted(c.framework_agreements), "roles": sorted(c.roles),
            "groups": sorted(c.groups), "certifications": list(c.certifications)}


def claims_from_json(d: dict[str, Any]) -> ParticipantClaims:
    return ParticipantClaims(d["did"], d.get("bpn"), frozenset(d.get("memberships", ())),
                             frozenset(d.get("framework_agreements", ())), frozenset(d.get("roles", ())),
                             tuple(d.get("certifications", ())), frozenset(d.get("groups", ())))


FILTER_KEYS = ("id", "keyword", "kind")


QUERY_SPEC_KEYS = ("@type", "offset", "limit", "sortOrder", "sortField", "filterExpression")


def query_spec_page(obj: dict[str, Any], i: int = 0) -> tuple[int, int | None]:
    """``(offset, limit)`` of an Eclipse EDC ``QuerySpec`` filter object (EDC sends one with every catalog
    request: ``{"@type": "QuerySpec", "offset": 0, "limit": 50, "sortOrder": "ASC", "filterExpression": []}``).
    Its paging is applied to the catalog; a ``filterExpression`` or a sort field is refused (never ignored)."""
    extra = sorted(set(obj) - set(QUERY_SPEC_KEYS))
    if extra or obj.get("filterExpression") or obj.get("sortField"):
        raise ProtocolError("InvalidFilter", f"filter[{i}]: a QuerySpec is supported for paging only (offset, "
                            f"limit); not {', '.join(extra) or 'filterExpression/sortField'}")
    offset, limit = obj.get("offset", 0), obj.get("limit")
    if not isinstance(offset, int) or offset < 0 or (limit is not None and (not isinstance(limit, int) or limit < 0)):
        raise ProtocolError("InvalidFilter", f"filter[{i}]: offset and limit must be non-negative integers")
    return offset, limit


def catalog_filter(flt: Any) -> Callable[[DatasetConfig], bool]:
    """The predicate of a DSP ``CatalogRequestMessage.filter`` (the spec leaves its content to the provider).

    Ours: a list of filter objects, all of which a dataset must match; an object matches when each of its
    keys does — ``id`` (or ``@id``): the dataset id, or a list of ids; ``kind``: the dataset's kind
    (``passport``, ``document``, ``ouranos_cfp``, ``commitment_opening``) or a list of kinds; ``keyword``:
    a text, or list of texts, found (case-insensitively) in the dataset's id, title or keywords. An empty
    list (or none) matches everything. Anything else is refused with ``InvalidFilter`` rather than ignored:
    a consumer must not take an unfiltered catalog for a filtered one.
    """
    if flt is None or flt == []:
        return lambda d: True
    if not isinstance(flt, list):
        raise ProtocolError("InvalidFilter", f"filter must be a list of filter objects, got {type(flt).__name__}")
    tests: list[Callable[[DatasetConfig], bool]] = []
    for i, obj in enumerate(flt):
        if isinstance(obj, dict) and obj.get("@type") == "QuerySpec":  # EDC's paging object: see query_spec_page
            query_spec_page(obj, i)
            continue
        if not isinstance(obj, dict) or not obj:
            raise ProtocolError("InvalidFilter", f"filter[{i}] is not a non-empty object; supported keys: "
                                + ", ".join(FILTER_KEYS))
        for key, value in obj.items():
            k = "id" if key == "@id" else key
            values = value if isinstance(value, list) else [value]
            if k not in FILTER_KEYS:
                raise ProtocolError("InvalidFilter", f"filter[{i}]: unsupported key {key!r}; supported keys: "
                                    + ", ".join(FILTER_KEYS))
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ProtocolError("InvalidFilter", f"filter[{i}].{key}: expected a text or a list of texts")
            if k == "id":
                ids = frozenset(values)
                tests.append(lambda d, ids=ids: d.id in ids)
            elif k == "kind":
                kinds = frozenset(values)
                tests.append(lambda d, kinds=kinds: d.kind in kinds)
            else:
                words = [v.casefold() for v in values]
                tests.append(lambda d, words=words: any(
                    w in t.casefold() for w in words for t in (d.id, d.title, *d.keywords)))
    return lambda d: all(t(d) for t in tests)


class Node:
    def __init__(self, config: NodeConfig, *, store: Store | None = None, passports: Any = None,
                 sources: dict[str, PayloadSource] | None = None, migrate: bool = True) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.did = config.did or did_web(self.base_url)
        signer = (Signer.from_private_text(config.participant_id, config.key) if config.key
                  else Signer.generate(config.participant_id))
        self.identity = Identity(self.did, config.participant_id, signer)
        self._own_store = store is None
        self.store = store or Store(config.database_url)
        if migrate and store is None:
            self.store.upgrade()
        self.repo = ExchangeRepository(self.store)
        self.http = httpx.Client(timeout=10.0)
        # the node's own protocol traffic (DSP, data pulls, did.json, status lists): kept-alive connections
        # with less CPU per request than httpx; same requests and TLS (see transport.py)
        self.wire = KeepAliveClient(timeout=10.0, fallback=self.http)
        self.resolver = DidResolver(self._fetch_json, ttl_s=config.did_cache_s)
        self.resolver.add(self.identity.document())
        self.status = StatusListChecker(self._fetch_text, self.resolver, ttl_s=config.status_cache_s)
        regs = {space: TrustRegistry.from_config(space, issuers) for space, issuers in config.trust.registries.items()}
        self.trust = TrustFramework(config.space, regs,
                                    [RecognitionAgreement.from_config(a) for a in config.trust.agreements])
        self.replay = ReplayGuard()
        self.credentials: list[str] = list(config.credentials)
        self.datasets = {d.id: d for d in config.datasets}
        self.passports = passports
        self.sources: dict[str, PayloadSource] = {"document": lambda d, c: d.document or {}}
        self.sources["passport"] = self._passport_payload
        self.sources["ouranos_cfp"] = self._ouranos_payload
        self.sources["commitment_opening"] = self._opening_payload
        self.ouranos = OuranosService(self.store)
        self.sources.update(sources or {})
        self._status_lock = threading.Lock()
        self.tck: Any = None
        self.twins: Any = None  # its Digital Twin Registry, set by its HTTP face (exchange.app.install_registry)
        from . import tck as _tck

        if _tck.enabled(config.tck):  # DSP TCK mode: conformance runs only (exchange/tck.py)
            self.tck = _tck.Tck(self, config.tck)  # type: ignore[arg-type]
            self.tck.seed()

    # ------------------------------------------------------------------------ plumbing
    @property
    def dsp_url(self) -> str:
        return self.base_url + DSP_PATH

    @property
    def callback_url(self) -> str:
        return self.base_url + CALLBACK_PATH

    def _fetch_json(self, url: str) -> dict[str, Any]:
        r = self.wire.get(url)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def _fetch_text(self, url: str) -> str:
        r = self.wire.get(url)
        r.raise_for_status()
        return r.text

    def close(self) -> None:
        self.wire.close()
        self.http.close()
        if self._own_store:
            self.store.dispose()

    def auth_headers(self, audience: str) -> dict[str, str]:
        if self.tck is not None and self.tck.cfg.edc_mock_iam:  # interop tests with EDC's mock identity only
            return {"Authorization": self.tck.mock_token(audience)}
        return {"Authorization": "Bearer " + present(self.identity, self.credentials, audience=audience)}

    def authenticate(self, authorization: str | None) -> ParticipantClaims:
        """The verified, trusted claims of whoever sent this request (or a CredentialError saying why not)."""
        if self.tck is not None and self.tck.accepts(authorization):
            return ParticipantClaims(self.tck.cfg.participant_id)
        if self.tck is not None and (peer := self.tck.mock_peer(authorization)):
            return ParticipantClaims(peer)
        if not authorization or not authorization.startswith("Bearer "):
            raise CredentialError("missing_presentation",
                                  "no presentation: send 'Authorization: Bearer <VP-JWT>' for audience " + self.did)
        vp = verify_presentation(authorization[7:], self.resolver, audience=self.did, replay=self.replay,
                                 status_check=self.status)
        return claims_from(vp, self.trust, groups=self.config.trust.groups)

    def post(self, url: str, audience: str, body: dict[str, Any]) -> Response:
        return self.wire.post(url, content=orjson.dumps(body), headers={
            "Content-Type": "application/json", **self.auth_headers(audience)})

    @staticmethod
    def _raise_remote(r: Response | httpx.Response, what: str) -> None:
        if r.status_code < 300:
            return
        try:
            body = r.json()
        except ValueError:
            body = {"reason": [r.text[:300]]}
        reasons = body.get("reason") or [body.get("detail", "")]
        code = body.get("code", "RemoteError")
        raise ExchangeError(str(code), f"{what} refused by the counterparty ({r.status_code} {code}): "
                                       + "; ".join(map(str, reasons)), status_code=r.status_code, reasons=reasons)

    # ------------------------------------------------------------------------- issuer
    def status_list_url(self, list_id: str = "1") -> str:
        return f"{self.base_url}/credentials/status/{list_id}"

    def issue(self, subject_did: str, credential_type: str, subject: dict[str, Any], *,
              valid_until: float | None = None, valid_from: float | None = None, list_id: str = "1") -> str:
        """Issue a credential (this node acting as an issuer) with a revocable status-list entry."""
        cid = f"urn:uuid:{uuid.uuid4()}"
        exp = None if valid_until is None else datetime.fromtimestamp(valid_until, UTC).isoformat()
        idx = self.repo.record_credential(cid=cid, issuer_did=self.did, subject_did=subject_did,
                                          ctype=credential_type, status_list=list_id, expires_at=exp)
        return issue_credential(self.identity, subject_did=subject_did, credential_type=credential_type,
                                subject=subject, valid_from=valid_from, valid_until=valid_until,
                                status=StatusEntry(self.status_list_url(list_id), idx), credential_id=cid)

    def revoke(self, credential_id: str) -> None:
        self.repo.revoke_credential(credential_id)

    def status_list_token(self, list_id: str) -> str:
        sl = StatusList()
        for i in self.repo.revoked_indexes(list_id):
            sl.set(i)
        return issue_status_list(self.identity, self.status_list_url(list_id), sl)

    # ------------------------------------------------------------------------ catalog
    def _visible(self, d: DatasetConfig, claims: ParticipantClaims) -> tuple[bool, list[str]]:
        if d.access_policy is None:
            return True, []
        dec = evaluate(d.access_policy, "access", EvaluationContext(claims, membership_space=self.config.space))
        return dec.allowed, dec.reasons

    def offer_of(self, d: DatasetConfig) -> dict[str, Any]:
        return {"@id": d.offer, "@type": "Offer", **_rules(d.usage_policy)}

    def dataset_json(self, d: DatasetConfig) -> dict[str, Any]:
        return {"@id": d.id, "@type": "Dataset", "title": d.title or d.id, "dcat:keyword": [d.kind, *d.keywords],
                "hasPolicy": [self.offer_of(d)],
                "distribution": [{"@type": "Distribution", "format": PULL, "accessService": self.did + "#dsp"}]}

    def catalog(self, claims: ParticipantClaims, filter: Any = None) -> dict[str, Any]:  # noqa: A002 - DSP's name
        """The catalog as ``claims`` may see it (access policies), cut by a CatalogRequestMessage ``filter``
        (see :func:`catalog_filter`; an unsupported filter is refused, never ignored)."""
        match = catalog_filter(filter)
        datasets = [self.dataset_json(d) for d in self.datasets.values() if match(d) and self._visible(d, claims)[0]]
        for obj in filter if isinstance(filter, list) else []:
            if isinstance(obj, dict) and obj.get("@type") == "QuerySpec":
                offset, limit = query_spec_page(obj)
                datasets = datasets[offset:] if limit is None else datasets[offset:offset + limit]
        body: dict[str, Any] = {"@context": dsp.CONTEXT, "@id": f"urn:catalog:{self.did}", "@type": "Catalog",
                                "participantId": self.did,
                                "service": [{"@id": self.did + "#dsp", "@type": "DataService",
                                             "endpointURL": self.dsp_url}]}
        if datasets:
            body["dataset"] = datasets
        return dsp.checked(body)

    def dataset(self, dataset_id: str, claims: ParticipantClaims) -> dict[str, Any]:
        d = self.datasets.get(dataset_id)
        if d is None or not self._visible(d, claims)[0]:
            raise ProtocolError("NotFound", f"no dataset {dataset_id!r} visible to {claims.bpn or claims.did}",
                                status=404)
        return dsp.checked({"@context": dsp.CONTEXT, **self.dataset_json(d)})

    # --------------------------------------------------------- provider: negotiation
    def on_contract_request(self, message: dict[str, Any], claims: ParticipantClaims,
                            background: Callable[..., None]) -> dict[str, Any]:
        """A consumer's initial ContractRequestMessage: its offer is the catalog's offer (then we agree) or a
        counter-offer (see :meth:`_assess`: we agree to one that narrows our terms and that the consumer
        satisfies, and answer one that widens them with our own offer). Policy denials are immediate."""
        m = dsp.require_valid(message, "ContractRequestMessage")
        if m.get("providerPid"):  # a request on an existing negotiation
            return self.on_counter_request(m["providerPid"], m, claims, background)
        offer = m["offer"]
        target = offer.get("target")
        d = self.datasets.get(target or "")
        if d is None or not self._visible(d, claims)[0]:
            raise ProtocolError("NotFound", f"no dataset {target!r} offered to {claims.bpn or claims.did}", status=404)
        dsp.next_negotiation_state(None, "ContractRequestMessage", Role.CONSUMER)
        problems = self._assess(d, offer, claims)
        now = utcnow_iso()
        n = Negotiation(dsp.new_pid(), "provider", m["consumerPid"], claims.did, m["callbackAddress"], d.id,
                        N.REQUESTED, offer, None, None, claims_json(claims), None, now, now)
        self.repo.add_negotiation(n)
        if self.tck is not None and self.tck.provider_step("request", n, background):
            pass
        elif problems:
            background(self._counter_offer, n.pid, n, problems)
        else:
            background(self._agree, n.pid, n)
        return dsp.negotiation(n.pid, n.peer_pid or "", N.REQUESTED)

    def on_counter_request(self, pid: str, message: dict[str, Any], claims: ParticipantClaims,
                           background: Callable[..., None]) -> dict[str, Any]:
        """The consumer answers our (counter-)offer with a counter-offer of its own (OFFERED → REQUESTED)."""
        m = dsp.require_valid(message, "ContractRequestMessage")
        if m.get("providerPid") != pid:
            raise ProtocolError("InvalidMessage", f"providerPid {m.get('providerPid')!r} does not name negotiation "
                                f"{pid}")
        n = self._owned(self.repo.negotiation(pid, "provider"), claims)
        self._same_pids(n, m)
        to = dsp.next_negotiation_state(N(n.state), "ContractRequestMessage", Role.CONSUMER)
        offer = m["offer"]
        if offer.get("target", n.dataset_id) != n.dataset_id:
            raise ProtocolError("OfferMismatch", f"the counter-offer targets {offer.get('target')!r}; this "
                                f"negotiation is about {n.dataset_id}")
        offer = {**offer, "target": n.dataset_id}
        d = self.datasets.get(n.dataset_id)
        try:
            if d is None or not self._visible(d, claims)[0]:
                raise ProtocolError("NotFound", f"dataset {n.dataset_id} is not offered to {claims.bpn or claims.did}",
                                    status=404)
            problems = self._assess(d, offer, claims)
        except ExchangeError as exc:  # the consumer cannot have this contract: the negotiation ends, with why
            self.repo.move_negotiation(pid, n.state, N.TERMINATED, reason=exc.detail)
            raise
        cj = claims_json(claims)
        self.repo.move_negotiation(pid, n.state, to, offer=offer, claims=cj)
        n = replace(n, state=to, offer=offer, claims=cj)
        if self.tck is not None and self.tck.provider_step("counter", n, background):
            pass
        elif problems:
            background(self._counter_offer, pid, n, problems)
        else:
            background(self._agree, pid, n)
        return dsp.negotiation(n.pid, n.peer_pid or "", to)

    def _assess(self, d: DatasetConfig, offer: dict[str, Any], claims: ParticipantClaims) -> list[str]:
        """``[]`` when we agree to ``offer`` for dataset ``d``; otherwise why it widens our terms (we then
        counter-offer ours). Raises :class:`PolicyDenied` when the consumer does not satisfy the offer it
        asks for — or, for an offer wider than ours, ours — or when a constraint cannot be evaluated."""
        ctx = EvaluationContext(claims, terms_accepted=True, membership_space=self.config.space)
        if offer.get("@id") == d.offer and _rules(offer) == _rules(d.usage_policy):
            evaluate(d.usage_policy, "use", ctx).raise_if_denied(f"contract for {d.id}")
            return []
        problems = narrowing_problems(offer, d.usage_policy)
        if not problems:  # stricter than (or equal to) ours: its own terms must hold and be evaluable
            evaluate(offer, "use", ctx).raise_if_denied(f"counter-offer {offer.get('@id')} for {d.id}")
            return []
        evaluate(d.usage_policy, "use", ctx).raise_if_denied(f"contract for {d.id}")
        return problems

    def _counter_offer(self, pid: str, n: Negotiation | None = None, reasons: list[str] | None = None) -> None:
        """Answer a counter-offer we do not take with our catalog offer (ContractOfferMessage, → OFFERED)."""
        n = n or self.repo.negotiation(pid, "provider")
        d = self.datasets[n.dataset_id]
        offer = {**self.offer_of(d), "target": d.id}
        to = dsp.next_negotiation_state(N(n.state), "ContractOfferMessage", Role.PROVIDER)
        message = dsp.msg("ContractOfferMessage", providerPid=n.pid, consumerPid=n.peer_pid, offer=offer)
        why = "counter-offer not taken (" + "; ".join(reasons or []) + "); our offer sent instead"
        self.repo.move_negotiation(pid, n.state, to, offer=offer, reason=why)
        self._send(n, f"{n.counterparty_address}/negotiations/{n.peer_pid}/offers", message, "counter-offer")

    def _agree(self, pid: str, n: Negotiation | None = None) -> None:
        # ``n``: the process as its handler just wrote it (saves reading it back); the moves below are
        # compare-and-set on its state, so a concurrent change still makes them fail
        n = n or self.repo.negotiation(pid, "provider")
        to = dsp.next_negotiation_state(N(n.state), "ContractAgreementMessage", Role.PROVIDER)
        agreement = {"@id": dsp.new_pid(), "@type": "Agreement", "target": n.dataset_id, "timestamp": _iso_now(),
                     "assigner": self.did, "assignee": n.counterparty_did, **_rules(n.offer)}
        message = dsp.msg("ContractAgreementMessage", providerPid=n.pid, consumerPid=n.peer_pid, agreement=agreement,
                          callbackAddress=self.dsp_url)
        self.repo.move_negotiation(pid, n.state, to, agreement=agreement, agreement_id=agreement["@id"])
        self._send(n, f"{n.counterparty_address}/negotiations/{n.peer_pid}/agreement", message, "agreement")

    def _send(self, n: Negotiation, url: str, message: dict[str, Any], what: str, *, conflicts: int = 0) -> None:
        """Send a negotiation message; a failure terminates our side with the reason. ``conflicts``: how many
        times a 409 is tried again (0.2 s, 0.4 s … apart) — for a message that answers the peer's, which
        the peer may not have recorded yet (EDC 0.15 answers a verification that arrives before it has
        moved to AGREED with 409; a fresh presentation is made for each try)."""
        try:
            r = self.post(url, n.counterparty_did, message)
            for attempt in range(conflicts):
                if r.status_code != 409:
                    break
                time.sleep(0.2 * (attempt + 1))
                r = self.post(url, n.counterparty_did, message)
            self._raise_remote(r, what)
        except Exception as exc:  # noqa: BLE001 - a failed send terminates the process, with the reason
            cur = self.repo.negotiation(n.pid)
            if cur.state not in dsp.FINAL_NEGOTIATION:
                try:
                    self.repo.move_negotiation(n.pid, cur.state, N.TERMINATED, reason=f"sending {what} failed: {exc}")
                except ProtocolError:
                    pass

    def on_verification(self, pid: str, message: dict[str, Any], claims: ParticipantClaims,
                        background: Callable[..., None]) -> None:
        m = dsp.require_valid(message, "ContractAgreementVerificationMessage")
        n = self._owned(self.repo.negotiation(pid, "provider"), claims)
        self._same_pids(n, m)
        to = dsp.next_negotiation_state(N(n.state), "ContractAgreementVerificationMessage", Role.CONSUMER)
        self.repo.move_negotiation(pid, n.state, to)
        if self.tck is not None and self.tck.provider_step("verified", replace(n, state=to), background):
            return
        background(self._finalize, pid, replace(n, state=to))

    def _finalize(self, pid: str, n: Negotiation | None = None) -> None:
        n = n or self.repo.negotiation(pid, "provider")
        to = dsp.next_negotiation_state(N(n.state), "FINALIZED", Role.PROVIDER)
        self.repo.move_negotiation(pid, n.state, to)
        message = dsp.msg("ContractNegotiationEventMessage", providerPid=n.pid, consumerPid=n.peer_pid,
                          eventType="FINALIZED")
        self._send(n, f"{n.counterparty_address}/negotiations/{n.peer_pid}/events", message, "finalized event")

    def on_negotiation_event(self, pid: str, message: dict[str, Any], claims: ParticipantClaims, role: str,
                             background: Callable[..., None] | None = None) -> None:
        m = dsp.require_valid(message, "ContractNegotiationEventMessage")
        n = self._owned(self.repo.negotiation(pid, role), claims)
        self._same_pids(n, m)
        sender = Role.CONSUMER if role == "provider" else Role.PROVIDER
        to = dsp.next_negotiation_state(N(n.state), m["eventType"], sender)
        if to == N.ACCEPTED:  # the consumer accepts our offer: it must satisfy the policies, as for a request
            d = self.datasets.get(n.dataset_id)
            try:
                if d is None or not self._visible(d, claims)[0]:
                    raise ProtocolError("NotFound", f"dataset {n.dataset_id} is not offered to {claims.bpn or claims.did}",
                                        status=404)
                evaluate(n.offer, "use", EvaluationContext(claims, terms_accepted=True,
                                                            membership_space=self.config.space)
                         ).raise_if_denied(f"contract for {d.id}")
            except ExchangeError as exc:
                self.repo.move_negotiation(pid, n.state, N.TERMINATED, reason=exc.detail)
                raise
            cj = claims_json(claims)
            self.repo.move_negotiation(pid, n.state, to, claims=cj)
            if self.tck is not None and self.tck.provider_step("accepted", replace(n, state=to, claims=cj), background):
                return
            if background is not None:
                background(self._agree, pid, replace(n, state=to, claims=cj))
            return
        self.repo.move_negotiation(pid, n.state, to)

    # ------------------------------------------------------ provider-initiated offers
    def offer(self, consumer_callback: str, consumer_did: str, dataset_id: str) -> Negotiation:
        """Offer a dataset to a consumer (DSP: provider-initiated negotiation, state OFFERED)."""
        d = self.datasets.get(dataset_id)
        if d is None:
            raise ProtocolError("NotFound", f"no dataset {dataset_id!r} on this node", status=404)
        offer = {**self.offer_of(d), "target": d.id}
        now = utcnow_iso()
        n = Negotiation(dsp.new_pid(), "provider", None, consumer_did, consumer_callback.rstrip("/"), d.id,
                        N.OFFERED, offer, None, None, None, None, now, now)
        dsp.next_negotiation_state(None, "ContractOfferMessage", Role.PROVIDER)
        self.repo.add_negotiation(n)
        message = dsp.msg("ContractOfferMessage", providerPid=n.pid, offer=offer, callbackAddress=self.dsp_url)
        try:
            r = self.post(f"{n.counterparty_address}/negotiations/offers", consumer_did, message)
            self._raise_remote(r, "contract offer")
        except (ExchangeError, httpx.HTTPError) as exc:
            self.repo.move_negotiation(n.pid, N.OFFERED, N.TERMINATED, reason=str(exc))
            raise
        self.repo.set_peer_pid("negotiation", n.pid, r.json().get("consumerPid"))
        return self.repo.negotiation(n.pid)

    def on_initial_offer(self, message: dict[str, Any], claims: ParticipantClaims) -> dict[str, Any]:
        """Consumer side: a provider offers us a dataset; we record it as OFFERED (accept with :meth:`accept_offer`)."""
        m = dsp.require_valid(message, "ContractOfferMessage")
        if m.get("consumerPid") or not m.get("callbackAddress"):
            raise ProtocolError("InvalidMessage", "an initial offer has a providerPid and a callbackAddress, "
                                "and no consumerPid")
        to = dsp.next_negotiation_state(None, "ContractOfferMessage", Role.PROVIDER)
        offer = m["offer"]
        if not offer.get("target"):
            raise ProtocolError("InvalidMessage", "the offer names no target dataset")
        now = utcnow_iso()
        n = Negotiation(dsp.new_pid(), "consumer", m["providerPid"], claims.did, m["callbackAddress"].rstrip("/"),
                        offer["target"], to, offer, None, None, claims_json(claims), None, now, now)
        self.repo.add_negotiation(n)
        return dsp.negotiation(m["providerPid"], n.pid, to)

    def accept_offer(self, pid: str, *, wait_s: float = 10.0) -> Negotiation:
        """Accept a provider's offer unchanged (event ACCEPTED); wait for FINALIZED or TERMINATED."""
        n = self.repo.negotiation(pid, "consumer")
        to = dsp.next_negotiation_state(N(n.state), "ACCEPTED", Role.CONSUMER)
        message = dsp.msg("ContractNegotiationEventMessage", providerPid=n.peer_pid, consumerPid=n.pid,
                          eventType="ACCEPTED")
        self.repo.move_negotiation(pid, n.state, to)
        try:
            r = self.post(f"{n.counterparty_address}/negotiations/{n.peer_pid}/events", n.counterparty_did, message)
            self._raise_remote(r, "acceptance")
        except ExchangeError as exc:
            cur = self.repo.negotiation(pid)
            if cur.state not in dsp.FINAL_NEGOTIATION:
                self.repo.move_negotiation(pid, cur.state, N.TERMINATED, reason=exc.detail)
            raise
        return self.repo.wait(lambda: self.repo.negotiation(pid), lambda x: x.state in dsp.FINAL_NEGOTIATION, wait_s,
                              pid=pid, ready=dsp.FINAL_NEGOTIATION.__contains__)

    def on_negotiation_termination(self, pid: str, message: dict[str, Any], claims: ParticipantClaims,
                                   role: str) -> None:
        m = dsp.require_valid(message, "ContractNegotiationTerminationMessage")
        n = self._owned(self.repo.negotiation(pid, role), claims)
        self._same_pids(n, m)
        to = dsp.next_negotiation_state(N(n.state), "ContractNegotiationTerminationMessage",
                                        Role.CONSUMER if role == "provider" else Role.PROVIDER)
        reason = "; ".join(map(str, m.get("reason", []))) or m.get("code") or "terminated by the counterparty"
        self.repo.move_negotiation(pid, n.state, to, reason=str(reason))

    def _owned(self, n: Negotiation | Transfer, claims: ParticipantClaims) -> Any:
        if n.counterparty_did != claims.did:
            kind = "contract negotiation" if isinstance(n, Negotiation) else "transfer process"
            raise ProtocolError("NotFound", f"no {kind} {n.pid!r} for {claims.did}", status=404)
        return n

    @staticmethod
    def _same_pids(n: Negotiation | Transfer, m: dict[str, Any]) -> None:
        """The message's pids must name this process (the peer's pid may not be known yet: then it is adopted)."""
        own_ok = m.get("providerPid" if n.role == "provider" else "consumerPid") == n.pid
        peer = m.get("consumerPid" if n.role == "provider" else "providerPid")
        if not own_ok or (n.peer_pid is not None and peer != n.peer_pid):
            raise ProtocolError("InvalidMessage", f"message pids {m.get('providerPid')}/{m.get('consumerPid')} do not "
                                f"match process {n.provider_pid}/{n.consumer_pid}")

    # ---------------------------------------------------------- consumer: negotiation
    def request_catalog(self, address: str, audience: str | None = None, *,
                        filter: list[Any] | None = None) -> dict[str, Any]:  # noqa: A002 - DSP's name
        """The provider's catalog as it shows it to us; ``filter`` as :func:`catalog_filter` describes."""
        aud = audience or peer_did(address)
        r = self.post(f"{address.rstrip('/')}/catalog/request", aud,
                      # no filter: the member left out rather than [] (both valid DSP 2025-1; EDC 0.15 refuses [])
                      dsp.msg("CatalogRequestMessage", filter=list(filter) if filter else None))
        self._raise_remote(r, "catalog request")
        return r.json()  # type: ignore[no-any-return]

    def negotiate(self, address: str, dataset_id: str, offer: dict[str, Any] | None = None, *,
                  audience: str | None = None, wait_s: float = 10.0) -> Negotiation:
        """Request a contract for ``dataset_id`` at the provider's DSP ``address``; wait for FINALIZED/TERMINATED."""
        address = address.rstrip("/")
        aud = audience or peer_did(address)
        if offer is None:
            cat = self.request_catalog(address, aud)
            ds = next((d for d in cat.get("dataset", []) if d["@id"] == dataset_id), None)
            if ds is None:
                raise ExchangeError("NotFound", f"the provider's catalog offers no dataset {dataset_id!r} to us")
            offer = ds["hasPolicy"][0]
        offer = {**offer, "target": dataset_id}
        now = utcnow_iso()
        n = Negotiation(dsp.new_pid(), "consumer", None, aud, address, dataset_id, N.REQUESTED, offer, None, None,
                        None, None, now, now)
        self.repo.add_negotiation(n)
        message = dsp.msg("ContractRequestMessage", consumerPid=n.pid, offer=offer, callbackAddress=self.callback_url)
        try:
            r = self.post(f"{address}/negotiations/request", aud, message)
            self._raise_remote(r, "contract request")
        except ExchangeError as exc:
            self.repo.move_negotiation(n.pid, N.REQUESTED, N.TERMINATED, reason=exc.detail)
            raise
        except httpx.HTTPError as exc:
            self.repo.move_negotiation(n.pid, N.REQUESTED, N.TERMINATED, reason=str(exc))
            raise ExchangeError("Unreachable", f"provider {address} unreachable: {exc}") from None
        self.repo.expect_peer(n.pid, r.json().get("providerPid"))
        out = self._wait_decision(n.pid, wait_s)
        self.repo.settle_peer("negotiation", n.pid)
        return out

    def _wait_decision(self, pid: str, wait_s: float) -> Negotiation:
        """Wait until the negotiation ends (FINALIZED, TERMINATED) or the provider counter-offers (OFFERED:
        ours to accept with :meth:`accept_offer`, answer with :meth:`counter_offer`, or terminate)."""
        return self.repo.wait(lambda: self.repo.negotiation(pid), lambda x: x.state in AWAITS_CONSUMER, wait_s,
                              pid=pid, ready=AWAITS_CONSUMER.__contains__)

    def on_counter_offer(self, pid: str, message: dict[str, Any], claims: ParticipantClaims) -> dict[str, Any]:
        """Consumer side: the provider answers our request with a counter-offer (REQUESTED → OFFERED)."""
        m = dsp.require_valid(message, "ContractOfferMessage")
        if m.get("consumerPid") != pid:
            raise ProtocolError("InvalidMessage", f"consumerPid {m.get('consumerPid')!r} does not name negotiation {pid}")
        n = self._owned(self.repo.negotiation(pid, "consumer"), claims)
        self._same_pids(n, m)
        to = dsp.next_negotiation_state(N(n.state), "ContractOfferMessage", Role.PROVIDER)
        offer = m["offer"]
        if offer["target"] != n.dataset_id:
            raise ProtocolError("OfferMismatch", f"the counter-offer targets {offer['target']!r}; this negotiation "
                                f"is about {n.dataset_id}")
        problems = policy_problems(offer)
        note = "counter-offer received" + (": its terms cannot all be evaluated (" + "; ".join(problems) + ")"
                                           if problems else "")
        self.repo.move_negotiation(pid, n.state, to, offer=offer, peer_pid=n.peer_pid or m["providerPid"], reason=note)
        if self.tck is not None:
            self.tck.consumer_step("offer", replace(n, state=to, offer=offer, peer_pid=n.peer_pid or m["providerPid"]))
        return dsp.negotiation(m["providerPid"], n.pid, to)

    def counter_offer(self, pid: str, offer: dict[str, Any], *, wait_s: float = 10.0) -> Negotiation:
        """Answer the provider's offer with a counter-offer (ContractRequestMessage with providerPid, OFFERED →
        REQUESTED); wait for the provider's answer (agreement → FINALIZED, another offer → OFFERED, TERMINATED)."""
        n = self.repo.negotiation(pid, "consumer")
        to = dsp.next_negotiation_state(N(n.state), "ContractRequestMessage", Role.CONSUMER)
        offer = {**offer, "target": n.dataset_id}
        message = dsp.msg("ContractRequestMessage", providerPid=n.peer_pid, consumerPid=n.pid, offer=offer)
        self.repo.move_negotiation(pid, n.state, to, offer=offer, reason=None)
        try:
            r = self.post(f"{n.counterparty_address}/negotiations/{n.peer_pid}/request", n.counterparty_did, message)
            self._raise_remote(r, "counter-offer")
        except (ExchangeError, httpx.HTTPError) as exc:
            cur = self.repo.negotiation(pid)
            if cur.state not in dsp.FINAL_NEGOTIATION:
                self.repo.move_negotiation(pid, cur.state, N.TERMINATED, reason=str(getattr(exc, "detail", exc)))
            raise
        return self._wait_decision(pid, wait_s)

    def on_agreement(self, pid: str, message: dict[str, Any], claims: ParticipantClaims,
                     background: Callable[..., None]) -> None:
        m = dsp.require_valid(message, "ContractAgreementMessage")
        n = self._owned(self.repo.negotiation(pid, "consumer"), claims)
        if m["consumerPid"] != n.pid or (n.peer_pid and m["providerPid"] != n.peer_pid):
            raise ProtocolError("InvalidMessage", "agreement pids do not match this negotiation")
        ag = m["agreement"]
        if ag.get("target") != n.dataset_id or _rules(ag) != _rules(n.offer) or ag.get("assignee") != self.did:
            raise ProtocolError("AgreementMismatch", "the agreement differs from the offer we requested "
                                "(target, rules or assignee); not accepted")
        if n.state in (N.AGREED, N.VERIFIED, N.FINALIZED) and n.agreement_id == ag["@id"] and n.agreement == ag:
            # the provider sent the agreement we already hold again: its first send timed out on its side (a slow
            # answer), so it retried. A redelivery changes nothing and is answered as the first was — refusing it
            # made an EDC provider terminate a negotiation both sides had agreed (tests/exchange/test_dsp_redelivery.py)
            return
        to = dsp.next_negotiation_state(N(n.state), "ContractAgreementMessage", Role.PROVIDER)
        self.repo.move_negotiation(pid, n.state, to, agreement=ag, agreement_id=ag["@id"], peer_pid=m["providerPid"])
        if self.tck is not None and self.tck.consumer_step("agreement", replace(
                n, state=to, agreement=ag, agreement_id=ag["@id"], peer_pid=m["providerPid"]), background):
            return
        background(self._verify_agreement, pid, replace(n, state=to, agreement=ag, agreement_id=ag["@id"],
                                                        peer_pid=m["providerPid"]))

    def _verify_agreement(self, pid: str, n: Negotiation | None = None) -> None:
        n = n or self.repo.negotiation(pid, "consumer")
        to = dsp.next_negotiation_state(N(n.state), "ContractAgreementVerificationMessage", Role.CONSUMER)
        message = dsp.msg("ContractAgreementVerificationMessage", providerPid=n.peer_pid, consumerPid=n.pid)
        self.repo.move_negotiation(pid, n.state, to)
        self._send(n, f"{n.counterparty_address}/negotiations/{n.peer_pid}/agreement/verification", message,
                   "agreement verification", conflicts=4)

    def terminate_negotiation(self, pid: str, reason: str) -> Negotiation:
        n = self.repo.negotiation(pid)
        to = dsp.next_negotiation_state(N(n.state), "ContractNegotiationTerminationMessage",
                                        Role(n.role))
        message = dsp.msg("ContractNegotiationTerminationMessage", providerPid=n.provider_pid,
                          consumerPid=n.consumer_pid, code="Terminated", reason=[reason])
        self.repo.move_negotiation(pid, n.state, to, reason=reason)
        base = n.counterparty_address
        r = self.post(f"{base}/negotiations/{n.peer_pid}/termination", n.counterparty_did, message)
        self._raise_remote(r, "termination")
        return self.repo.negotiation(pid)

    # ------------------------------------------------------------ provider: transfer
    def on_transfer_request(self, message: dict[str, Any], claims: ParticipantClaims,
                            background: Callable[..., None]) -> dict[str, Any]:
        m = dsp.require_valid(message, "TransferRequestMessage")
        n = self._owned(self.repo.negotiation_by_agreement(m["agreementId"], "provider"), claims)
        if n.state != N.FINALIZED:
            raise ProtocolError("AgreementNotFinalized", f"agreement {m['agreementId']} is in negotiation state "
                                f"{n.state}, not FINALIZED", status=400)
        if m.get("format") != PULL:
            raise ProtocolError("UnsupportedFormat", f"format {m.get('format')!r} is not offered; use {PULL!r}")
        self._check_usage(n, claims)
        now = utcnow_iso()
        t = Transfer(dsp.new_pid(), "provider", m["consumerPid"], claims.did, m["callbackAddress"], m["agreementId"],
                     PULL, T.REQUESTED, None, None, now, now)
        self.repo.add_transfer(t)
        if self.tck is not None and self.tck.provider_transfer(t, background):
            return dsp.transfer_process(t.pid, t.peer_pid or "", T.REQUESTED)
        background(self._start_transfer, t.pid, t)
        return dsp.transfer_process(t.pid, t.peer_pid or "", T.REQUESTED)

    def _check_usage(self, n: Negotiation, claims: ParticipantClaims) -> None:
        agreed = datetime.fromisoformat(n.agreement["timestamp"].replace("Z", "+00:00")).timestamp() \
            if n.agreement else None
        dec = evaluate(n.agreement or n.offer, "use", EvaluationContext(claims, agreed_at=agreed, terms_accepted=True,
                                                                         membership_space=self.config.space))
        dec.raise_if_denied(f"transfer under agreement {n.agreement_id}")

    def access_token(self, t: Transfer) -> str:
        now = int(time.time())
        claims = {"iss": self.did, "aud": self.did + "#dataplane", "sub": t.pid, "agreement": t.agreement_id,
                  "iat": now, "exp": now + self.config.access_token_ttl_s, "jti": str(uuid.uuid4())}
        return jwt.encode({"alg": ALG, "kid": self.identity.kid, "typ": "JWT"}, claims, self.identity.jwk,
                          algorithms=[ALG])

    def _start_transfer(self, pid: str, t: Transfer | None = None) -> None:
        t = t or self.repo.transfer(pid, "provider")
        to = dsp.next_transfer_state(T(t.state), "TransferStartMessage", Role.PROVIDER)
        address = {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                   "endpoint": f"{self.base_url}/data/{t.pid}",
                   "endpointProperties": [
                       # the endpoint again as a property: Eclipse EDC (0.15) reads only endpointProperties
                       {"@type": "EndpointProperty", "name": "endpoint", "value": f"{self.base_url}/data/{t.pid}"},
                       {"@type": "EndpointProperty", "name": "authorization", "value": self.access_token(t)},
                       {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
                       {"@type": "EndpointProperty", "name": "expiresIn", "value": str(self.config.access_token_ttl_s)}]}
        message = dsp.msg("TransferStartMessage", providerPid=t.pid, consumerPid=t.peer_pid, dataAddress=address)
        self.repo.move_transfer(pid, t.state, to)
        try:
            r = self.post(f"{t.counterparty_address}/transfers/{t.peer_pid}/start", t.counterparty_did, message)
            self._raise_remote(r, "transfer start")
        except Exception as exc:  # noqa: BLE001
            cur = self.repo.transfer(pid)
            if cur.state not in dsp.FINAL_TRANSFER:
                self.repo.move_transfer(pid, cur.state, T.TERMINATED, reason=f"sending start failed: {exc}")

    def on_transfer_message(self, pid: str, kind: str, message: dict[str, Any], claims: ParticipantClaims,
                            role: str) -> None:
        m = dsp.require_valid(message, kind)
        t = self._owned(self.repo.transfer(pid, role), claims)
        self._same_pids(t, m)
        sender = Role.CONSUMER if role == "provider" else Role.PROVIDER
        to = dsp.next_transfer_state(T(t.state), kind, sender)
        values: dict[str, Any] = {}
        if kind == "TransferStartMessage" and role == "consumer":
            values = {"data_address": m.get("dataAddress") or t.data_address, "peer_pid": m["providerPid"]}
        if kind in ("TransferTerminationMessage", "TransferSuspensionMessage"):
            values = {"reason": "; ".join(map(str, m.get("reason", []))) or m.get("code")}
        self.repo.move_transfer(pid, t.state, to, **values)
        if self.tck is not None and kind == "TransferStartMessage" and role == "consumer":
            self.tck.consumer_started(t)

    # ---------------------------------------------------------------- data plane
    def serve_data(self, pid: str, authorization: str | None) -> Any:
        if not authorization or not authorization.startswith("Bearer "):
            raise CredentialError("missing_token", "data pull needs 'Authorization: Bearer <access token>'")
        try:
            tok = jwt.decode(authorization[7:], self.identity.jwk, algorithms=[ALG])
        except JoseError as exc:
            raise CredentialError("forged_signature", f"access token does not verify ({exc.error})") from None
        c = tok.claims
        now = time.time()
        if c.get("aud") != self.did + "#dataplane" or c.get("sub") != pid:
            raise CredentialError("wrong_audience", f"access token is for transfer {c.get('sub')}, not {pid}")
        if not isinstance(c.get("exp"), int) or now > c["exp"]:
            raise CredentialError("expired", f"access token for transfer {pid} expired")
        t = self.repo.transfer(pid, "provider")
        if t.state != T.STARTED:
            raise ProtocolError("TransferNotStarted", f"transfer {pid} is {t.state}; data flows only while STARTED",
                                status=409)
        n = self.repo.negotiation_by_agreement(t.agreement_id, "provider")
        claims = claims_from_json(n.claims or {"did": n.counterparty_did})
        self._check_usage(n, claims)
        d = self.datasets[n.dataset_id]
        source = self.sources.get(d.kind)
        if source is None:
            raise ProtocolError("NoSource", f"dataset kind {d.kind!r} has no payload source on this node", status=500)
        return source(d, claims)

    def _passport_payload(self, d: DatasetConfig, claims: ParticipantClaims) -> Any:
        if not d.passport_id:
            raise ProtocolError("NoSource", f"dataset {d.id} has no passport_id", status=500)
        if self.passports is None:  # the passports in this node's own store
            from ..passport.service import PassportService

            self.passports = PassportService(self.store, base_url=self.base_url,
                                             issuing_agency_code=self.config.issuing_agency_code)
        roles = {ParticipantRole.RECYCLER} if "dismantler" in claims.roles else set()
        caller = Caller(claims.bpn, frozenset(roles))
        cap = frozenset(Tier(x) for x in d.max_tiers) if d.max_tiers else None
        # the one export flow (passport/exporting.py): the tiers the policy gives this counterparty, bounded
        # by the offer; the read is audited on the "dsp" channel
        return export_payload(self.passports, self.store, d.passport_id, caller, cap=cap, fmt=d.format,
                              validate=False, channel="dsp").body

    # ---------------------------------------------------------------- Ouranos side
    def ouranos_operator(self, request: Any) -> str:
        """The operator id of an Ouranos API call: ``apiKey`` header plus a bearer that is either this node's
        admin token (the node's own operator) or a presentation of a trusted participant (a downstream)."""
        want = self.config.ouranos_api_key
        if want is None:
            raise OuranosError(404, "this node does not serve the Ouranos data transport API")
        import hmac

        if not hmac.compare_digest((request.headers.get("apiKey") or "").encode(), want.encode()):
            raise OuranosError(401, "apiKey header missing or wrong")
        auth = request.headers.get("authorization") or ""
        if self.config.admin_token and hmac.compare_digest(auth.encode(), f"Bearer {self.config.admin_token}".encode()):
            return self.config.participant_id
        try:
            claims = self.authenticate(auth)
        except CredentialError as exc:
            raise OuranosError(401, f"bearer not accepted: {exc.detail}") from None
        if not claims.participant_id:
            raise OuranosError(403, f"{claims.did} presented no BPN or operator id")
        return claims.participant_id

    def _ouranos_payload(self, d: DatasetConfig, claims: ParticipantClaims) -> Any:
        """A supplier's CFP for one of its parts, as its downstream customer may see it: the aggregated
        totals (or null if not disclosed), the signed commitment statement, the certification credentials."""
        tid = d.trace_id or ""
        who = claims.participant_id or claims.did
        if self.ouranos.answered_trade(who, tid) is None:
            raise PolicyDenied(f"no answered trade request from {who} for part {tid}",
                               [f"{who} has no trade with this supplier whose answer is traceId {tid}"])
        com = self.ouranos.commitment(tid)
        certs = [c for c in self.credentials if _vc_type(c) == "CertificationCredential"]
        return {"traceId": tid, "supplier": self.did, "operatorId": self.config.participant_id,
                "cfp": self.ouranos.cfp(who, [tid]), "commitment": com["statement"] if com else None,
                "certifications": certs}

    def _opening_payload(self, d: DatasetConfig, claims: ParticipantClaims) -> Any:
        com = self.ouranos.commitment(d.trace_id or "")
        if com is None:
            raise ProtocolError("NoSource", f"no commitment for part {d.trace_id}", status=404)
        return com

    # ------------------------------------------------------------ consumer: transfer
    def transfer(self, address: str, agreement_id: str, *, audience: str | None = None,
                 wait_s: float = 10.0) -> Transfer:
        address = address.rstrip("/")
        aud = audience or peer_did(address)
        now = utcnow_iso()
        t = Transfer(dsp.new_pid(), "consumer", None, aud, address, agreement_id, PULL, T.REQUESTED, None, None,
                     now, now)
        self.repo.add_transfer(t)
        message = dsp.msg("TransferRequestMessage", consumerPid=t.pid, agreementId=agreement_id, format=PULL,
                          callbackAddress=self.callback_url)
        try:
            r = self.post(f"{address}/transfers/request", aud, message)
            self._raise_remote(r, "transfer request")
        except ExchangeError as exc:
            self.repo.move_transfer(t.pid, T.REQUESTED, T.TERMINATED, reason=exc.detail)
            raise
        self.repo.expect_peer(t.pid, r.json().get("providerPid"))
        out = self.repo.wait(lambda: self.repo.transfer(t.pid),
                             lambda x: x.state != T.REQUESTED, wait_s, pid=t.pid, ready=lambda s: s != T.REQUESTED)
        self.repo.settle_peer("transfer", t.pid)
        return out

    def pull(self, pid: str, *, complete: bool = True) -> Any:
        """Fetch the data of a STARTED transfer with its access token; then complete the transfer."""
        t = self.repo.transfer(pid, "consumer")
        if t.state != T.STARTED or not t.data_address:
            raise ProtocolError("TransferNotStarted", f"transfer {pid} is {t.state}; nothing to pull", status=409)
        endpoint, token = pull_endpoint(t.data_address)
        r = self.wire.get(endpoint, headers={"Authorization": f"Bearer {token}"})
        if r.status_code in (401, 403) and t.data_address.get("endpoint") is None:
            # an EDC data address (no top-level endpoint): EDC's public API wants the bare token, not
            # "Bearer <token>" as its authType "bearer" says (docs/exchange.md, "Eclipse EDC as a peer")
            r = self.wire.get(endpoint, headers={"Authorization": token})
        self._raise_remote(r, "data pull")
        data = r.json()
        if complete:
            to = dsp.next_transfer_state(T(t.state), "TransferCompletionMessage", Role.CONSUMER)
            message = dsp.msg("TransferCompletionMessage", providerPid=t.peer_pid, consumerPid=t.pid)
            rr = self.post(f"{t.counterparty_address}/transfers/{t.peer_pid}/completion", t.counterparty_did, message)
            self._raise_remote(rr, "transfer completion")
            self.repo.move_transfer(pid, t.state, to)
        return data

    def signal_transfer(self, pid: str, kind: str, reason: str | None = None) -> Transfer:
        """Send a transfer message from our side (suspend, resume by start, complete, terminate) and move our state."""
        t = self.repo.transfer(pid)
        to = dsp.next_transfer_state(T(t.state), kind, Role(t.role))
        fields: dict[str, Any] = {"providerPid": t.provider_pid, "consumerPid": t.consumer_pid}
        if kind in ("TransferSuspensionMessage", "TransferTerminationMessage"):
            fields.update(code=kind.removeprefix("Transfer").removesuffix("Message"), reason=[reason or "requested"])
        message = dsp.msg(kind, **fields)
        action = {"TransferStartMessage": "start", "TransferCompletionMessage": "completion",
                  "TransferSuspensionMessage": "suspension", "TransferTerminationMessage": "termination"}[kind]
        r = self.post(f"{t.counterparty_address}/transfers/{t.peer_pid}/{action}", t.counterparty_did, message)
        self._raise_remote(r, action)
        values = {"reason": reason} if reason else {}
        self.repo.move_transfer(pid, t.state, to, **values)
        return self.repo.transfer(pid)

    def fetch(self, address: str, dataset_id: str, *, wait_s: float = 10.0) -> tuple[Negotiation, Transfer, Any]:
        """Catalog → negotiation → transfer → pull, in one call (what ``batteryloop node fetch`` does)."""
        n = self.negotiate(address, dataset_id, wait_s=wait_s)
        if n.state != N.FINALIZED or not n.agreement_id:
            raise ExchangeError("NegotiationFailed", f"negotiation {n.pid} ended {n.state}: {n.reason}")
        t = self.transfer(address, n.agreement_id, wait_s=wait_s)
        if t.state != T.STARTED:
            raise ExchangeError("TransferFailed", f"transfer {t.pid} is {t.state}: {t.reason}")
        data = self.pull(t.pid)
        return n, self.repo.transfer(t.pid), data
