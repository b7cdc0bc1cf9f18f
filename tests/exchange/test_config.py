"""Node configuration files: YAML, TOML and JSON, with key and credentials in side files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.node import Node
from batteryloop.trace.keys import Signer


def test_formats_and_side_files(tmp_path: Path) -> None:
    key = Signer.generate("x").private_text()
    (tmp_path / "node.key").write_text(key + "\n")
    (tmp_path / "node.vcs").write_text("eyJ.a.b\n\neyJ.c.d\n")
    base = {"name": "n", "participant_id": "BPNL000000000EM1", "base_url": "http://127.0.0.1:8101",
            "database_url": f"sqlite:///{tmp_path}/n.db", "key_file": "node.key", "credentials_file": "node.vcs"}
    (tmp_path / "n.json").write_text(json.dumps(base))
    (tmp_path / "n.toml").write_text("\n".join(f'{k} = "{v}"' for k, v in base.items()))
    import yaml

    (tmp_path / "n.yaml").write_text(yaml.safe_dump(base))
    for f in ("n.json", "n.toml", "n.yaml"):
        cfg = NodeConfig.load(tmp_path / f)
        assert cfg.key == key and cfg.credentials == ["eyJ.a.b", "eyJ.c.d"]
    node = Node(NodeConfig.load(tmp_path / "n.yaml"))
    try:
        assert node.did == "did:web:127.0.0.1%3A8101"
        assert node.identity.signer.public_key_text == Signer.from_private_text("x", key).public_key_text
    finally:
        node.close()


def test_unknown_keys_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"name": "n", "participant_id": "x", "base_url": "http://h",
                                                   "datasets": [{"id": "d", "usage_policy": {}, "kind": "movie"}]}))
    with pytest.raises(ValidationError, match="kind"):
        NodeConfig.load(tmp_path / "bad.json")
