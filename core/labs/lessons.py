"""Computations behind the learning labs (each reproduces a lesson of the CS231n notes)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError, require_choice
from ..models.losses import _svm_margins, softmax_loss
from ..models.objectives import LinearClassifier
from ..models.regularizers import Regularizer

STEP_EXPONENTS = tuple(range(-10, 0))  # the notes' sweep: step sizes 1e-10 ... 1e-1
EXPLOSION_FACTOR = 10.0   # a loss above this many times the start loss has clearly exploded
MAX_STEP_EXPONENT = 8     # the sweep stops at 1e8 even if the loss has not exploded by then


# --------------------------------------------------------------------------- gradient check

def broken_gradient(objective):
    """A deliberately wrong gradient: the regularization term is dropped, a classic slip.

    Returns a function theta -> gradient (shaped like theta)."""
    def gradient(theta):
        full = objective.loss_and_grad(theta)[1]
        if not objective.has_regularizer:
            return full * 1.01  # no regularizer to forget: be 1% off instead
        W = np.asarray(theta, dtype=np.float64).reshape(objective.param_shape)
        return (full - objective.regularizer.gradient(W, objective.reg_mask).reshape(np.shape(theta)))
    return gradient


# --------------------------------------------------------------------------- step size

@dataclass
class StepSizeSweep:
    """The loss after one step of size ``10**k`` along the negative gradient.

    Attributes
    ----------
    exponents : int array (K,) ; step_sizes : float array (K,)
    losses : float array (K,) (inf where the step overflowed)
    start_loss : float ; best_index : int
    exploded_index : int or None
        The first step whose loss has clearly exploded (non-finite, or above
        ``EXPLOSION_FACTOR`` times the start loss); None if none did.
    """

    exponents: np.ndarray
    step_sizes: np.ndarray
    losses: np.ndarray
    start_loss: float
    best_index: int
    exploded_index: int | None = None

    @property
    def best_step(self) -> float:
        return float(self.step_sizes[self.best_index])


def has_exploded(loss: float, start_loss: float, factor: float = EXPLOSION_FACTOR) -> bool:
    """True when ``loss`` is non-finite or above ``factor`` times ``start_loss``."""
    return not math.isfinite(loss) or loss > factor * start_loss


def step_size_sweep(objective, theta, exponents=None, explosion_factor=EXPLOSION_FACTOR,
                    max_exponent=MAX_STEP_EXPONENT, should_stop=None) -> StepSizeSweep | None:
    """The notes' experiment: from ``theta``, one step ``-10**k * grad`` for each k.

    Parameters
    ----------
    objective : object with ``loss`` and ``loss_and_grad``
    theta : array of the objective's parameter shape
    exponents : ints or None
        The k to try. None: the notes' k = -10 .. -1, then k = 0, 1, ... on until the loss
        has clearly exploded (see :func:`has_exploded`) or k reaches ``max_exponent``: the
        sweep always shows where a step is too large, even where 1e-1 is still the best.
    should_stop : callable () -> bool, or None
        Checked before every step; the sweep returns None when it says stop.

    Returns
    -------
    StepSizeSweep, or None when stopped.
    """
    theta = np.asarray(theta, dtype=np.float64)
    start_loss, grad = objective.loss_and_grad(theta)
    start_loss = float(start_loss)
    if exponents is None:
        candidates = list(STEP_EXPONENTS) + list(range(STEP_EXPONENTS[-1] + 1, int(max_exponent) + 1))
        extend = True
    else:
        candidates = [int(k) for k in exponents]
        extend = False
    tried, losses, exploded_index = [], [], None
    with np.errstate(all="ignore"):
        for k in candidates:
            if should_stop is not None and should_stop():
                return None
            value = float(objective.loss(theta - 10.0 ** k * grad))
            tried.append(k)
            losses.append(value if math.isfinite(value) else math.inf)
            if exploded_index is None and has_exploded(value, start_loss, explosion_factor):
                exploded_index = len(tried) - 1
            if extend and k >= STEP_EXPONENTS[-1] and exploded_index is not None:
                break
    losses = np.array(losses)
    if not np.isfinite(losses).any():
        raise HillwalkError("every step size made the loss overflow; the gradient at this point is enormous")
    exponents = np.array(tried, dtype=int)
    return StepSizeSweep(exponents, 10.0 ** exponents.astype(float), losses, start_loss, int(np.argmin(losses)),
                         exploded_index)


# --------------------------------------------------------------------------- sanity checks

@dataclass
class SanityReport:
    """Loss at a tiny random W against its expected value, and overfitting a tiny subset."""

    loss_at_tiny_w: float
    expected: float
    expected_formula: str
    subset_size: int
    subset_losses: np.ndarray        # loss of the subset after each training step
    subset_accuracy: float

    @property
    def relative_gap(self) -> float:
        return abs(self.loss_at_tiny_w - self.expected) / self.expected

    @property
    def overfits(self) -> bool:
        return self.subset_losses[-1] < 0.05 * self.subset_losses[0] and self.subset_accuracy == 1.0


def sanity_checks(objective: LinearClassifier, subset_size=20, steps=300, seed=0, scale=1e-4) -> SanityReport:
    """The notes' two checks for a classifier.

    * At ``W = scale * randn`` every score is about 0, so the SVM loss should be
      ``(C - 1) * delta`` and the softmax loss ``ln C`` (no regularization).
    * With no regularization, ``subset_size`` examples should be fit perfectly: full-batch
      gradient descent (backtracking step) drives their loss towards 0.
    """
    from ..landscapes.centers import train_full_batch

    if not isinstance(objective, LinearClassifier):
        raise HillwalkError("the sanity checks are for the linear classifier (the expected losses assume scores "
                            "near 0); choose the linear model")
    C = objective.n_classes
    plain = LinearClassifier(objective.train, None, objective.loss_name, objective.delta, Regularizer("none"))
    theta = plain.initial_theta(scale, seed)
    loss = plain.loss(theta)
    if objective.loss_name == "svm":
        expected, formula = (C - 1) * objective.delta, f"(C - 1) x delta = ({C} - 1) x {objective.delta:g}"
    else:
        expected, formula = math.log(C), f"ln C = ln {C}"
    rng = np.random.default_rng(seed)
    size = min(subset_size, objective.n_train)
    chosen = rng.choice(objective.n_train, size, replace=False)
    train = objective.train
    subset = train.with_step(train.X[chosen], train.y[chosen], f"random subset of {size} (seed {seed})")
    tiny = LinearClassifier(subset, None, objective.loss_name, objective.delta, Regularizer("none"))
    final, _, losses = train_full_batch(tiny, tiny.initial_theta(scale, seed), steps, record=False)
    return SanityReport(float(loss), float(expected), formula, size, losses, tiny.accuracy(final))


# --------------------------------------------------------------------------- hinge anatomy

def hinge_terms_along_cut(objective: LinearClassifier, plane, example: int, alphas):
    """The SVM loss of one example along a cut, term by term.

    Returns
    -------
    terms : array (C - 1, len(alphas)): ``max(0, s_j - s_y + delta)`` for each j != y
    classes : list of the class indices j of the rows
    """
    if objective.loss_name != "svm":
        raise HillwalkError("the hinge anatomy is about the SVM loss; switch the loss to SVM")
    if not 0 <= example < objective.n_train:
        raise HillwalkError(f"example {example} is out of range (0..{objective.n_train - 1})")
    x = objective.X[example]
    y = int(objective.y[example])
    W0 = plane.center.reshape(objective.param_shape)
    D1 = plane.dir1.reshape(objective.param_shape)
    scores = (W0 @ x)[None, :] + np.asarray(alphas)[:, None] * (D1 @ x)[None, :]      # (n, C)
    margins = _svm_margins(scores, np.full(len(alphas), y), objective.delta)            # (n, C)
    classes = [j for j in range(objective.n_classes) if j != y]
    return np.maximum(margins[:, classes], 0.0).T, classes


def hinge_kinks(objective: LinearClassifier, plane, example: int):
    """Positions s along ``plane``'s first direction where one of the example's hinge
    terms ``max(0, M_j + s G_j)`` changes from zero to linear (``s = -M_j / G_j``)."""
    x = objective.X[example]
    y = int(objective.y[example])
    W0 = plane.center.reshape(objective.param_shape)
    D1 = plane.dir1.reshape(objective.param_shape)
    base, slope = W0 @ x, D1 @ x
    offsets = base - base[y] + objective.delta
    slopes = slope - slope[y]
    keep = (np.arange(objective.n_classes) != y) & (slopes != 0)
    return np.sort(-offsets[keep] / slopes[keep])


def kink_range(kinks, at_least=(-1.0, 1.0), margin=0.25):
    """A range of s holding every kink (and ``at_least``), with a margin on both sides."""
    low, high = at_least
    if kinks.size:
        low, high = min(low, float(kinks.min())), max(high, float(kinks.max()))
    pad = margin * (high - low)
    return low - pad, high + pad


TOY_POINTS = np.array([[-1.0], [0.0], [1.0]])   # three 1-D points ...
TOY_LABELS = np.array([0, 1, 2])                # ... one per class


def toy_hinge_problem(weights, row=0, column=0, base=None, delta=1.0):
    """The notes' toy: 3 one-dimensional points (with the bias trick), 3 classes; the SVM
    data loss as one weight ``W[row, column]`` varies, and each hinge term on its own.

    Returns
    -------
    total : array (len(weights),): the mean loss over the three points
    terms : dict {(i, j): array}: ``max(0, s_j - s_{y_i} + delta) / 3`` for each point i and
        class j != y_i (zero everywhere terms included, so the sum is ``total``)
    """
    X = np.hstack([TOY_POINTS, np.ones((3, 1))])                       # (3, 2)
    W = np.array([[-1.0, 0.5], [0.2, 0.1], [1.0, -0.5]]) if base is None else np.array(base, dtype=float)
    weights = np.asarray(weights, dtype=np.float64)
    terms = {}
    total = np.zeros(weights.size)
    for k, value in enumerate(weights):
        Wk = W.copy()
        Wk[row, column] = value
        scores = X @ Wk.T
        margins = _svm_margins(scores, TOY_LABELS, delta)
        for i in range(3):
            for j in range(3):
                if j == TOY_LABELS[i]:
                    continue
                terms.setdefault((i, j), np.zeros(weights.size))[k] = max(0.0, margins[i, j]) / 3
        total[k] = np.maximum(margins, 0).sum() / 3
    return total, terms


# --------------------------------------------------------------------------- decision regions

def decision_regions(objective, theta, resolution=200, margin=0.15):
    """The predicted class over the plane of a 2-D data set (in its preprocessed features).

    Returns
    -------
    xs : array (resolution,) ; ys : array (resolution,)
    classes : int array (resolution, resolution): ``classes[j, i]`` at ``(xs[i], ys[j])``
    """
    if objective.train.n_features != 2:
        raise HillwalkError(f"decision regions need a data set with 2 features (spiral, blobs, xor, circles); "
                            f"this one has {objective.train.n_features}")
    X = objective.train.X
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * (high - low)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, objective.predict(theta, np.c_[gx.ravel(), gy.ravel()]).reshape(resolution, resolution)


# --------------------------------------------------------------------------- weight initialization

# The lab compares the network's three schemes with the notes' "too large" one (randn * 1),
# which saturates tanh and sigmoid units.
INIT_LAB_SCHEMES = ("small", "large", "xavier", "he")
INIT_LAB_LABELS = {"small": "small: 0.01 randn (too small)", "large": "randn * 1 (too large)",
                   "xavier": "Xavier: randn / sqrt(fan_in)", "he": "He: randn * sqrt(2 / fan_in)"}
INIT_INPUTS = ("gaussian", "data")
HISTOGRAM_BINS = 60


@dataclass
class InitStatistics:
    """A network's hidden layers at initialization under one scheme, as histograms.

    The raw activations (examples x width per layer) stay in the worker: only what the
    lab draws and prints crosses to the GUI.

    Attributes
    ----------
    scheme : str
    activation_edges : float array (bins + 1,)
        Bin edges shared by every layer's activation histogram.
    activation_share : float array (depth, bins)
        Row k: the share of layer k's activations in each bin (each row sums to 1).
    gradient_edges : float array (bins + 1,)
        Bin edges of log10 |g| over the non-zero, finite gradient entries of every layer.
    gradient_share : float array (depth + 1, bins)
        Row k: the share of weight matrix k's gradient entries (layer 1 .. output) whose
        log10 |g| falls in each bin; entries that are exactly 0 or non-finite have no
        logarithm and are counted in ``gradient_zero`` and ``gradient_nonfinite`` instead.
    gradient_zero, gradient_nonfinite : float arrays (depth + 1,)
    activation_mean, activation_std : float arrays (depth,)
    gradient_norm : float array (depth + 1,) (inf where the gradient overflowed)
    saturated : float array (depth,)
        Share of units within 1% of the activation's bound (tanh: |h| > 0.99; sigmoid:
        h < 0.01 or h > 0.99); NaN for unbounded activations.
    dead : float array (depth,)
        Share of exactly-zero activations (ReLU's dead side).
    """

    scheme: str
    activation_edges: np.ndarray
    activation_share: np.ndarray
    gradient_edges: np.ndarray
    gradient_share: np.ndarray
    gradient_zero: np.ndarray
    gradient_nonfinite: np.ndarray
    activation_mean: np.ndarray
    activation_std: np.ndarray
    gradient_norm: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray


def gaussian_inputs(examples=500, width=500, n_classes=10, seed=0):
    """The notes' input: ``examples`` x ``width`` unit-Gaussian features, with seeded random
    labels from ``n_classes`` (the labels only give the backward pass a loss to send back).

    Returns
    -------
    X : float array (examples, width) ; y : int array (examples,)
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(examples), int(width))), rng.integers(0, int(n_classes), int(examples))


def _value_edges(arrays, bins):
    """``bins + 1`` edges spanning the finite values of ``arrays`` (a tiny span if all equal)."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return np.linspace(-1.0, 1.0, bins + 1)
    low, high = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def _shares(values, edges):
    """Share of ``values`` (all of them, not just the binned ones) in each bin of ``edges``."""
    counts, _ = np.histogram(values, bins=edges)
    return counts / max(1, np.asarray(values).size)


def initialization_statistics(X, y, n_classes, hidden=500, activation="tanh", depth=10, schemes=INIT_LAB_SCHEMES,
                              seed=0, slope=0.01, examples=500, bins=HISTOGRAM_BINS, report=None,
                              should_stop=None):
    """The notes' experiment: push data through freshly initialized networks (``depth``
    hidden layers of ``hidden`` units, no biases) and look at each hidden layer's
    activations and each weight matrix's gradient of the softmax loss, per scheme.

    Parameters
    ----------
    X : (N, D) inputs ; y : (N,) labels ; n_classes : int
    hidden : units per hidden layer ; depth : hidden layers (1 to 20)
    activation : one of core.models.network.ACTIVATIONS
    schemes : names from INIT_LAB_SCHEMES ; seed : int (the same draws for every scheme)
    examples : at most this many rows of X (a seeded subset)
    bins : histogram bins
    report : callable (fraction, text) or None ; should_stop : callable () -> bool or None

    Returns
    -------
    list of InitStatistics, one per scheme; None when stopped.
    """
    from ..models.network import (ACTIVATIONS, activation_backward, activation_forward, affine_backward, affine_forward,
                                  init_weights)

    require_choice(activation, ACTIVATIONS, "activation")
    if not 1 <= int(depth) <= 20:
        raise HillwalkError(f"the number of hidden layers must be from 1 to 20, got {depth}")
    if not 1 <= int(hidden) <= 2000:
        raise HillwalkError(f"the number of units per hidden layer must be from 1 to 2000, got {hidden}")
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if X.shape[0] > examples:
        chosen = np.sort(rng.choice(X.shape[0], examples, replace=False))
        X, y = X[chosen], np.asarray(y)[chosen]
    widths = [X.shape[1]] + [int(hidden)] * int(depth) + [int(n_classes)]
    results = []
    for number, scheme in enumerate(schemes):
        require_choice(scheme, INIT_LAB_SCHEMES, "scheme")
        if should_stop is not None and should_stop():
            return None
        if report is not None:
            report(number / len(schemes), f"initialization: {scheme}")
        draws = np.random.default_rng(seed)  # the same draws for every scheme: only the scale differs
        weights = [draws.standard_normal((fan_in, fan_out)) if scheme == "large"
                   else init_weights(fan_in, fan_out, scheme, draws)
                   for fan_in, fan_out in zip(widths[:-1], widths[1:])]
        # randn weights under ReLU grow activations ~sqrt(width / 2) per layer and the
        # backward pass can overflow: count non-finite values instead of warning
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            h, caches, activations = X, [], []
            for W in weights[:-1]:
                z, affine_cache = affine_forward(h, W, np.zeros(W.shape[1]))
                h, activation_cache = activation_forward(z, activation, slope)
                caches.append((affine_cache, activation_cache))
                activations.append(h)
            scores, last_cache = affine_forward(h, weights[-1], np.zeros(weights[-1].shape[1]))
            _, dscores = softmax_loss(scores, y)
            gradients = [None] * len(weights)
            upstream, gradients[-1], _ = affine_backward(dscores, last_cache)
            for k in range(len(weights) - 2, -1, -1):
                affine_cache, activation_cache = caches[k]
                upstream, gradients[k], _ = affine_backward(activation_backward(upstream, activation_cache),
                                                            affine_cache)
            magnitudes = [np.abs(g.ravel()) for g in gradients]
            logs = [np.log10(m[np.isfinite(m) & (m > 0)]) for m in magnitudes]
            gradient_norm = np.array([np.linalg.norm(g) for g in gradients])
        if activation == "tanh":
            saturated = [float(np.mean(np.abs(a) > 0.99)) for a in activations]
        elif activation == "sigmoid":
            saturated = [float(np.mean((a < 0.01) | (a > 0.99))) for a in activations]
        else:
            saturated = [float("nan")] * len(activations)
        activation_edges = _value_edges([a.ravel() for a in activations], bins)
        gradient_edges = _value_edges(logs, bins)
        results.append(InitStatistics(
            scheme, activation_edges,
            np.array([_shares(a[np.isfinite(a)], activation_edges) for a in activations]),
            gradient_edges, np.array([_shares(l, gradient_edges) * l.size / max(1, m.size)
                                      for l, m in zip(logs, magnitudes)]),
            np.array([float(np.mean(m == 0)) for m in magnitudes]),
            np.array([float(np.mean(~np.isfinite(m))) for m in magnitudes]),
            np.array([float(a.mean()) for a in activations]), np.array([float(a.std()) for a in activations]),
            np.where(np.isfinite(gradient_norm), gradient_norm, np.inf), np.array(saturated),
            np.array([float(np.mean(a == 0)) for a in activations])))
    if report is not None:
        report(1.0, "initialization: done")
    return results
