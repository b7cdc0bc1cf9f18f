"""One registry round with the Eclipse Tractus-X SDK (``tractusx-sdk``) against a batteryloop node's DTR.

Run in the SDK's own virtual environment (its wheel wants Python >= 3.12 and pins FastAPI and httpx below
the project's; on 3.11 it installs with ``pip install --ignore-requires-python`` and runs):

    scripts/tractusx-sdk-venv.sh            # builds var/tractusx-sdk-venv (about 100 s)
    var/tractusx-sdk-venv/bin/python interop/dtr/tractusx_sdk_round.py CONFIG.json

CONFIG.json: ``{"base": "http://127.0.0.1:PORT", "owner_token": …, "reader_token": …, "reader_bpn": …,
"descriptor": {…a shell descriptor…}, "submodel": {…a submodel descriptor…}}``. Prints one JSON object:
each step's name and result, for the test (tests/interop/test_dtr_tractusx_sdk.py) to check.
"""

from __future__ import annotations

import json
import sys

import requests
from tractusx_sdk.industry.models.aas.v3 import Result, ShellDescriptor, SpecificAssetId, SubModelDescriptor
from tractusx_sdk.industry.services.aas_service import AasService


def service(base: str, token: str) -> AasService:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return AasService(base_url=base, base_lookup_url=base, api_path="/api/v3", session=s)


def dump(obj: object) -> object:
    if isinstance(obj, Result):
        return {"error": obj.model_dump(mode="json", exclude_none=True)}
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(obj, list):
        return [dump(o) for o in obj]
    return obj


def main() -> None:
    cfg = json.loads(open(sys.argv[1]).read())
    owner, reader = service(cfg["base"], cfg["owner_token"]), service(cfg["base"], cfg["reader_token"])
    d = cfg["descriptor"]
    out: dict[str, object] = {}
    out["create"] = dump(owner.create_asset_administration_shell_descriptor(ShellDescriptor(**d)))
    out["create_again"] = dump(owner.create_asset_administration_shell_descriptor(ShellDescriptor(**d)))
    out["create_submodel"] = dump(owner.create_submodel_descriptor(d["id"], SubModelDescriptor(**cfg["submodel"])))
    out["get_owner"] = dump(owner.get_asset_administration_shell_descriptor_by_id(d["id"]))
    out["get_reader"] = dump(reader.get_asset_administration_shell_descriptor_by_id(d["id"]))
    out["list_reader"] = dump(reader.get_all_asset_administration_shell_descriptors(limit=10))
    out["submodels"] = dump(owner.get_submodel_descriptors_by_aas_id(d["id"]))
    out["links_reader"] = dump(reader.get_assets_ids_by_asset_administration_shell_id(d["id"]))
    out["add_links"] = dump(owner.create_all_asset_ids_links_by_asset_administration_shell_id(
        d["id"], [SpecificAssetId(name="vin", value="WVW0000000001")]))
    out["description"] = dump(owner.get_description())
    out["update_by_reader"] = dump(reader.update_asset_administration_shell_descriptor(d["id"], ShellDescriptor(**d)))
    out["delete"] = dump(owner.delete_asset_administration_shell_descriptor(d["id"]))
    out["get_after_delete"] = dump(owner.get_asset_administration_shell_descriptor_by_id(d["id"]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
