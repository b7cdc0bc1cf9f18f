"""The data space: connector nodes and their credentials, agreements between spaces, contract
negotiations and transfers, the carbon-footprint bridge, passport pulls."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from ...access import Caller, pilot_findings_visible
from .charts import COLORS, _fig, _layout, _rgba


def _table(value: Any) -> dict[str, Any]:
    """A section of the data-space snapshot as a table: a list of records, a mapping, or a plain value."""
    if isinstance(value, list):
        recs = [v if isinstance(v, dict) else {"value": v} for v in value]
        cols: list[str] = []
        for r in recs:
            for k in r:
                if k not in cols:
                    cols.append(k)
        return {"kind": "rows", "cols": cols, "rows": recs}
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()):
            cols = ["name"]
            for v in value.values():
                for k in v:
                    if k not in cols:
                        cols.append(k)
            return {"kind": "rows", "cols": cols, "rows": [{"name": k, **v} for k, v in value.items()]}
        return {"kind": "fields", "rows": list(value.items())}
    return {"kind": "value", "value": value}


SPACES = {"catena-x": ("Catena-X", "The European automotive data space: members identified by their business partner "
                                   "number (BPN), credentials issued by the Catena-X issuer, passports and other data "
                                   "exchanged between connectors over the Dataspace Protocol (DSP)."),
          "ouranos": ("Ouranos", "Japan's Ouranos Ecosystem: supply-chain data linkage for the battery carbon footprint "
                                 "(trade requests and certified CFP answers between operators), credentials issued by "
                                 "the Ouranos issuer.")}
NODE_ROLES = {
    "cx-issuer": ("Catena-X issuer", "Issues the Catena-X members' credentials (membership, BPN, data-exchange "
                                     "governance, dismantler)"),
    "ou-issuer": ("Ouranos issuer", "Issues the Ouranos members' credentials (membership, the certification of the "
                                    "cell maker's footprint)"),
    "automaker": ("automaker", "Serves the pilot's passports over DSP; asks the cell maker for its cell footprint"),
    "recycler": ("EU recycler", "Pulls the passports of packs retired in the EU (legitimate-interest tier, as its "
                                "dismantler credential allows)"),
    "cellmaker": ("Japanese cell maker", "Answers the automaker's trade request with its aggregated, certified cell "
                                         "carbon footprint; keeps its suppliers' figures on its node"),
}
CREDENTIAL_NAMES = {"BpnCredential": "BPN", "MembershipCredential": "Membership",
                    "DataExchangeGovernanceCredential": "Data-exchange governance",
                    "DismantlerCredential": "Dismantler", "CertificationCredential": "Certification"}
DATASET_KINDS = [("urn:bl:passport:", "passport"), ("urn:ouranos:cfp:", "cell carbon footprint")]
CFP_PARTS = {"pre_production": "pre-production", "main_production": "main production"}
DONE_STATES = {"FINALIZED", "COMPLETED", "VERIFIED", "AGREED", "STARTED"}


def _space(s: Any) -> str:
    return SPACES.get(str(s).lower(), (str(s), ""))[0] if s else "—"


def _cred_name(t: Any) -> str:
    import re

    t = str(t or "credential")
    if t in CREDENTIAL_NAMES:
        return CREDENTIAL_NAMES[t]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", t.removesuffix("Credential")).split()
    return (" ".join([words[0]] + [w.lower() for w in words[1:]]) if words else t)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _dataset_kind(ds_id: Any) -> str:
    s = str(ds_id or "")
    for prefix, kind in DATASET_KINDS:
        if s.startswith(prefix):
            return kind
    return s.rsplit(":", 1)[0] if ":" in s else (s or "data")


def short_id(v: Any, keep: int = 18) -> str:
    """A long identifier cut for display (the page gives the full value in a title or a details element)."""
    s = "" if v is None else str(v)
    if len(s) <= keep + 8:
        return s
    if s.startswith("urn:uuid:"):
        return s[:17] + "…"
    return s[:keep] + "…" + s[-4:]


def _pair_rows(nodes: list[dict[str, Any]], label: Callable[[Any], str]) -> list[dict[str, Any]]:
    """One row per contract agreement between two nodes, seen from both sides: provider, consumer, dataset,
    negotiation and transfer state (the provider's record first)."""
    rows: dict[Any, dict[str, Any]] = {}
    for n in nodes:
        me = n.get("did")
        for kind in ("negotiations", "transfers"):
            for x in n.get(kind) or []:
                if not isinstance(x, dict):
                    continue
                provider, consumer = (me, x.get("counterparty")) if x.get("role") == "provider" else (x.get("counterparty"), me)
                key = x.get("agreement") or (kind, provider, consumer, x.get("dataset"), x.get("updated_at"))
                r = rows.setdefault(key, {"agreement": x.get("agreement"), "provider": provider, "consumer": consumer,
                                          "dataset": None, "negotiation": None, "transfer": None, "reason": None,
                                          "updated_at": None, "_from": {}})
                field_ = "negotiation" if kind == "negotiations" else "transfer"
                # the provider's record wins; a consumer's only fills what is missing
                if r[field_] is None or x.get("role") == "provider":
                    r[field_] = x.get("state")
                if x.get("dataset"):
                    r["dataset"] = x["dataset"]
                if x.get("reason"):
                    r["reason"] = x["reason"]
                if str(x.get("updated_at") or "") > str(r["updated_at"] or ""):
                    r["updated_at"] = x.get("updated_at")
    out = []
    for r in rows.values():
        r["provider_name"], r["consumer_name"] = label(r["provider"]), label(r["consumer"])
        r["kind"] = _dataset_kind(r["dataset"]) if r["dataset"] else "data"
        out.append(r)
    return sorted(out, key=lambda r: str(r["updated_at"] or ""))


def dataspace(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    ds = rep.get("dataspace")
    if not isinstance(ds, dict) or not ds:
        return {"ds": None, "figures": [], "short_id": short_id, "withheld": {}}
    names = rep.get("names") or {}
    nodes = [n for n in ds.get("nodes") or [] if isinstance(n, dict)]
    by_did: dict[str, dict[str, Any]] = {}
    for n in nodes:
        title, role = NODE_ROLES.get(str(n.get("name")), (str(n.get("name") or "node"), ""))
        org = names.get(n.get("participant_id"))
        n_ = {**n, "title": title, "role": role, "org": org,
              "label": f"{org} ({title})" if org else title, "space_name": _space(n.get("space"))}
        if n.get("did"):
            by_did[n["did"]] = n_
        n.update(n_)

    def label(did: Any) -> str:
        return by_did[did]["label"] if did in by_did else short_id(did) or "—"

    for n in nodes:
        n["creds"] = [{**cr, "name": _cred_name(cr.get("type")) if cr.get("type") != "unverifiable" else "unverifiable",
                       "issuer_name": (by_did[cr["issuer"]]["title"] if cr.get("issuer") in by_did
                                       else short_id(cr.get("issuer")) if cr.get("issuer") else None)}
                      for cr in n.get("credentials") or [] if isinstance(cr, dict)]
        negs = [x for x in n.get("negotiations") or [] if isinstance(x, dict)]
        trs = [x for x in n.get("transfers") or [] if isinstance(x, dict)]
        n["n_negotiations"], n["n_transfers"] = len(negs), len(trs)
        n["states"] = {"negotiations": dict(Counter(str(x.get("state")) for x in negs)),
                       "transfers": dict(Counter(str(x.get("state")) for x in trs))}
    spaces = []
    for key in dict.fromkeys(str(n.get("space")).lower() for n in nodes):
        title, about = SPACES.get(key, (key, ""))
        spaces.append({"key": key, "title": title, "about": about,
                       "nodes": [n for n in nodes if str(n.get("space")).lower() == key]})
    agreements = []
    for a in ds.get("agreements") or []:
        if not isinstance(a, dict):
            continue
        types = [f"{_cred_name(t)}" for t in a.get("credential_types") or []]
        agreements.append({**a, "sentence": f"{_space(a.get('accepting_space'))} accepts "
                                            f"{_and(types) or 'no'} credentials issued in {_space(a.get('issuing_space'))}"})
    # who exchanged what with whom is each company's business: a contract, its dataset (a pack's passport) and its
    # state are shown to the two parties and to the overseers (access.pilot_findings_visible), never to a third company or an
    # anonymous visitor — a supplier relation or a recycler's pull of a pack is custody and sourcing information
    full = pilot_findings_visible(c)

    def party(*dids: Any) -> bool:
        return full or (c.participant_id is not None
                        and any((by_did.get(d) or {}).get("participant_id") == c.participant_id for d in dids))

    all_pairs = _pair_rows(nodes, label)
    pairs = [r for r in all_pairs if party(r["provider"], r["consumer"])]
    figures = []
    done = [r for r in pairs if r["transfer"] == "COMPLETED"]
    if done:
        flows = Counter((r["provider_name"], r["consumer_name"], r["kind"]) for r in done)
        labels = list(dict.fromkeys(x for p, q, _ in flows for x in (p, q)))
        idx = {x: i for i, x in enumerate(labels)}
        space_of = {n["label"]: n["space_name"] for n in nodes}
        colors = {"Catena-X": "#1f77b4", "Ouranos": "#d62728"}
        fig = go.Figure(go.Sankey(
            valueformat=",d", valuesuffix=" transfers",
            node={"label": labels, "pad": 24, "thickness": 18, "color": [colors.get(space_of.get(x, ""), "#7f7f7f") for x in labels],
                  "customdata": [space_of.get(x, "?") for x in labels],
                  "hovertemplate": "%{label}<br>%{customdata}: %{value} transfers<extra></extra>"},
            link={"source": [idx[p] for p, _, _ in flows], "target": [idx[q] for _, q, _ in flows],
                  "value": list(flows.values()), "label": [k for _, _, k in flows],
                  "color": [_rgba(colors.get(space_of.get(p, ""), "#7f7f7f"), 0.35) for p, _, _ in flows],
                  "hovertemplate": "%{source.label} → %{target.label}<br>%{value} %{label} transfer(s)<extra></extra>"},
        ))
        fig.update_layout(**_layout(title="Completed DSP transfers between connector nodes (provider → consumer; "
                                          "blue Catena-X, red Ouranos)", height=360,
                                    margin={"l": 20, "r": 20, "t": 50, "b": 20}, font={"size": 12}))
        figures.append(_fig("dataspace-flows", fig))
    if pairs:
        pair_names = list(dict.fromkeys(f"{r['provider_name']} → {r['consumer_name']}" for r in pairs))
        series: dict[str, Counter[str]] = defaultdict(Counter)
        for r in pairs:
            p = f"{r['provider_name']} → {r['consumer_name']}"
            if r["negotiation"]:
                series[f"negotiations {str(r['negotiation']).lower()}"][p] += 1
            if r["transfer"]:
                series[f"transfers {str(r['transfer']).lower()}"][p] += 1
        ok = {"negotiations finalized": "#9ecae1", "transfers completed": "#1f77b4"}
        fig = go.Figure([go.Bar(name=s, y=pair_names, x=[series[s].get(p, 0) for p in pair_names], orientation="h",
                                marker_color=ok.get(s, COLORS[(i + 1) % len(COLORS)]),
                                hovertemplate="%{y}: %{x}<extra>" + s + "</extra>")
                         for i, s in enumerate(sorted(series, key=lambda s: (s not in ok, s)))])
        fig.update_layout(**_layout(barmode="group", title="Contract negotiations and transfers per provider → consumer "
                                                           "pair, by state", height=max(260, 120 + 70 * len(pair_names)),
                                    xaxis={"title": "contracts", "tickformat": ",d", "rangemode": "tozero"},
                                    yaxis={"automargin": True, "autorange": "reversed"},
                                    margin={"l": 20, "r": 20, "t": 50, "b": 50},
                                    legend={"orientation": "h", "y": -0.25, "x": 0}))
        figures.append(_fig("dataspace-pairs", fig))
    bridge = ds.get("bridge") if isinstance(ds.get("bridge"), dict) else None
    b = None
    if bridge and not party(bridge.get("supplier_did"),
                            *(n.get("did") for n in nodes if n.get("name") == "automaker")):
        bridge = None  # the supplier's cell footprint is for the supplier and the automaker it sold to
    if bridge:
        cfp = {k: v for k, v in (bridge.get("supplier_cfp_kgco2e_per_kwh") or {}).items() if isinstance(v, (int, float))}
        try:
            committed = float(bridge.get("committed_total"))
        except (TypeError, ValueError):
            committed = None
        cfp_total = sum(cfp.values()) if cfp else None
        certs = []
        for cert in bridge.get("certifications") or []:
            if isinstance(cert, dict):
                ground = str(cert.get("ground") or "")
                ag = next((a for a in agreements if ground in (f"agreement:{a.get('id')}", a.get("id"))), None)
                certs.append({**cert, "issuer_name": label(cert.get("issuer")) if cert.get("issuer") else None,
                              "issuer_space": by_did[cert["issuer"]]["space_name"] if cert.get("issuer") in by_did else None,
                              "agreement": ag, "ground_id": ground.removeprefix("agreement:")})
        automaker = next((n for n in nodes if n.get("name") == "automaker"), None)
        supplier_node = by_did.get(bridge.get("supplier_did")) if bridge.get("supplier_did") else None
        b = {**bridge, "cfp": {CFP_PARTS.get(k, k.replace("_", " ")): v for k, v in cfp.items()}, "cfp_total": cfp_total, "committed": committed,
             "matches": (committed is not None and cfp_total is not None and abs(committed - cfp_total) < 1e-6),
             "certs": certs, "automaker": automaker["label"] if automaker else "the automaker",
             "automaker_space": automaker["space_name"] if automaker else None,
             "supplier_name": names.get(bridge.get("supplier")) or (supplier_node or {}).get("label") or bridge.get("supplier"),
             "supplier_space": (supplier_node or {}).get("space_name"),
             "pcf": bridge.get("pack_carbon_footprint") if isinstance(bridge.get("pack_carbon_footprint"), dict) else {}}
    pull_parties = [n.get("did") for n in nodes if n.get("name") in ("recycler", "automaker")]
    all_pulls = [p for p in ds.get("passport_pulls") or [] if isinstance(p, dict)]
    pulls = sorted((p for p in all_pulls if party(*pull_parties)),
                   key=lambda p: (p.get("year") or 0, str(p.get("pack"))))
    puller = next((n["label"] for n in nodes if n.get("name") == "recycler"), "the EU recycler")
    server = next((n["org"] or n["title"] for n in nodes if n.get("name") == "automaker"), "the automaker")
    known = {"nodes", "agreements", "bridge", "passport_pulls"}
    extra = [{"key": k, "title": k.replace("_", " ").capitalize(), "table": _table(v)}
             for k, v in ds.items() if k not in known and v not in (None, [], {})]
    totals = {"nodes": len(nodes), "spaces": len(spaces), "contracts": len(all_pairs),
              "negotiations_done": sum(1 for r in all_pairs if r["negotiation"] == "FINALIZED"),
              "transfers_done": sum(1 for r in all_pairs if r["transfer"] == "COMPLETED"), "pulls": len(all_pulls),
              "credentials": sum(len(n["creds"]) for n in nodes)}
    return {"ds": ds, "figures": figures, "spaces": spaces, "agreements": agreements, "bridge": b, "pulls": pulls,
            "pairs": pairs, "extra": extra, "totals": totals, "puller": puller, "server": server,
            "done_states": DONE_STATES, "short_id": short_id,
            "withheld": {"contracts": len(all_pairs) - len(pairs), "pulls": len(all_pulls) - len(pulls),
                         "bridge": bool(ds.get("bridge")) and b is None}}
