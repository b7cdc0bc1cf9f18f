"""Battery health over HTTP: upload a pack's cycler exports, get its state of health into its passport."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from ..access import Caller
from ..errors import InvalidData
from .deps import Services, participant, services

router = APIRouter(prefix="/api/v1", tags=["health"])

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@router.post("/passports/{passport_id}/state-of-health",
             summary="Compute the state of health from cycler exports and store it in the passport")
def upload_soh(passport_id: str, c: Annotated[Caller, Depends(participant)], s: Annotated[Services, Depends(services)],
               files: Annotated[list[UploadFile], File(description="cycler exports of one pack, in time order")],
               rated_capacity_ah: Annotated[float | None, Query(gt=0)] = None,
               tz: Annotated[str, Query(max_length=64)] = "UTC") -> Response:
    tmp = Path(tempfile.mkdtemp(prefix="batteryloop-upload-"))
    try:
        paths = []
        total = 0
        for i, f in enumerate(files):
            name = Path(f.filename or f"file{i}").name or f"file{i}"
            dest = tmp / f"{i:03d}-{name}"
            with dest.open("wb") as out:
                while chunk := f.file.read(1 << 20):
                    total += len(chunk)
                    if total > MAX_UPLOAD_BYTES:
                        raise InvalidData(f"upload larger than {MAX_UPLOAD_BYTES // 2**20} MiB", [{
                            "field": "files", "rule": "max_size", "message": "files: too large", "value": total}])
                    out.write(chunk)
            paths.append(dest)
        result = s.health.record_soh(passport_id, paths, c, rated_capacity_ah=rated_capacity_ah, tz=tz)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Response(orjson.dumps(result), media_type="application/json")
