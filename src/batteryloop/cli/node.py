"""``batteryloop node …``: serve a connector node, and drive one (catalog, negotiate, transfer, fetch).

The driving commands talk to *your* running node's management API (``--node URL --token ADMIN``);
the node then speaks the Dataspace Protocol to the provider, so callbacks reach it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import group

app = group("Data-space connector nodes (Dataspace Protocol 2025-1, Ouranos bridge).")

NodeOpt = Annotated[str, typer.Option("--node", envvar="BATTERYLOOP_NODE_URL", help="your node's base URL")]
TokenOpt = Annotated[str, typer.Option("--token", envvar="BATTERYLOOP_NODE_TOKEN", help="your node's admin token")]


def _call(node: str, token: str, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
    import httpx

    r = httpx.request(method, node.rstrip("/") + path, json=body, timeout=timeout,
                      headers={"Authorization": f"Bearer {token}"})
    if r.status_code >= 300:
        try:
            detail = r.json().get("detail") or r.text
        except ValueError:
            detail = r.text
        typer.echo(f"error ({r.status_code}): {detail}", err=True)
        raise typer.Exit(2)
    return r.json() if r.content else None


def _print(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@app.command()
def serve(config: Annotated[Path, typer.Option("--config", exists=True, dir_okay=False,
                                               help="node configuration (JSON, YAML or TOML)")]) -> None:
    """Run one participant's node in the foreground."""
    from ..exchange.config import NodeConfig
    from ..exchange.runtime import serve as _serve

    _serve(NodeConfig.load(config))


@app.command()
def keygen(base_url: Annotated[str, typer.Argument(help="the node's public base URL")]) -> None:
    """Print a new Ed25519 key (for ``key:`` in the config) and the did:web it gives."""
    from ..exchange.did import did_web
    from ..trace.keys import Signer

    s = Signer.generate("node")
    _print({"key": s.private_text(), "did": did_web(base_url), "public_key": s.public_key_text})


def _json_arg(text: str | None, what: str) -> Any:
    """A JSON value given inline or as ``@FILE``."""
    if text is None:
        return None
    try:
        return json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {what} is not JSON (inline, or @FILE): {exc}", err=True)
        raise typer.Exit(2) from None


FilterOpt = Annotated[str | None, typer.Option("--filter", help='catalog filter, JSON or @FILE, e.g. '
                                               '\'[{"kind": "passport"}, {"keyword": "NMC"}]\'')]
OfferOpt = Annotated[str | None, typer.Option("--offer", help="a counter-offer (ODRL Offer), JSON or @FILE")]


@app.command()
def catalog(provider: Annotated[str, typer.Argument(help="the provider's DSP URL (…/dsp)")], node: NodeOpt,
            token: TokenOpt, filter: FilterOpt = None) -> None:  # noqa: A002
    """Ask a provider for its catalog (what it offers you, after its access policies), optionally filtered."""
    body: dict[str, Any] = {"counterPartyAddress": provider}
    if filter is not None:
        body["filter"] = _json_arg(filter, "--filter")
    _print(_call(node, token, "POST", "/management/catalog", body))


@app.command()
def negotiate(provider: Annotated[str, typer.Argument(help="the provider's DSP URL")],
              dataset: Annotated[str, typer.Argument(help="dataset id from the catalog")], node: NodeOpt,
              token: TokenOpt, offer: OfferOpt = None) -> None:
    """Negotiate a contract for a dataset: its catalog offer unchanged, or ``--offer`` (a counter-offer).
    Prints the negotiation: FINALIZED with the agreement, TERMINATED with why, or OFFERED (the provider's
    counter-offer: answer with ``accept`` or ``counter``)."""
    body: dict[str, Any] = {"counterPartyAddress": provider, "datasetId": dataset}
    if offer is not None:
        body["offer"] = _json_arg(offer, "--offer")
    _print(_call(node, token, "POST", "/management/negotiations", body))


@app.command()
def accept(negotiation: Annotated[str, typer.Argument(help="your negotiation id (state OFFERED)")], node: NodeOpt,
           token: TokenOpt) -> None:
    """Accept the provider's offer on a negotiation (DSP event ACCEPTED)."""
    _print(_call(node, token, "POST", f"/management/negotiations/{negotiation}/accept"))


@app.command()
def counter(negotiation: Annotated[str, typer.Argument(help="your negotiation id (state OFFERED)")],
            offer: Annotated[str, typer.Option("--offer", help="the counter-offer (ODRL Offer), JSON or @FILE")],
            node: NodeOpt, token: TokenOpt) -> None:
    """Answer the provider's offer with a counter-offer."""
    _print(_call(node, token, "POST", f"/management/negotiations/{negotiation}/counter",
                 {"offer": _json_arg(offer, "--offer")}))


@app.command()
def transfer(provider: Annotated[str, typer.Argument()], agreement: Annotated[str, typer.Argument()],
             node: NodeOpt, token: TokenOpt) -> None:
    """Start an HTTP-pull transfer under an agreement."""
    _print(_call(node, token, "POST", "/management/transfers", {"counterPartyAddress": provider,
                                                                "agreementId": agreement}))


@app.command()
def fetch(provider: Annotated[str, typer.Argument(help="the provider's DSP URL")],
          dataset: Annotated[str, typer.Argument(help="dataset id")], node: NodeOpt, token: TokenOpt,
          out: Annotated[Path | None, typer.Option(help="write the data here instead of printing it")] = None) -> None:
    """Catalog → negotiation → transfer → pull in one go."""
    res = _call(node, token, "POST", "/management/fetch", {"counterPartyAddress": provider, "datasetId": dataset})
    if out:
        out.write_text(json.dumps(res["data"], indent=2, ensure_ascii=False))
        typer.echo(f"agreement {res['negotiation']['agreement_id']}, transfer {res['transfer']['state']} → {out}",
                   err=True)
    else:
        _print(res)


@app.command()
def demo(workdir: Annotated[Path, typer.Option(help="where the demo nodes keep their stores")] = Path("./var/demo"),
         port: Annotated[int, typer.Option(help="port of the combined dashboard")] = 8090,
         no_serve: Annotated[bool, typer.Option("--no-serve", help="run the flow and exit")] = False) -> None:
    """Five nodes in two data spaces; the Ouranos → Catena-X bridge and a passport transfer; a dashboard."""
    import uvicorn

    from ..exchange.app import demo_dashboard_app
    from ..sim.dataspace_nodes import run_flow, start_demo

    d = start_demo(workdir)
    try:
        res = run_flow(d)
        for n in d.nodes:
            typer.echo(f"{n.config.name:10} {n.config.space:9} {n.base_url}  {n.did}", err=True)
        fp = res["supplier_footprint"]
        typer.echo(f"cell CFP (kg CO2e/kWh cells): pre {fp.pre_production}, main {fp.main_production}; "
                   f"certification accepted via {fp.certifications[0]['ground']}", err=True)
        typer.echo(f"pack carbon footprint written to the passport model: {res['pack_carbon_footprint']}", err=True)
        typer.echo(f"recycler received passport {res['passports'][0]} at tiers {res['recycler_tiers']}", err=True)
        if not no_serve:
            typer.echo(f"dashboard: http://127.0.0.1:{port}/  (Ctrl-C to stop)", err=True)
            uvicorn.run(demo_dashboard_app(d.nodes), host="127.0.0.1", port=port, log_level="warning")
    finally:
        d.stop()

