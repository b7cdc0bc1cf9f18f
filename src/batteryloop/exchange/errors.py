"""Errors of the exchange context. Each names what is wrong, the value and the rule.

``code`` is a short, stable machine name (``expired``, ``revoked``, ``untrusted_issuer`` …) that tests
and clients can match on; ``detail`` is the sentence a person reads.
"""

from __future__ import annotations

from typing import Any

from ..errors import BatteryloopError


class ExchangeError(BatteryloopError):
    status = 400
    title = "Exchange error"

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, code=code, **extra)
        self.code = code


class CredentialError(ExchangeError):
    """A credential or presentation that is not accepted (forged, expired, revoked, untrusted …)."""

    status = 401
    title = "Credential not accepted"


class PolicyDenied(ExchangeError):
    """A policy that is not satisfied, or that cannot be evaluated (and is therefore denied)."""

    status = 403
    title = "Policy not satisfied"

    def __init__(self, detail: str, reasons: list[str], **extra: Any) -> None:
        super().__init__("policy_denied", detail, reasons=reasons, **extra)
        self.reasons = reasons


class ProtocolError(ExchangeError):
    """A Dataspace Protocol message that is malformed or not allowed in the process's state."""

    title = "Protocol error"

    def __init__(self, code: str, detail: str, status: int = 400, **extra: Any) -> None:
        super().__init__(code, detail, **extra)
        self.status = status
