"""Type aliases shared across optihedge."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray: TypeAlias = npt.NDArray[np.float64]
ArrayLike: TypeAlias = npt.ArrayLike
SeriesOrArray: TypeAlias = "pd.Series[float] | FloatArray | list[float] | tuple[float, ...]"
Scalar: TypeAlias = float | int | np.floating | np.integer
