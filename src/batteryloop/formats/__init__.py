"""Wire formats: Catena-X aspect models, IDTA 02035 / AAS submodels, Battery Pass 1.2 modules.

Every format is a registered adapter of one interface (:mod:`.registry`): ``export(parts)`` →
:class:`~.base.ExportResult`, ``import_payload(payload)`` → :class:`~.base.ImportResult`, each with a
:class:`~.base.MappingReport` of what did not fit. Exports are validated against the official schemas
(:mod:`.schemas`); importers accept UTF-8 (with or without BOM) and UTF-16 with a BOM.
"""

from .base import ExportResult, ImportResult, MappingReport, PassportParts
from .bpnl import BpnlAliases
from .registry import (Adapter, adapters, bpnl_aliases, detect, export_passport, export_view, get, import_passport,
                       names, register, set_bpnl_alias)

__all__ = ["Adapter", "BpnlAliases", "ExportResult", "ImportResult", "MappingReport", "PassportParts", "adapters",
           "bpnl_aliases", "detect", "export_passport", "export_view", "get", "import_passport", "names", "register",
           "set_bpnl_alias"]
