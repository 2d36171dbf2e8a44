"""The CS231n notes' worked example of the two losses, computed by the app's own loss code.

Three images (cat, car, frog) and three classes (cat, car, frog): each row of the score
table holds one image's class scores, in the class order of the columns, and the image's
label says which column is its correct class. From such a table (any N x C, the notes'
by default) :func:`worked_example` computes the multiclass SVM loss term by term, the
softmax probabilities and losses, and answers the notes' questions about them:

(a) summing over every class, the correct one included, adds ``delta`` to each ``L_i``;
(b) moving the car image's car score by +-0.5 leaves its SVM loss at 0 (the notes'
    scores; an edited table may not, and the result says which);
(c) at scores of 0 (tiny W) the SVM loss is ``(C - 1) delta`` and the softmax loss
    ``ln C``.

:func:`regularization_example` is the notes' L2 example: two weight vectors with the same
score on ``x = [1, 1, 1, 1]``, whose L2 penalties differ (L2 prefers the spread-out one)
while their L1 penalties agree. Every loss and penalty comes from
:mod:`core.models.losses` and :mod:`core.models.regularizers`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import HillwalkError
from ..limits import RANGES, check
from ..models.losses import (
    softmax_loss,
    softmax_loss_per_example,
    softmax_probabilities,
    svm_hinge_terms,
    svm_loss,
    svm_loss_per_example,
)
from ..models.regularizers import Regularizer

# The notes' numbers: rows are the images, columns the class scores, labels the images' classes.
NOTES_SCORES = ((3.2, 5.1, -1.7),
                (1.3, 4.9, 2.0),
                (2.2, 2.5, -3.1))
NOTES_LABELS = (0, 1, 2)
NOTES_DELTA = 1.0
NOTES_NAMES = ("cat", "car", "frog")   # the images (rows) and the classes (columns), in label order
CAR_EXAMPLE = 1                        # question (b) moves the car image's correct score
WIGGLE = 0.5                           # ... by this much either way

# The notes' L2 example.
NOTES_X = (1.0, 1.0, 1.0, 1.0)
NOTES_W1 = (1.0, 0.0, 0.0, 0.0)
NOTES_W2 = (0.25, 0.25, 0.25, 0.25)


def _readonly(array):
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


def _cell_name(row, column, shape):
    if shape == (len(NOTES_NAMES), len(NOTES_NAMES)):
        return f"the {NOTES_NAMES[row]} image's score for {NOTES_NAMES[column]}"
    return f"the score in row {row + 1}, column {column + 1}"


def score_table(scores) -> np.ndarray:
    """The score table as float64, checked: a rectangular table of N >= 1 rows (examples)
    and C >= 2 columns (classes) of finite numbers. Entries may be text ("3.2", " -1e-3 ";
    a typographic minus is read as "-"), as a table's cells hold them.

    Parameters
    ----------
    scores : nested sequence or array, shape (N, C)

    Returns
    -------
    array, shape (N, C)

    Raises
    ------
    HillwalkError naming the first bad cell and what to type instead.
    """
    cells = np.asarray(scores, dtype=object)   # a ragged table comes out 1-D: refused below
    if cells.ndim != 2 or cells.shape[0] < 1 or cells.shape[1] < 2:
        ragged = cells.ndim == 1 and cells.size > 0 and all(np.ndim(row) == 1 for row in cells)
        raise HillwalkError("the scores must be a rectangular table of at least 1 example (row) and 2 classes "
                            f"(columns), got {'rows of unequal length' if ragged else f'shape {cells.shape}'}")
    rows, shape = cells.tolist(), cells.shape
    table = np.empty(shape)
    for i, row in enumerate(rows):
        for j, entry in enumerate(row):
            where = _cell_name(i, j, shape)
            try:
                if isinstance(entry, (bool, np.bool_)):
                    raise ValueError
                value = float(entry.strip().replace("\u2212", "-")) if isinstance(entry, str) else float(entry)
            except (TypeError, ValueError):
                raise HillwalkError(f"{where} is {str(entry)!r}, which is not a number; type a number such as "
                                    "2.5 or -1e-3") from None
            if not math.isfinite(value):
                raise HillwalkError(f"{where} is {value}; a score must be a finite number: type one such as 2.5")
            if not RANGES["loss.score"].contains(value):
                raise HillwalkError(f"{where} is {value:g}; a score must be {RANGES['loss.score'].describe()}")
            table[i, j] = value
    return table


def check_labels(labels, n_examples: int, n_classes: int) -> np.ndarray:
    """``labels`` as an int array of shape (N,), each in ``0..C-1``; a HillwalkError otherwise."""
    array = np.asarray(labels)
    if array.shape != (n_examples,):
        raise HillwalkError(f"there must be one label per example: {n_examples} for a table of {n_examples} rows, "
                            f"got shape {array.shape}")
    if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.all(np.mod(array, 1) == 0)):
        raise HillwalkError(f"the labels must be whole class numbers 0..{n_classes - 1}, got {array.tolist()}")
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < 0) | (array >= n_classes))
    if bad.size:
        raise HillwalkError(f"example {bad[0] + 1}'s label {array[bad[0]]} is not a class of the table: with "
                            f"{n_classes} columns the labels are 0..{n_classes - 1}")
    return array


def check_delta(delta) -> float:
    """The SVM margin as a float, in the range of every SVM margin of the app
    (``core.limits.RANGES["problem.delta"]``: above 0); a HillwalkError otherwise."""
    if isinstance(delta, (bool, np.bool_)) or not isinstance(delta, (int, float, np.integer, np.floating)):
        raise HillwalkError(f"the SVM margin delta must be a number (the notes use 1), got {delta!r}")
    return float(check("problem.delta", float(delta)))


@dataclass(frozen=True)
class RegularizationExample:
    """The notes' L2 example: weight vectors with equal scores on ``x`` and their penalties.

    Attributes
    ----------
    x : (D,) the input
    weights : (K, D) one weight vector per row (the notes' w1 and w2)
    scores : (K,) ``w_k . x``
    l2 : (K,) ``R(w_k) = sum w_k^2`` (:class:`~core.models.regularizers.Regularizer` "l2", lambda 1)
    l1 : (K,) ``R(w_k) = sum |w_k|`` ("l1", lambda 1)
    """

    x: np.ndarray
    weights: np.ndarray
    scores: np.ndarray
    l2: np.ndarray
    l1: np.ndarray

    @property
    def l2_preferred(self) -> int:
        """Index of the weight vector L2 prefers (the smallest penalty; the first on a tie)."""
        return int(np.argmin(self.l2))

    @property
    def same_scores(self) -> bool:
        """Every weight vector gives ``x`` the same score (the example's premise)."""
        return bool(np.all(self.scores == self.scores[0]))

    @property
    def same_l1(self) -> bool:
        """L1 charges every weight vector alike (it cannot tell them apart)."""
        return bool(np.all(self.l1 == self.l1[0]))


def regularization_example(x=NOTES_X, weights=(NOTES_W1, NOTES_W2)) -> RegularizationExample:
    """Scores and L2 / L1 penalties of each weight vector (rows of ``weights``, shape
    (K, D)) on the input ``x`` (D,)."""
    x = np.asarray(x, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if x.ndim != 1 or weights.ndim != 2 or weights.shape[1] != x.size:
        raise HillwalkError(f"the weights must be rows as long as x ({x.size}), got shape {weights.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(weights))):
        raise HillwalkError("x and the weights must be finite numbers")
    l2, l1 = Regularizer("l2", lam=1.0), Regularizer("l1", lam=1.0)
    return RegularizationExample(_readonly(x), _readonly(weights), _readonly(weights @ x),
                                 _readonly([l2.penalty(w) for w in weights]),
                                 _readonly([l1.penalty(w) for w in weights]))


@dataclass(frozen=True)
class WorkedExample:
    """Both losses on one score table, term by term, and the notes' questions answered.

    Attributes
    ----------
    scores : (N, C) rows are examples, columns the classes' scores
    labels : (N,) each example's correct class
    delta : the SVM margin
    svm_terms : (N, C) ``max(0, s_j - s_{y_i} + delta)``, 0 at the correct class
    svm_losses : (N,) ``L_i``, the rows of ``svm_terms`` summed
    svm_mean : the mean of ``svm_losses`` (:func:`~core.models.losses.svm_loss`)
    probabilities : (N, C) softmax of each row
    softmax_losses : (N,) ``-ln p_{y_i}``
    softmax_mean : the mean of ``softmax_losses`` (:func:`~core.models.losses.softmax_loss`)
    svm_losses_with_correct : (N,) question (a): ``L_i`` summed over every class, the
        correct one included (its term is ``max(0, delta)``)
    wiggle_example : the example whose correct score question (b) moves (the car image)
    wiggle_shifts : (3,) ``(-WIGGLE, 0, +WIGGLE)``
    wiggle_losses : (3,) that example's ``L_i`` with its correct score moved by each shift
    zero_svm, zero_softmax : question (c): the mean losses at an all-zero table of the
        same shape and labels
    regularization : the notes' L2 example
    """

    scores: np.ndarray
    labels: np.ndarray
    delta: float
    svm_terms: np.ndarray
    svm_losses: np.ndarray
    svm_mean: float
    probabilities: np.ndarray
    softmax_losses: np.ndarray
    softmax_mean: float
    svm_losses_with_correct: np.ndarray
    wiggle_example: int
    wiggle_shifts: np.ndarray
    wiggle_losses: np.ndarray
    zero_svm: float
    zero_softmax: float
    regularization: RegularizationExample = field(default_factory=regularization_example)

    @property
    def n_classes(self) -> int:
        return int(self.scores.shape[1])

    @property
    def correct_class_term(self) -> np.ndarray:
        """(N,) what summing over the correct class too adds to each ``L_i`` (question (a))."""
        return self.svm_losses_with_correct - self.svm_losses

    @property
    def correct_term_is_delta(self) -> bool:
        """Question (a): summing over the correct class too adds exactly delta to every
        ``L_i`` (its own term, max(0, s_y - s_y + delta))."""
        return bool(np.allclose(self.correct_class_term, self.delta, rtol=0, atol=1e-12))

    @property
    def wiggle_stays_zero(self) -> bool:
        """Question (b): the moved example's SVM loss is 0 at every shift."""
        return bool(np.all(self.wiggle_losses == 0.0))

    @property
    def wiggle_lead(self) -> float:
        """How far the moved example's correct score leads its best other score: the loss
        stays 0 under a shift of ``WIGGLE`` exactly when ``lead >= delta + WIGGLE``."""
        row = self.scores[self.wiggle_example]
        return float(row[self.labels[self.wiggle_example]] - np.max(np.delete(row, self.labels[self.wiggle_example])))

    @property
    def zero_svm_expected(self) -> float:
        """The notes' value at scores of 0: ``(C - 1) delta``."""
        return (self.n_classes - 1) * self.delta

    @property
    def zero_softmax_expected(self) -> float:
        """The notes' value at scores of 0: ``ln C``."""
        return math.log(self.n_classes)


def worked_example(scores=NOTES_SCORES, labels=NOTES_LABELS, delta=NOTES_DELTA, wiggle_example=CAR_EXAMPLE,
                   wiggle=WIGGLE) -> WorkedExample:
    """Everything the Loss lab shows, from a score table.

    Parameters
    ----------
    scores : (N, C) numbers (or text of numbers, see :func:`score_table`); rows are
        examples, columns the classes' scores
    labels : (N,) ints in ``0..C-1``
    delta : float > 0, the SVM margin
    wiggle_example : the row whose correct score question (b) moves by ``-wiggle, 0, +wiggle``

    Returns
    -------
    WorkedExample

    Raises
    ------
    HillwalkError for a table that is not N x C numbers within ``RANGES["loss.score"]``,
    labels of the wrong shape or out of range, or a delta out of ``RANGES["problem.delta"]``.
    """
    table = score_table(scores)
    n, c = table.shape
    y = check_labels(labels, n, c)
    delta = check_delta(delta)
    if not 0 <= int(wiggle_example) < n:
        raise HillwalkError(f"question (b) moves the correct score of example {int(wiggle_example) + 1}, but the "
                            f"table has {n} row(s); choose an example 1..{n}")
    wiggle_example = int(wiggle_example)
    shifts = np.array([-wiggle, 0.0, wiggle], dtype=np.float64)
    moved = np.repeat(table[wiggle_example][None, :], shifts.size, axis=0)
    moved[:, y[wiggle_example]] += shifts
    zeros = np.zeros_like(table)
    y.setflags(write=False)
    return WorkedExample(
        scores=_readonly(table), labels=y, delta=delta,
        svm_terms=_readonly(svm_hinge_terms(table, y, delta)),
        svm_losses=_readonly(svm_loss_per_example(table, y, delta)),
        svm_mean=svm_loss(table, y, delta)[0],
        probabilities=_readonly(softmax_probabilities(table)),
        softmax_losses=_readonly(softmax_loss_per_example(table, y)),
        softmax_mean=softmax_loss(table, y)[0],
        svm_losses_with_correct=_readonly(svm_hinge_terms(table, y, delta, include_correct=True).sum(axis=1)),
        wiggle_example=wiggle_example, wiggle_shifts=_readonly(shifts),
        wiggle_losses=_readonly(svm_loss_per_example(moved, np.full(shifts.size, y[wiggle_example]), delta)),
        zero_svm=svm_loss(zeros, y, delta)[0], zero_softmax=softmax_loss(zeros, y)[0],
    )
