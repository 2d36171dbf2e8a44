"""Whether a few labelled points can be classified perfectly by a linear model, with a
certificate either way (used by the sanity checks: failing to overfit examples that no
linear model can fit says nothing about a bug).

A linear classifier ``scores = W x~`` (x~ = [x, 1], the bias trick) gets every example
right with a positive margin iff some W satisfies ``(w_{y_i} - w_j) . x~_i > 0`` for every
example i and class j != y_i, i.e. ``a_ij . vec(W) > 0`` with ``a_ij = (e_{y_i} - e_j) (x) x~_i``.
By Gordan's theorem exactly one of two things holds:

* separable: the point of the convex hull of the ``a_ij`` nearest to 0 is not 0, and that
  point, as W, separates (every ``a_ij . p >= |p|^2 > 0``);
* not separable: 0 lies in the hull: weights ``lambda_ij >= 0`` summing to 1 make
  ``sum lambda_ij a_ij = 0``, and the examples with positive weight cannot all be right at once.

The nearest point is found by Wolfe's minimum-norm-point algorithm (exact, finite, small
linear solves), which returns the weights as well.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A hull point this close to 0 (relative to the largest a_ij) is 0 up to rounding.
ZERO_DISTANCE = 1e-9


@dataclass
class Separation:
    """The answer for a set of examples.

    Attributes
    ----------
    separable : bool or None
        True with a separating ``W``; False with ``conflict``; None when rounding leaves it
        open (the nearest hull point is neither clearly 0 nor clearly separating).
    W : float array (C, D + 1) or None
        A separating weight matrix (``separable`` True).
    margin : float
        The smallest ``s_{y_i} - s_j`` of ``W`` over the examples (> 0 when separable).
    conflict : int array (K,)
        Rows (of the X given) whose examples cannot all be classified correctly at once
        (``separable`` False), smallest first.
    duplicates : list of (int, int)
        Pairs of rows that are the same point with different labels (no model at all can
        fit them); found before anything else.
    """

    separable: bool | None
    W: np.ndarray | None = None
    margin: float = 0.0
    conflict: np.ndarray = None
    duplicates: list = None

    def __post_init__(self):
        self.conflict = np.zeros(0, dtype=int) if self.conflict is None else self.conflict
        self.duplicates = [] if self.duplicates is None else self.duplicates


def conflicting_duplicates(X, y) -> list:
    """Pairs ``(i, k)``, ``i < k``, of rows of X (N, D) that are equal but labelled differently.

    Returns
    -------
    list of (int, int), in row order; one pair per conflicting row k (with the first row i
    equal to it).
    """
    X = np.asarray(X)
    y = np.asarray(y)
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = np.ravel(inverse)
    pairs = []
    for k in range(X.shape[0]):
        i = int(first[inverse[k]])
        if i != k and y[i] != y[k]:
            pairs.append((i, k))
    return pairs


def standardized(X):
    """X (N, D) with every feature centred and divided by its spread, shape (N, D).

    Features are first divided by their largest |x|, so values near the float64 limit do
    not overflow the variance; a constant feature (spread 0, or rounding noise such as
    1e-17 for a centred constant) is only centred.
    """
    return _standardizing(X)[0]


def _standardizing(X):
    """(X standardized, a, b): the standardized X equals ``X * a + b`` (a, b shape (D,))."""
    X = np.asarray(X, dtype=np.float64)
    size = np.abs(X).max(axis=0) if X.shape[0] else np.ones(X.shape[1])
    size = np.where(size > 0, size, 1.0)
    Z = X / size                                             # every entry in [-1, 1]
    mean = Z.mean(axis=0)
    Z = Z - mean
    spread = Z.std(axis=0)
    spread = np.where(spread > 1e-9, spread, 1.0)
    return Z / spread, 1.0 / (size * spread), -mean / spread


def linear_separation(X_bias, y, n_classes) -> Separation:
    """Whether a linear classifier can get every example right.

    Parameters
    ----------
    X_bias : float array (N, D + 1): the examples with the bias column (``x~``, ones last)
    y : int array (N,) in 0..n_classes-1
    n_classes : int

    Returns
    -------
    Separation (its W applies to ``X_bias`` as given)

    Notes
    -----
    Separability does not change under an affine map of the features, which the bias
    absorbs: the search runs on standardized features, where its rounding tolerances hold
    whatever the data's units, and W is mapped back.
    """
    X_bias = np.asarray(X_bias, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    duplicates = conflicting_duplicates(X_bias, y)
    if duplicates:
        return Separation(False, conflict=np.array(sorted({r for pair in duplicates for r in pair})),
                          duplicates=duplicates)
    features, a, b = _standardizing(X_bias[:, :-1])
    found = _separation(np.hstack([features, np.ones((X_bias.shape[0], 1))]), y, n_classes)
    if found.W is not None:  # the same scores from the given features: [x, 1] W^T
        W = found.W
        found.W = np.hstack([W[:, :-1] * a, (W[:, -1] + W[:, :-1] @ b)[:, None]])
    return found


def _separation(X_bias, y, n_classes) -> Separation:
    """:func:`linear_separation` on well-scaled features."""
    n, width = X_bias.shape
    rows, examples = [], []
    for i in range(n):
        for j in range(n_classes):
            if j != y[i]:
                a = np.zeros((n_classes, width))
                a[y[i]], a[j] = X_bias[i], -X_bias[i]
                rows.append(a.ravel())
                examples.append(i)
    if not rows:  # one class only: any W gets every example right
        return Separation(True, np.zeros((n_classes, width)), np.inf)
    points = np.array(rows)                                   # (n (C-1), C (D+1))
    nearest, support, _ = min_norm_point(points)
    if not support:  # the minor cycle broke down in rounding: no answer rather than a wrong one
        return Separation(None)
    largest = float(np.sqrt(np.max(np.sum(points * points, axis=1))))
    W = nearest.reshape(n_classes, width)
    scores = X_bias @ W.T
    correct = scores[np.arange(n), y]
    others = np.where(np.arange(n_classes)[None, :] == y[:, None], -np.inf, scores)
    margin = float(np.min(correct - others.max(axis=1))) if n_classes > 1 else np.inf
    size = float(np.linalg.norm(nearest))
    # what rounding can put into a score difference of this W: eps-level terms of |W| |x~|
    noise = 1e3 * np.finfo(np.float64).eps * size * largest
    if margin > noise:
        return Separation(True, W, margin)
    if size <= ZERO_DISTANCE * largest:
        return Separation(False, margin=margin, conflict=np.array(sorted({examples[s] for s in support})))
    return Separation(None, margin=margin)


def min_norm_point(points, tolerance=1e-12, max_iterations=10000):
    """The point of the convex hull of ``points`` nearest to the origin (Wolfe, 1976).

    Parameters
    ----------
    points : float array (M, n)

    Returns
    -------
    nearest : float array (n,)
    support : list of int: rows of ``points`` with positive weight
    weights : float array (len(support),): convex weights, ``nearest = weights @ points[support]``
    """
    P = np.asarray(points, dtype=np.float64)
    gram = P @ P.T
    scale = float(np.max(np.diag(gram)))
    support = [int(np.argmin(np.diag(gram)))]
    weights = np.array([1.0])
    nearest = P[support[0]].copy()
    for _ in range(max_iterations):
        dots = P @ nearest
        j = int(np.argmin(dots))
        # optimal when no point lies further "below" the current one than it does itself
        if nearest @ nearest - dots[j] <= tolerance * scale or j in support:
            break
        support.append(j)
        weights = np.append(weights, 0.0)
        while True:  # the minor cycle: move to the affine minimizer, dropping points on the way
            k = len(support)
            system = np.zeros((k + 1, k + 1))
            system[:k, :k] = gram[np.ix_(support, support)]
            system[:k, k] = system[k, :k] = 1.0
            right = np.zeros(k + 1)
            right[k] = 1.0
            affine = np.linalg.lstsq(system, right, rcond=None)[0][:k]
            if np.all(affine > 1e-15):
                weights = affine
                break
            falling = affine <= 1e-15
            step = float(np.min(weights[falling] / np.maximum(weights[falling] - affine[falling], 1e-300)))
            weights = weights + step * (affine - weights)
            keep = weights > 1e-15
            support = [s for s, kept in zip(support, keep) if kept]
            weights = weights[keep]
        nearest = weights @ P[support]
    return nearest, support, weights
