"""Second-order methods: damped Newton (exact for small problems, Hessian-free by
conjugate gradients otherwise), BFGS and L-BFGS with a strong-Wolfe line search.

The notes: Newton's step ``x - H^-1 g`` needs no learning rate and converges fast near a
minimum, but H has n^2 entries; BFGS builds an approximation of H^-1 from gradient
differences (still n^2), and L-BFGS keeps only the last m pairs (s, y). They work on the
full batch; with minibatches the gradient differences mix two functions and they go wrong.

Each method is a class with ``step(objective, theta, loss, grad) -> StepResult``: the new
point, its loss and gradient, and what the step cost (gradient evaluations and
Hessian-vector products), so that methods can be compared per step and per unit of work.
:func:`minimize` runs one to the end. Core only: NumPy and the standard library.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..curvature import MAX_FULL_HESSIAN, full_hessian, hessian_vector, require_hvp
from ..errors import HillwalkError

SECOND_ORDER_METHODS = ("newton", "bfgs", "lbfgs")


@dataclass
class StepResult:
    """One step: the new point (flat), its loss and gradient (flat), and its cost."""

    theta: np.ndarray
    loss: float
    grad: np.ndarray
    gradient_evaluations: int
    hvps: int
    note: str = ""


def _flat_loss_and_grad(objective, shape):
    def evaluate(x):
        loss, grad = objective.loss_and_grad(x.reshape(shape))
        return float(loss), np.asarray(grad, dtype=np.float64).reshape(-1)
    return evaluate


# --------------------------------------------------------------------------- line search

def strong_wolfe(evaluate, x, loss, grad, direction, step=1.0, c1=1e-4, c2=0.9, max_evaluations=30):
    """A step ``a`` along ``direction`` satisfying the strong Wolfe conditions
    ``f(x + a d) <= f(x) + c1 a g.d`` and ``|g(x + a d).d| <= c2 |g.d|`` (Nocedal and
    Wright, algorithms 3.5 and 3.6, with bisection in the zoom).

    Returns (a, loss, grad, evaluations); when no such step is found within
    ``max_evaluations`` the best point that decreased the loss is returned (a = 0 if none).
    """
    slope0 = float(grad @ direction)
    if not slope0 < 0:
        raise HillwalkError("the line search needs a descent direction (g . d < 0)")
    evaluations = 0
    best = (0.0, loss, grad)

    def at(a):
        nonlocal evaluations, best
        evaluations += 1
        f, g = evaluate(x + a * direction)
        if math.isfinite(f) and f < best[1]:
            best = (a, f, g)
        return f, g

    def zoom(low, f_low, high):
        while evaluations < max_evaluations:
            a = 0.5 * (low + high)
            f, g = at(a)
            if not math.isfinite(f) or f > loss + c1 * a * slope0 or f >= f_low:
                high = a
            else:
                slope = float(g @ direction)
                if abs(slope) <= -c2 * slope0:
                    return a, f, g
                if slope * (high - low) >= 0:
                    high = low
                low, f_low = a, f
        return None

    previous_a, previous_f = 0.0, loss
    a = step
    while evaluations < max_evaluations:
        f, g = at(a)
        if not math.isfinite(f) or f > loss + c1 * a * slope0 or (evaluations > 1 and f >= previous_f):
            found = zoom(previous_a, previous_f, a)
            break
        slope = float(g @ direction)
        if abs(slope) <= -c2 * slope0:
            found = (a, f, g)
            break
        if slope >= 0:
            found = zoom(a, f, previous_a)
            break
        previous_a, previous_f = a, f
        a *= 2.0
    else:
        found = None
    if found is None:
        a, f, g = best
        return a, f, g, evaluations
    return (*found, evaluations)


# --------------------------------------------------------------------------- Newton

class Newton:
    """Damped Newton: solve ``(H + mu I) p = -g`` and step to ``x + p``.

    The damping mu starts at ``damping`` (0: the pure Newton step, which lands on a
    quadratic's minimum in one step); where H + mu I is not positive definite (or gives no
    descent direction) mu grows x 10 from 1e-3, as in Levenberg-Marquardt, and after a step
    it is divided by 10 (0 below ``min_damping``). Along the direction the full step is
    tried first and halved until the loss falls enough (Armijo).
    For at most ``exact_limit`` parameters H is formed from Hessian-vector products and the
    system solved exactly (``saddle_aware``: with the absolute values of H's eigenvalues, so
    that negative curvature is descended, not climbed: the saddle-free Newton of Dauphin et
    al. 2014); beyond that, by conjugate gradients on Hessian-vector products
    (Hessian-free), stopped at negative curvature.
    """

    def __init__(self, damping=0.0, min_damping=1e-10, saddle_aware=False, exact_limit=MAX_FULL_HESSIAN,
                 cg_iterations=100, cg_tolerance=1e-10, max_retries=30):
        if not damping >= 0 or not min_damping >= 0:
            raise HillwalkError(f"Newton's damping must be >= 0, got {damping}")
        self.damping, self.min_damping = float(damping), float(min_damping)
        # the damping a failed undamped step starts from (then x 10 per failure)
        self.first_damping = 1e-3
        self.saddle_aware = bool(saddle_aware)
        self.exact_limit = int(exact_limit)
        self.cg_iterations, self.cg_tolerance = int(cg_iterations), float(cg_tolerance)
        self.max_retries = int(max_retries)

    def _exact_solver(self, objective, theta, grad):
        hessian = full_hessian(objective, theta, max_size=self.exact_limit)
        values, vectors = np.linalg.eigh(hessian)
        if self.saddle_aware:
            values = np.abs(values)
        rotated = vectors.T @ grad

        # eigenvalues within round-off of 0 are flat directions (a softmax's unregularized
        # biases move every class alike): no step along them, as a pseudo-inverse
        flat_below = 1e-12 * max(float(np.max(np.abs(values))), 1e-300)

        def solve(mu):
            shifted = values + mu
            if np.any(shifted < -flat_below):
                return None          # not positive semi-definite at this damping: more damping
            flat = np.abs(shifted) <= flat_below
            return -(vectors @ np.where(flat, 0.0, rotated / np.where(flat, 1.0, shifted)))
        return solve, theta.size

    def _cg_solver(self, objective, theta, grad):
        count = [0]

        def solve(mu):
            p, r = np.zeros_like(grad), -grad.copy()
            d = r.copy()
            rr = float(r @ r)
            for _ in range(self.cg_iterations):
                hd = hessian_vector(objective, theta, d) + mu * d
                count[0] += 1
                curvature = float(d @ hd)
                if curvature <= 0:   # negative curvature: stop (steepest descent at the first iteration)
                    return p if np.any(p) else -grad
                step = rr / curvature
                p += step * d
                r -= step * hd
                new_rr = float(r @ r)
                if math.sqrt(new_rr) <= self.cg_tolerance * math.sqrt(float(grad @ grad)):
                    break
                d = r + (new_rr / rr) * d
                rr = new_rr
            return p
        return solve, count

    def step(self, objective, theta, loss, grad) -> StepResult:
        require_hvp(objective)
        shape = np.shape(theta)
        x, g = np.asarray(theta, dtype=np.float64).reshape(-1), np.asarray(grad, dtype=np.float64).reshape(-1)
        evaluate = _flat_loss_and_grad(objective, shape)
        if not np.any(g):
            return StepResult(x, float(loss), g, 0, 0, "the gradient is 0: a stationary point")
        exact = x.size <= self.exact_limit
        if self.saddle_aware and not exact:
            raise HillwalkError(f"saddle-free Newton takes the absolute values of the Hessian's eigenvalues, so it "
                                f"forms the {x.size} x {x.size} Hessian (at most {self.exact_limit} parameters); "
                                f"turn saddle-free off (Newton by conjugate gradients) or race within the plane")
        if exact:
            solve, hvps = self._exact_solver(objective, theta, g)
            used = lambda: hvps  # noqa: E731
        else:
            solve, count = self._cg_solver(objective, theta, g)
            used = lambda: count[0]  # noqa: E731
        mu, evaluations = self.damping, 0
        for _ in range(self.max_retries):
            p = solve(mu)
            if p is not None and np.all(np.isfinite(p)) and float(g @ p) < 0:
                break
            mu = max(10.0 * mu, self.first_damping)   # not positive definite (or no descent): more damping
        else:
            self.damping = mu
            return StepResult(x, float(loss), g, evaluations, used(), "no damping gave a descent direction: stayed")
        # backtracking from the full step (Armijo): near a minimum the full Newton step is
        # taken and converges quadratically
        slope, a = float(g @ p), 1.0
        for _ in range(self.max_retries):
            new_loss, new_grad = evaluate(x + a * p)
            evaluations += 1
            if math.isfinite(new_loss) and new_loss <= loss + 1e-4 * a * slope:
                self.damping = mu / 10.0 if mu / 10.0 >= self.min_damping else 0.0
                note = f"damping {mu:.3g}, step {a:.3g}" + ("" if exact else ", conjugate gradients")
                return StepResult(x + a * p, new_loss, new_grad, evaluations, used(), note)
            a *= 0.5
        self.damping = max(10.0 * mu, self.first_damping)
        return StepResult(x, float(loss), g, evaluations, used(), "no step along Newton's direction lowered the loss")


# --------------------------------------------------------------------------- BFGS, L-BFGS

class LBFGS:
    """L-BFGS with the last ``history`` pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k``
    (the two-loop recursion, initial scaling ``s.y / y.y``) and a strong-Wolfe line search.
    Pairs with ``s.y <= 0`` (no positive curvature seen, e.g. two minibatches' gradients) are
    skipped."""

    def __init__(self, history=10):
        if int(history) < 1:
            raise HillwalkError(f"L-BFGS keeps at least one pair, got history {history}")
        self.history = int(history)
        self.pairs = deque(maxlen=self.history)

    def direction(self, g):
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            alphas.append(a)
            q -= a * y
        if self.pairs:
            s, y, _ = self.pairs[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -q

    def remember(self, s, y):
        sy = float(s @ y)
        if sy > 1e-12 * math.sqrt(float(s @ s) * float(y @ y)):
            self.pairs.append((s, y, 1.0 / sy))

    def _first_step(self, g):
        """The line search's first trial: 1 once the history scales the direction, else a
        step of length at most 1 along -g."""
        return 1.0 if self.pairs else min(1.0, 1.0 / max(float(np.linalg.norm(g)), 1e-300))

    def step(self, objective, theta, loss, grad) -> StepResult:
        shape = np.shape(theta)
        x, g = np.asarray(theta, dtype=np.float64).reshape(-1), np.asarray(grad, dtype=np.float64).reshape(-1)
        if not np.any(g):
            return StepResult(x, float(loss), g, 0, 0, "the gradient is 0: a stationary point")
        d = self.direction(g)
        if not float(g @ d) < 0:   # a stale history can point uphill: start again from -g
            self.pairs.clear()
            d = -g
        first = self._first_step(g)
        a, new_loss, new_grad, evaluations = strong_wolfe(_flat_loss_and_grad(objective, shape), x, float(loss), g,
                                                          d, step=first)
        if a == 0.0:
            return StepResult(x, float(loss), g, evaluations, 0, "the line search found no lower point")
        new_x = x + a * d
        self.remember(new_x - x, new_grad - g)
        return StepResult(new_x, new_loss, new_grad, evaluations, 0, f"step {a:.3g}")


class BFGS(LBFGS):
    """BFGS: the dense inverse-Hessian approximation (n x n; small problems), updated with
    every pair (s, y) of positive curvature, with the same line search."""

    def __init__(self, max_size=MAX_FULL_HESSIAN):
        super().__init__(history=1)
        self.max_size = int(max_size)
        self.inverse = None

    def direction(self, g):
        if self.inverse is None:
            return -g
        return -(self.inverse @ g)

    def _first_step(self, g):
        return 1.0 if self.inverse is not None else min(1.0, 1.0 / max(float(np.linalg.norm(g)), 1e-300))

    def remember(self, s, y):
        sy = float(s @ y)
        if not sy > 1e-12 * math.sqrt(float(s @ s) * float(y @ y)):
            return
        n = s.size
        if n > self.max_size:
            raise HillwalkError(f"BFGS keeps an {n} x {n} matrix (at most {self.max_size} parameters); use L-BFGS")
        if self.inverse is None:   # the first pair sets the scale, as L-BFGS's does
            self.inverse = (sy / float(y @ y)) * np.eye(n)
        rho = 1.0 / sy
        H = self.inverse
        Hy = H @ y
        self.inverse = H - rho * (np.outer(s, Hy) + np.outer(Hy, s)) + (rho * rho * float(y @ Hy) + rho) * np.outer(s, s)

    def step(self, objective, theta, loss, grad) -> StepResult:
        self.pairs.clear()   # the dense matrix carries the history
        g = np.asarray(grad, dtype=np.float64).reshape(-1)
        if self.inverse is not None and not float(g @ self.direction(g)) < 0:
            self.inverse = None
        return super().step(objective, theta, loss, grad)


def make_second_order(method, **settings):
    """A fresh second-order method: "newton" (damping, saddle_aware, ...), "bfgs", "lbfgs"
    (history)."""
    if method == "newton":
        return Newton(**settings)
    if method == "lbfgs":
        return LBFGS(**settings)
    if method == "bfgs":
        return BFGS(**settings)
    raise HillwalkError(f"unknown second-order method {method!r}; choose {', '.join(SECOND_ORDER_METHODS)}")


@dataclass
class Minimization:
    """A run of :func:`minimize`: the points (steps + 1, n), losses, gradient norms, and the
    cumulative gradient evaluations and Hessian-vector products after each step."""

    thetas: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    gradient_evaluations: np.ndarray
    hvps: np.ndarray


def minimize(objective, theta0, method="newton", steps=100, tolerance=0.0, should_stop=None, **settings):
    """Run a second-order method from ``theta0`` for at most ``steps`` steps, stopping early
    when the gradient's norm is at most ``tolerance`` or a step cannot lower the loss."""
    optimizer = make_second_order(method, **settings)
    theta = np.asarray(theta0, dtype=np.float64)
    loss, grad = objective.loss_and_grad(theta)
    grad = np.asarray(grad, dtype=np.float64).reshape(-1)
    thetas, losses, norms, grads, hvps = [theta.reshape(-1).copy()], [float(loss)], [float(np.linalg.norm(grad))], \
        [1], [0]
    for _ in range(int(steps)):
        if norms[-1] <= tolerance or (should_stop is not None and should_stop()):
            break
        result = optimizer.step(objective, theta, loss, grad)
        moved = not np.array_equal(result.theta, theta.reshape(-1))
        theta, loss, grad = result.theta.reshape(np.shape(theta0)), result.loss, result.grad
        thetas.append(result.theta.copy())
        losses.append(float(loss))
        norms.append(float(np.linalg.norm(grad)))
        grads.append(grads[-1] + result.gradient_evaluations)
        hvps.append(hvps[-1] + result.hvps)
        if not moved:
            break
    return Minimization(np.array(thetas), np.array(losses), np.array(norms), np.array(grads), np.array(hvps))
