"""``batteryloop registry``: the Digital Twin Registry's descriptors of this node's packs."""

from __future__ import annotations

from .common import console, group

app = group("The Digital Twin Registry (Tractus-X DTR): descriptors of this node's packs.")


@app.command("backfill")
def backfill() -> None:
    """Register the shell descriptor of every pack that has none under its shell id: passports issued before
    issuing registered them (or whose descriptor its owner deregistered). Issuing registers them since; run once
    on a store from before. Each is owned by the pack's economic operator and points at this node's AAS API
    (BATTERYLOOP_PUBLIC_BASE_URL)."""
    from ..passport.pack_twins import backfill as run

    from .common import services

    svc = services()
    n = run(svc.store, svc.passports.base_url)
    console.print(f"registered {n} pack descriptor(s) under {svc.passports.base_url}")
