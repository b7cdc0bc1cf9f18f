"""The pilot's two data spaces: connector nodes talking the Dataspace Protocol over loopback HTTP.

Five nodes (:func:`batteryloop.sim.dataspace_nodes.start_demo`): a Catena-X issuer, the European automaker and
the EU recycler in Catena-X; an Ouranos issuer and the Japanese cell maker in Ouranos; recognition
agreements both ways. The automaker's connector serves the pilot's own passports (the pilot's
:class:`~batteryloop.passport.service.PassportService`).

- **The bridge** (once, at the start): the automaker sends the cell maker an Ouranos trade request; the
  cell maker answers with its aggregated, certified cell carbon footprint and a signed commitment to its
  confidential components; the automaker pulls it over DSP, checks the commitment and the certification
  (accepted in Catena-X under the recognition agreement) and writes the NCA pack model's carbon footprint
  with it. The cell maker's suppliers and volumes stay on its node.
- **Passport pulls** (each year): the EU recycler's connector negotiates and pulls the passports of a
  few packs the automaker retired that year (legitimate-interest tier, as a dismantler credential allows).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..access import Caller
from ..participants import Role
from . import pilot

NCA_MODEL = "EM-NCA-75"


class PilotDataspace:
    def __init__(self, services: Any, workdir: Path, run: Any) -> None:
        from .dataspace_nodes import start_demo

        self.services = services
        self.run = run
        self.demo = start_demo(workdir)
        self.automaker = self.demo.node("automaker")
        self.automaker.passports = services.passports
        self.pulls: list[dict[str, Any]] = []
        self.bridge: dict[str, Any] | None = None
        self._bridge()

    def _bridge(self) -> None:
        from ..exchange.bridge import pack_carbon_footprint
        from .dataspace_nodes import exchange_cell_footprint

        # illustrative figures (kg CO2e per kWh of cells, the demo cell maker's); its confidential breakdown
        # is committed to on its node, never sent
        fp = exchange_cell_footprint(
            self.demo, cells_kwh=75.0, part_name="NCA cylindrical cell",
            cfp_kgco2e_per_kwh={"preProduction": 2.3, "preComponent": 47.1, "mainProduction": 10.4,
                                "mainComponent": 1.2},
            components=[{"supplier": "(confidential cathode supplier)", "ghg_kgco2e": 40.2},
                        {"supplier": "(graphite)", "ghg_kgco2e": 6.9},
                        {"process": "electrode preparation", "ghg_kgco2e": 2.3},
                        {"process": "cell assembly", "ghg_kgco2e": 10.4}, {"supplier": "(separator)", "ghg_kgco2e": 1.2}])
        # the automaker's own emissions per pack: its pack-level raw material and assembly (illustrative demo
        # figures: 290 and 140 kg), and distribution and end of life by the same method and functional unit as the
        # pilot's other models (CircularService: the declared pack mass shipped and recycled by hydro; usable
        # energy = rated energy) — before, fixed 40 and 90 kg and a 94 % usable share put this model's end of life
        # at a fifth of the others' for the same recycling
        m = self.services.passports.model_data(NCA_MODEL)
        method = self.services.circular.model_footprint(NCA_MODEL, manufacturing_country=self.run.cell_country(NCA_MODEL),
                                                        references=self.run.refs)["result"]
        cf = pack_carbon_footprint(fp, cells_capacity_kwh=m["rated_energy_kwh"],
                                   usable_energy_kwh=method["functional_unit"]["usable_energy_kwh"],
                                   vehicle_category=method["functional_unit"]["vehicle_category"],
                                   warranty_years=method["functional_unit"]["warranty_years"],
                                   own_stages_kgco2e={"raw_material": 290, "main_production": 140,
                                                      "distribution": method["stages_kgco2e"]["distribution"],
                                                      "end_of_life": method["stages_kgco2e"]["end_of_life"]})
        maker = Caller(pilot.AUTOMAKER, frozenset({Role.MANUFACTURER}))
        self.services.passports.update_model(NCA_MODEL, {"carbon_footprint": {**cf, "performance_class": None}}, maker,
                                             reason=f"cell CFP from {fp.operator_id} via DSP agreement {fp.agreement_id}")
        self.bridge = {"model_id": NCA_MODEL, "supplier": fp.operator_id, "supplier_did": fp.supplier_did,
                       "supplier_cfp_kgco2e_per_kwh": {"pre_production": fp.pre_production,
                                                       "main_production": fp.main_production},
                       "committed_total": fp.committed_total, "commitment_root": fp.commitment_root,
                       "certifications": fp.certifications, "agreement_id": fp.agreement_id,
                       "pack_carbon_footprint": cf,
                       "kept_confidential": "the cell maker's component suppliers and their figures (committed, not sent)"}

    def pull_retired(self, year: int) -> None:
        """The EU recycler pulls, over DSP, the passports of a few packs retired this year in the EU."""
        from ..exchange.config import DatasetConfig
        from .dataspace_nodes import USAGE

        picks = [d["pack"] for d in self.run.decisions if d["year"] == year
                 and d["region"] == "EU"][: self.run.cfg.dsp_pulls_per_year]
        rec = self.demo.node("recycler")
        for pack in picks:
            pid = pack  # the pack's first passport (read-only once superseded or archived, still served)
            ds = f"urn:bl:passport:{pid}"
            self.automaker.datasets[ds] = DatasetConfig(id=ds, kind="passport", passport_id=pid, usage_policy=USAGE,
                                                        title=f"battery passport {pid}")
            n, t, passport = rec.fetch(self.automaker.dsp_url, ds)
            self.pulls.append({"year": year, "pack": pack, "passport_id": pid, "agreement_id": n.agreement_id,
                               "negotiation_state": n.state, "transfer_state": t.state,
                               "tiers": passport.get("access_tiers")})

    def snapshot(self) -> dict[str, Any]:
        from ..exchange.credentials import verify_credential
        from ..exchange.errors import ExchangeError

        nodes = []
        for name, r in self.demo.running.items():
            node = r.node
            creds = []
            for tok in getattr(node, "credentials", []) or []:
                try:
                    vc = verify_credential(tok, node.resolver, status_check=node.status)
                except ExchangeError as exc:  # an expired or revoked credential is shown as such
                    creds.append({"type": "unverifiable", "error": str(exc)[:200]})
                    continue
                creds.append({"type": vc.type, "issuer": vc.issuer, "id": vc.id,
                              "valid_until": (dt.datetime.fromtimestamp(vc.expires, dt.UTC).date().isoformat()
                                              if vc.expires else None)})
            nodes.append({
                "name": name, "space": node.config.space, "participant_id": node.config.participant_id,
                "did": node.did, "url": node.base_url, "credentials": creds,
                "negotiations": [{"role": n.role, "dataset": n.dataset_id, "counterparty": n.counterparty_did,
                                  "state": n.state, "agreement": n.agreement_id, "reason": n.reason,
                                  "updated_at": n.updated_at} for n in node.repo.negotiations(5000)],
                "transfers": [{"role": t.role, "agreement": t.agreement_id, "counterparty": t.counterparty_did,
                               "state": t.state, "reason": t.reason, "updated_at": t.updated_at}
                              for t in node.repo.transfers(5000)],
            })
        trust = self.automaker.config.trust
        raw = (trust.get("agreements") if isinstance(trust, dict) else getattr(trust, "agreements", None)) or []
        agreements = [a.model_dump(mode="json") if hasattr(a, "model_dump") else a for a in raw]
        return {"nodes": nodes, "agreements": agreements, "bridge": self.bridge, "passport_pulls": self.pulls}

    def stop(self) -> None:
        self.demo.stop()


def start_dataspace(services: Any, workdir: Path, run: Any) -> PilotDataspace:
    return PilotDataspace(services, workdir, run)
