"""First-life capacity fade of traction packs: the pilot simulator's degradation model, calibrated on real data.

Sources:
- Cycle-fade shape: CALCE Battery Research Group, University of Maryland, cell CS2_36 (LCO/graphite,
  1.1 Ah, 1C cycling to end of life), in ``../shared/data/calce/CS2_36``. A power law
  ``loss = k · FEC^z`` fitted to its discharge capacity down to 70 % gives ``z`` (the fit is redone by
  :func:`batteryloop.sim.fade.calibrate` and checked against this value by the tests).
- Spread of cycle life between packs used differently: K. Severson et al., "Data-driven prediction of
  battery cycle life before capacity degradation", Nature Energy 4, 383–391 (2019), the 84 cells of the
  train and primary-test sets (``../shared/data/severson2019/cycle_lives``): the standard deviation of
  log cycle life across charging protocols. A pack's fade factor is log-normal with
  ``sigma = z · sigma_log_cycle_life``.
- Calendar fade (square root of time, Arrhenius in temperature): orders of magnitude from
  J. Schmalstieg et al., J. Power Sources 257 (2014) 325–334 (NMC, about 2–3 % per sqrt(year) at 25 °C
  and mid SoC) and M. Naumann et al., J. Energy Storage 17 (2018) 153–169 (LFP, about 1–1.5 %);
  activation energy about 50 kJ/mol (both papers report 40–60 kJ/mol). UNVERIFIED readings, not fits.

The cycle-fade level ``k`` of a model is set so that the cycle loss reaches the model's declared
capacity threshold (Annex XIII: ``capacity_threshold_exhaustion_pct``) at its declared cycle life
(``expected_lifetime_cycles``) — the passport's own figures.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="first_life_fade",
    citation=Citation(
        title="Cycle-fade exponent fitted to CALCE CS2_36; cycle-life spread of Severson et al. 2019; calendar fade "
              "after Schmalstieg et al. 2014 and Naumann et al. 2018",
        publisher="CALCE (Univ. of Maryland); Nature Energy; J. Power Sources; J. Energy Storage",
        date="2026-11-26",
        url="https://doi.org/10.1038/s41560-019-0356-8",
        verified=False,
        note="z and sigma fitted by batteryloop.sim.fade.calibrate on the shared data; calendar values are "
             "literature orders of magnitude",
    ),
    values={
        "cycle_fade_exponent": 0.70,
        "sigma_log_cycle_life": 0.421,
        "calendar_fade_per_sqrt_year_fraction_at_25c": {"NMC": 0.022, "NCA": 0.025, "LFP": 0.013, "LMFP": 0.015, "LMO": 0.03},
        "calendar_activation_energy_j_per_mol": 50_000.0,
        "fast_charge_fade_factor_per_share": 0.35,
        "resistance_increase_pct_per_pct_capacity_loss": 2.5,
    },
    extensible=frozenset({"calendar_fade_per_sqrt_year_fraction_at_25c"}),
)
