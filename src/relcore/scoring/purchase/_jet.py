"""Second-order forward-mode differentiation over numpy arrays.

A `Jet` carries a value together with its gradient and Hessian with respect to the
unconstrained log-parameters of a model. Writing a log-likelihood once with the helpers
below (``log``, ``gammaln``, ``logaddexp``…) yields its value, gradient and observed
information in one pass, so each model states its likelihood exactly once and the fitting
routine gets exact derivatives (no finite differences, no autograd dependency).

The same helpers accept plain floats and arrays, so predictions reuse the likelihood code
without the derivative overhead.

Shapes: ``val`` is ``(n,)`` (or ``()`` for a parameter), ``grad`` is ``val.shape + (m,)`` and
``hess`` is ``val.shape + (m, m)``, so scalars broadcast against per-customer arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

__all__ = ["Jet"]


def _outer(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    out: np.ndarray = g[..., :, None] * h[..., None, :]
    return out


def _col(a: Any) -> Any:
    """Broadcast a per-row array against grad (``(..., m)``) by adding one axis."""
    return np.asarray(a)[..., None]


def _col2(a: Any) -> Any:
    return np.asarray(a)[..., None, None]


class Jet:
    """A value with gradient and Hessian (see the module docstring)."""

    __slots__ = ("grad", "hess", "val")
    __array_ufunc__ = None  # make ndarray (op) Jet defer to Jet's reflected operators

    def __init__(self, val: Any, grad: np.ndarray, hess: np.ndarray) -> None:
        self.val = np.asarray(val, dtype=np.float64)
        self.grad = grad
        self.hess = hess

    @classmethod
    def parameters(cls, log_params: np.ndarray) -> list[Jet]:
        """The natural parameters ``exp(theta_i)`` as jets in the log-parameters."""
        m = len(log_params)
        out = []
        for i, theta in enumerate(log_params):
            v = float(np.exp(theta))
            g = np.zeros(m)
            g[i] = v
            h = np.zeros((m, m))
            h[i, i] = v
            out.append(cls(v, g, h))
        return out

    @property
    def m(self) -> int:
        return int(self.grad.shape[-1])

    # -- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            return Jet(self.val + other.val, self.grad + other.grad, self.hess + other.hess)
        o = np.asarray(other, dtype=np.float64)
        shape = np.broadcast_shapes(self.val.shape, o.shape)
        return Jet(
            self.val + o,
            np.broadcast_to(self.grad, (*shape, self.m)),
            np.broadcast_to(self.hess, (*shape, self.m, self.m)),
        )

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return Jet(-self.val, -self.grad, -self.hess)

    def __sub__(self, other: Any) -> Jet:
        out: Jet = self + (-other)
        return out

    def __rsub__(self, other: Any) -> Jet:
        out: Jet = (-self) + other
        return out

    def __mul__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            return Jet(
                self.val * other.val,
                _col(other.val) * self.grad + _col(self.val) * other.grad,
                _col2(other.val) * self.hess
                + _col2(self.val) * other.hess
                + _outer(self.grad, other.grad)
                + _outer(other.grad, self.grad),
            )
        o = np.asarray(other, dtype=np.float64)
        return Jet(self.val * o, _col(o) * self.grad, _col2(o) * self.hess)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Jet:
        if isinstance(other, Jet):
            out: Jet = self * reciprocal(other)
            return out
        return self * (1.0 / np.asarray(other, dtype=np.float64))

    def __rtruediv__(self, other: Any) -> Jet:
        out: Jet = reciprocal(self) * other
        return out

    def take(self, index: Any) -> Jet:
        """Rows ``index`` of a per-row jet (parameters are returned unchanged)."""
        if self.val.ndim == 0:
            return self
        return Jet(self.val[index], self.grad[index], self.hess[index])


Num = Any  # Jet | ndarray | float: the helpers below accept all three


def _unary(x: Num, f: Callable[..., Any], f1: Callable[..., Any], f2: Callable[..., Any]) -> Num:
    if not isinstance(x, Jet):
        return f(x)
    v = x.val
    d1 = f1(v)
    d2 = f2(v)
    return Jet(f(v), _col(d1) * x.grad, _col2(d1) * x.hess + _col2(d2) * _outer(x.grad, x.grad))


def reciprocal(x: Num) -> Num:
    return _unary(x, lambda v: 1.0 / v, lambda v: -1.0 / v**2, lambda v: 2.0 / v**3)


def log(x: Num) -> Num:
    return _unary(x, np.log, lambda v: 1.0 / v, lambda v: -1.0 / v**2)


def log1p(x: Num) -> Num:
    return _unary(x, np.log1p, lambda v: 1.0 / (1.0 + v), lambda v: -1.0 / (1.0 + v) ** 2)


def exp(x: Num) -> Num:
    return _unary(x, np.exp, np.exp, np.exp)


def gammaln(x: Num) -> Num:
    return _unary(x, special.gammaln, special.digamma, lambda v: special.polygamma(1, v))


def betaln(a: Num, b: Num) -> Num:
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def log_beta_ratio(a: Num, b: Num, k: Any) -> Num:
    """``betaln(a, b + k) - betaln(a, b)`` for whole numbers ``k``, without cancellation
    for large ``b`` (see `_special.log_beta_ratio`)."""
    from ._special import log_beta_ratio as core

    av, bv = float(value(a)), float(value(b))
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return core(av, bv, k)[0]
    val, grad, hess = core(av, bv, k, derivatives=True)
    return compose(val, grad, hess, [a, b])


def value(x: Num) -> Any:
    return x.val if isinstance(x, Jet) else x


def logaddexp(x: Num, y: Num) -> Num:
    """``log(exp(x) + exp(y))``; ``y`` may be ``-inf`` (an absent term)."""
    if not isinstance(x, Jet) and not isinstance(y, Jet):
        return np.logaddexp(x, y)
    xv, yv = np.asarray(value(x)), np.asarray(value(y))
    out = np.logaddexp(xv, yv)
    with np.errstate(invalid="ignore"):
        w = np.exp(yv - out)  # weight of y
    w = np.where(np.isfinite(w), w, 0.0)
    if not isinstance(x, Jet):
        x = _constant_like(x, y)
    if not isinstance(y, Jet):
        y = _constant_like(y, x)
    gx, gy = x.grad, y.grad
    diff = gy - gx
    grad = gx + _col(w) * diff
    hess = x.hess + _col2(w) * (y.hess - x.hess) + _col2(w * (1.0 - w)) * _outer(diff, diff)
    return Jet(out, grad, hess)


def _constant_like(c: Any, like: Jet) -> Jet:
    c = np.asarray(c, dtype=np.float64)
    shape = np.broadcast_shapes(c.shape, like.val.shape)
    m = like.m
    return Jet(np.broadcast_to(c, shape), np.zeros((*shape, m)), np.zeros((*shape, m, m)))


def where(mask: Any, x: Num, y: Num) -> Num:
    if not isinstance(x, Jet) and not isinstance(y, Jet):
        return np.where(mask, x, y)
    if not isinstance(x, Jet):
        x = _constant_like(x, y)
    if not isinstance(y, Jet):
        y = _constant_like(y, x)
    mask = np.asarray(mask)
    return Jet(
        np.where(mask, x.val, y.val),
        np.where(_col(mask), x.grad, y.grad),
        np.where(_col2(mask), x.hess, y.hess),
    )


def compose(
    val: np.ndarray,
    grad: list[np.ndarray],
    hess: list[list[np.ndarray]],
    inputs: list[Num],
) -> Num:
    """Chain rule: a function ``f(u_1..u_k)`` whose partial derivatives are known.

    ``grad[i]`` is ``df/du_i`` and ``hess[i][j]`` is ``d2f/du_i du_j`` (per row); ``inputs``
    are the jets ``u_i``.
    """
    jets = [u for u in inputs if isinstance(u, Jet)]
    if not jets:
        return val
    ref = jets[0]
    us = [u if isinstance(u, Jet) else _constant_like(u, ref) for u in inputs]
    g = sum(_col(grad[i]) * us[i].grad for i in range(len(us)))
    h = sum(_col2(grad[i]) * us[i].hess for i in range(len(us)))
    for i in range(len(us)):
        for j in range(len(us)):
            h = h + _col2(hess[i][j]) * _outer(us[i].grad, us[j].grad)
    return Jet(val, np.asarray(g), np.asarray(h))


def weighted_sum(x: Num, weights: np.ndarray) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Total ``sum(w * x)`` with its gradient and Hessian (None for plain values)."""
    if not isinstance(x, Jet):
        return float(np.dot(weights, np.broadcast_to(x, weights.shape))), None, None
    v = np.broadcast_to(x.val, weights.shape)
    g = np.broadcast_to(x.grad, (*weights.shape, x.m))
    h = np.broadcast_to(x.hess, (*weights.shape, x.m, x.m))
    return float(np.dot(weights, v)), weights @ g, np.tensordot(weights, h, axes=(0, 0))
