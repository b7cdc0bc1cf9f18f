"""Cells a spreadsheet will not run: text a participant wrote (a lot's material, a site, a reason) must not
become a formula when an operator opens a download in Excel or LibreOffice (CSV or formula injection, OWASP).

A leaf module (the standard library only), used by every CSV and workbook the node writes from stored text.
"""

from __future__ import annotations

import re
from typing import Any

#: what a spreadsheet reads as the start of a formula (or a DDE payload) at the head of a cell, always
FORMULA_START = ("=", "@", "\t", "\r", "\n")
#: a leading sign starts a formula too; it can call, reference or reach out only with one of these after it
SIGNS = ("+", "-", "−")
_ACTIVE = re.compile(r"[()|!&=@\";]")


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would run: it starts with ``=``, ``@``, a tab or a line break, or
    with a sign followed by a call, reference or DDE payload (``-2+3+cmd|' /C calc'!A0``, ``+HYPERLINK(…)``).
    A signed figure (``-3.5``, ``-51%``, ``-0.35 $/kWh``) is left as it is."""
    if not isinstance(value, str) or not value:
        return False
    return value.startswith(FORMULA_START) or (value.startswith(SIGNS) and bool(_ACTIVE.search(value)))


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text gets a leading apostrophe (the spreadsheet shows the text and
    runs nothing); anything else unchanged."""
    return "'" + value if is_formula_like(value) else value
