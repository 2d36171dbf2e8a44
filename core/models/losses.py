"""Score-level losses: the multiclass SVM (hinge) loss and the softmax cross-entropy loss.

Both take the class scores of N examples and return the mean loss over the examples and
its gradient with respect to the scores. Regularization is not part of these functions
(see :mod:`core.models.regularizers`); the objectives in :mod:`core.models.objectives` combine them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["svm_loss", "softmax_loss", "svm_hinge_terms", "svm_loss_per_example", "softmax_probabilities",
           "softmax_loss_per_example"]


def _check_scores_and_labels(scores, y):
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a 2-D array (N x C), got shape {scores.shape}")
    if y.shape != (scores.shape[0],):
        raise ValueError(f"y must have shape ({scores.shape[0]},) to match scores {scores.shape}, got {y.shape}")
    if scores.shape[0] == 0:
        raise ValueError("scores has no examples (N = 0); a mean loss needs at least one")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= scores.shape[1]:
        raise ValueError(f"labels must lie in 0..{scores.shape[1] - 1}, got {y.min()}..{y.max()}")
    return scores, y


def svm_loss(scores, y, delta=1.0):
    """Multiclass SVM (Weston-Watkins hinge) loss, averaged over examples.

    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta)``; the correct class itself is
    not counted, so at scores of zero the loss is ``(C - 1) * delta``.

    Parameters
    ----------
    scores : array, shape (N, C)
        Class scores.
    y : int array, shape (N,)
        Correct class of each example, in ``0..C-1``.
    delta : float
        The margin.

    Returns
    -------
    loss : float
        ``(1/N) sum_i L_i``.
    dscores : array, shape (N, C)
        Subgradient of ``loss`` with respect to ``scores``: ``1/N`` for every positive
        margin, ``-(number of positive margins)/N`` at the correct class. At a margin of
        exactly zero (a kink) the subgradient 0 is used.
    """
    scores, y = _check_scores_and_labels(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    margins = _svm_margins(scores, y, delta)
    positive = margins > 0
    loss = float(np.where(positive, margins, 0.0).sum() / n)
    dscores = positive.astype(np.float64)
    dscores[rows, y] = -positive.sum(axis=1)
    dscores /= n
    return loss, dscores


def softmax_loss(scores, y):
    """Softmax cross-entropy loss (natural log), averaged over examples.

    ``L_i = -log(exp(s_{y_i}) / sum_j exp(s_j))``, computed as
    ``logsumexp(s_i) - s_{y_i}`` after subtracting the row maximum, so scores of any
    magnitude (1e4 and beyond) neither overflow nor produce NaN.

    Parameters
    ----------
    scores : array, shape (N, C)
        Class scores.
    y : int array, shape (N,)
        Correct class of each example, in ``0..C-1``.

    Returns
    -------
    loss : float
        ``(1/N) sum_i L_i``.
    dscores : array, shape (N, C)
        ``(p - onehot(y)) / N`` where ``p`` are the softmax probabilities.
    """
    scores, y = _check_scores_and_labels(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp_shifted = np.exp(shifted)
    sum_exp = exp_shifted.sum(axis=1)
    log_probs_correct = shifted[rows, y] - np.log(sum_exp)
    loss = float(-log_probs_correct.sum() / n)
    dscores = exp_shifted / sum_exp[:, None]
    dscores[rows, y] -= 1.0
    dscores /= n
    return loss, dscores


def svm_hinge_terms(scores, y, delta=1.0, include_correct=False):
    """The SVM loss term by term: ``max(0, s_j - s_{y_i} + delta)`` for every example and class.

    Parameters
    ----------
    scores : array, shape (N, C)
    y : int array, shape (N,)
    delta : float
    include_correct : bool
        Also count the correct class's own term ``max(0, s_{y_i} - s_{y_i} + delta) =
        max(0, delta)`` (a common mistake the notes warn about); by default it is 0.

    Returns
    -------
    array, shape (N, C): row i sums to ``L_i`` (plus ``max(0, delta)`` with ``include_correct``).
    """
    scores, y = _check_scores_and_labels(scores, y)
    margins = _svm_margins(scores, y, delta)
    if include_correct:
        margins[np.arange(scores.shape[0]), y] = delta   # s_{y_i} - s_{y_i} + delta
    return np.maximum(margins, 0.0)


def svm_loss_per_example(scores, y, delta=1.0):
    """``L_i`` of the SVM loss for each example (the terms the mean of :func:`svm_loss`
    averages), shape (N,)."""
    scores, y = _check_scores_and_labels(scores, y)
    return _svm_per_example(scores, y, delta)


def softmax_probabilities(scores):
    """Softmax of each row, ``exp(s_j) / sum_k exp(s_k)``, computed after subtracting the
    row maximum (no overflow). ``scores`` (N, C) -> probabilities (N, C), rows summing to 1."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a 2-D array (N x C), got shape {scores.shape}")
    exp_shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp_shifted / exp_shifted.sum(axis=1, keepdims=True)


def softmax_loss_per_example(scores, y):
    """``L_i = -log p_{y_i}`` of the softmax loss for each example (the terms the mean of
    :func:`softmax_loss` averages), shape (N,)."""
    scores, y = _check_scores_and_labels(scores, y)
    return _softmax_per_example(scores, y)


# Per-example losses, without the mean; used where each example's loss matters on its own
# (single-example landscapes, term-wise finite differences). Inputs are trusted here.

def _svm_margins(scores, y, delta):
    """Hinge margins ``s_j - s_{y_i} + delta`` (N x C) with the correct class set to 0."""
    rows = np.arange(scores.shape[0])
    margins = scores - scores[rows, y][:, None] + delta
    margins[rows, y] = 0.0
    return margins


def _svm_per_example(scores, y, delta):
    """``L_i`` of the SVM loss, shape (N,)."""
    return np.maximum(_svm_margins(scores, y, delta), 0.0).sum(axis=1)


def _softmax_per_example(scores, y):
    """``L_i`` of the softmax loss (``logsumexp(s_i) - s_{y_i}``, computed stably), shape (N,)."""
    top = scores.max(axis=1)
    shifted = scores - top[:, None]
    return np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(scores.shape[0]), y]


def softmax_loss_sums_shifted_by_correct(scores, correct, out=None):
    """Per point, the sum over examples of softmax's ``L_i = log sum_j exp(s_j - s_y)`` of
    scores laid out as for :func:`per_example_losses_by_rows` ((P, C, n), contiguous;
    ``correct`` likewise), shifted by the correct class's score instead of the largest:
    the correct class's term is exp(0) = 1, so the sum is at least 1 and needs no
    correction after the log, and the largest score's reduction is not needed (the network
    fast slice's loss, 20% less time than the largest-score shift). Overwrites ``scores``.

    Where some ``s_j - s_y`` exceeds about 709 its exponential overflows and the point's
    sum comes out inf (NaN where a score is NaN): the caller recomputes those with
    :func:`per_example_losses_by_rows`. The overflow is reported as NumPy's error state
    says: the caller, which expects it, holds ``np.errstate(over="ignore")``, once for many
    calls (this runs per block of examples, and every call costs interpreter time).
    Returns ``out`` (P,), or a new array."""
    P = scores.shape[0]
    np.subtract(scores, scores.reshape(P, -1).take(correct, axis=1)[:, None, :], out=scores)
    np.exp(scores, out=scores)
    per_example = np.add.reduce(scores, axis=1)                              # (P, n)
    np.log(per_example, out=per_example)
    return np.add.reduce(per_example, axis=1, out=out)


def per_example_losses_by_rows(scores, correct, loss, delta=1.0, top=None):
    """``L_i`` of scores laid out with the classes on the second-to-last axis and the
    examples on the last, ``(..., C, n)`` (the classes' reductions then run along
    contiguous rows of examples), as the network fast slice and a linear classifier's
    plane scores lay them out. The same operations as :func:`_svm_per_example` and
    :func:`_softmax_per_example` (largest-score shift), transposed. Overwrites ``scores``.

    Parameters
    ----------
    scores : array (..., C, n), contiguous ; correct : int array (n,), the correct
    classes' flat indices in a (C, n) slice (``y * n + arange(n)``) ; loss : "svm" or
    "softmax" ; delta : the SVM margin ; top : None, or ``scores.max(axis=-2)`` (..., n)
    where the caller has it already (softmax's shift)

    Returns
    -------
    array (..., n)
    """
    flat = scores.reshape(scores.shape[:-2] + (-1,))
    if loss == "svm":   # sum over j of max(0, s_j - s_y + delta), the correct class's term 0
        scores -= np.take(flat, correct, axis=-1)[..., None, :]
        scores += delta
        flat[..., correct] = 0.0
        np.maximum(scores, 0.0, out=scores)
        return scores.sum(axis=-2)
    # log sum_j exp(s_j - m) - (s_y - m), m the largest score
    scores -= (scores.max(axis=-2) if top is None else top)[..., None, :]
    correct_shifted = np.take(flat, correct, axis=-1)
    np.exp(scores, out=scores)
    per_example = np.log(scores.sum(axis=-2))
    per_example -= correct_shifted
    return per_example
