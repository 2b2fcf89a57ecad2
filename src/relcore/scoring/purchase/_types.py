"""Type aliases shared by the purchase models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# ``(value, gradient, Hessian)`` of an objective in log-parameters; derivatives are None
# when only the value was asked for
Objective = tuple[float, FloatArray | None, FloatArray | None]
# ``(columns, weights) -> objective(log_params, order)``: totals over the rows
ObjectiveFactory = Callable[
    [dict[str, FloatArray], FloatArray], Callable[[FloatArray, int], Objective]
]
