"""How long a repurposed EV pack serves in stationary storage: NREL's second-use study (UNVERIFIED reading).

Source: J. Neubauer, K. Smith, E. Wood, A. Pesaran, "Identifying and Overcoming Critical Barriers to Widespread
Second Use of PEV Batteries", National Renewable Energy Laboratory, NREL/TP-5400-63332 (February 2015), as
summarised in NREL's news release on it (2015; reproduced e.g. at mobility21.cmu.edu, "Battery second use offsets
electric vehicle expenses, improves grid stability"): batteries become available for second use at the end of a
plug-in vehicle's service life of about 15 years, retaining as much as 70 % of their initial capacity, and may
operate for **about another 10 years in second use** as utility energy storage — a simulation of 15 years of
automotive service, then 10 years of second use at a daily 50 % depth-of-discharge duty, with NREL's battery
degradation life model. Read through the release, not checked against the report's tables: flagged unverified.

Used as the longest second life the route decision and the hubs' levelised cost count
(``RouteEconomics.repurpose_max_years``): a pack whose projected state of health stays above the end of second
life (``batteryloop_assumptions.second_life_end_soh_fraction``) is retired after ``second_use_years`` all the same.
The study's duty (one 50 % cycle a day) is not the route's default (300 cycles a year at 85 %): its 10 years are a
bound on the life counted, not a projection at that duty — the fade model projects the years. Override it with
your own warranty or study.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="nrel_2015_second_use",
    citation=Citation(
        title="Identifying and Overcoming Critical Barriers to Widespread Second Use of PEV Batteries "
        "(NREL/TP-5400-63332)",
        publisher="National Renewable Energy Laboratory (Neubauer, Smith, Wood, Pesaran)",
        date="2015-02",
        url="https://www.nrel.gov/docs/fy15osti/63332.pdf",
        verified=False,
        note="figures read through NREL's news release on the study, not the report's tables",
    ),
    values={
        "second_use_years": 10.0,
        "automotive_service_years": 15.0,
        "capacity_at_second_use_fraction": 0.70,
        "second_use_daily_dod_fraction": 0.50,
    },
)
