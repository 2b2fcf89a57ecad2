"""A smooth function of one variable at very many points, by piecewise Chebyshev
interpolation whose accuracy is checked against the function itself.

Used where a costly special function is needed at millions of points that share all
parameters but one (customer lifetime value: the BG/NBD expectations of every customer
with the same frequency are one smooth function of ``log(alpha + T)``). Each piece of
the variable's range gets the function's values at ``_NODES`` Chebyshev points; the
interpolant is accepted only where it reproduces the function at ``_NODES + 1`` further
points (between the nodes and at the ends, where the interpolation error peaks) to
``_TOLERANCE`` relative and its last coefficients have died out. Callers evaluate the
rest exactly.

For a function analytic in the strip ``|Im u| < pi`` (as the BG/NBD expectation is in
``u = log(alpha + T)``: its singularities lie where ``alpha + T + t <= 0``) pieces of
width 2 converge like ``6.4**-n``: 24 nodes reach the rounding of the values themselves.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._types import FloatArray

_NODES = 24
_PIECE_WIDTH = 2.0
# accepted relative error at the check points: near the accuracy of the function values
# themselves (the series and transformations behind them are good to about 1e-12 at
# worst), so the interpolant adds nothing noticeable to it
_TOLERANCE = 1e-11
# rows per block of the Clenshaw recurrence: its dozens of passes stay in cache
_BLOCK = 16_384

_J = np.arange(_NODES)
NODES: FloatArray = np.cos(np.pi * (_J + 0.5) / _NODES)
# the extrema of T_N: between consecutive nodes, and the two ends
CHECKS: FloatArray = np.cos(np.pi * np.arange(_NODES + 1) / _NODES)
# coefficients from values at the nodes (a discrete cosine transform)
_TO_COEFFICIENTS: FloatArray = (2.0 / _NODES) * np.cos(np.pi * np.outer(_J, _J + 0.5) / _NODES)
_TO_COEFFICIENTS[0] /= 2.0
POINTS_PER_PIECE = 2 * _NODES + 1


def pieces(lo: FloatArray, hi: FloatArray) -> npt.NDArray[np.intp]:
    """How many pieces of width at most ``_PIECE_WIDTH`` cover each range ``[lo, hi]``."""
    return np.maximum(1, np.ceil((hi - lo) / _PIECE_WIDTH)).astype(np.intp)


def layout(
    lo: FloatArray, hi: FloatArray, count: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """Centres and half-widths of ``count[g]`` equal pieces covering each ``[lo, hi]``,
    group after group."""
    group = np.repeat(np.arange(lo.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    width = ((hi - lo) / count)[group]
    mid = lo[group] + (np.arange(group.size) - first + 0.5) * width
    # a range of one point still needs distinct nodes
    return mid, np.maximum(width / 2.0, 0.5)


def sample_points(mid: FloatArray, half: FloatArray) -> FloatArray:
    """Per piece (rows), the nodes then the check points in the variable."""
    y = np.concatenate([NODES, CHECKS])
    out: FloatArray = mid[:, None] + half[:, None] * y[None, :]
    return out


def fit(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Chebyshev coefficients per piece from ``values`` at `sample_points`, and
    whether the interpolant reproduces the check points."""
    at_nodes, at_checks = values[:, :_NODES], values[:, _NODES:]
    coef: FloatArray = at_nodes @ _TO_COEFFICIENTS.T
    with np.errstate(all="ignore"):
        interp = _clenshaw_table(coef, CHECKS)
        error = np.max(np.abs(interp - at_checks) / np.abs(at_checks), axis=1)
        size = np.max(np.abs(coef), axis=1)
        tail = np.max(np.abs(coef[:, -2:]), axis=1)
    ok = np.isfinite(values).all(axis=1) & (error <= _TOLERANCE) & (tail <= _TOLERANCE * size)
    return coef, ok


def _clenshaw_table(coef: FloatArray, y: FloatArray) -> FloatArray:
    """Each piece's series at the same points ``y`` (pieces x points)."""
    b1 = np.zeros((coef.shape[0], y.size))
    b2 = np.zeros_like(b1)
    for k in range(_NODES - 1, 0, -1):
        b1, b2 = 2.0 * y * b1 - b2 + coef[:, k : k + 1], b1
    out: FloatArray = y * b1 - b2 + coef[:, :1]
    return out


def evaluate(coef: FloatArray, y: FloatArray) -> FloatArray:
    """One piece's series at many points ``y`` in ``[-1, 1]`` (Clenshaw's recurrence, in
    blocks that stay in cache, three buffers and no temporaries)."""
    out = np.empty(y.size)
    c = coef.tolist()
    for lo in range(0, y.size, _BLOCK):
        yb = y[lo : lo + _BLOCK]
        y2 = 2.0 * yb
        b1 = np.full(yb.size, c[-1])
        b2 = np.zeros(yb.size)
        b0 = np.empty(yb.size)
        for k in range(_NODES - 2, 0, -1):
            np.multiply(y2, b1, out=b0)
            b0 -= b2
            b0 += c[k]
            b0, b1, b2 = b2, b0, b1
        np.multiply(yb, b1, out=b0)
        b0 -= b2
        b0 += c[0]
        out[lo : lo + yb.size] = b0
    return out
