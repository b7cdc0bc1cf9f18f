"""The Eclipse Tractus-X SDK (``tractusx-sdk``, its ``AasService``) against the node's Digital Twin Registry.

The SDK runs in its own virtual environment (``scripts/tractusx-sdk-venv.sh``; see the module docstring of
``interop/dtr/tractusx_sdk_round.py`` for why): ``$BATTERYLOOP_TRACTUSX_SDK_VENV``, by default
``var/tractusx-sdk-venv``. Without it the test is skipped, unless ``BATTERYLOOP_REQUIRE_TRACTUSX_SDK=1``
(then it fails). The node is served by uvicorn; the SDK registers a pack's shell and a submodel
descriptor, reads them as the owner and as a reader, lists, looks up the asset links, adds one, and
deletes — each answer checked here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from batteryloop.passport.pack_twins import passport_descriptor
from batteryloop.sim import pilot

REPO = Path(__file__).resolve().parents[2]
OP, RECYCLER = pilot.AUTOMAKER, pilot.RECYCLER_EU


def _venv_python() -> Path:
    venv = Path(os.environ.get("BATTERYLOOP_TRACTUSX_SDK_VENV", REPO / "var" / "tractusx-sdk-venv"))
    py = venv / "bin" / "python"
    if not py.exists():
        why = f"no Tractus-X SDK environment at {venv}: run scripts/tractusx-sdk-venv.sh"
        if os.environ.get("BATTERYLOOP_REQUIRE_TRACTUSX_SDK") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return py


@pytest.mark.parametrize("mount", ["", "/node"])
def test_tractusx_sdk_against_the_registry(mount: str, tmp_path: Path, record_property: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``mount`` "": the server's registry under /api/v3; "/node": the exchange node mounted under /node, whose
    registry (the same, on the same store) the SDK asks under /node/api/v3."""
    py = _venv_python()
    from batteryloop.server import create_app
    from batteryloop.store.db import Store
    from tests.api.http_served import http_served
    from tests.conftest import make_services, seed_pilot

    store = Store(f"sqlite:///{tmp_path}/dtr.db")
    store.upgrade()
    svc = make_services(store)
    seeded = seed_pilot(svc)
    pid = svc.passports.import_passports(pilot.generate_batteries(1, seed=9), seeded["callers"][OP]).ids[0]
    rec = svc.passports.get_record(pid)
    # issuing registered the pack's descriptor; its owner deregisters it, for the SDK to register it anew
    svc.twins.delete_shell(seeded["callers"][OP], f"urn:batteryloop:{pid}:aas")
    if mount:
        node_cfg = tmp_path / "node.json"
        node_cfg.write_text(json.dumps({"name": "dtr-node", "participant_id": OP, "base_url": "http://127.0.0.1/node",
                                        "database_url": store.url, "admin_token": "node-admin"}))
        monkeypatch.setenv("BATTERYLOOP_NODE_CONFIG", str(node_cfg))
    try:
        with http_served(create_app(services=svc)) as base:
            d = passport_descriptor(pid, serial_number=rec.data["serial_number"], model_id=rec.model_id, base_url=base,
                                    visible_to=[RECYCLER], parts=["digital_nameplate"])
            sm = {"id": "urn:example:sm:pcf", "idShort": "Pcf", "endpoints": [
                {"interface": "SUBMODEL-3.0", "protocolInformation": {"href": base + "/data/pcf"}}]}
            cfg = tmp_path / "cfg.json"
            cfg.write_text(json.dumps({"base": base + mount, "owner_token": seeded["tokens"][OP],
                                       "reader_token": seeded["tokens"][RECYCLER], "descriptor": d, "submodel": sm}))
            run = subprocess.run([str(py), str(REPO / "interop/dtr/tractusx_sdk_round.py"), str(cfg)],
                                 capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, run.stderr[-3000:]
            out = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        store.dispose()
    assert out["create"]["id"] == d["id"] and out["create"]["globalAssetId"] == d["globalAssetId"]
    assert "already" in out["create_again"]["error"]["messages"][0]["text"]
    assert out["create_submodel"]["id"] == "urn:example:sm:pcf"
    assert [s["name"] for s in out["get_owner"]["specificAssetIds"]] == [
        "manufacturerPartId", "digitalTwinType", "partInstanceId", "batteryPassportId"]
    reader_keys = {k["value"] for s in out["get_reader"]["specificAssetIds"] for k in s["externalSubjectId"]["keys"]}
    assert reader_keys == {"PUBLIC_READABLE", RECYCLER}
    assert [x["id"] for x in out["list_reader"]["result"]] == [d["id"]]
    assert [s["id"] for s in out["submodels"]["result"]] == [f"urn:batteryloop:{pid}:submodel:digital_nameplate",
                                                             "urn:example:sm:pcf"]
    assert [s["name"] for s in out["links_reader"]] == ["manufacturerPartId", "digitalTwinType", "partInstanceId",
                                                        "batteryPassportId"]
    assert [s["name"] for s in out["add_links"]] == ["vin"]
    assert "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRegistryServiceSpecification/SSP-001" in \
        out["description"]["profiles"]
    assert "twin.update" in out["update_by_reader"]["error"]["messages"][0]["text"]
    assert out["delete"] is None
    assert out["get_after_delete"]["error"]["messages"][0]["code"] == "404"
    record_property("summary", f"tractusx-sdk AasService against the DTR at {mount or ''}/api/v3: {len(out)} calls "
                               "answered as expected")
