"""Battery health over HTTP: a pack's cycler data, its state of health into its passport, grading."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from ..access import Caller
from ..errors import InvalidData, deny
from ..passport.tiers import Tier
from ..responses import json_response
from .deps import Services, caller, participant, services

router = APIRouter(prefix="/api/v1", tags=["health"])

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CallerDep = Annotated[Caller, Depends(caller)]
ParticipantDep = Annotated[Caller, Depends(participant)]
ServicesDep = Annotated[Services, Depends(services)]


@contextmanager
def _saved(files: list[UploadFile]) -> Iterator[list[Path]]:
    """The uploads as files in a private temporary folder (removed afterwards), size-limited."""
    tmp = Path(tempfile.mkdtemp(prefix="batteryloop-upload-"))
    try:
        paths, total = [], 0
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
        yield paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@router.post("/passports/{passport_id}/cycler-data", summary="Add a cycler export to the pack's history (operator)")
def ingest(passport_id: str, c: ParticipantDep, s: ServicesDep,
           file: Annotated[UploadFile, File(description="Arbin, Maccor, Novonix, Biologic, Arbin xlsx or BDF CSV")],
           tz: Annotated[str, Query(max_length=64)] = "UTC") -> Response:
    with _saved([file]) as paths:
        return json_response(s.health.ingest(passport_id, paths[0], c, tz=tz))


@router.post("/passports/{passport_id}/state-of-health",
             summary="State of health (Annex VII) from uploaded cycler exports, or from the pack's ingested history")
def state_of_health(passport_id: str, c: ParticipantDep, s: ServicesDep,
                    files: Annotated[list[UploadFile] | None, File(description="cycler exports (put in time order by their first time stamp); "
                                                                   "none: the pack's ingested history")] = None,
                    rated_capacity_ah: Annotated[float | None, Query(gt=0)] = None,
                    write: Annotated[bool, Query(description="store it in the passport")] = True,
                    per_cell: Annotated[bool, Query(description="the files are one cell of the pack: compare with "
                                                    "the pack's rated capacity / cells_in_parallel and scale capacities "
                                                    "and energies up to the pack")] = False,
                    tz: Annotated[str, Query(max_length=64)] = "UTC") -> Response:
    if not files:
        return json_response(s.health.pack_soh(passport_id, c, rated_capacity_ah=rated_capacity_ah, write=write,
                                               per_cell=per_cell))
    with _saved(files) as paths:
        return json_response(s.health.record_soh(passport_id, paths, c, rated_capacity_ah=rated_capacity_ah, tz=tz,
                                                 per_cell=per_cell))


@router.get("/passports/{passport_id}/cycles", summary="Per-cycle summary of the pack's ingested history")
def cycles(passport_id: str, c: CallerDep, s: ServicesDep) -> Response:
    rec = s.passports.get_record(passport_id)
    if Tier.LEGITIMATE_INTEREST not in s.passports.tiers_for(rec, c):
        raise deny(c.anonymous, f"cycle data of {passport_id} needs legitimate interest")
    from ..health import cycle_summary

    summary = cycle_summary(s.health.pack_series(passport_id))
    return json_response({"passport_id": passport_id, "cycles": summary.to_dicts()})


@router.post("/health/grade", summary="Grade a retired battery (UL 1974-style intake): A, B, C or recycle")
def grade(intake: dict[str, Any]) -> Response:
    from pydantic import ValidationError

    from ..errors import invalid
    from ..health.grading import IntakeRecord, grade as do_grade

    try:
        rec = IntakeRecord.model_validate(intake)
    except ValidationError as exc:
        raise invalid(exc, "intake record") from None
    return json_response(do_grade(rec).model_dump(mode="json"))
