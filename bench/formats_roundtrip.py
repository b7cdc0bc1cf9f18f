"""Round trips between nodes per format (issue 16): how many of the nine passport kinds of
``tests/formats/test_roundtrip_nodes.py`` come back identical after export → ``import-standard`` into a
fresh node → export again, per format and access tier.

    BATTERYLOOP_SHARED=../shared PYTHONPATH=src .venv/bin/python bench/formats_roundtrip.py

Per format and tier it prints: ``fields`` — kinds whose imported passport (model and battery, cut to the tier)
equals the source's; ``document`` — kinds whose second export equals the first but for the copy's own
version and last change; ``status`` — kinds whose status and archive state survive; and the fields lost.
A public import of a passport whose status the tier withholds is refused naming ``battery.status``
(counted under ``refused``) and then repeated with ``--default status=…``, as a reader would.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from batteryloop.errors import InvalidData  # noqa: E402
from batteryloop.passport.exporting import export_passport  # noqa: E402
from batteryloop.passport.service import import_standard_payload  # noqa: E402
from batteryloop.passport.tiers import parse_tiers  # noqa: E402
from tests.formats import test_roundtrip_nodes as rt  # noqa: E402


class _Factory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        p = self.root / name
        p.mkdir()
        return p


def main() -> None:
    formats = sys.argv[1].split(",") if len(sys.argv) > 1 else list(rt.FORMATS)
    with tempfile.TemporaryDirectory() as tmp:
        world = rt.world.__wrapped__(_Factory(Path(tmp)))  # type: ignore[attr-defined]
        src = world["src"]
        print(f"{'format':<10} {'tier':<20} {'fields':>7} {'document':>9} {'status':>7} {'refused':>8}  fields lost")
        for fmt in formats:
            for tier in ("public", "legitimate_interest", "all"):
                dst = rt._dest(world, fmt, tier)
                n = Counter()
                lost: Counter[str] = Counter()
                for kind, pid in world["kinds"].items():
                    rec = src.passports.get_record(pid)
                    first = export_passport(src.passports, src.store, pid, rt.ADMIN, tiers=tier, fmt=fmt)
                    try:
                        import_standard_payload(dst.passports, rt.ADMIN, first.body, fmt=fmt)
                    except InvalidData as exc:
                        if not any(e.get("field") == "battery.status" for e in exc.errors):
                            print(f"  {fmt} {tier} {kind}: import refused: {exc}")
                            continue
                        n["refused"] += 1
                        import_standard_payload(dst.passports, rt.ADMIN, first.body, fmt=fmt,
                                                defaults={"status": rec.status})
                    got = dst.passports.get_record(pid)
                    n["status"] += (got.status, got.archived) == (rec.status, rec.archived)
                    cut = parse_tiers(tier)
                    a, b = src.passports.export(pid, cut), dst.passports.export(pid, cut)
                    diff = [f"{part}.{k}" for part in ("model", "battery")
                            for k in set(a[part]) | set(b[part]) if a[part].get(k) != b[part].get(k)]
                    lost.update(diff)
                    n["fields"] += not diff
                    again = export_passport(dst.passports, dst.store, pid, rt.ADMIN, tiers=tier, fmt=fmt)
                    stamps = [rt._stamp(p, pid) for p in (src.passports, dst.passports)]
                    n["document"] += (rt._masked(rt._document(fmt, first.body), stamps[0])
                                      == rt._masked(rt._document(fmt, again.body), stamps[1]))
                k = len(world["kinds"])
                print(f"{fmt:<10} {tier:<20} {n['fields']:>5}/{k} {n['document']:>7}/{k} {n['status']:>5}/{k} "
                      f"{n['refused']:>8}  {', '.join(f'{f} ({c})' for f, c in lost.most_common()) or '-'}")


if __name__ == "__main__":
    main()
