"""The traceability explorer: search a pack, passport, lot or event; a pack's lineage graph and custody.

Pages answer exactly what the trace API answers the same caller (``api/trace.py``): a pack's lineage,
custody and sourcing flags to its economic operator, authorities and the node admin; a lot's recall
to authorities and the admin; an event to its actor, authorities and the admin; a chain's verification
to any signed-in participant. Anonymous visitors get a sign-in prompt where the API would answer 401.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..access import Caller, Resource, decide, oversees as _overseer
from ..api.deps import Services, page_caller, require_supply_chain, services  # the API's own access rules
from ..errors import BatteryloopError, Forbidden, NotFound
from ..trace.queries import count_holders
from .pages import templates

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]

STAGES = ["extraction", "material_recovery", "refining", "precursor_production", "cathode_production",
          "cell_production", "module_assembly", "pack_assembly"]
RECYCLED = ("pre_consumer", "post_consumer")
COLORS = {"primary": "#8c6d31", "pre_consumer": "#2ca25f", "post_consumer": "#006d2c", "pack": "#10302a",
          "module": "#3182bd", "cell_batch": "#3182bd", "material": "#6baed6", "ore": "#bd9e39"}


def _ctx(request: Request, c: Caller, **kw: Any) -> dict[str, Any]:
    return {"request": request, "caller": c, "signed_in": not c.anonymous, **kw}


def _page(request: Request, c: Caller, name: str, status: int = 200, **kw: Any) -> Response:
    return templates.TemplateResponse(request, name, _ctx(request, c, **kw), status_code=status)


def _not_found(request: Request, c: Caller, what: str, q: str) -> Response:
    return _page(request, c, "trace_notfound.html", 404, q=q, what=what)


def _signin(request: Request, c: Caller, message: str, **kw: Any) -> Response:
    return _page(request, c, "trace_signin.html", 401, message=message, **kw)


def _names(s: Services) -> dict[str, str]:
    return {p["id"]: p["name"] for p in s.participants.list()}


# ---------------------------------------------------------------------------------------- search
@router.get("/trace", response_class=HTMLResponse)
def trace_search(request: Request, c: CallerDep, s: ServicesDep,
                 q: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The search box; a query opens the pack, lot or event it names."""
    q = q.strip()
    if not q:
        return _page(request, c, "trace_search.html", q="")
    try:  # a passport id is public: its pack page says what the caller may see
        s.passports.get_record(q)
        return RedirectResponse("/trace/" + quote(q), status_code=303)
    except NotFound:
        pass
    if c.anonymous:  # the trace API answers anonymous callers nothing (401): no lot or event is looked up
        return _page(request, c, "trace_notfound.html", 404, q=q, what="passport",
                     hint="Lots, ledger-only packs and events are searched for signed-in participants.")
    kind = _subject_kind(s, q)
    if kind == "pack":
        return RedirectResponse("/trace/" + quote(q), status_code=303)
    if kind is not None:
        return RedirectResponse("/trace/lot/" + quote(q), status_code=303)
    try:
        s.trace.event(q)
        return RedirectResponse("/trace/event/" + quote(q), status_code=303)
    except NotFound:
        pass
    return _not_found(request, c, "pack, passport, lot or event", q)


def _subject_kind(s: Services, subject: str) -> str | None:
    """The lot kind of a ledger subject (pack, module, cell_batch, material, ore), or None if unknown."""
    try:
        first = s.trace.chain(subject)[0]["event"]
    except NotFound:
        return None
    for o in first.get("outputs") or ():
        if o["lot"] == subject:
            return str(o["kind"])
    return "subject"


# ------------------------------------------------------------------------------------------- lot
RECALL_PAGE = 200
"""Packs listed on a lot's page at a time (``?offset=``, ``?limit=`` up to 1,000): one page of the recall, read as
the recall API's ``limit``/``offset`` — a lot whose material reached 15,000 packs is not read whole to show 200."""


@router.get("/trace/lot/{lot_id:path}", response_class=HTMLResponse)
def trace_lot(lot_id: str, request: Request, c: CallerDep, s: ServicesDep,
              offset: Annotated[int, Query(ge=0)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = RECALL_PAGE) -> Response:
    """A lot: what produced it, its chain's verification and (authorities, admin) the packs it went into, a page
    at a time (by pack id, with the count of all and the holders of the packs shown)."""
    if c.anonymous:
        return _signin(request, c, "Lots, their suppliers and the packs they went into are shown to authorities "
                       "and the node admin. Sign in to continue.")
    if not _overseer(c):
        return _page(request, c, "trace_lot.html", 403, lot_id=lot_id, recall=None, lot=None,
                     denied="a recall is answered to authorities and the node admin (suppliers and volumes "
                            "stay confidential)", verify=_verify(s, lot_id))
    try:
        chain = s.trace.chain(lot_id)
    except NotFound:
        return _not_found(request, c, "lot", lot_id)
    first = chain[0]["event"]
    lot = next((o for o in first.get("outputs") or () if o["lot"] == lot_id), None)
    if lot is not None and lot["kind"] == "pack":
        return RedirectResponse("/trace/" + quote(lot_id), status_code=303)
    recall = _try(lambda: s.trace.recall(lot_id, "lot", limit=limit, offset=offset))
    if recall is not None:  # the holders of the packs on this page (all of them when the page holds every pack)
        recall["holders"] = count_holders(p["holder"] for p in recall["packs"])
    more = "" if limit == RECALL_PAGE else f"&limit={limit}"
    last = 0 if recall is None else (recall["count"] - 1) // limit * limit  # the last page's offset
    return _page(request, c, "trace_lot.html", lot_id=lot_id, lot=lot, produced_by=first, chain=chain,
                 recall=recall, denied=None, verify=_verify(s, lot_id), names=_names(s),
                 prev_href=None if recall is None or offset == 0 else
                 # past the last pack: the previous link leads to the last page, not to another empty one
                 f"/trace/lot/{quote(lot_id)}?offset={max(0, min(offset - limit, last))}{more}",
                 next_href=None if recall is None or recall["next_offset"] is None else
                 f"/trace/lot/{quote(lot_id)}?offset={recall['next_offset']}{more}")


# ----------------------------------------------------------------------------------------- event
@router.get("/trace/event/{event_id:path}", response_class=HTMLResponse)
def trace_event(event_id: str, request: Request, c: CallerDep, s: ServicesDep) -> Response:
    """One signed event, shown to its actor, authorities and the node admin (as the API), verified."""
    if c.anonymous:
        return _signin(request, c, "A ledger event is shown to its actor, authorities and the node admin. "
                       "Sign in to continue.")
    try:
        ev = s.trace.event(event_id)
    except NotFound:
        return _not_found(request, c, "event", event_id)
    if not decide(c, "trace.event.read", Resource("event", event_id, actor=ev["event"].get("actor"))):
        return _page(request, c, "trace_event.html", 403, event_id=event_id, ev=None,
                     denied="an event is shown to its actor, authorities and the node admin")
    return _page(request, c, "trace_event.html", event_id=event_id, ev=ev, denied=None,
                 verify=s.trace.verify(event_id=event_id).as_dict(), names=_names(s))


# ------------------------------------------------------------------------------------------ pack
@router.get("/trace/{pack_id:path}", response_class=HTMLResponse)
def trace_pack(pack_id: str, request: Request, c: CallerDep, s: ServicesDep) -> Response:
    record = _record(s, pack_id)
    if c.anonymous:
        if record is None:
            return _not_found(request, c, "passport", pack_id)
        return _signin(request, c, "A pack's lineage and custody name its suppliers and holders: they are shown "
                       "to its economic operator, authorities and the node admin. Sign in to see them.",
                       pack_id=pack_id, passport=True)
    try:
        require_supply_chain(c, s, pack_id)
    except NotFound:
        return _not_found(request, c, "pack or passport", pack_id)
    except Forbidden as exc:
        return _page(request, c, "trace_pack.html", 403, pack_id=pack_id, passport=record is not None,
                     denied=exc.detail, verify=_verify(s, pack_id), record=None)
    lineage = _try(s.trace.lineage, pack_id)
    custody = _try(s.trace.custody, pack_id)
    if record is None and lineage is None and custody is None:
        return _not_found(request, c, "pack or passport", pack_id)
    names = _names(s)
    ctx: dict[str, Any] = {"pack_id": pack_id, "passport": record is not None, "denied": None,
                           "verify": _verify(s, pack_id), "record": record, "names": names,
                           "lineage": lineage, "custody": None, "figures": [], "nodes": [], "origins": None,
                           "flags": [], "chemistry": _chemistry(s, record),
                           # a re-used or repurposed pack's new passport: its material is traced under the original
                           "predecessors": list((record.data.get("predecessor_ids") or []) if record else []),
                           "successor": record.data.get("successor_id") if record else None}
    if custody is not None:
        ctx["custody"] = _custody_rows(s, pack_id, custody)
    if lineage is not None:
        graph = lineage_graph(s, pack_id, lineage, names)
        ctx["nodes"] = graph["nodes"]
        ctx["figures"].append({"id": "lineage-graph", "figure": graph["figure"]})
        ctx["origins"] = origin_table(lineage)
        if ctx["origins"]["rows"]:
            ctx["figures"].append({"id": "origin-shares", "figure": origin_figure(lineage)})
        ctx["flags"] = s.trace.sourcing_risks(pack_id)["flags"]
    import plotly

    return _page(request, c, "trace_pack.html", plotly_version=plotly.__version__, **ctx)


def _record(s: Services, pack_id: str) -> Any:
    try:
        return s.passports.get_record(pack_id)
    except NotFound:
        return None


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotFound:
        return None


def _verify(s: Services, subject: str) -> dict[str, Any] | None:
    """The chain's verification (signatures, hashes, links), as ``GET /trace/verify?subject=``."""
    try:
        return s.trace.verify(subject=subject).as_dict()  # type: ignore[no-any-return]
    except NotFound:
        return None


def _chemistry(s: Services, record: Any) -> str | None:
    if record is None:
        return None
    try:
        return str(s.passports.get_model(record.model_id, Caller())["data"].get("chemistry"))  # public data
    except BatteryloopError:
        return None


def _custody_rows(s: Services, pack_id: str, custody: dict[str, Any]) -> dict[str, Any]:
    """Custody history with each event's place (site, country), oldest first."""
    places = {e["event"]["id"]: e["event"].get("place") or {} for e in s.trace.chain(pack_id)}
    rows = [{**h, "site": places.get(h["event_id"], {}).get("site")} for h in custody["history"]]
    return {"current": custody["current"], "rows": rows, "holders": custody["holders"]}


def lineage_graph(s: Services, pack_id: str, lineage: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A Sankey of the pack's material: every upstream lot (modules of one assembly grouped) as a node,
    each link the kg of the pack's traced elements that flowed along it (the lineage's attribution)."""
    import plotly.graph_objects as go

    lots = {lot["id"]: lot for lot in lineage["lots"]}
    produced: dict[str, dict[str, Any]] = {}  # lot id -> the event that produced it (body)
    for lid in sorted(lots, key=lambda i: -STAGES.index(lots[i]["stage"]) if lots[i]["stage"] in STAGES else 0):
        if lid in produced:
            continue
        ev = s.trace.chain(lid)[0]["event"]
        for o in ev.get("outputs") or ():
            if o["lot"] in lots:
                produced[o["lot"]] = ev
    out_of = {lid: next(o for o in produced[lid]["outputs"] if o["lot"] == lid) for lid in lots if lid in produced}
    # pack-attributed element flow along each edge input → output (as queries.attribute splits it)
    pack_kg = lineage["elements_kg"]
    flows: dict[tuple[str, str], float] = defaultdict(float)
    for lid, lot in lots.items():
        if lot["origin_type"] is not None or lid not in produced:
            continue
        ins = [(i["lot"], i["mass_kg"]) for i in produced[lid].get("inputs") or () if i["lot"] in out_of]
        brought = {}
        for src, kg in ins:
            o = out_of[src]
            f = kg / o["mass_kg"] if o["mass_kg"] else 0.0
            brought[src] = {el: v * f for el, v in (o.get("elements_kg") or {}).items()}
        for el, share in lot["element_share"].items():
            tot = sum(b.get(el, 0.0) for b in brought.values())
            if tot <= 0:
                continue
            for src, b in brought.items():
                if b.get(el, 0.0) > 0:
                    flows[(src, lid)] += share * b[el] / tot * pack_kg.get(el, 0.0)
    # nodes: modules made by one event are one node
    node_of: dict[str, str] = {}
    nodes: dict[str, dict[str, Any]] = {}
    for lid, lot in sorted(lots.items(), key=lambda kv: (kv[1]["produced_at"], kv[0])):
        key = f"modules:{produced[lid]['id']}" if lot["kind"] == "module" and lid in produced else lid
        node_of[lid] = key
        n = nodes.get(key)
        if n is None:
            n = nodes[key] = {"key": key, "ids": [], "kind": lot["kind"], "stage": lot["stage"],
                              "material": lot["material"], "producer": lot["producer"],
                              "producer_name": names.get(lot["producer"], lot["producer"]), "site": lot["site"],
                              "country": lot["site_country"], "at": lot["produced_at"],
                              "origin_type": lot["origin_type"], "origin_country": lot["origin_country"],
                              "kg": 0.0}
        n["ids"].append(lid)
        n["kg"] += sum(v * pack_kg.get(el, 0.0) for el, v in lot["element_share"].items())
    links: dict[tuple[str, str], float] = defaultdict(float)
    for (src, dst), kg in flows.items():
        a, b = node_of.get(src), node_of.get(dst)
        if a and b and a != b:
            links[(a, b)] += kg
    order = sorted(nodes.values(), key=lambda n: (STAGES.index(n["stage"]) if n["stage"] in STAGES else 99,
                                                  n["at"], n["key"]))
    index = {n["key"]: i for i, n in enumerate(order)}
    for n in order:
        n["label"] = _node_label(n)
    fig = go.Figure(go.Sankey(
        arrangement="snap", valueformat=".1f", valuesuffix=" kg",
        node={"label": [n["label"] for n in order], "pad": 14, "thickness": 16,
              "color": [COLORS.get(n["origin_type"] or n["kind"], "#6baed6") for n in order],
              "customdata": [f"{n['producer_name']} · {n['site']} ({n['country']}) · {n['at'][:10]}" for n in order],
              "hovertemplate": "%{label}<br>%{customdata}<br>%{value} of the pack's traced elements<extra></extra>"},
        link={"source": [index[a] for a, _ in links], "target": [index[b] for _, b in links],
              "value": [round(v, 3) for v in links.values()],
              "color": ["rgba(44,162,95,0.35)" if nodes[a]["origin_type"] in RECYCLED else "rgba(120,120,120,0.25)"
                        for a, _ in links]}))
    fig.update_layout(title=f"Lineage of {pack_id}: kg of its traced elements through each lot", height=560,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, font={"size": 11})
    return {"nodes": order, "figure": fig.to_plotly_json()}


def _node_label(n: dict[str, Any]) -> str:
    if n["kind"] == "module":
        return f"{len(n['ids'])} modules"
    if n["kind"] == "pack":
        return "pack"
    what = n["material"] or n["kind"].replace("_", " ")
    if n["origin_type"] == "primary":
        return f"{what} · mined {n['origin_country']}"
    if n["origin_type"] in RECYCLED:
        return f"{what} · {n['origin_type'].replace('_', '-')} {n['origin_country']}"
    return f"{what} · {n['country']}"


def origin_table(lineage: dict[str, Any]) -> dict[str, Any]:
    """Per element: primary vs recycled (pre-, post-consumer) shares and the countries of origin."""
    rows = []
    for el, shares in lineage["origin_share"].items():
        by_type: dict[str, float] = defaultdict(float)
        countries: dict[str, float] = defaultdict(float)
        for key, v in shares.items():
            country, _, otype = key.partition(":")
            by_type[otype] += v
            countries[country] += v
        rows.append({"element": el, "kg": lineage["elements_kg"].get(el), "primary": by_type.get("primary", 0.0),
                     "pre_consumer": by_type.get("pre_consumer", 0.0),
                     "post_consumer": by_type.get("post_consumer", 0.0),
                     "countries": sorted(countries.items(), key=lambda kv: -kv[1]),
                     "origins": sorted(shares.items(), key=lambda kv: -kv[1])})
    return {"rows": rows}


def origin_figure(lineage: dict[str, Any]) -> dict[str, Any]:
    import plotly.graph_objects as go

    elements = sorted(lineage["origin_share"])
    origins = sorted({o for e in elements for o in lineage["origin_share"][e]})
    fig = go.Figure([go.Bar(name=o.replace(":", " · ").replace("_", " "), x=elements,
                            y=[round(100 * lineage["origin_share"][e].get(o, 0.0), 2) for e in elements])
                     for o in origins])
    fig.update_layout(barmode="stack", title="Origin of each element (% of its mass)", yaxis_title="%", height=340,
                      margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig.to_plotly_json()  # type: ignore[no-any-return]
