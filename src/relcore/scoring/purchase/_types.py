"""Type aliases shared by the purchase models."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# ``(value, gradient, Hessian)`` of an objective in log-parameters; derivatives are None
# when only the value was asked for
Objective = tuple[float, FloatArray | None, FloatArray | None]
