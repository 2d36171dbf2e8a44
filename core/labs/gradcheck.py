"""Numerical gradients, relative errors, gradient checks and step-size (h) sweeps.

The numerical gradient is for checking only: it costs one (forward) or two (centered)
loss evaluations per parameter.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError

DIFFERENCE_METHODS = ("forward", "centered")
# Rules of thumb for float64 (CS231n): above 1e-2 probably wrong, 1e-2..1e-4 suspicious,
# below 1e-4 acceptable for objectives with kinks, below 1e-7 excellent.
ERROR_BANDS = (1e-7, 1e-4, 1e-2)
# Verdict thresholds of the centered difference, applied to parameters whose difference
# interval holds no kink (those are reported apart). Term-wise differences bring a correct
# gradient to 1e-8 or better on well-scaled data; 1e-6 leaves room for truncation error
# on raw features while staying far below the notes' "1e-4 is too high for smooth losses".
# A forward difference is only O(h) accurate, hence its looser threshold.
METHOD_THRESHOLDS = {"centered": 1e-6, "forward": 1e-3}
# a long check reports how far it is at most this often (every parameter costs a loss or two)
PROGRESS_INTERVAL_S = 0.1
# how a check's progress is shared: the differences up to DIFFERENCES_SHARE, the kinks (a
# network's take two forward passes a parameter as well) up to RECHECK_FROM, then the
# disagreeing parameters differenced again at 2h (with a broken gradient: nearly all)
DIFFERENCES_SHARE, RECHECK_FROM = 0.5, 0.6
PASS_THRESHOLDS = {(loss, method): threshold for method, threshold in METHOD_THRESHOLDS.items()
                   for loss in ("softmax", "svm")}
# A derivative that is NaN or inf is a failure whatever the threshold: a relative error
# cannot be formed from it, and treating it as 0 (or leaving it out) would report PASS
# for a check in which nothing was compared.


class StopRequested(Exception):
    """Raised inside a long check when its ``should_stop()`` says stop (the lab tasks
    catch it and return None)."""


def relative_error(analytic, numerical):
    """Elementwise ``|a - n| / max(|a|, |n|)``, with 0/0 defined as 0.

    Parameters
    ----------
    analytic, numerical : arrays of the same shape

    Returns
    -------
    float64 array of that shape: values in [0, 2] where both derivatives are finite, NaN
    where either is NaN or infinite (no error can be formed: never 0, which would pass).
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(n)
    a, n = np.where(finite, a, 0.0), np.where(finite, n, 0.0)
    scale = np.maximum(np.abs(a), np.abs(n))
    diff = np.abs(a - n)
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(finite, error, np.nan)


def numerical_gradient(f, theta, h=1e-5, method="centered", indices=None, should_stop=None, progress=None):
    """Finite-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable, theta -> float or 1-D array
        When it returns an array (the terms of a sum), the differences are taken term
        by term and then summed: the same finite difference of ``sum(f)``, with less
        round-off.
    theta : array of any shape
    h : float
        Step; the forward difference has error O(h), the centered one O(h^2).
    method : {"forward", "centered"}
    indices : int array or None
        Flat indices of the entries to differentiate; None for all.
    should_stop : callable () -> bool, or None
        Checked before every entry; raises :class:`StopRequested` when it says stop.
    progress : callable (done, total), or None
        Told how many entries are done, at most every PROGRESS_INTERVAL_S.

    Returns
    -------
    array: shaped like ``theta`` when ``indices`` is None, else shape (len(indices),).
    """
    if method not in DIFFERENCE_METHODS:
        raise HillwalkError(f"unknown difference {method!r}; use 'forward' or 'centered'")
    if not (np.isfinite(h) and h > 0):
        raise HillwalkError(f"the difference step h must be a positive number, got {h}")
    x = np.array(theta, dtype=np.float64)  # a private copy we perturb in place
    flat = x.reshape(-1)
    chosen = np.arange(flat.size) if indices is None else np.asarray(indices, dtype=np.int64)
    result = np.empty(chosen.size)
    # An overflowing loss gives a NaN or infinite entry, which the checks count and name;
    # NumPy's warnings about it would only bury that message.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f_here = f(x) if method == "forward" else None
        told = time.monotonic()
        for k, i in enumerate(chosen):
            if should_stop is not None and should_stop():
                raise StopRequested()
            if progress is not None and time.monotonic() - told >= PROGRESS_INTERVAL_S:
                progress(k, chosen.size)
                told = time.monotonic()
            original = flat[i]
            flat[i] = original + h
            f_plus = f(x)
            if method == "centered":
                flat[i] = original - h
                f_minus = f(x)
                result[k] = np.sum(np.subtract(f_plus, f_minus)) / (2 * h)
            else:
                result[k] = np.sum(np.subtract(f_plus, f_here)) / h
            flat[i] = original
    return result.reshape(np.shape(theta)) if indices is None else result


@dataclass
class GradientCheckResult:
    """What a gradient check found.

    Attributes
    ----------
    indices : int array, shape (K,)
        Flat indices of the checked parameters.
    analytic, numerical : float arrays, shape (K,)
    rel_error : float array, shape (K,)
        NaN where either derivative is NaN or infinite (see :func:`relative_error`).
    near_kink : bool array, shape (K,)
        Parameters whose difference interval contains a kink (SVM margin, ReLU, L1 at 0).
    method : str
    h : float
    unresolved : bool array, shape (K,)
        Parameters whose analytic and numerical derivatives are both below ``resolution``,
        what rounding alone puts into a difference quotient: a derivative that is 0 in
        exact arithmetic (an SVM bias whose margin counts balance) shows up as -1e-15
        against -2e-13, a relative error near 1 that says nothing about the gradient.
        Also those whose derivatives, or whose disagreement, lie within what the difference
        resolves: ``resolution`` plus its truncation error, estimated from a second
        difference at 2h (a derivative that is 0 at a critical point differences to about
        h^2 f'''/6). Reported apart and left out of the verdict, like kinks.
    resolution : float
    loss_finite : bool
        Whether the objective (every term of it) is finite at the checked parameters;
        it tells an overflowing loss from a too large h when a derivative is not finite.
    """

    indices: np.ndarray
    analytic: np.ndarray
    numerical: np.ndarray
    rel_error: np.ndarray
    near_kink: np.ndarray
    method: str
    h: float
    unresolved: np.ndarray = None
    resolution: float = 0.0
    loss_finite: bool = True

    def __post_init__(self):
        if self.unresolved is None:
            self.unresolved = np.zeros(self.indices.size, dtype=bool)

    @property
    def nonfinite_analytic(self) -> np.ndarray:
        """bool (K,): the analytic derivative is NaN or infinite."""
        return ~np.isfinite(self.analytic)

    @property
    def nonfinite_numerical(self) -> np.ndarray:
        """bool (K,): the numerical derivative is NaN or infinite."""
        return ~np.isfinite(self.numerical)

    @property
    def nonfinite(self) -> np.ndarray:
        """bool (K,): either derivative is NaN or infinite (no relative error exists)."""
        return self.nonfinite_analytic | self.nonfinite_numerical

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all checked parameters; inf when any derivative is
        not finite (a comparison with a threshold must fail)."""
        if self.nonfinite.any():
            return math.inf
        return float(self.rel_error.max()) if self.rel_error.size else 0.0

    @property
    def max_rel_error_away_from_kinks(self) -> float:
        """Largest relative error over parameters whose difference did not straddle a kink
        (and whose derivative is above the round-off resolution); inf when any derivative,
        kink or not, is NaN or infinite."""
        if self.nonfinite.any():
            return math.inf
        away = self.rel_error[~self.near_kink & ~self.unresolved]
        return float(away.max()) if away.size else 0.0

    def band_counts(self) -> dict:
        """How many errors fall in each rule-of-thumb band (and, when there are any, how
        many parameters have no error because a derivative is not finite)."""
        e = self.rel_error[np.isfinite(self.rel_error)]
        low, mid, high = ERROR_BANDS
        counts = {f"<{low:g}": int((e < low).sum()), f"{low:g}..{mid:g}": int(((e >= low) & (e < mid)).sum()),
                  f"{mid:g}..{high:g}": int(((e >= mid) & (e < high)).sum()), f">={high:g}": int((e >= high).sum())}
        if self.nonfinite.any():
            counts["non-finite"] = int(self.nonfinite.sum())
        return counts

    def percentiles(self) -> dict:
        """Median, 90th and 99th percentiles and maximum of the finite relative errors
        ({} when there are none)."""
        finite = self.rel_error[np.isfinite(self.rel_error)]
        if not finite.size:
            return {}
        q = np.percentile(finite, [50, 90, 99, 100])
        return {"median": float(q[0]), "p90": float(q[1]), "p99": float(q[2]), "max": float(q[3])}

    def unresolved_text(self) -> str:
        """One sentence on the parameters left out of the verdict as unresolved (not
        straddling a kink), or '' when there are none."""
        count = int((self.unresolved & ~self.near_kink).sum())
        if not count:
            return ""
        return (f"{count} parameter(s) the difference cannot resolve: their derivatives, or the disagreement "
                f"between them, lie within its round-off ({self.resolution:.1e}) and truncation error (a "
                "derivative of 0 differences to noise); they are left out of the verdict too")

    def worst_by_block(self, blocks) -> list:
        """For each parameter block ``(name, offset, size)`` (the objective's, in the flat
        parameter vector) that holds compared parameters (not straddling a kink, resolved by
        the difference): ``(name, how many, largest relative error)``, in the order given
        (inf where a derivative is not finite). A gradient bug shows up as one block's error."""
        compared = ~self.near_kink & ~self.unresolved
        found = []
        for name, offset, size in blocks:
            inside = compared & (self.indices >= offset) & (self.indices < offset + size)
            if inside.any():
                errors = self.rel_error[inside]
                found.append((name, int(inside.sum()),
                              float(errors.max()) if np.all(np.isfinite(errors)) else math.inf))
        return found

    def verdict(self, threshold: float | None = None) -> GradientVerdict:
        """PASS or FAIL against ``threshold`` (default: :data:`METHOD_THRESHOLDS` of the
        method), with the reason of a failure."""
        threshold = METHOD_THRESHOLDS[self.method] if threshold is None else float(threshold)
        worst = self.max_rel_error_away_from_kinks
        reasons = self._nonfinite_reasons()
        compared = int((~self.near_kink & ~self.unresolved).sum())
        if not reasons and compared == 0:
            reasons.append(f"no parameter could be compared: every derivative is below what a difference with "
                           f"h = {self.h:g} resolves or straddles a kink; check at a point where the gradient "
                           f"is not zero (zero initialization gives none: choose another initialization or seed) "
                           f"or with an h larger than {self.h:g}")
        elif not reasons and not worst < threshold:
            away = ~self.near_kink & ~self.unresolved
            where = int(self.indices[away][np.argmax(self.rel_error[away])])
            reasons.append(f"the analytic gradient disagrees with the finite differences: relative error "
                           f"{worst:.2e} at parameter {where}, above the threshold {threshold:g}")
        return GradientVerdict(not reasons, worst, threshold, "; ".join(reasons))

    def _nonfinite_reasons(self) -> list:
        """One sentence per kind of non-finite derivative: how many, and why."""
        reasons = []
        analytic, numerical = int(self.nonfinite_analytic.sum()), int(self.nonfinite_numerical.sum())
        if analytic:
            cause = ("the loss is not finite there either: it overflows (the weights or the features are too "
                     "large); check at smaller weights, or standardize the features" if not self.loss_finite else
                     "the gradient code overflows or divides by zero at these weights")
            reasons.append(f"{analytic} parameter(s) have a non-finite analytic derivative (NaN or inf): {cause}")
        if numerical:
            if not self.loss_finite:
                cause = ("the loss itself is not finite at the checked weights: it overflows (the weights or the "
                         "features are too large); check at smaller weights, or standardize the features")
            elif self.h > 1:
                cause = (f"h = {self.h:g} is too large: the loss overflows at W + h and W - h; use a small "
                         "step such as 1e-5")
            else:
                cause = (f"the loss overflows at W + h or W - h (h = {self.h:g}): the weights are at the edge of the "
                         "floating-point range; check at smaller weights")
            reasons.append(f"{numerical} parameter(s) have a non-finite numerical derivative (NaN or inf): {cause}")
        return reasons


@dataclass(frozen=True)
class GradientVerdict:
    """The outcome of a gradient check against a threshold.

    Attributes
    ----------
    passed : bool
    worst : float
        The largest relative error away from kinks (inf when a derivative is not finite).
    threshold : float
    reason : str
        Why it failed, in one sentence (or several joined by '; '); '' when it passed.
    """

    passed: bool
    worst: float
    threshold: float
    reason: str

    @property
    def word(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        """'max relative error: 2.3e-09 (threshold 1e-06) -> PASS', or '-> FAIL: reason'."""
        text = f"max relative error: {self.worst:.3e} (threshold {self.threshold:g}) -> {self.word}"
        return text if self.passed else f"{text}: {self.reason}"


def parameter_blocks(objective) -> tuple:
    """The objective's parameter blocks as (name, offset, size) in the flat parameters, in
    layout order, for :meth:`GradientCheckResult.worst_by_block` (a linear classifier: W;
    a network: W1, b1, ...; a 2-D function: its (x, y) as one)."""
    if objective.has_layers:
        return tuple((block.name, block.offset, block.size) for block in objective.parameter_blocks())
    return (("(x, y)", 0, int(np.prod(objective.param_shape))),)


def choose_indices(size: int, samples: int | None, seed: int = 0):
    """All flat indices (``samples`` None or >= size) or a sorted random sample of them."""
    if samples is None or samples >= size:
        return np.arange(size)
    if samples < 1:
        raise HillwalkError(f"the number of sampled parameters must be at least 1, got {samples}")
    return np.sort(np.random.default_rng(seed).choice(size, samples, replace=False))


def gradient_check(objective, theta, samples=None, h=1e-5, method="centered", seed=0, gradient_fn=None,
                   should_stop=None, progress=None):
    """Compare an objective's analytic gradient with finite differences.

    Parameters
    ----------
    objective : object with ``loss(theta)`` and ``loss_and_grad(theta)``
        (and optionally ``kinks_near(theta, indices, h)``).
    theta : array, the objective's parameter shape
    samples : int or None
        Check this many random parameters (``seed``), or all when None.
    gradient_fn : callable or None
        theta -> gradient to check instead of ``objective.loss_and_grad`` (used to show
        what a broken gradient looks like).
    should_stop : callable () -> bool, or None
        See :func:`numerical_gradient`.
    progress : callable (fraction, text), or None
        How far the check is (the differences, the kinks, the second differences), at
        most every PROGRESS_INTERVAL_S: a network's check of every parameter takes minutes.

    Returns
    -------
    GradientCheckResult
    """
    theta = np.asarray(theta, dtype=np.float64)
    indices = choose_indices(theta.size, samples, seed)
    difference_function = _difference_function(objective)
    # Weights or steps that overflow the loss give NaN or infinite derivatives, which the
    # result counts and its verdict names (a failure); NumPy's warnings would only bury that.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        grad = gradient_fn(theta) if gradient_fn is not None else objective.loss_and_grad(theta)[1]
        analytic = np.asarray(grad, dtype=np.float64).reshape(-1)[indices]
        def differences_done(done, total):
            progress(DIFFERENCES_SHARE * done / total, f"gradient check: {done:,} of {total:,} parameters differenced")

        numerical = numerical_gradient(difference_function, theta, h, method, indices, should_stop,
                                       None if progress is None else differences_done)
        if progress is not None:
            progress(DIFFERENCES_SHARE, f"gradient check: kinks of {indices.size:,} parameters")
        if objective.has_data:  # classifiers have kinks (SVM margins, L1 at 0); 2-D functions are smooth
            near_kink = np.asarray(objective.kinks_near(theta, indices, h), dtype=bool)
        else:
            near_kink = np.zeros(indices.size, dtype=bool)
        terms = np.asarray(difference_function(theta), dtype=np.float64)
        loss_finite = bool(np.all(np.isfinite(terms)))
        resolution = roundoff_level(terms, h) if loss_finite else 0.0
    magnitude = np.maximum(np.abs(analytic), np.abs(numerical))
    unresolved = magnitude < resolution  # False where NaN
    rel_error = relative_error(analytic, numerical)
    # What the difference quotient itself can resolve: its round-off (``resolution``) plus
    # its truncation error, which the difference at 2h estimates (it changes by 3 times it;
    # a forward difference by once). A disagreement within that says nothing about the
    # gradient: a derivative that is 0 at a critical point (the monkey saddle's centre)
    # differences to about h^2 f'''/6, a relative error of 1; a derivative of 3e-7 against
    # a round-off of 2e-11 carries a relative error of 1e-5 from rounding alone. Such
    # parameters are unresolved too. Only disagreeing parameters pay for the estimate.
    suspect = np.isfinite(rel_error) & (rel_error > ERROR_BANDS[0]) & ~near_kink & ~unresolved
    if suspect.any():
        count = int(suspect.sum())

        def again(done, total):
            progress(RECHECK_FROM + (1.0 - RECHECK_FROM) * done / total,
                     f"gradient check: {done:,} of {count:,} disagreeing parameters differenced again at 2h")

        if progress is not None:
            again(0, count)
        wider = numerical_gradient(difference_function, theta, 2 * h, method, indices[suspect], should_stop,
                                   None if progress is None else again)
        noise = np.abs(wider - numerical[suspect]) / (3.0 if method == "centered" else 1.0) + resolution
        disagreement = np.abs(analytic[suspect] - numerical[suspect])
        unresolved[suspect] = (magnitude[suspect] <= noise) | (disagreement <= noise)
    return GradientCheckResult(indices, analytic, numerical, rel_error, near_kink, method, float(h), unresolved,
                               resolution, loss_finite)


def roundoff_level(terms, h):
    """What rounding alone can put into a difference quotient of ``sum(terms)`` with step
    h: ``eps * sum|terms| / h``. Derivatives below it cannot be resolved by differencing."""
    return float(np.finfo(np.float64).eps * np.sum(np.abs(terms)) / h)


def h_sweep(objective, theta, hs=None, samples=20, method="centered", seed=0, should_stop=None, progress=None):
    """Gradient-check error as a function of the difference step h.

    Large h: truncation error (O(h) forward, O(h^2) centered); small h: round-off
    (about machine-epsilon * |L| / h). The best h sits in between. ``progress(fraction,
    text)``, if given, hears of each h before it is differenced.

    Returns
    -------
    hs : float array, shape (M,)
    max_errors, median_errors : float arrays, shape (M,)
        NaN at an h where any derivative (analytic or numerical) is NaN or infinite: such
        an h has no error to draw, and a plot must leave it out rather than show it as 0.
    """
    hs = np.logspace(-12, -1, 23) if hs is None else np.asarray(hs, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    indices = choose_indices(theta.size, samples, seed)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        analytic = np.asarray(objective.loss_and_grad(theta)[1], dtype=np.float64).reshape(-1)[indices]
    max_errors, median_errors = np.full(hs.size, np.nan), np.full(hs.size, np.nan)
    for k, h in enumerate(hs):
        if progress is not None:
            progress(k / hs.size, f"h sweep: h = {h:.1e} ({k + 1} of {hs.size})")
        errors = relative_error(analytic, numerical_gradient(_difference_function(objective), theta, h, method,
                                                             indices, should_stop))
        if np.all(np.isfinite(errors)):
            max_errors[k], median_errors[k] = errors.max(), np.median(errors)
    return hs, max_errors, median_errors


def _difference_function(objective):
    """What to difference: the objective's terms when it exposes them, else its loss."""
    return objective.loss_terms if objective.has_data else objective.loss
