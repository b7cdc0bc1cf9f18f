"""Published early-prediction results on the Severson et al. (2019) LFP/graphite data set.

Sources:
- K. A. Severson et al., "Data-driven prediction of battery cycle life before capacity
  degradation", Nature Energy 4, 383–391 (2019), Table 1. RMSE in cycles.
- P. M. Attia et al., "Statistical learning for accurate and interpretable battery lifetime
  prediction", J. Electrochem. Soc. 168, 090547 (2021), on the re-export used here.
Values transcribed in batteryloop's REFERENCE.md §6 (2026-11); those marked unverified came from
secondary sources. The secondary test set is not in our copy of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._core import Citation

CITATION = Citation(
    title="Data-driven prediction of battery cycle life before capacity degradation (Table 1); Statistical "
          "learning for accurate and interpretable battery lifetime prediction",
    publisher="Severson et al., Nature Energy 4, 383-391; Attia et al., J. Electrochem. Soc. 168, 090547",
    date="2019; 2021",
    url="https://doi.org/10.1038/s41560-019-0356-8",
    note="transcribed in REFERENCE.md §6 (2026-11); rows marked verified=False came from secondary sources",
)


@dataclass(frozen=True)
class PublishedResult:
    model: str
    source: str
    train_rmse_cycles: float
    test1_rmse_cycles: float
    test2_rmse_cycles: float
    verified: bool = True


PUBLISHED: tuple[PublishedResult, ...] = (
    PublishedResult("variance", "Severson 2019", 103, 138, 196),
    PublishedResult("discharge", "Severson 2019", 76, 91, 173, verified=False),
    PublishedResult("full", "Severson 2019", 51, 118, 214, verified=False),
    PublishedResult("ridge", "Attia 2021", 85, 125, 188),
    PublishedResult("PCR", "Attia 2021", 80, 97, 193),
    PublishedResult("PLSR", "Attia 2021", 59, 100, 176),
    PublishedResult("random forest", "Attia 2021", 82, 141, 197),
    PublishedResult("MLP", "Attia 2021", 32, 140, 218),
)

#: end of life in the data set: discharge capacity below 80 % of the 1.1 Ah nominal
END_OF_LIFE_CAPACITY_AH = 0.88
NOMINAL_CAPACITY_AH = 1.1
#: the issue's goal for test1 RMSE (cycles)
GOAL_TEST1_RMSE_CYCLES = 90.0
