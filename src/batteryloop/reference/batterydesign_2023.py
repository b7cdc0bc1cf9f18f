"""Pack gravimetric energy density of traction packs on the market (pack level, Wh per kg of the whole pack).

Source: Battery Design (batterydesign.net), "Pack Gravimetric Energy Density", from its Battery Pack Database
(page read 2026; the list runs to 2023 packs). Listed: 174 Wh/kg 2022 Ford F-150 Lightning Extended Range,
171 Wh/kg 2021 Tesla Model 3 (82 kWh), 168 Wh/kg 2019 Renault Zoe ZE 50, 161 Wh/kg 2022 Tesla Model Y 4680,
148 Wh/kg 2019 Porsche Taycan Turbo S and 2018 Jaguar I-Pace, 101 Wh/kg Formula E Gen 1 (2014–18),
**80 Wh/kg the 2011 Nissan Leaf** — the lowest lithium-ion traction pack listed (12.5 kg per kWh) — and
37.2 Wh/kg the Toyota Prius Gen 2 hybrid pack (nickel-metal hydride, not lithium-ion). The Leaf's figure
agrees with its published pack: 24 kWh at about 280–300 kg (pack masses reported by several secondary
sources). A secondary compilation: flagged unverified, overridable like every reference value.

Used for the heaviest pack mass per kWh a passport may declare (:func:`batteryloop.circular.chemistry.
max_pack_mass_kg_per_kwh`): ``batteryloop_assumptions.pack_mass_bound_margin_factor`` (2) × 1000 /
``lowest_lithium_ion_traction_pack_wh_per_kg`` (80) = 25 kg per kWh (40 Wh/kg, the top of a lead-acid
battery's specific energy): twice the heaviest lithium-ion pack per kWh on record, so that a real pack —
an LFP bus pack, a truck's swap pack with its frame — passes and a mass in grams or a misplaced exponent does
not. BatPaC 5.0's packs are 4.89–6.49 kg per kWh (``batpac_5``).
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="batterydesign_2023",
    citation=Citation(
        title="Pack Gravimetric Energy Density (Battery Pack Database)",
        publisher="Battery Design (batterydesign.net)",
        date="2023",
        url="https://www.batterydesign.net/pack-gravimetric-energy-density/",
        verified=False,
        note="a secondary compilation of packs' published energy and mass; the Leaf's 80 Wh/kg agrees with its "
        "24 kWh pack of about 280-300 kg",
    ),
    values={
        "pack_specific_energy_wh_per_kg": {
            "ford_f150_lightning_er_2022": 174.0,
            "tesla_model_3_82kwh_2021": 171.0,
            "renault_zoe_ze50_2019": 168.0,
            "tesla_model_y_4680_2022": 161.0,
            "porsche_taycan_turbo_s_2019": 148.0,
            "jaguar_i_pace_2018": 148.0,
            "formula_e_gen1_2014": 101.0,
            "nissan_leaf_2011": 80.0,
            "toyota_prius_gen2_nimh_hybrid": 37.2,
        },
        "lowest_lithium_ion_traction_pack_wh_per_kg": 80.0,
    },
)
