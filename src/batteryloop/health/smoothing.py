"""The capacity smoothing both remaining-life forecasters share (:mod:`.rul`, :mod:`.similarity`): a
rolling median over ``SMOOTHING_CYCLES`` cycles, which removes check-up cycles and rest recoveries."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

SMOOTHING_CYCLES = 9


def smooth(q: np.ndarray) -> np.ndarray:
    return median_filter(q, size=min(SMOOTHING_CYCLES, max(1, q.size // 2 * 2 - 1)), mode="nearest")
