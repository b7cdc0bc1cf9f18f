"""Signing keys a node holds for the participants it hosts (a company's own node, or the demo).

Keys live as ``<participant id>.key`` files (the private key text of :class:`Signer`, mode 0600) in a
folder (``var/keys`` by default). A participant whose key the node does not hold signs its events
itself and submits them through the API; the node then only verifies.
"""

from __future__ import annotations

import os
from pathlib import Path

from .keys import Signer


class KeyStore:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._cache: dict[str, Signer | None] = {}

    def signer(self, participant_id: str | None) -> Signer | None:
        if participant_id is None or self.folder is None:
            return None
        if participant_id not in self._cache:
            path = self.folder / f"{participant_id}.key"
            self._cache[participant_id] = (Signer.from_private_text(participant_id, path.read_text().strip())
                                           if path.is_file() else None)
        return self._cache[participant_id]

    def save(self, signer: Signer) -> Path:
        if self.folder is None:
            raise ValueError("no key folder configured")
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        path = self.folder / f"{signer.participant_id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(signer.private_text() + "\n")
        self._cache[signer.participant_id] = signer
        return path
