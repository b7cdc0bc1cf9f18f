"""Outflows: packs that left the loop without a record, as of a date — the rules, free of I/O.

:func:`pack_findings` replays one pack's events (its custody, through :func:`.custody.custody_replay`)
up to the as-of date and returns what an authority can act on; :meth:`.queries.TraceQueries.outflows`
feeds it every pack of the ledger, and the API, the CLI and the pilot dashboard all ask that one query.
:class:`OutflowParams` is what a caller may set, each value checked with an error naming it;
:func:`select` filters and pages the findings, :func:`to_csv` writes them as CSV.

The finding kinds (:data:`FINDING_KINDS`):

* ``country_change_without_shipment`` — two consecutive events of the pack place it in two countries
  and no shipment record (``transport``, ``collection`` or ``export``) lies between them.
* ``impossible_move`` — the pack is observed in one country and then in another sooner than the
  minimum transit time (default :data:`MIN_TRANSIT_HOURS`): no shipment could have carried it. An event
  observes the pack where it took place; a shipment where the pack leaves from (an export's place, a
  transport's or collection's origin); documents and transactions (:data:`UNLOCATED_KINDS`) not at all.
* ``left_region_without_export`` — a transport or collection took the pack out of a watched region
  (EU, KR, JP by default) with no export record.
* ``exported_before_end_of_life`` — an export before any retirement test or removal.
* ``silent`` — no event for longer than the pack's own reporting rhythm allows (:class:`SilenceRule`).

Why these matter: a waste battery leaving the EU is a shipment of waste — Regulation (EU) 2024/1157 on
shipments of waste (which replaces Regulation (EC) No 1013/2006) requires prior written notification and
consent for it and bans exports of hazardous waste to non-OECD countries; and a waste battery treated
outside the Union counts towards the recycling targets only if the shipment complied with that
regulation (Regulation (EU) 2023/1542, Art. 72). A pack moved across a border without a record is
either a data error or an undeclared shipment: the report does not decide which, it shows the events.
(Articles quoted from the regulations' texts as summarised here, unverified against the Official
Journal; check before relying on them.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..csvsafe import csv_cell
from ..errors import InvalidData
from .custody import RETIRED_STATUSES, custody_replay, region_of

SHIPMENT_KINDS = frozenset({"transport", "collection", "export"})
"""Event kinds that record a pack's move from one place to another (:mod:`.events`: MovementData, ExportData)."""

UNLOCATED_KINDS = frozenset({"passport_issued", "change_of_owner", "annotation"})
"""Event kinds that record a document or a transaction, placed where it was made (the issuer's or the new
owner's seat), not where the pack is: they neither locate the pack nor move it."""

IN_SERVICE_STATUSES = frozenset({"new", "in_use"})
"""A new pack or one in a vehicle moves freely within its region (the internal market; a vehicle crossing a
border carries its pack): a country change within the region needs no shipment record."""

OUT_OF_VIEW_STATUSES = frozenset({"end_of_life", "exported"})
"""A pack at end of life (dismantled, recycled) or exported with a record is no longer expected to report."""

FINDING_KINDS: dict[str, str] = {
    "country_change_without_shipment": "two consecutive events place the pack in two countries with no transport, "
                                       "collection or export record between them",
    "impossible_move": "the pack is observed in one country, then in another, sooner than the minimum transit time",
    "left_region_without_export": "a transport or collection took the pack out of a watched region with no export "
                                  "record (an export of a waste battery out of the EU needs prior notification and "
                                  "consent under Regulation (EU) 2024/1157)",
    "exported_before_end_of_life": "an export before any retirement test or removal (a used pack leaving as a "
                                   "product: check it was not waste)",
    "silent": "no event for longer than the pack's own reporting rhythm allows",
}
"""Every finding kind with what it means (the ``kind`` filter takes these names)."""

# defaults, each a setting (TraceSettings, the API's and the CLI's parameters); batteryloop's own choices,
# documented in docs/trace.md ("Outflows")
SILENCE_K = 1.5
"""Silent once the gap exceeds 1.5 times the pack's median interval: one expected report missed by half a period."""
SILENCE_FLOOR_DAYS = 30.0
"""Never silent sooner than 30 days (a pack reporting by the minute is not lost after an hour's outage)."""
SILENCE_DEFAULT_DAYS = 365.0
"""The threshold of a pack with too few intervals for a rhythm (the former fixed threshold)."""
SILENCE_MIN_INTERVALS = 3
"""Intervals (four events) needed before a pack's median interval is trusted."""
REMOVED_DAYS = 90.0
"""A pack removed from its vehicle and not collected, tested or re-installed for 90 days is silent, whatever
its rhythm in the vehicle was (the rhythm was the vehicle's)."""
MIN_TRANSIT_HOURS = 1.0
"""The shortest plausible cross-border move of a pack (loading, a border, unloading): faster is impossible.
A floor that catches records no shipment could produce; pass a longer one for long routes."""
BURST_DAYS = 1.0
"""Intervals shorter than a day are not a reporting rhythm (events recorded together)."""
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the ledger's time text (events.UtcTime): sorts as it reads

CSV_COLUMNS = ("kind", "pack", "model_id", "country", "from_country", "from_region", "holder", "actor", "event_id",
               "at", "last_event_at", "gap_days", "threshold_days", "median_interval_days", "threshold_basis",
               "elapsed_seconds", "message")


def _bad(field_: str, rule: str, message: str, value: Any) -> InvalidData:
    return InvalidData(f"{field_}: {message}", [{"field": field_, "rule": rule, "message": f"{field_}: {message}",
                                                 "value": value}])


def time_text(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime(TIME_FORMAT)


parse_time = dt.datetime.fromisoformat  # reads the ledger's time text, "Z" included (Python 3.11)


@dataclass(frozen=True)
class SilenceRule:
    """When a pack is silent: its gap since its last event exceeds its threshold.

    threshold = max(``floor_days``, ``k`` × the median of its intervals between events) when it has at
    least ``min_intervals`` intervals, else ``default_days``; a pack last seen removed from its vehicle: at
    most ``removed_days``. Intervals shorter than :data:`BURST_DAYS` are left out: events recorded together
    (a sale and its installation, a retirement test and its decision) are one report, not a rhythm.
    """

    k: float = SILENCE_K
    floor_days: float = SILENCE_FLOOR_DAYS
    default_days: float = SILENCE_DEFAULT_DAYS
    min_intervals: int = SILENCE_MIN_INTERVALS
    removed_days: float = REMOVED_DAYS

    def threshold(self, times: Sequence[dt.datetime], status: str | None = None
                  ) -> tuple[float, float | None, str]:
        """(threshold in days, median interval in days or ``None``, basis: rhythm, default or removed)."""
        gaps = [g for a, b in zip(times, times[1:], strict=False)
                if (g := (b - a).total_seconds() / 86400) >= BURST_DAYS]
        median = statistics.median(gaps) if len(gaps) >= self.min_intervals else None
        days, basis = ((max(self.floor_days, self.k * median), "rhythm") if median is not None
                       else (self.default_days, "default"))
        if status == "removed" and self.removed_days < days:
            days, basis = self.removed_days, "removed"
        return days, median, basis


@dataclass(frozen=True)
class OutflowParams:
    """What a caller of the outflow report may set. Build it with :meth:`parse` to have each value checked."""

    as_of: dt.datetime | None = None  # None: the time of the last event in the ledger
    silence: SilenceRule = field(default_factory=SilenceRule)
    min_transit_hours: float = MIN_TRANSIT_HOURS
    model: str | None = None
    country: str | None = None
    kinds: tuple[str, ...] = ()
    participant: str | None = None
    limit: int | None = DEFAULT_LIMIT  # None: every finding (CSV)
    offset: int = 0

    @classmethod
    def parse(cls, *, as_of: str | dt.datetime | None = None, k: Any = None, floor_days: Any = None,
              default_days: Any = None, min_intervals: Any = None, removed_days: Any = None,
              min_transit_hours: Any = None, model: str | None = None, country: str | None = None,
              kind: str | Iterable[str] | None = None, participant: str | None = None,
              limit: Any = DEFAULT_LIMIT, offset: Any = 0, base: SilenceRule | None = None) -> OutflowParams:
        """Check every value (a bad one raises :class:`InvalidData` naming the parameter, the value and the
        rule); ``None`` keeps the default (``base`` for the silence rule: the node's settings)."""
        s = base or SilenceRule()
        rule = replace(
            s, k=_number("k", k, s.k, positive=True, maximum=MAX_K),
            floor_days=_number("floor_days", floor_days, s.floor_days, maximum=MAX_DAYS),
            default_days=_number("default_days", default_days, s.default_days, positive=True, maximum=MAX_DAYS),
            min_intervals=int(_number("min_intervals", min_intervals, s.min_intervals, integer=True, positive=True,
                                      maximum=MAX_INTERVALS)),
            removed_days=_number("removed_days", removed_days, s.removed_days, positive=True, maximum=MAX_DAYS))
        kinds: tuple[str, ...] = ()
        if kind:
            parts = [kind] if isinstance(kind, str) else list(kind)
            kinds = tuple(dict.fromkeys(p.strip() for x in parts for p in x.split(",") if p.strip()))
            for x in kinds:
                if x not in FINDING_KINDS:
                    raise _bad("kind", "enum", f"unknown finding kind {x!r}: use one of {', '.join(FINDING_KINDS)}", x)
        if country and not (len(country.strip()) == 2 and country.strip().isascii() and country.strip().isalpha()):
            raise _bad("country", "country_code", f"{country!r} is not an ISO 3166-1 alpha-2 country code (two "
                       "letters, e.g. DE, KR, NL)", country)
        lim = None if limit is None else int(_number("limit", limit, DEFAULT_LIMIT, integer=True, positive=True))
        if lim is not None and lim > MAX_LIMIT:
            raise _bad("limit", "maximum", f"{lim} is more than {MAX_LIMIT} findings a page: page with offset, or "
                       "download the CSV", lim)
        return cls(as_of=_as_of(as_of), silence=rule,
                   min_transit_hours=_number("min_transit_hours", min_transit_hours, MIN_TRANSIT_HOURS,
                                             maximum=MAX_DAYS * 24),
                   model=model or None, country=country.strip().upper() if country else None, kinds=kinds,
                   participant=_participant(participant), limit=lim,
                   offset=int(_number("offset", offset, 0, integer=True, maximum=MAX_OFFSET)))

    def stated(self, as_of: dt.datetime, source: str) -> dict[str, Any]:
        """The parameters as the answer states them."""
        return {"as_of": as_of.isoformat(), "as_of_source": source, "silence": asdict(self.silence),
                "min_transit_hours": self.min_transit_hours,
                "filters": {"model": self.model, "country": self.country, "kind": list(self.kinds),
                            "participant": self.participant}}


MAX_DAYS = 36_500.0  # a silence or transit threshold beyond a century is no threshold (and overflows a time span)
MAX_K = 1_000.0
MAX_INTERVALS = 100_000
MAX_OFFSET = 2**53  # the largest integer every JSON reader keeps exactly (the recall API's cap too)


def _number(name: str, value: Any, default: float, *, integer: bool = False, positive: bool = False,
            maximum: float | None = None) -> float:
    if value is None or value == "":
        return default
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise _bad(name, "number", f"{value!r} is not a number", value) from None
    if x != x or x in (float("inf"), float("-inf")):
        raise _bad(name, "finite", f"{value!r} is not a finite number", value)
    if integer and x != int(x):
        raise _bad(name, "integer", f"{value!r} is not a whole number", value)
    if x < 0 or (positive and x == 0):
        raise _bad(name, "positive" if positive else "non_negative",
                   f"{value!r} must be {'more than' if positive else 'at least'} 0", value)
    if maximum is not None and x > maximum:
        raise _bad(name, "maximum", f"{value!r} is more than {maximum:,g}, the largest {name} accepted", value)
    return x


def _participant(value: str | None) -> str | None:
    """A participant filter in its canonical form (a Korean business number 2118600017 as 211-86-00017, as
    the ledger stores it), or InvalidData naming it when it is no participant id at all."""
    if value is None or not value.strip():
        return None
    from ..passport.validators import normalize_participant_id

    try:
        return normalize_participant_id(value)
    except ValueError as exc:
        raise _bad("participant", "participant_id", f"{value[:60]!r}: {exc}", value[:60]) from None


def _as_of(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _bad("as_of", "date", f"{value!r} is not a date or time (ISO 8601, e.g. 2025-12-31 or "
                       "2025-12-31T23:00:00Z)", value) from None
    try:
        if t.tzinfo is None:  # a date, or a time without zone: UTC; a bare date (2025-12-31, 20251231) means the
            t = t.replace(tzinfo=dt.UTC)  # end of that day
            if isinstance(value, str) and _is_date(value.strip()):
                t += dt.timedelta(days=1, microseconds=-1)
        return t.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00, 9999-12-31T23:59-01:00: outside what a UTC time can hold
        raise _bad("as_of", "range", f"{value!r} is outside the dates a UTC time can hold (years 1–9999)",
                   str(value)) from None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------------------ the rules
def pack_findings(pack: str, events: Sequence[Mapping[str, Any]], *, as_of: dt.datetime,
                  regions: Mapping[str, frozenset[str]], params: OutflowParams,
                  model_id: str | None = None) -> list[dict[str, Any]]:
    """Every finding on one pack as of ``as_of``: its events (bodies in chain order, those after ``as_of``
    left out) replayed through custody, each consecutive pair of located events checked, then its silence."""
    cut = time_text(as_of)
    evs = [e for e in events if e["occurred_at"] <= cut]
    if not evs:
        return []
    out: list[dict[str, Any]] = []
    base = {"pack": pack, "model_id": model_id}
    min_transit = dt.timedelta(hours=params.min_transit_hours)
    last_region: str | None = None  # the watched region the pack was last seen in
    covered = False  # an export (or an unrecorded move already reported) covers the current stay outside it
    retired = False
    where: str | None = None  # the country the pack was last located in (a shipment's destination counts)
    status: str | None = None  # the custody status before the event
    seen: tuple[str, str] | None = None  # (country, time text) of the last event observing the pack in place
    state: dict[str, Any] | None = None
    for ev, state in custody_replay(pack, evs):
        kind = ev["kind"]
        if kind in UNLOCATED_KINDS:  # a document or a transaction: placed where it was made, not where the pack is
            status = state["status"]
            continue
        at = ev["occurred_at"]
        country = state["country"]  # the place, or a shipment's destination
        region = region_of(country, regions)
        common = {**base, "event_id": ev["id"], "holder": state["holder"], "actor": ev["actor"], "at": ev["occurred_at"],
                  "country": country}
        if kind == "export":
            if last_region is not None and not retired:
                out.append({**common, "kind": "exported_before_end_of_life", "from_region": last_region,
                            "message": f"pack {pack}: exported from {last_region} to {country} by event {ev['id']} "
                                       "before any retirement test or removal"})
            covered = True
        elif where is not None and country != where:
            leaves = last_region is not None and region != last_region and not covered
            in_service = status in IN_SERVICE_STATUSES and region is not None and region == region_of(where, regions)
            if kind not in SHIPMENT_KINDS:
                if not in_service:  # after a shipment, ``where`` is its destination: elsewhere is unrecorded
                    out.append({**common, "kind": "country_change_without_shipment", "from_country": where,
                                "from_region": last_region if leaves else None,
                                "message": f"pack {pack}: in {where}, then in {country} ({kind} event {ev['id']}, "
                                           f"{ev['actor']}) with no transport, collection or export record between"
                                           + (f"; it left {last_region} without an export record" if leaves else "")})
                    covered = covered or leaves
            elif leaves:
                out.append({**common, "kind": "left_region_without_export", "from_country": where,
                            "from_region": last_region,
                            "message": f"pack {pack}: custody moved from {last_region} to {country} (event {ev['id']}, "
                                       f"holder {state['holder']}) with no export record"})
                covered = True  # report a move once
        if kind in SHIPMENT_KINDS:  # a shipment observes the pack where it leaves from
            origin = ev["place"]["country"] if kind == "export" else \
                ((ev.get("data") or {}).get("origin") or {}).get("country", where)
            seen = (origin, at) if origin else seen
        else:  # an observation of the pack where the event took place
            if seen is not None and seen[0] != country and \
                    (elapsed := parse_time(at) - parse_time(seen[1])) < min_transit:
                hours = elapsed.total_seconds() / 3600
                out.append({**common, "kind": "impossible_move", "from_country": seen[0], "elapsed_seconds": round(hours * 3600, 3),
                            "message": f"pack {pack}: in {seen[0]} at {seen[1]}, in {country} "
                                       f"{_duration(hours)} later (event {ev['id']}): less than the minimum transit "
                                       f"time of {params.min_transit_hours:g} h"})
            seen = (country, at)
        if state["status"] in RETIRED_STATUSES:
            retired = True
        if region is not None:  # back in, or arrived in, a watched region: a new stay starts
            last_region, covered = region, False
        where, status = country, state["status"]
    if state is not None and state["status"] not in OUT_OF_VIEW_STATUSES:
        times = sorted(parse_time(e["occurred_at"]) for e in evs)  # events may arrive out of time order
        last = max(evs, key=lambda e: e["occurred_at"])
        days, median, basis = params.silence.threshold(times, state["status"])
        gap = (as_of - times[-1]).total_seconds() / 86400
        if gap > days:
            if basis == "rhythm":
                why = f"{params.silence.k:g} × its median interval of {median:.1f} days" + (
                    f", held to the floor of {params.silence.floor_days:g}" if days == params.silence.floor_days else "")
            elif basis == "default":
                why = f"the default for a pack with fewer than {params.silence.min_intervals} intervals between events"
            else:
                why = "the limit for a pack removed from its vehicle and not collected"
            out.append({**base, "kind": "silent", "holder": state["holder"], "actor": last["actor"],
                        "country": where or state["country"], "status": state["status"], "event_id": last["id"],
                        "at": last["occurred_at"], "last_event_at": last["occurred_at"], "gap_days": round(gap, 3),
                        "threshold_days": round(days, 3),
                        "median_interval_days": None if median is None else round(median, 3),
                        "threshold_basis": basis,
                        "message": f"pack {pack}: no event for {gap:.0f} days since {last['occurred_at'][:10]} "
                                   f"(threshold {days:.0f} days: {why}); last holder {state['holder']} in "
                                   f"{where or state['country']}"})
    return out


def _duration(hours: float) -> str:
    if hours < 1 / 60:
        return f"{hours * 3_600_000:.0f} ms" if hours < 1 / 3600 else f"{hours * 3600:.0f} s"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


# ------------------------------------------------------------------------------------ filters, pages, CSV
def sort_key(f: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """The report's order: by pack, time, kind and event — total, so that pages never overlap or skip."""
    return (f["pack"], f.get("at") or "", f["kind"], f.get("event_id") or "")


def matches(f: Mapping[str, Any], p: OutflowParams) -> bool:
    """Filters: ``model`` the pack's model; ``country`` where the finding places the pack, or where it came
    from; ``kinds`` the finding kinds; ``participant`` the holder at the finding or the actor of its event."""
    return ((p.model is None or f.get("model_id") == p.model)
            and (p.country is None or p.country in (f.get("country"), f.get("from_country")))
            and (not p.kinds or f["kind"] in p.kinds)
            and (p.participant is None or p.participant in (f.get("holder"), f.get("actor"))))


def select(findings: Sequence[Mapping[str, Any]], p: OutflowParams) -> dict[str, Any]:
    """The findings that pass the filters, counted by kind, and the page ``offset``..``offset + limit``."""
    hits = [f for f in findings if matches(f, p)]
    counts: dict[str, int] = {}
    for f in hits:
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    end = len(hits) if p.limit is None else min(len(hits), p.offset + p.limit)
    return {"total": len(hits), "counts": dict(sorted(counts.items())),
            "packs": len({f["pack"] for f in hits}), "offset": p.offset, "limit": p.limit,
            "next_offset": end if end < len(hits) else None, "findings": [dict(f) for f in hits[p.offset:end]]}


def to_csv(findings: Iterable[Mapping[str, Any]]) -> str:
    """The findings as CSV, one row each, with :data:`CSV_COLUMNS` (empty where a kind has no such value)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for f in findings:
        w.writerow(["" if f.get(c) is None else csv_cell(f.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()
