"""Every dashboard table as CSV or Excel: one mechanism for all pages, no per-page code.

A data table on a page is a ``<table class="grid">`` (the other tables lay out a passport's fields). Any
page answers ``?format=csv`` or ``?format=xlsx`` with ``&table=KEY`` — KEY is the table's ``id``, or
``grid-N`` for the N-th data table (from 0) of a table without one — by rendering itself as usual (same
caller, same filters, same access rules: the download holds exactly what the reader was shown) and
cutting that table out of the HTML: its header row, then one row per body row, a cell per ``<td>``/``<th>``
with the text the reader sees. In the workbook a cell that reads as a plain number (``1,234.5``) is a
number; anything else (``12 %``, ``—``, names) stays text as shown. ``static/tables.js`` adds the
"Download: CSV · Excel" links under every data table.

:class:`TableDownloads` is the ASGI middleware that does it (installed by :func:`.routes.install`);
:func:`parse_tables` reads the tables of a page (the tests read the same HTML with lxml to compare).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..csvsafe import csv_cell, is_formula_like

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
#: paths that are not dashboard pages (the API has its own CSV answers; static files have no tables)
NOT_PAGES = ("/api/", "/static/", "/node/", "/docs", "/redoc", "/openapi")
_NUMBER = re.compile(r"^[-−]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


@dataclass
class Table:
    """A data table as the reader sees it: its key, caption, header cells and body rows (cell texts)."""

    key: str
    caption: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self._stack: list[Table | None] = []  # one entry per open <table> (None: not a data table)
        self._section = ""  # thead / tbody / tfoot of the current data table
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._hidden = 0  # inside <script>/<style>

    @property
    def _table(self) -> Table | None:
        return self._stack[-1] if self._stack else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "table":
            if len(self._stack) == 0 and "grid" in (a.get("class") or "").split():
                n = len(self.tables)
                t = Table(key=a.get("id") or f"grid-{n}")
                self.tables.append(t)
                self._stack.append(t)
                self._section = "tbody"
            else:
                self._stack.append(None)  # a layout table, or one nested in a data table's cell
        elif len(self._stack) == 1 and self._table is not None:
            if tag in ("thead", "tbody", "tfoot"):
                self._section = tag
            elif tag == "caption":
                self._caption = []
            elif tag == "tr":
                self._row = []
            elif tag in ("td", "th") and self._row is not None:
                self._cell = []
        if tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "table" and self._stack:
            self._stack.pop()
        elif len(self._stack) == 1 and (t := self._table) is not None:
            if tag == "caption" and self._caption is not None:
                t.caption = _clean("".join(self._caption))
                self._caption = None
            elif tag in ("td", "th") and self._cell is not None and self._row is not None:
                self._row.append(_clean("".join(self._cell)))
                self._cell = None
            elif tag == "tr" and self._row is not None:
                if self._section == "thead" and not t.header:
                    t.header = self._row
                elif self._row:
                    t.rows.append(self._row)
                self._row = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def _clean(text: str) -> str:
    return " ".join(text.split())


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)


def parse_tables(html: str) -> list[Table]:
    """The data tables (``<table class="grid">``, not nested in another table) of a page, in document order."""
    p = _Parser()
    p.feed(_SCRIPT.sub("", html))  # a page's scripts (its charts' data) hold no table: not tokenised
    p.close()
    return p.tables


def cell_value(text: str) -> Any:
    """A cell as the workbook holds it: a plain number (thousands commas allowed) as a number, else the text."""
    if _NUMBER.match(text):
        v = float(text.replace(",", "").replace("−", "-"))
        return int(v) if v.is_integer() and "." not in text else v
    return text


def to_csv(t: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if t.header:
        w.writerow([csv_cell(x) for x in t.header])
    w.writerows([csv_cell(x) for x in row] for row in t.rows)
    return buf.getvalue().encode("utf-8")


def to_xlsx(t: Table, page: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "-", t.key)[:31] or "table"
    if t.header:
        ws.append(t.header)
        for c in ws[1]:
            c.font = Font(bold=True)
            if c.data_type == "f" or is_formula_like(c.value):
                c.data_type = "s"
        ws.freeze_panes = "A2"
    for row in t.rows:
        ws.append([cell_value(x) for x in row])
        for c in ws[ws.max_row]:  # stored text stays text: openpyxl would make "=…" a live formula
            if c.data_type == "f" or is_formula_like(c.value):
                c.data_type = "s"
    wb.properties.title = t.caption or t.key
    wb.properties.subject = page
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(path: str, key: str, fmt: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", path.strip("/")).strip("-") or "dashboard"
    return f"{stem}-{re.sub(r'[^A-Za-z0-9_-]+', '-', key)}.{fmt}"


def _problem(status: int, detail: str) -> tuple[int, bytes]:
    import orjson

    return status, orjson.dumps({"type": "about:blank", "title": "No such table download", "status": status,
                                 "detail": detail})


class TableDownloads:
    """``GET <page>?…&format=csv|xlsx&table=KEY``: the page rendered as usual, then that one table as a file."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or b"format=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        fmt = next((v for k, v in query if k == "format"), "")
        if fmt not in FORMATS or path.startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        key = next((v for k, v in query if k == "table"), "")
        rest = [(k, v) for k, v in query if k not in ("format", "table")]
        inner = {**scope, "query_string": urlencode(rest).encode("latin-1")}
        status, headers, body = await _capture(self.app, inner, receive)
        ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if status != 200 or not ctype.startswith(b"text/html"):  # a refusal or error: passed on as it was
            await _send(send, status, headers, body)
            return
        tables = parse_tables(body.decode("utf-8", "replace"))
        t = next((x for x in tables if x.key == key), None)
        if t is None:
            keys = ", ".join(x.key for x in tables) or "none"
            code, doc = _problem(404, f"this page has no data table {key!r}; its tables: {keys}")
            await _send(send, code, [(b"content-type", b"application/problem+json")], doc)
            return
        data = to_csv(t) if fmt == "csv" else to_xlsx(t, path)
        cookies = [(k, v) for k, v in headers if k.lower() == b"set-cookie"]
        await _send(send, 200, [(b"content-type", FORMATS[fmt].encode()),
                                (b"content-disposition", f'attachment; filename="{filename(path, t.key, fmt)}"'.encode()),
                                (b"x-table-rows", str(len(t.rows)).encode()), (b"cache-control", b"no-store"),
                                *cookies], data)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return status, headers, b"".join(chunks)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    hs = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    await send({"type": "http.response.start", "status": status,
                "headers": [*hs, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

