"""Where an alert goes: a signed webhook (HTTP POST, HMAC-SHA256 over the body) or an e-mail-ready message.

**Webhook.** The body is the alert as JSON; the header ``Batteryloop-Signature: t=<unix time>,v1=<hex>`` carries
HMAC-SHA256 under the rule's secret of ``<t>.<body>`` (the time is signed too, so a captured delivery cannot be
replayed later: :func:`verify` refuses a signature older than its tolerance). A receiver recomputes it with the
same secret and compares in constant time — :func:`verify` is that check. A delivery is tried up to
``attempts`` times (a connection error or a non-2xx answer is retried after a growing pause); its outcome
(``delivered`` or ``failed``, the attempts, the last HTTP status or error) is recorded by the service.
Redirects are not followed. :func:`public_addresses` is the check that a target is a public receiver: the
service resolves the target's name right before each delivery and connects to the address it checked
(``connect_to``), so neither a name that resolves to a private address nor one re-pointed after the check
(DNS rebinding) makes the node call its own network.

**E-mail.** An RFC 5322 message built with :class:`email.message.EmailMessage` (From, To, Subject, Date,
Message-ID, a plain-text body and the alert as a JSON attachment), stored as text for the node's mail relay
to send; this module sends nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import orjson

SIGNATURE_HEADER = "Batteryloop-Signature"
TOLERANCE_S = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The header value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>." + body>``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str | None, *, now: float | None = None,
           tolerance_s: int = TOLERANCE_S) -> bool:
    """Whether ``header`` is this secret's signature of ``body``, made no more than ``tolerance_s`` ago."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not v1:
        return False
    if abs((time.time() if now is None else now) - int(t)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, body, int(t)).split("v1=", 1)[1], v1)


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | failed | stored
    attempts: int
    response_status: int | None = None
    error: str | None = None
    message: str | None = None


def body_of(payload: Mapping[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)


class PrivateTarget(ValueError):
    """A webhook target that is, or resolves to, this machine or a non-public network."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use translation, any embedding
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible addresses (::a.b.c.d), and :: itself


def _reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a connection to ``ip`` reaches: the IPv4 address inside an IPv4-mapped, NAT64 (64:ff9b::/96)
    or 6to4 (2002::/16) address — a translator or relay takes the packet there — else ``ip``; ``None`` for an
    embedding that cannot be judged (Teredo, local-use NAT64, IPv4-compatible ::/96), which is refused."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None or ip in _NAT64_LOCAL or ip in _IPV4_COMPATIBLE:
        return None
    return ip


def public_addresses(host: str, port: int | None = None) -> list[str]:
    """The addresses ``host`` resolves to, each public; :class:`PrivateTarget` names the first that is not
    (loopback, private, link-local, shared, reserved, unspecified, multicast). Resolved as the connection would
    resolve it, so an address literal in any form the resolver reads (``127.1``, ``2130706433``, ``0x7f000001``,
    ``0``) and a name in /etc/hosts are judged by the address they reach. ``socket.gaierror`` when it does not
    resolve."""
    out: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        given = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        ip = _reached(given)
        if ip is None or not ip.is_global or ip.is_multicast:
            raise PrivateTarget(f"{host} is {given}, this node's own or a private network"
                                + (f" (it reaches {ip})" if ip is not None and ip != given else
                                   " (an IPv6 transition address whose IPv4 end cannot be judged)" if ip is None else ""))
        if str(ip) not in out:
            out.append(str(ip))
    return out


def post_webhook(url: str, secret: str, payload: Mapping[str, Any], *, attempts: int = 3, timeout_s: float = 5.0,
                 pause_s: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, connect_to: str | None = None) -> Outcome:
    """POST the signed payload; retry a failure up to ``attempts`` times (pauses ``pause_s``, doubling).
    ``connect_to``: the address to connect to instead of resolving the URL's host again (the one the caller
    checked); the request still names the host (``Host`` header, TLS server name and certificate check)."""
    import httpx

    body = body_of(payload)
    target = httpx.URL(url)
    extra: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if connect_to is not None:
        extra["Host"] = target.netloc.decode("ascii")
        extensions["sni_hostname"] = target.host
        target = target.copy_with(host=connect_to)
    last_status: int | None = None
    last_error: str | None = None
    for n in range(1, attempts + 1):
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body, int(clock())),
                   "Batteryloop-Alert-Id": str(payload.get("alert", {}).get("id", "")), "User-Agent": "batteryloop-alerts",
                   **extra}
        try:
            with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
                r = client.send(client.build_request("POST", target, content=body, headers=headers,
                                                     extensions=extensions))
            last_status, last_error = r.status_code, None
            if 200 <= r.status_code < 300:
                return Outcome("delivered", n, r.status_code)
            last_error = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last_status, last_error = None, f"{type(exc).__name__}: {exc}"[:300]
        if n < attempts:
            sleep(pause_s * 2 ** (n - 1))
    return Outcome("failed", attempts, last_status, last_error)


def email_message(payload: Mapping[str, Any], *, to: str, sender: str, domain: str) -> EmailMessage:
    """The alert as an RFC 5322 message (text body, the alert JSON attached)."""
    import datetime as dt

    a = payload["alert"]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = f"[batteryloop alert] {a['title']}"
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = make_msgid(idstring=f"alert-{a['id']}", domain=domain)
    msg["X-Batteryloop-Rule"] = str(payload.get("rule", {}).get("id", ""))
    rule = payload.get("rule", {})
    msg.set_content(f"{a['message']}\n\nPack: {a['pack_id']}\nRule: {rule.get('name')} ({rule.get('kind')})\n"
                    f"Fired at: {a['created_at']}\nPack page: {payload.get('pack_url', '')}\n")
    msg.add_attachment(body_of(payload), maintype="application", subtype="json", filename=f"alert-{a['id']}.json")
    return msg
