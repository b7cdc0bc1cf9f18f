"""did:web identities: a participant's DID, its Ed25519 key and its DID document.

A did:web identifier names a host (and optional path); its document lives at
``https://HOST/.well-known/did.json`` (did:web method spec, §3.2). The port is percent-encoded
(``did:web:127.0.0.1%3A8001``). The method requires HTTPS; for nodes on the loopback interface
(tests, the one-machine demo) :func:`did_document_url` uses plain HTTP, and only there.

Keys are Ed25519, generated and held with ``cryptography`` (through :class:`batteryloop.trace.keys.Signer`)
and published as JSON Web Keys (RFC 8037) in the document's ``verificationMethod``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from joserfc.jwk import OKPKey

from ..trace.keys import Signer
from .errors import CredentialError

DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def did_web(base_url: str) -> str:
    """The did:web identifier of a node reachable at ``base_url`` (``http://127.0.0.1:8001`` → ``did:web:127.0.0.1%3A8001``)."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"base URL {base_url!r} has no host")
    did = "did:web:" + quote(parts.netloc, safe="")
    path = parts.path.strip("/")
    if path:
        did += ":" + ":".join(quote(p, safe="") for p in path.split("/"))
    return did


def did_document_url(did: str) -> str:
    """Where a did:web document is fetched from (HTTPS; HTTP only for loopback hosts)."""
    if not did.startswith("did:web:"):
        raise CredentialError("unsupported_did", f"DID {did!r} is not a did:web identifier; only did:web is resolved")
    segs = did[len("did:web:"):].split(":")
    host = unquote(segs[0])
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    scheme = "http" if hostname in LOOPBACK_HOSTS else "https"
    path = "/".join(unquote(s) for s in segs[1:])
    return f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"


@dataclass(frozen=True)
class Identity:
    """A participant's DID and signing key. ``participant_id`` is its BPNL or Ouranos operator id."""

    did: str
    participant_id: str
    signer: Signer

    @classmethod
    def generate(cls, did: str, participant_id: str) -> Identity:
        return cls(did, participant_id, Signer.generate(participant_id))

    @classmethod
    def from_private_text(cls, did: str, participant_id: str, text: str) -> Identity:
        return cls(did, participant_id, Signer.from_private_text(participant_id, text))

    @property
    def kid(self) -> str:
        return self.did + "#key-1"

    @cached_property
    def jwk(self) -> OKPKey:
        """The signing key as a JWK object, built once (importing it is most of the cost of a signature)."""
        return OKPKey.import_key(self.signer.private_key)

    def public_jwk(self) -> dict[str, Any]:
        return self.jwk.as_dict(private=False)

    def document(self, services: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The DID document served at ``/.well-known/did.json``."""
        vm = {"id": self.kid, "type": "JsonWebKey2020", "controller": self.did, "publicKeyJwk": self.public_jwk()}
        doc: dict[str, Any] = {"@context": DID_CONTEXT, "id": self.did, "verificationMethod": [vm],
                               "authentication": [self.kid], "assertionMethod": [self.kid]}
        if services:
            doc["service"] = services
        return doc


def key_from_document(doc: dict[str, Any], kid: str) -> OKPKey:
    """The public key ``kid`` in a DID document; refuses documents that do not list it as an assertion key."""
    did = doc.get("id")
    if not kid.startswith(f"{did}#"):
        raise CredentialError("unknown_key", f"key {kid!r} does not belong to DID {did!r}")
    allowed = {m if isinstance(m, str) else m.get("id") for m in doc.get("assertionMethod", [])}
    if kid not in allowed:
        raise CredentialError("unknown_key", f"key {kid!r} is not an assertion method of {did!r}")
    for vm in doc.get("verificationMethod", []):
        if vm.get("id") == kid:
            jwk = vm.get("publicKeyJwk") or {}
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
                raise CredentialError("unknown_key", f"key {kid!r} is not a public Ed25519 JWK")
            return OKPKey.import_key(jwk)
    raise CredentialError("unknown_key", f"DID document of {did!r} has no verification method {kid!r}")


Fetch = Callable[[str], dict[str, Any]]


class DidResolver:
    """Resolves did:web documents through ``fetch(url) -> json``, with a time-limited cache.

    ``static`` pre-loads documents (one process hosting several participants, offline tests).
    """

    def __init__(self, fetch: Fetch | None = None, ttl_s: float = 300.0,
                 static: dict[str, dict[str, Any]] | None = None) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._static = dict(static or {})
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # credential JWT -> (the issuer's DID document its signature was verified against, its claims)
        self.signature_cache: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._keys: dict[str, tuple[dict[str, Any], OKPKey]] = {}  # kid -> (the document it was read from, key)

    def remember_signature(self, token: str, claims: dict[str, Any], doc: dict[str, Any]) -> None:
        with self._lock:
            if len(self.signature_cache) > 20_000:
                self.signature_cache.clear()
            self.signature_cache[token] = (doc, claims)

    def add(self, doc: dict[str, Any]) -> None:
        self._static[doc["id"]] = doc

    def resolve(self, did: str) -> dict[str, Any]:
        if did in self._static:
            return self._static[did]
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(did)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        url = did_document_url(did)
        if self._fetch is None:
            raise CredentialError("unresolvable_did", f"cannot resolve {did!r}: no fetcher configured")
        try:
            doc = self._fetch(url)
        except Exception as exc:  # noqa: BLE001 - any transport failure is "cannot resolve"
            raise CredentialError("unresolvable_did", f"cannot resolve {did!r} at {url}: {exc}") from None
        if not isinstance(doc, dict) or doc.get("id") != did:
            raise CredentialError("unresolvable_did", f"the document at {url} is not the DID document of {did!r}")
        with self._lock:
            self._cache[did] = (now, doc)
        return doc

    def key(self, kid: str) -> OKPKey:
        """The public key ``kid`` from its DID's (cached) document. The imported key is remembered with the
        document it came from: a re-fetched document (cache expiry, key rotation) is read again."""
        did = kid.split("#", 1)[0]
        doc = self.resolve(did)
        hit = self._keys.get(kid)
        if hit is not None and hit[0] is doc:
            return hit[1]
        key = key_from_document(doc, kid)
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[kid] = (doc, key)
        return key
