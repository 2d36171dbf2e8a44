"""Weight penalties R(W) and their (sub)gradients.

Conventions (stated once, used everywhere):

* L2: ``R(W) = sum W^2`` with gradient ``2 W`` (not the ``0.5 * sum W^2`` variant).
* L1: ``R(W) = sum |W|`` with subgradient ``sign(W)`` (0 at W = 0).
* Elastic net: ``R(W) = beta * sum W^2 + sum |W|``.

The total penalty is ``lam * R(W)``. Only the entries selected by a mask take part; the
linear classifier uses the mask to leave the bias column out unless the user asks for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError, require_choice

REGULARIZER_KINDS = ("none", "l2", "l1", "elastic")


@dataclass(frozen=True)
class Regularizer:
    """A weight penalty ``lam * R(W)``.

    Attributes
    ----------
    kind : {"none", "l2", "l1", "elastic"}
    lam : float
        Strength lambda, >= 0.
    beta : float
        Weight of the L2 part of the elastic net (ignored otherwise).
    """

    kind: str = "none"
    lam: float = 0.0
    beta: float = 1.0

    def __post_init__(self):
        require_choice(self.kind, REGULARIZER_KINDS, "regularizer")
        for name in ("lam", "beta"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise HillwalkError(f"regularization {name} must be a finite number >= 0, got {value}")

    @property
    def active(self) -> bool:
        return self.kind != "none" and self.lam > 0

    def penalty(self, W, mask=None) -> float:
        """``lam * R(W)`` over the entries where ``mask`` is true (all if None)."""
        if not self.active:
            return 0.0
        Wm = W if mask is None else W[mask]
        if self.kind == "l2":
            r = np.dot(Wm.ravel(), Wm.ravel())
        elif self.kind == "l1":
            r = np.abs(Wm).sum()
        else:
            r = self.beta * np.dot(Wm.ravel(), Wm.ravel()) + np.abs(Wm).sum()
        return float(self.lam * r)

    def penalty_terms(self, W, mask=None):
        """The penalty entry by entry: a 1-D array whose sum is :meth:`penalty`."""
        if not self.active:
            return np.zeros(0)
        Wm = (W if mask is None else W[mask]).ravel()
        if self.kind == "l2":
            r = Wm * Wm
        elif self.kind == "l1":
            r = np.abs(Wm)
        else:
            r = self.beta * Wm * Wm + np.abs(Wm)
        return self.lam * r

    def hessian_vector(self, W, V, mask=None):
        """The penalty's Hessian times ``V`` (shaped like ``W``): ``2 lam V`` for L2,
        ``2 lam beta V`` for the elastic net's smooth part, and 0 for L1, whose Hessian is 0
        wherever it is defined (away from W = 0, where |W| has its kink and no second
        derivative); masked entries 0."""
        V = np.asarray(V, dtype=np.float64)
        if not self.active or self.kind == "l1":
            return np.zeros_like(V)
        h = 2.0 * self.lam * (self.beta if self.kind == "elastic" else 1.0) * V
        if mask is not None:
            h = np.where(mask, h, 0.0)
        return h

    def gradient(self, W, mask=None):
        """Gradient (subgradient for L1) of :meth:`penalty`, same shape as ``W``."""
        if not self.active:
            return np.zeros_like(W, dtype=np.float64)
        if self.kind == "l2":
            g = 2.0 * W
        elif self.kind == "l1":
            g = np.sign(W)
        else:
            g = 2.0 * self.beta * W + np.sign(W)
        g = self.lam * g
        if mask is not None:
            g = np.where(mask, g, 0.0)
        return g.astype(np.float64, copy=False)
