"""Material lots and transformations: conservation of mass and of each element.

A transformation consumes a mass of each input lot and produces output lots. The element mass an
input brings is its mass taken times the lot's element fraction. For every element the outputs
declare, the outputs must not hold more than the inputs brought (material is not created), and when
the event declares ``max_loss_pct`` the loss must stay within it. An input lot cannot give more mass
than it has left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .events import FlatEvent

REL_TOL = 1e-9
ABS_TOL_KG = 1e-9


@dataclass
class LotState:
    """What the ledger knows of a lot when an event consumes it."""

    id: str
    kind: str
    mass_kg: float
    consumed_kg: float
    elements_kg: dict[str, float]
    produced_at: str | None = None
    producer: str | None = None

    @property
    def remaining_kg(self) -> float:
        return self.mass_kg - self.consumed_kg


def _err(field: str, rule: str, message: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "rule": rule, "message": f"{field}: {message}", "value": value}


def element_inputs_kg(event: FlatEvent, lots: Mapping[str, LotState]) -> dict[str, float]:
    """Element masses the event's inputs bring (kg)."""
    out: dict[str, float] = {}
    for i in event.inputs:
        lot = lots[i.lot]
        if lot.mass_kg <= 0:
            continue
        f = i.mass_kg / lot.mass_kg
        for el, kg in lot.elements_kg.items():
            out[el] = out.get(el, 0.0) + kg * f
    return out


def check_transformation(event: FlatEvent, lots: Mapping[str, LotState | None]) -> list[dict[str, Any]]:
    """Errors (``{field, rule, message, value}``) of a transformation against the lots it consumes."""
    errors: list[dict[str, Any]] = []
    for n, i in enumerate(event.inputs):
        lot = lots.get(i.lot)
        if lot is None:
            errors.append(_err(f"inputs[{n}].lot", "lot_exists", f"lot {i.lot} is not in the ledger: record the event "
                               "that produced it first", i.lot))
            continue
        if i.mass_kg > lot.remaining_kg * (1 + REL_TOL) + ABS_TOL_KG:
            errors.append(_err(f"inputs[{n}].mass_kg", "lot_remaining_mass",
                               f"takes {i.mass_kg:g} kg from lot {i.lot}, which has {lot.remaining_kg:g} kg left "
                               f"(of {lot.mass_kg:g} kg)", i.mass_kg))
    if errors or not event.inputs:
        return errors
    brought = element_inputs_kg(event, lots)  # type: ignore[arg-type]
    made: dict[str, float] = {}
    for o in event.outputs:
        for el, kg in o.elements_kg.items():
            made[el] = made.get(el, 0.0) + kg
    mass_in = sum(i.mass_kg for i in event.inputs)
    mass_out = sum(o.mass_kg for o in event.outputs)
    if mass_out > mass_in * (1 + REL_TOL) + ABS_TOL_KG:
        errors.append(_err("outputs", "mass_conservation", f"outputs weigh {mass_out:g} kg, more than the "
                           f"{mass_in:g} kg of inputs consumed", mass_out))
    max_loss = event.data.get("max_loss_pct")
    for el, kg_out in sorted(made.items()):
        kg_in = brought.get(el, 0.0)
        if kg_out > kg_in * (1 + REL_TOL) + ABS_TOL_KG:
            errors.append(_err(f"outputs.elements_kg.{el}", "element_conservation",
                               f"outputs hold {kg_out:g} kg of {el} but the inputs brought {kg_in:g} kg", kg_out))
        elif max_loss is not None and kg_in > 0:
            loss_pct = (kg_in - kg_out) / kg_in * 100
            if loss_pct > max_loss + 1e-9:
                errors.append(_err(f"outputs.elements_kg.{el}", "declared_loss",
                                   f"{loss_pct:.3g} % of the {el} brought is lost, more than the declared "
                                   f"max_loss_pct {max_loss:g}", round(loss_pct, 6)))
    if max_loss is not None:
        for el, kg_in in sorted(brought.items()):
            if el not in made and kg_in > ABS_TOL_KG and max_loss < 100:
                errors.append(_err(f"outputs.elements_kg.{el}", "declared_loss",
                                   f"the inputs brought {kg_in:g} kg of {el} and no output declares any, a loss of "
                                   f"100 % > max_loss_pct {max_loss:g}", 0))
    return errors


def edge_masses(event: FlatEvent) -> list[tuple[str, str, float]]:
    """(output, input, kg of the input in that output): each input split over outputs by output mass."""
    total = sum(o.mass_kg for o in event.outputs)
    out: list[tuple[str, str, float]] = []
    for o in event.outputs:
        share = o.mass_kg / total if total > 0 else 0.0
        for i in event.inputs:
            out.append((o.lot, i.lot, i.mass_kg * share))
    return out


def lot_row(event: FlatEvent, out: Any) -> dict[str, Any]:
    """The ``trace_lots`` row of an output lot as the event creates it (consumed_kg starts at 0)."""
    import orjson

    org = out.origin
    return {"id": out.lot, "kind": out.kind, "mass_kg": out.mass_kg, "consumed_kg": 0.0,
            "elements": orjson.dumps(dict(out.elements_kg)).decode(), "material": out.material,
            "model_id": out.model_id, "origin_type": org["type"] if org else None,
            "origin_country": org["country"] if org else None, "origin_site": org["site"] if org else None,
            "certified_by": org.get("certified_by") if org else None, "producer": event.actor,
            "site_country": event.place.country, "site": event.place.site, "produced_at": event.occurred_at,
            "event_id": event.id}


def edge_rows(event: FlatEvent) -> list[dict[str, Any]]:
    """The ``trace_lot_edges`` rows of a transformation."""
    kinds = {o.lot: o.kind for o in event.outputs}
    return [{"output_id": o, "input_id": i, "output_kind": kinds[o], "mass_kg": kg, "event_id": event.id}
            for o, i, kg in edge_masses(event)]


def pack_sources(out_lot: str, inputs: list[str], kind_of: Any, inputs_of: Any) -> list[dict[str, Any]]:
    """``trace_pack_sources`` rows of a new pack: the inputs of its modules and its other direct inputs."""
    sources: set[str] = set()
    for i in inputs:
        if kind_of(i) == "module":
            sources.update(inputs_of(i))
        else:
            sources.add(i)
    return [{"source_id": x, "pack_id": out_lot} for x in sorted(sources)]
