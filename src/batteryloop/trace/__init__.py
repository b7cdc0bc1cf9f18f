"""Traceability: lifecycle events, the signed hash-chained ledger, material lots and mass balance.

Read in this order: :mod:`.events` (the typed event kinds), :mod:`.canonical` and :mod:`.keys` (the
bytes signed and how), :mod:`.ledger` (append, ingest, verify), :mod:`.verify` (what verification
reports), :mod:`.lots` (conservation), :mod:`.massbalance` (recycled content), :mod:`.custody`,
:mod:`.outflows` (the outflow rules), :mod:`.queries` and :mod:`.service` (the façade adapters call).
:mod:`.client` signs events against the chain heads a writer knows; :mod:`.sim` generates a supply chain
as signed events.
"""

from .canonical import GENESIS
from .client import ChainWriter
from .events import EventKind, LifecycleEvent, LotKind, OriginType, normalize, seal
from .keys import Signer
from .ledger import IngestReport, Ledger, StaleChain, SubmitResult
from .queries import RiskFlag, TraceQueries
from .service import TraceService, TraceSettings
from .verify import Problem, VerifyReport

__all__ = [
    "GENESIS", "ChainWriter", "EventKind", "IngestReport", "Ledger", "LifecycleEvent", "LotKind", "OriginType",
    "Problem", "RiskFlag", "Signer", "StaleChain", "SubmitResult", "TraceQueries", "TraceService", "TraceSettings",
    "VerifyReport", "normalize", "seal",
]
