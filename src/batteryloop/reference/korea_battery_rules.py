"""Korea's rules for EV traction batteries where they differ from the EU's, and the Hyundai/Kia lease pilots.

Source: the project's REFERENCE.md §5 "Battery-as-a-Service and swapping" (2026), which collects:

- Korea: from **14 Feb 2025** every traction pack gets a registered ID (up to 24 characters, with production
  year and month) in the vehicle register, with maintenance history to scrapping; from **17 Feb 2025** the
  state certifies battery safety (12 tests). A **2026 amendment** requires a performance evaluation before a
  battery leaves the vehicle that classifies it for remanufacture, reuse or recycling. Korea expects about
  80,000 retired EV batteries a year by 2029.
- Hyundai/Kia lease pilots in Korea (2020–21, with Glovis, LG Energy Solution, SK On, KST Mobility): the
  fleet operator sells the battery to a leasing company and leases it back monthly; the cell maker assesses
  safety and residual value; retired taxi packs (every 2–3 years) become storage at fast chargers.

REFERENCE.md gives no primary citation (statute numbers) for these rules: the set is marked unverified.

**Where REFERENCE.md is silent** (recorded here as ``None`` with a note, never as a number): which ministry
enforces these rules (the pilot casts the Ministry of Environment as the authority, as the brief of issue 18
asks), whether local governments must collect used packs (the pilot casts two of them as collectors), the
exact date the 2026 performance-evaluation amendment applies from, the grade limits of that evaluation,
and any collection or recycling targets. The pilot's grading therefore stays the platform's UL 1974-style
intake (``health.grading``); only the classes the amendment names (remanufacture, reuse, recycling — plus
repurposing, which the EU allows and REFERENCE.md does not list for Korea) are mapped onto it.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="korea_battery_rules",
    citation=Citation(
        title="Korean EV battery rules (registered pack ID, state safety certification, pre-removal performance "
              "evaluation) and the Hyundai/Kia battery-lease pilots, as collected in REFERENCE.md §5",
        publisher="batteryloop REFERENCE.md (secondary sources)",
        date="2026",
        verified=False,
        note="no statute numbers in REFERENCE.md; items it is silent on are None",
    ),
    values={
        "pack_id_registration": {
            "from_date": "2025-02-14",
            "max_id_length_chars": 24,
            "id_contains": "production year and month",
            "where": "vehicle register, with maintenance history to scrapping",
        },
        "state_safety_certification": {"from_date": "2025-02-17", "tests": 12},
        "pre_removal_performance_evaluation": {
            "from_date": None,  # REFERENCE.md: "a 2026 amendment", no day
            "amendment_year": 2026,
            "classes": ["remanufacture", "reuse", "recycling"],
            "grade_limits": None,  # silent
        },
        "retired_batteries_expected_per_year": {"year": 2029, "count": 80_000},
        "authority": None,  # silent: the pilot casts the Ministry of Environment
        "local_government_collection": None,  # silent: the pilot casts local governments as collectors
        "lease_pilot": {
            "years": "2020–2021",
            "partners": ["Glovis", "LG Energy Solution", "SK On", "KST Mobility"],
            "scheme": "the fleet operator sells the battery to a leasing company and leases it back monthly",
            "residual_value_assessed_by": "the cell maker",
            "taxi_pack_retirement_years": {"low": 2, "high": 3},
            "second_use": "storage at fast chargers",
        },
    },
    notes={
        "authority": "REFERENCE.md names no Korean authority; the pilot's choice (Ministry of Environment) is the "
                     "brief's, not a sourced fact",
        "local_government_collection": "REFERENCE.md says nothing about who collects used packs in Korea",
        "pre_removal_performance_evaluation.from_date": "REFERENCE.md: 'a 2026 amendment'; no date of application",
    },
)

#: how Korea differs from the EU (Regulation (EU) 2023/1542, REFERENCE.md §1), rule by rule: (topic, EU, Korea)
DIFFERENCES_FROM_EU: list[tuple[str, str, str]] = [
    ("identifier", "battery passport with an ISO/IEC 15459 unique identifier from 18 Feb 2027 (Art. 77)",
     "registered pack ID (≤ 24 characters, production year and month) in the vehicle register from 14 Feb 2025"),
    ("safety", "conformity assessment of the battery (Annex VIII), no state certificate per pack",
     "state safety certification (12 tests) from 17 Feb 2025"),
    ("before removal", "no evaluation required before a battery leaves the vehicle; the passport's state of "
                       "health (Annex VII) informs re-use, repurposing and remanufacturing",
     "a performance evaluation classifies the battery for remanufacture, reuse or recycling before it leaves "
     "the vehicle (2026 amendment; date of application not in REFERENCE.md)"),
    ("second life", "repurposing issues a new passport linked to the old one (Art. 77(7))",
     "REFERENCE.md lists remanufacture, reuse and recycling as the classes; repurposing as storage at fast "
     "chargers is what the lease pilots did"),
    ("authority and collection", "market surveillance authorities; producer responsibility for take-back "
                                 "(Art. 56–62)",
     "REFERENCE.md is silent; the pilot casts the Ministry of Environment as authority and local governments "
     "as collectors"),
]
