"""The Digital Twin Registry's descriptors of this node's own packs, kept in step with their passports.

:class:`~batteryloop.passport.service.PassportService` calls these in the transaction of each passport write:
issuing a passport (and a repurposed or remanufactured successor) registers its pack's descriptor — one
batched insert per batch of passports —, and a change the descriptor carries (who may see the serial number
and passport id: the battery's owner) rewrites it. The descriptor names the pack by its one global asset id
(:func:`~batteryloop.passport.identifiers.global_asset_id`), the AAS API's shell and one submodel descriptor per
AAS submodel; it is owned by the pack's economic operator, as if it had registered it
(:mod:`batteryloop.passport.twin_registry` serves it, with the Tractus-X visibility rules).

Stored slim: everything in such a descriptor follows from the passport row and the public base URL, so the
store keeps only its shell id, global asset id, owner, the asset ids lookups match (one row each) and a
marker with the base URL (a *derived pack twin*, :func:`batteryloop.store.twins.pack_marker`); the registry
builds the descriptor when it is read, listed or looked up (:func:`expand`: :func:`pack_descriptor`, the same
function that built the stored descriptors before, so a reader cannot tell). A write through the registry
API (PUT, a submodel descriptor or asset link added or removed) stores the descriptor whole, as any other.

Light on purpose (no formats, no basyx): it runs on every issue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..access import PUBLIC_READABLE
from ..store import twins as repo
from ..store.db import Store, utcnow_iso
from .identifiers import AAS_SUBMODEL_ASPECTS, b64url_encode, global_asset_id, part_id_short, shell_id, submodel_id

#: the specificAssetIds the node writes into its packs' descriptors (an owner's other ids are kept)
PACK_ASSET_IDS = ("manufacturerPartId", "digitalTwinType", "partInstanceId", "batteryPassportId")


_PUBLIC = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": PUBLIC_READABLE}]}
_HTTP_11 = ["1.1"]
#: part → (idShort, semanticId) of its submodel descriptor: the same for every pack (shared, never changed)
_PARTS = {part: (part_id_short(part), {"type": "ExternalReference", "keys": [{"type": "GlobalReference",
                                                                              "value": urn}]})
          for part, urn in AAS_SUBMODEL_ASPECTS.items()}


def passport_descriptor(passport_id: str, *, serial_number: str, model_id: str, base_url: str,
                        visible_to: Iterable[str] = (), parts: Iterable[str] = (),
                        global_id: str | None = None) -> dict[str, Any]:
    """A shell descriptor for one of this node's packs: its AAS shell id and global asset id (``global_id`` when
    the caller has it), the model id (``manufacturerPartId``) and ``digitalTwinType`` for everyone, the serial
    number (``partInstanceId``) and passport id for the BPNs of ``visible_to`` (for the owner alone when it
    names none), and one submodel descriptor per IDTA 02035 part served by the node's AAS API (``parts``: part
    names of :data:`batteryloop.passport.identifiers.AAS_SUBMODEL_ASPECTS`). Built on every issue: its
    constant parts are made once (:data:`_PARTS`)."""
    readers = sorted(set(visible_to))
    sas: list[dict[str, Any]] = [{"name": "manufacturerPartId", "value": model_id, "externalSubjectId": _PUBLIC},
                                 {"name": "digitalTwinType", "value": "PartInstance", "externalSubjectId": _PUBLIC}]
    if readers:  # without an externalSubjectId an id is the owner's alone (Tractus-X)
        ext = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": b} for b in readers]}
        sas += [{"name": "partInstanceId", "value": serial_number, "externalSubjectId": ext},
                {"name": "batteryPassportId", "value": passport_id, "externalSubjectId": ext}]
    else:
        sas += [{"name": "partInstanceId", "value": serial_number},
                {"name": "batteryPassportId", "value": passport_id}]
    root = base_url.rstrip("/")
    shell = shell_id(passport_id)  # the AAS API's shell of the pack
    sms = []
    for part in parts:
        sid = submodel_id(passport_id, part)
        short, semantic = _PARTS[part]
        sms.append({"id": sid, "idShort": short, "semanticId": semantic, "endpoints": [
            {"interface": "SUBMODEL-3.0", "protocolInformation": {
                "href": f"{root}/aas/submodels/{b64url_encode(sid)}", "endpointProtocol": "HTTP",
                "endpointProtocolVersion": _HTTP_11}}]})
    return {"id": shell, "idShort": "battery_" + "".join(c if c.isalnum() else "_" for c in serial_number),
            "globalAssetId": global_id or global_asset_id(passport_id), "assetKind": "Instance",
            "specificAssetIds": sas, "submodelDescriptors": sms,
            "endpoints": [{"interface": "AAS-3.0", "protocolInformation": {
                "href": f"{root}/aas/shells/{b64url_encode(shell)}", "endpointProtocol": "HTTP",
                "endpointProtocolVersion": _HTTP_11}}]}


def pack_readers(row: Mapping[str, Any]) -> list[str]:
    """Who besides the pack's economic operator (the descriptor's owner) sees its serial number and passport id
    in the registry: the battery's owner named in the passport, when it is another participant."""
    owner = row.get("owner_id")
    return [owner] if owner and owner != row.get("economic_operator_id") else []


def pack_descriptor(row: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The descriptor the node registers for a pack, from its passport row (``id``, ``serial_number``,
    ``model_id``, ``economic_operator_id``, ``owner_id``): every AAS submodel of the pack."""
    return passport_descriptor(row["id"], serial_number=row["serial_number"], model_id=row["model_id"],
                               base_url=base_url, visible_to=pack_readers(row), parts=AAS_SUBMODEL_ASPECTS,
                               global_id=row.get("global_asset_id"))


def pack_asset_ids(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) of the specificAssetIds of a pack's descriptor (:func:`passport_descriptor`'s, in its
    order): the asset-id rows lookups match."""
    return [("manufacturerPartId", row["model_id"]), ("digitalTwinType", "PartInstance"),
            ("partInstanceId", row["serial_number"]), ("batteryPassportId", row["id"])]


def _slim(row: Mapping[str, Any]) -> tuple[str, str, str, str, list[tuple[str, str]]]:
    pid = row["id"]
    return (row["economic_operator_id"], pid, shell_id(pid), row.get("global_asset_id") or global_asset_id(pid),
            pack_asset_ids(row))


def register_packs(conn: Any, rows: Iterable[Mapping[str, Any]], base_url: str, now: str) -> None:
    """Register the descriptors of packs being issued, in the transaction that stores their passports (one
    batched insert of shells and one of their asset ids; see :func:`batteryloop.store.twins.insert_pack_shells`),
    as derived pack twins under ``base_url``. Each is owned by the pack's economic operator, as if it had
    registered it (``twin.register``)."""
    repo.insert_pack_shells(conn, [_slim(r) for r in rows], base_url=base_url, created_at=now)


def expand(conn: Any, rows: list[repo.ShellRow]) -> list[repo.ShellRow]:
    """The rows with each derived pack twin's descriptor built from its passport (one query for them all):
    what the registry reads, lists, looks up and renders. Rows stored whole are given as they are. The store's
    shell queries read a derived twin's passport fields with it (``ShellRow.pack``); others are read here."""
    missing = [r.passport_id for r in rows if r.pack_base is not None and r.pack is None]
    if not any(r.pack_base is not None for r in rows):
        return rows
    packs = repo.pack_rows(conn, [p for p in missing if p]) if missing else {}  # (the store's queries join them)
    out = []
    for r in rows:
        if r.pack_base is not None:
            pack = r.pack or packs.get(r.passport_id or "")
            if pack is None:  # passports are never deleted: a store in this state was changed by hand
                raise RuntimeError(f"the registry's shell {r.shell_id} is derived from passport "
                                   f"{r.passport_id!r}, which the store does not hold")
            r = replace(r, descriptor=pack_descriptor(pack, r.pack_base))
        out.append(r)
    return out


def pack_descriptor_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a passport change reaches its descriptor: the descriptor carries the ids and who may see them
    (status, archive and the passport's other data are not a descriptor's; the AAS submodels carry them)."""
    return any(old.get(k) != new.get(k) for k in ("serial_number", "model_id", "economic_operator_id", "owner_id"))


def refresh_packs(conn: Any, rows: Iterable[Mapping[str, Any]], base_url: str) -> int:
    """Bring the stored descriptors of these packs in step with their passports (in the caller's
    transaction): the node's own specificAssetIds (:data:`PACK_ASSET_IDS`) are written anew, the ids and
    submodel descriptors the owner added are kept. A pack whose descriptor its owner deregistered stays
    unregistered (``batteryloop registry backfill`` registers it again). A derived pack twin has no JSON to
    rewrite (it is built from the passport when read): its owner, global asset id and lookup asset ids are.
    Returns the descriptors changed (one already in step is neither rewritten nor counted)."""
    given = {r["id"]: r for r in rows}
    if not given:
        return 0
    updates, derived = [], []
    for stored in repo.shells_of_passports(conn, list(given)):
        row = given[stored.passport_id]  # type: ignore[index]
        if stored.shell_id != shell_id(row["id"]):
            continue  # another descriptor that names the pack (registered by hand): not the node's
        if stored.pack_base is not None:  # derived: read from the passport; its columns and asset ids follow
            owner, _, _, gid, pairs = _slim(row)
            derived.append((stored, owner, gid, pairs))
            continue
        owner, d = row["economic_operator_id"], pack_descriptor(row, base_url)
        kept = [sa for sa in stored.descriptor.get("specificAssetIds") or () if sa.get("name") not in PACK_ASSET_IDS]
        new = {**stored.descriptor, "specificAssetIds": [*d["specificAssetIds"], *kept],
               "idShort": d["idShort"], "globalAssetId": d["globalAssetId"]}
        if new != stored.descriptor or owner != stored.owner_id:
            updates.append((stored.seq, owner, stored.passport_id, new))
    held = repo.asset_pairs(conn, [stored.seq for stored, *_ in derived]) if derived else {}
    slim = [(stored.seq, owner, gid, pairs) for stored, owner, gid, pairs in derived
            if owner != stored.owner_id or gid != stored.global_asset_id or sorted(pairs) != held.get(stored.seq, [])]
    repo.update_shells(conn, updates)
    repo.update_pack_shells(conn, slim)
    return len(updates) + len(slim)


def backfill(store: Store, base_url: str, *, chunk: int = 2000) -> int:
    """Register the descriptor of every pack of the store that has none (passports issued before packs were
    registered on issue, or whose descriptor was deregistered), in batches of ``chunk``. Returns how many."""
    added = 0
    with store.write() as conn:
        for rows in repo.passports_without_shell(conn, chunk=chunk):
            register_packs(conn, rows, base_url, utcnow_iso())
            added += len(rows)
    return added
