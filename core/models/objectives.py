"""Things that can be minimised, behind one interface.

Every objective has

* ``param_shape``: the shape of its parameter array ``theta``;
* ``loss(theta) -> float``: the full objective (data loss over the whole training set
  plus regularization);
* ``loss_and_grad(theta, batch=None) -> (loss, grad)``: the same with its gradient, over
  the examples ``batch`` (an index array) when given;
* ``accuracy(theta, split="train") -> float`` where there is data to classify;

and declares what it can do with capability flags (``has_data``, ``has_regularizer``,
``bounded_below`` ...). The interface is spelled out in :mod:`core.models.interface`;
optimizers, trajectories, landscapes and the gradient check only use it.
"""
from __future__ import annotations

import math

import numpy as np

from ..data.datasets import Dataset, Preprocessor, add_bias, require_safe_features, require_two_classes, train_val_split
from ..errors import HillwalkError, require_choice
from .losses import _softmax_per_example, _svm_per_example, per_example_losses_by_rows, softmax_loss, svm_loss
from .regularizers import Regularizer

LOSS_NAMES = ("svm", "softmax")


def loss_name(loss: str) -> str:
    """A loss as titles name it: "SVM" (an acronym), "softmax"."""
    return "SVM" if loss == "svm" else loss


def accuracy_by_rows(scores, labels, correct, top=None) -> float:
    """The share of examples whose correct class has the largest score, for scores laid out
    classes by examples, ``(C, n)``: the same value as ``mean(argmax(scores, axis=0) ==
    labels)`` (``argmax`` takes the first of tied classes), at a third of its cost where no
    example has a tie at the top (argmax along the short axis walks strided columns).

    Parameters
    ----------
    scores : array (C, n) ; labels : int array (n,) ; correct : int array (n,), the correct
    classes' flat indices in ``scores`` (``labels * n + arange(n)``) ; top : None, or
    ``scores.max(axis=0)`` (n,) where the caller has it already
    """
    if top is None:
        top = scores.max(axis=0)                               # (n,)
    if np.count_nonzero(scores == top) != top.size:   # a tie at the top (or a NaN): argmax decides
        return float(np.mean(np.argmax(scores, axis=0) == labels))
    return np.count_nonzero(scores.ravel()[correct] == top) / top.size


class ClassifierObjective:
    """What every classifier objective shares: the checked data and loss settings, the
    loss head, and the interface methods written in terms of three model hooks.

    Subclasses set ``self.X`` (the model's inputs, N rows) and ``self.X_val`` (or None),
    ``param_shape`` and ``reg_mask``, and implement ``_params(theta)`` (theta checked and
    shaped like ``reg_mask``) and ``_scores(params, X)`` ((n, C) scores of model inputs).
    """

    # capabilities (see core.models.interface): a classifier on data with a weight penalty,
    # whose losses (SVM, softmax) and penalties are >= 0
    has_data = True
    has_regularizer = True
    has_components = True
    bounded_below = True
    supports_minibatches = True
    has_random_init = True
    has_own_plane = False
    has_layers = True
    has_batch_evaluation = False
    is_network = False
    has_step_noise = False

    def _set_head(self, train, val, loss, delta, regularizer, regularize_bias):
        require_choice(loss, LOSS_NAMES, "loss")
        if not math.isfinite(delta) or delta <= 0:
            raise HillwalkError(f"the SVM margin delta must be a positive number, got {delta}")
        if val is not None and val.n_features != train.n_features:
            raise HillwalkError(f"validation data has {val.n_features} features but training data has "
                                f"{train.n_features}")
        self.train = require_two_classes(train)
        self.val = val
        self.loss_name = loss
        self.delta = float(delta)
        self.regularizer = regularizer or Regularizer()
        self.regularize_bias = bool(regularize_bias)
        self.y = train.y                    # (N,)
        self.y_val = val.y if val is not None and val.n_examples else None
        self.n_classes = train.n_classes

    @property
    def n_train(self) -> int:
        return self.X.shape[0]

    def score_loss(self, scores, y):
        """(loss, dscores) of the configured loss for scores (n x C) and labels (n,)."""
        if self.loss_name == "svm":
            return svm_loss(scores, y, self.delta)
        return softmax_loss(scores, y)

    def loss(self, theta) -> float:
        return self.loss_and_grad(theta, need_grad=False)[0]

    def per_example_losses(self, theta, X=None, y=None):
        """``L_i`` for each example (training set by default; X in the model's input
        form), shape (N,)."""
        X, y = (self.X, self.y) if X is None else (X, y)
        scores = self._scores(self._params(theta), X)
        if self.loss_name == "svm":
            return _svm_per_example(scores, y, self.delta)
        return _softmax_per_example(scores, y)

    def loss_terms(self, theta):
        """The objective as a sum of terms: ``L_i / N`` for every example, then the penalty
        entry by entry. ``loss_terms(theta).sum() == loss(theta)`` up to rounding.

        Finite differences taken term by term avoid the cancellation of the large,
        unchanged part of the rounded total, which otherwise limits a centered difference
        at h = 1e-5 to about ``eps * |L| / h`` (2e-11) absolute accuracy.
        """
        params = self._params(theta)
        return np.concatenate([self.per_example_losses(params) / self.n_train,
                               self.regularizer.penalty_terms(params, self.reg_mask)])

    def components(self, theta) -> dict:
        """``{"data": mean data loss, "reg": lam * R, "total": sum}`` over the training set."""
        params = self._params(theta)
        data_loss, _ = self.score_loss(self._scores(params, self.X), self.y)
        reg = self.regularizer.penalty(params, self.reg_mask)
        return {"data": data_loss, "reg": reg, "total": data_loss + reg}

    def accuracy(self, theta, split: str = "train") -> float:
        """Fraction of correctly classified examples of ``split`` ("train" or "val");
        NaN for "val" when there is no validation set."""
        if split == "train":
            X, y = self.X, self.y
        elif split == "val":
            if self.X_val is None:
                return float("nan")
            X, y = self.X_val, self.y_val
        else:
            raise HillwalkError(f"unknown split {split!r}; use 'train' or 'val'")
        return float(np.mean(np.argmax(self._scores(self._params(theta), X), axis=1) == y))


class LinearClassifier(ClassifierObjective):
    """A linear classifier ``scores = X_b W^T`` with the bias trick, an SVM or softmax
    loss and a weight penalty.

    Parameters
    ----------
    train : Dataset
        Training data, N examples x D features (no bias column: it is added here).
    val : Dataset or None
        Validation data with the same features.
    loss : {"svm", "softmax"}
    delta : float
        SVM margin (ignored for softmax).
    regularizer : Regularizer
    regularize_bias : bool
        Whether the bias column ``W[:, D]`` is penalised (default: not).

    Notes
    -----
    ``theta`` is W, of shape ``param_shape == (C, D + 1)``; a flat vector of the same size
    is accepted too and the gradient then comes back flat.
    """

    def __init__(self, train: Dataset, val: Dataset | None = None, loss: str = "softmax", delta: float = 1.0,
                 regularizer: Regularizer | None = None, regularize_bias: bool = False):
        self._set_head(train, val, loss, delta, regularizer, regularize_bias)
        self.X = add_bias(train.X)          # (N, D+1)
        self.X_val = add_bias(val.X) if self.y_val is not None else None
        self.param_shape = (self.n_classes, self.X.shape[1])
        self.reg_mask = np.ones(self.param_shape, dtype=bool)
        if not self.regularize_bias:
            self.reg_mask[:, -1] = False
        self._plane_cache = None   # (plane, plane_scores(plane), (the regularized entries' Gram matrix, norms))

    # ----------------------------------------------------------------- basics
    @property
    def size(self) -> int:
        return self.param_shape[0] * self.param_shape[1]

    def _as_matrix(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.size != self.size:
            raise HillwalkError(f"parameters of size {theta.size} do not fit a {self.param_shape[0]} x "
                                f"{self.param_shape[1]} classifier")
        return theta.reshape(self.param_shape)

    def parameter_blocks(self):
        """One block, W; its filters (rows) are the class templates."""
        from .blocks import Block

        return [Block("W", self.param_shape, 0, filter_axis=0)]

    def weight_index(self, row, col):
        """The index of ``W[row, col]`` in theta: the pair itself, theta being the matrix W
        (the plane checks that it lies inside W)."""
        return row, col

    def initial_theta(self, scale: float = 1e-3, seed: int = 0):
        """Small Gaussian weights ``scale * randn(C, D+1)``."""
        return scale * np.random.default_rng(seed).standard_normal(self.param_shape)

    # ----------------------------------------------------------------- interface
    def loss_and_grad(self, theta, batch=None, need_grad=True):
        """Objective and gradient.

        Parameters
        ----------
        theta : array, shape (C, D+1) or (C*(D+1),)
        batch : int array or None
            Indices of the training examples to average the data loss over (a minibatch).

        Returns
        -------
        loss : float
            Mean data loss over the batch plus ``lam * R(W)``.
        grad : array shaped like ``theta`` (None when ``need_grad`` is false)
        """
        W = self._as_matrix(theta)
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        scores = X @ W.T
        data_loss, dscores = self.score_loss(scores, y)
        loss = data_loss + self.regularizer.penalty(W, self.reg_mask)
        if not need_grad:
            return loss, None
        grad = dscores.T @ X + self.regularizer.gradient(W, self.reg_mask)
        return loss, grad.reshape(np.shape(theta))

    def hvp(self, theta, v, batch=None):
        """The Hessian of :meth:`loss_and_grad`'s loss at ``theta`` times ``v``, exactly.

        Softmax: the scores ``s = W x`` are linear in W, so the data part is the mean over
        examples of ``x (diag(p) - p p^T) (V x)`` in the parameters' shape, with ``p`` the
        example's class probabilities: ``(dP^T X) / N`` where ``dS = X V^T`` and ``dP = p *
        (dS - sum_c p dS)`` (N, C). The SVM's data loss is piecewise linear in W: its
        Hessian is 0 wherever it is defined (away from the kinks where a margin is exactly
        0, where it has none), so only the penalty's curvature remains. Plus the penalty's
        Hessian times ``v`` (:meth:`Regularizer.hessian_vector`).

        Parameters
        ----------
        theta, v : arrays of the parameter shape (C, D+1) (or flat) ; batch : rows or None

        Returns
        -------
        array shaped like ``v``
        """
        W = self._as_matrix(theta)
        V = self._as_matrix(v)
        X = self.X if batch is None else self.X[batch]
        hv = self.regularizer.hessian_vector(W, V, self.reg_mask)
        if self.loss_name == "softmax":
            scores = X @ W.T
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=1, keepdims=True)                    # (N, C)
            d_scores = X @ V.T                                   # (N, C): how the scores move along V
            d_p = p * (d_scores - np.sum(p * d_scores, axis=1, keepdims=True))
            hv = hv + d_p.T @ X / X.shape[0]
        return np.asarray(hv, dtype=np.float64).reshape(np.shape(v))

    def _params(self, theta):
        return self._as_matrix(theta)

    def _scores(self, W, X):
        return X @ W.T

    # ----------------------------------------------------------------- on a plane
    def plane_scores(self, plane):
        """On the plane ``W = C + a D1 + b D2`` the scores are affine in (a, b): for the
        training and the validation split, the scores under C, D1 and D2, transposed (the
        classes' reductions then run along contiguous rows), their largest magnitudes and
        the correct classes' flat indices: ``{"train": (S (3, C, n), largest (3,),
        labels (n,), correct (n,)), "val": ... or None}``. Computed once for the last plane
        asked for (the race's runs share it; runs that start together may each compute it
        once, which is harmless); see :meth:`_plane_parts`."""
        return self._plane_parts(plane)[0]

    def _plane_parts(self, plane):
        """(:meth:`plane_scores`, (the regularized entries' Gram matrix of C, D1 and D2
        (3, 3), their norms (3,))) for ``plane``, from one cache entry: a caller that takes both from here
        never mixes two planes' parts when another thread asks for another plane meanwhile.
        The cache is keyed on the plane object: its arrays and :attr:`reg_mask` are not to be
        changed in place (the app never does; a new plane or problem is a new object)."""
        cached = self._plane_cache
        if cached is not None and cached[0] is plane:
            return cached[1], cached[2]
        vectors = [self._as_matrix(plane.center), self._as_matrix(plane.dir1), self._as_matrix(plane.dir2)]
        splits = {}
        for split, X, y in (("train", self.X, self.y), ("val", self.X_val, self.y_val)):
            if X is None:
                splits[split] = None
                continue
            scores = np.stack([V @ X.T for V in vectors])                       # (3, C, n)
            splits[split] = (scores, np.abs(scores).reshape(3, -1).max(axis=1), y, y * y.size + np.arange(y.size))
        # the regularized entries' Gram matrix of C, D1 and D2 (3, 3): an L2 penalty on the
        # plane is the quadratic form lam [1 a b] G [1 a b]^T
        regularized = np.stack([V[self.reg_mask] for V in vectors])             # (3, regularized entries)
        gram = regularized @ regularized.T
        gram = (gram, np.sqrt(np.maximum(np.diag(gram), 0.0)))   # (the norms once a plane, not at every step)
        self._plane_cache = (plane, splits, gram)
        return splits, gram

    def values_on_plane(self, plane, a, b):
        """The loss (data plus penalty) and the training and validation accuracies at
        ``C + a D1 + b D2``, from :meth:`plane_scores`: two multiply-adds a score instead
        of a product over the features, the same values as :meth:`loss` and
        :meth:`accuracy` up to rounding. None where the combination could lose digits (a
        score's three terms, at their largest, exceed 16 times the largest score: the
        terms cancel), for the caller to evaluate directly.

        Returns
        -------
        (loss, train accuracy, validation accuracy (NaN without a validation set)) or None
        """
        found = self.step_on_plane(plane, a, b, need_grad=False)
        return None if found is None else found[0]

    def step_on_plane(self, plane, a, b, batch=None, need_grad=True):
        """What a run's step at ``C + a D1 + b D2`` needs, from :meth:`plane_scores` (see
        :meth:`values_on_plane`): the record's values, and the minibatch's loss and its
        gradient in the plane's coordinates from the same combined scores. The gradient is
        ``(D1 . g, D2 . g)`` for the gradient g of :meth:`loss_and_grad` on the batch: its
        data part is the scores' gradient against the directions' scores,
        ``sum_{c, i} dS[c, i] S1[c, i]``, which needs no product over the features. None
        where the combination could lose digits, as for :meth:`values_on_plane`.

        Parameters
        ----------
        plane : Plane ; a, b : float ; batch : int array (B,) of training rows, or None for
        all ; need_grad : bool (False: the record's values only)

        Returns
        -------
        ((loss, train accuracy, validation accuracy), batch loss, gradient (2,)), the last
        two None without ``need_grad``; or None
        """
        splits, gram = self._plane_parts(plane)
        coefficients = np.array([1.0, a, b])
        combined = {}
        for split, parts in splits.items():
            if parts is None:
                continue
            scores, largest = parts[0], parts[1]
            # C + a D1 + b D2's scores in one pass: (3,) x (3, C n)
            values = (coefficients @ scores.reshape(3, -1)).reshape(scores.shape[1:])   # (C, n)
            top = values.max(axis=0)   # each example's largest score (n,), for the guard, accuracy and loss
            bound = largest[0] + abs(a) * largest[1] + abs(b) * largest[2]
            # against the largest |top|, which is at most the largest |score|: a test at least
            # as strict as against the largest |score|, at a fraction of its cost
            if not bound <= 16.0 * max(top.max(), -top.min()):   # (False for NaN)
                return None
            combined[split] = values, top
        accuracies = [accuracy_by_rows(combined[split][0], splits[split][2], splits[split][3], combined[split][1])
                      if split in combined else float("nan") for split in ("train", "val")]
        train_scores, labels = splits["train"][0], splits["train"][2]
        values, top = combined["train"]
        # (the training scores are overwritten here, after the accuracies: exp(s - max) for
        # softmax, the hinge terms max(0, s_j - s_y + delta) for the SVM)
        per_example = per_example_losses_by_rows(values, splits["train"][3], self.loss_name, self.delta, top)
        penalty, penalty_gradient = self._plane_penalty(plane, gram, a, b, need_grad)
        record = (float(per_example.mean() + penalty), accuracies[0], accuracies[1])
        if not need_grad:
            return record, None, None
        if batch is None:
            terms, directions, batch_labels, batch_losses = values, train_scores[1:], labels, per_example
        else:
            terms = np.take(values, batch, axis=1)                     # (C, B)
            directions = np.take(train_scores[1:], batch, axis=2)      # (2, C, B)
            batch_labels, batch_losses = labels[batch], per_example[batch]
        size = batch_labels.size
        correct = batch_labels * size + np.arange(size)
        if self.loss_name == "svm":   # 1 for each positive margin, minus their count at the correct class
            d_scores = (terms > 0).astype(np.float64)
            d_scores.ravel()[correct] = -d_scores.sum(axis=0)
        else:                         # the probabilities, minus 1 at the correct class
            d_scores = terms / terms.sum(axis=0)
            d_scores.ravel()[correct] -= 1.0
        gradient = directions.reshape(2, -1) @ d_scores.ravel() / size
        if penalty_gradient is not None:
            gradient += penalty_gradient
        return record, float(batch_losses.mean() + penalty), gradient

    def _plane_penalty(self, plane, gram, a, b, need_grad):
        """The penalty at ``C + a D1 + b D2`` and, with ``need_grad``, its gradient along D1
        and D2 ((2,), None without a penalty); ``gram`` the plane's from :meth:`_plane_parts`.

        L2's come from the regularized entries' Gram matrix G of C, D1, D2 (cached with the
        scores, with the norms ``gram[1]``): ``lam w^T G w`` and ``2 lam (G w)[1:]`` for ``w = [1, a, b]``, three
        numbers instead of the 650 entries of W (40 and 20 us a step). Where the terms of
        the form cancel (``(|C| + |a| |D1| + |b| |D2|)^2`` over 16 times the form: the plane
        passes near W = 0 on the regularized entries), and for L1 and the elastic net, W is
        formed and the penalty evaluated directly."""
        if not self.regularizer.active:
            return 0.0, None
        if self.regularizer.kind == "l2":
            gram, norms = gram
            w = np.array([1.0, a, b])
            gram_w = gram @ w
            form = float(w @ gram_w)
            if (norms[0] + abs(a) * norms[1] + abs(b) * norms[2]) ** 2 <= 16.0 * form:
                lam = self.regularizer.lam
                return lam * form, (2.0 * lam * gram_w[1:] if need_grad else None)
        W = self._as_matrix(plane.point(a, b))
        penalty = self.regularizer.penalty(W, self.reg_mask)
        if not need_grad:
            return penalty, None
        penalty_gradient = self.regularizer.gradient(W, self.reg_mask)
        return penalty, np.array([np.vdot(plane.dir1, penalty_gradient), np.vdot(plane.dir2, penalty_gradient)])

    def predict(self, theta, X):
        """Predicted classes of raw inputs X (n, D) (the bias column is added here), shape (n,)."""
        W = self._as_matrix(theta)
        return np.argmax(add_bias(X) @ W.T, axis=1)

    def kinks_near(self, theta, flat_indices, h: float):
        """Which parameters lie within ``h`` of a kink of the objective.

        A centered difference over ``[theta_k - h, theta_k + h]`` that contains a kink
        measures an average of two slopes, and may legitimately disagree with the
        (sub)gradient. Kinks here: an SVM margin crossing zero, and ``W = 0`` under L1.

        Returns
        -------
        bool array, shape (len(flat_indices),)
        """
        W = self._as_matrix(theta)
        flat_indices = np.asarray(flat_indices)
        rows, cols = np.unravel_index(flat_indices, self.param_shape)
        near = np.zeros(flat_indices.size, dtype=bool)
        if self.regularizer.active and self.regularizer.kind in ("l1", "elastic"):
            near |= (np.abs(W[rows, cols]) <= h) & self.reg_mask[rows, cols]
        if self.loss_name == "svm":
            scores = self.X @ W.T
            correct = scores[np.arange(self.n_train), self.y]
            margins = scores - correct[:, None] + self.delta        # (N, C)
            for k, (c, d) in enumerate(zip(rows, cols)):
                reach = h * np.abs(self.X[:, d])                      # how far a score can move
                # margins of class c move by +-reach; when c is the correct class, every
                # margin of that example moves by -+reach.
                other = (self.y != c) & (np.abs(margins[:, c]) <= reach)
                own_rows = self.y == c
                own = np.abs(margins[own_rows]) <= reach[own_rows, None]
                own[:, c] = False
                near[k] |= bool(other.any() or own.any())
        return near

    def describe(self) -> dict:
        return {"model": "linear", "loss": self.loss_name, "delta": self.delta,
                "regularizer": self.regularizer.kind, "lam": self.regularizer.lam, "beta": self.regularizer.beta,
                "regularize_bias": self.regularize_bias, "param_shape": list(self.param_shape),
                "n_train": self.n_train, "n_val": 0 if self.X_val is None else int(self.X_val.shape[0]),
                "data": self.train.provenance}


def prepare_splits(data: Dataset, preprocessing: str = "center", val_fraction: float = 0.2, seed: int = 0,
                   owned: bool = False):
    """Split ``data`` into train/validation and fit ``preprocessing`` on the training part
    only (the validation part is transformed with the training statistics).

    Refused with one :class:`HillwalkError` each, before any model sees the data: a
    split that leaves a class without a training example, or without a validation example
    when ``val_fraction > 0`` (see :func:`~core.data.datasets.train_val_split`); a bad
    seed; preprocessing whose statistics overflow; features that end up larger than
    :data:`~core.data.datasets.MAX_FEATURE_MAGNITUDE` (values near 1e300 left as they are
    or only centred), where the loss and its gradient would overflow.

    ``owned``: the caller hands ``data`` over, fresh from a loader and used by nothing
    else afterwards (``ClassifierSpec.build``): it is then split and preprocessed in its
    own storage, without a copy of X. Otherwise ``data`` is never changed.

    Returns
    -------
    (train, val) : Dataset, Dataset or None
        Features of shape (N_train, D) and (N_val, D).
    """
    origin = data.origin
    train, val = train_val_split(data, val_fraction, seed, in_place=owned)
    # the parts are the app's own now: the whole set can go, and preprocessing works in place
    del data
    preprocessor = Preprocessor.fit(train.X, preprocessing, origin)
    # with no validation part, train is the data set itself: only ours to change if owned
    parts_are_ours = owned or val is not None
    train = preprocessor.apply(train, in_place=parts_are_ours)
    val = preprocessor.apply(val, in_place=True) if val is not None else None
    require_safe_features(train)
    if val is not None:
        require_safe_features(val)
    return train, val
