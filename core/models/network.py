"""A two-layer neural network classifier, with backpropagation written by hand.

``h = act(X W1 + b1)``, ``scores = h W2 + b2``, followed by the SVM or softmax loss of the
linear model and its weight penalty (weights only unless biases are asked for).

Every layer is a forward/backward pair from :mod:`core.models.layers`: ``*_forward``
returns its output and a cache, ``*_backward`` takes the upstream gradient and the cache and
returns the gradients of its inputs (as in the CS231n assignments). The network composes them.

Parameters live in one flat vector ``theta`` of length
``D*H + H + H*C + C``, in the order W1 (D x H), b1 (H), W2 (H x C), b2 (C). The blocks are
declared by :meth:`TwoLayerNet.parameter_blocks`, so directions can be normalized per neuron
(a column of W1: one hidden unit's incoming weights; a column of W2: one class's output
weights) or per layer.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..data.datasets import Dataset
from ..errors import HillwalkError, require_choice
from .layers import (
    ACTIVATIONS,
    KINKED_ACTIVATIONS,
    activation_backward,
    activation_forward,
    activation_in_place,
    affine_backward,
    affine_forward,
    init_weights,
)
from .losses import _softmax_per_example
from .objectives import ClassifierObjective
from .regularizers import Regularizer

INIT_SCHEMES = ("small", "xavier", "he")  # the app's choices; layers.ALL_INIT_SCHEMES has every scheme
# At most this many bytes of temporaries per chunk in :meth:`TwoLayerNet.evaluate_batch`.
DEFAULT_CHUNK_BYTES = 4 * 2 ** 20


# --------------------------------------------------------------------------- the network

def check_network_settings(hidden, activation, slope, init):
    """Raise :class:`HillwalkError` naming the first bad setting of a network: hidden
    units (1 .. 4096), activation, leaky-ReLU slope (in [0, 1)) or initialization."""
    require_choice(activation, ACTIVATIONS, "activation")
    require_choice(init, INIT_SCHEMES, "initialization")
    if int(hidden) != hidden or not 1 <= hidden <= 4096:
        raise HillwalkError(f"the hidden size must be a whole number from 1 to 4096, got {hidden}")
    if not (math.isfinite(slope) and 0 <= slope < 1):
        raise HillwalkError(f"the leaky ReLU slope must be in [0, 1), got {slope}")


class TwoLayerNet(ClassifierObjective):
    """A two-layer network classifier behind the shared objective interface.

    Parameters
    ----------
    train : Dataset (N x D features) ; val : Dataset or None
    hidden : int
        Hidden units H (1 .. 4096).
    activation : one of ACTIVATIONS ; slope : float
        Negative-side slope of leaky_relu.
    init : one of INIT_SCHEMES
        How :meth:`initial_theta` draws the weights (biases start at 0).
    loss, delta, regularizer, regularize_bias
        As for :class:`~core.models.objectives.LinearClassifier`; the penalty applies to W1 and W2,
        and to b1, b2 only with ``regularize_bias``.

    Notes
    -----
    ``param_shape == (D*H + H + H*C + C,)``: theta is flat; :meth:`unpack` gives the blocks.
    """

    has_batch_evaluation = True  # evaluate_batch and bytes_per_point below
    is_network = True

    def __init__(self, train: Dataset, val: Dataset | None = None, hidden: int = 64, activation: str = "relu",
                 slope: float = 0.01, init: str = "he", loss: str = "softmax", delta: float = 1.0,
                 regularizer: Regularizer | None = None, regularize_bias: bool = False):
        check_network_settings(hidden, activation, slope, init)
        self._set_head(train, val, loss, delta, regularizer, regularize_bias)
        self.hidden = int(hidden)
        self.activation = activation
        self.slope = float(slope)
        self.init = init
        self.X = np.asarray(train.X, dtype=np.float64)      # (N, D)
        self.X_val = val.X if self.y_val is not None else None
        D, H, C = self.X.shape[1], self.hidden, self.n_classes
        self.shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
        self.offsets = {}
        offset = 0
        for name, shape in self.shapes.items():
            self.offsets[name] = offset
            offset += int(np.prod(shape))
        self.param_shape = (offset,)
        # [X^T; 1] (D+1, N): with b1 stored after W1, the first layer is one product.
        self._inputs_t = np.vstack([self.X.T, np.ones((1, self.n_train))])
        self.reg_mask = np.zeros(offset, dtype=bool)
        for name in ("W1", "W2") + (("b1", "b2") if self.regularize_bias else ()):
            self.reg_mask[self._slice(name)] = True

    # ----------------------------------------------------------------- layout
    @property
    def size(self) -> int:
        return self.param_shape[0]

    def _slice(self, name):
        start = self.offsets[name]
        return slice(start, start + int(np.prod(self.shapes[name])))

    def unpack(self, theta):
        """Views ``(W1 (D,H), b1 (H,), W2 (H,C), b2 (C,))`` of a flat theta."""
        flat = self._as_flat(theta)
        return tuple(flat[self._slice(name)].reshape(self.shapes[name]) for name in ("W1", "b1", "W2", "b2"))

    def pack(self, W1, b1, W2, b2):
        """The flat theta of four blocks."""
        return np.concatenate([np.ravel(W1), np.ravel(b1), np.ravel(W2), np.ravel(b2)]).astype(np.float64)

    def _as_flat(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.size != self.size:
            raise HillwalkError(f"parameters of size {theta.size} do not fit this network, which has {self.size} "
                                f"(D={self.shapes['W1'][0]}, H={self.hidden}, C={self.n_classes})")
        return theta.reshape(-1)

    def weight_index(self, row, col):
        """The flat index of ``W1[row, col]``."""
        D, H = self.shapes["W1"]
        if not (0 <= row < D and 0 <= col < H):
            raise HillwalkError(f"W1[{row}, {col}] is outside W1, which is {D} x {H}")
        return self.offsets["W1"] + row * H + col

    def parameter_blocks(self):
        """W1 and W2 with their filters along axis 1 (a column is one unit's incoming
        weights), and the biases b1, b2 marked as such."""
        from .blocks import Block

        return [Block(name, self.shapes[name], self.offsets[name], filter_axis=1 if name.startswith("W") else 0,
                      is_bias=name.startswith("b")) for name in ("W1", "b1", "W2", "b2")]

    def initial_theta(self, scale=None, seed: int = 0):
        """Weights drawn by the network's initialization scheme with ``seed``; biases 0.

        ``scale`` is accepted for interface compatibility and ignored: the scheme sets it.
        """
        rng = np.random.default_rng(seed)
        D, H = self.shapes["W1"]
        W1 = init_weights(D, H, self.init, rng)
        W2 = init_weights(H, self.n_classes, self.init, rng)
        return self.pack(W1, np.zeros(H), W2, np.zeros(self.n_classes))

    # ----------------------------------------------------------------- forward / backward
    def forward(self, theta, X):
        """Scores (n, C) of inputs X (n, D), and the caches of the three layers."""
        W1, b1, W2, b2 = self.unpack(theta)
        z, cache1 = affine_forward(X, W1, b1)
        h, cache_act = activation_forward(z, self.activation, self.slope)
        scores, cache2 = affine_forward(h, W2, b2)
        return scores, (cache1, cache_act, cache2)

    def backward(self, dscores, caches):
        """Flat gradient of the data loss from ``dscores`` (n, C) and the forward caches."""
        cache1, cache_act, cache2 = caches
        dh, dW2, db2 = affine_backward(dscores, cache2)
        dz = activation_backward(dh, cache_act)
        _, dW1, db1 = affine_backward(dz, cache1)
        return self.pack(dW1, db1, dW2, db2)

    def hidden_activations(self, theta, X=None):
        """Pre-activations and activations of the hidden layer, each (n, H)."""
        W1, b1, _, _ = self.unpack(theta)
        z = (self.X if X is None else X) @ W1 + b1
        return z, activation_forward(z, self.activation, self.slope)[0]

    # ----------------------------------------------------------------- interface
    def loss_and_grad(self, theta, batch=None, need_grad=True):
        """Mean data loss over ``batch`` (all training examples when None) plus the penalty,
        and its gradient shaped like ``theta`` (None when ``need_grad`` is false)."""
        flat = self._as_flat(theta)
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        scores, caches = self.forward(flat, X)
        data_loss, dscores = self.score_loss(scores, y)
        loss = data_loss + self.regularizer.penalty(flat, self.reg_mask)
        if not need_grad:
            return loss, None
        grad = self.backward(dscores, caches) + self.regularizer.gradient(flat, self.reg_mask)
        return loss, grad.reshape(np.shape(theta))

    def _params(self, theta):
        return self._as_flat(theta)

    def _scores(self, theta, X):
        return self.forward(theta, X)[0]

    def predict(self, theta, X):
        """Predicted classes of inputs X (n, D), shape (n,)."""
        return np.argmax(self.forward(theta, X)[0], axis=1)

    # ----------------------------------------------------------------- kinks
    def kinks_near(self, theta, flat_indices, h: float):
        """Which parameters lie within ``h`` of a kink: a ReLU/leaky-ReLU pre-activation
        crossing 0, an SVM margin crossing 0, or a weight at 0 under L1.

        Each test bounds how far the quantity can move when the parameter moves by h
        (first order, with the activation's largest slope), so it errs on the side of
        flagging.

        Returns
        -------
        bool array, shape (len(flat_indices),)
        """
        flat = self._as_flat(theta)
        indices = np.asarray(flat_indices, dtype=np.int64)
        near = np.zeros(indices.size, dtype=bool)
        if self.regularizer.active and self.regularizer.kind in ("l1", "elastic"):
            near |= (np.abs(flat[indices]) <= h) & self.reg_mask[indices]
        W1, b1, W2, b2 = self.unpack(flat)
        z, hidden = self.hidden_activations(flat)
        kinked = self.activation in KINKED_ACTIVATIONS
        svm = self.loss_name == "svm"
        if not (kinked or svm):
            return near
        rows = np.arange(self.n_train)
        if svm:
            scores = hidden @ W2 + b2
            margins = scores - scores[rows, self.y][:, None] + self.delta  # (N, C)
            margins[rows, self.y] = np.inf  # the correct class's own term is constant
        # |act'(z)|: exact for the kinked ones once no kink lies in reach (checked first),
        # an upper bound for the smooth ones (sigmoid' <= 1/4; tanh', elu' <= 1).
        if self.activation == "relu":
            local_slope = (z > 0).astype(np.float64)
        elif self.activation == "leaky_relu":
            local_slope = np.where(z > 0, 1.0, self.slope)
        else:
            local_slope = np.full_like(z, 0.25 if self.activation == "sigmoid" else 1.0)
        w2_row_span = np.abs(W2)                                      # (H, C)
        for k, index in enumerate(indices):
            name, position = self._locate(int(index))
            if name in ("W1", "b1"):
                d, j = (position if name == "W1" else (None, position[0]))
                reach_z = h * (np.abs(self.X[:, d]) if d is not None else np.ones(self.n_train))  # (N,)
                if kinked and np.any(np.abs(z[:, j]) <= reach_z):
                    near[k] = True
                    continue
                if svm:
                    # scores move by dh_j * W2[j, :]; a margin by dh_j * (W2[j, c] - W2[j, y]).
                    dh = local_slope[:, j] * reach_z
                    spread = w2_row_span[j][None, :] + w2_row_span[j][self.y][:, None]   # (N, C)
                    near[k] |= bool(np.any(np.abs(margins) <= dh[:, None] * spread))
            elif svm:
                if name == "W2":
                    j, c = position
                    move = h * np.abs(hidden[:, j])
                else:
                    c, move = position[0], np.full(self.n_train, h)
                other = (self.y != c) & (np.abs(margins[:, c]) <= move)
                own_rows = self.y == c
                own = np.abs(margins[own_rows]) <= move[own_rows, None]
                near[k] |= bool(other.any() or own.any())
        return near

    def _locate(self, flat_index):
        """(block name, index tuple inside the block) of a flat parameter index."""
        for name in ("b2", "W2", "b1", "W1"):
            if flat_index >= self.offsets[name]:
                return name, np.unravel_index(flat_index - self.offsets[name], self.shapes[name])
        raise HillwalkError(f"parameter index {flat_index} is out of range")  # pragma: no cover

    # ----------------------------------------------------------------- batched evaluation
    def bytes_per_point(self) -> int:
        """Working memory of one parameter vector in :meth:`evaluate_batch` (its scores
        and per-example values; the hidden buffer is shared by the chunk)."""
        return 8 * self.n_train * (2 * self.n_classes + 2) + 8 * self.size

    def evaluate_batch(self, thetas, component="total", chunk_bytes=DEFAULT_CHUNK_BYTES, workers=1):
        """A landscape component at many parameter vectors, with no per-point allocation.

        The layout of theta puts b1 right after W1 and b2 right after W2, so
        ``[W1; b1]`` (D+1 x H) and ``[W2; b2]`` (H+1 x C) are views of it; with a constant-1
        row appended to ``X^T`` and to the hidden layer, each layer is one matrix product
        written into a preallocated buffer: ``H^T = act([W1; b1]^T [X^T; 1])`` (H x N),
        ``S^T = [W2; b2]^T [H^T; 1]`` (C x N). Keeping examples on the last axis makes the
        loss's reductions over classes run along contiguous rows for a whole chunk.
        Per-point temporaries (half a megabyte each on digits) cost more in page faults
        than the products themselves, hence the buffers.

        Parameters
        ----------
        thetas : array (P, size) (or (P, *param_shape))
        component : "total", "data", "reg", "accuracy", "example:K" or a Component
        chunk_bytes : int
            Memory for the scores of one chunk of points (a few MB keeps them in cache).
        workers : int
            Threads that share the points (NumPy releases the GIL in its products and
            ufuncs). Pays off when the BLAS library is limited to one thread meanwhile
            (see :class:`core.landscapes.landscape.Parallelism`): small products gain little from
            BLAS threads, and a single thread leaves the elementwise work serial.

        Returns
        -------
        values : array (P,)
        """
        from .components import Component

        component = component if isinstance(component, Component) else Component.parse(component)
        thetas = np.asarray(thetas, dtype=np.float64).reshape(-1, self.size)
        values = np.empty(thetas.shape[0])
        if component.kind == "reg":
            for k, theta in enumerate(thetas):
                values[k] = self.regularizer.penalty(theta, self.reg_mask)
            return values
        if component.kind == "example":
            k = component.index
            inputs_t, labels = self._inputs_t[:, k:k + 1], self.y[k:k + 1]
        else:
            inputs_t, labels = self._inputs_t, self.y
        count = thetas.shape[0]
        splits = max(1, min(int(workers), count))
        bounds = [count * k // splits for k in range(splits + 1)]
        parts = [slice(low, high) for low, high in zip(bounds[:-1], bounds[1:])]

        def run(part):
            # Each worker has its own buffers; a point's operations do not depend on which
            # chunk or worker computes it. Slices, not index arrays: views, no copies.
            n = labels.size
            per_chunk = max(1, int(chunk_bytes // self.bytes_per_point()))
            hidden_t = np.ones((self.hidden + 1, n))                 # last row: the constant 1 for b2
            scores_t = np.empty((min(per_chunk, part.stop - part.start), self.n_classes, n))
            for start in range(part.start, part.stop, per_chunk):
                rows = slice(start, min(start + per_chunk, part.stop))
                size = rows.stop - rows.start
                values[rows] = self._evaluate_chunk(thetas[rows], component, inputs_t, labels, hidden_t,
                                                    scores_t[:size])

        if splits == 1:
            run(parts[0])
        else:
            with ThreadPoolExecutor(splits, thread_name_prefix="hillwalk-batch") as pool:
                for done in [pool.submit(run, part) for part in parts]:
                    done.result()
        return values

    def _evaluate_chunk(self, thetas, component, inputs_t, labels, hidden_t, scores_t):
        """Values of one chunk; inputs_t (D+1, n), hidden_t (H+1, n), scores_t (P, C, n)."""
        D, H = self.shapes["W1"]
        C = self.n_classes
        first = (D + 1) * H
        hidden_part = hidden_t[:H]
        for p, theta in enumerate(thetas):
            layer1 = theta[:first].reshape(D + 1, H)              # [W1; b1]
            layer2 = theta[first:].reshape(H + 1, C)              # [W2; b2]
            np.matmul(layer1.T, inputs_t, out=hidden_part)
            activation_in_place(hidden_part, self.activation, self.slope)
            np.matmul(layer2.T, hidden_t, out=scores_t[p])
        columns = np.arange(labels.size)
        if component.kind == "accuracy":
            return np.mean(np.argmax(scores_t, axis=1) == labels[None], axis=1)
        correct = scores_t[:, labels, columns]                   # (P, n)
        if self.loss_name == "svm":
            scores_t -= correct[:, None, :]
            scores_t += self.delta
            scores_t[:, labels, columns] = 0.0
            np.maximum(scores_t, 0.0, out=scores_t)
            data = scores_t.sum(axis=1).mean(axis=1)
        else:
            # L_i = log sum_j exp(s_j - s_y): shifting by the correct score instead of the
            # largest saves a reduction; the sum holds exp(0) = 1, so it never underflows,
            # and where a difference overflows (s_j - s_y > 709) the point is redone with
            # the usual max shift.
            scores_t -= correct[:, None, :]
            with np.errstate(over="ignore"):
                np.exp(scores_t, out=scores_t)
            sums = scores_t.sum(axis=1)                           # (P, n)
            data = np.log(sums).mean(axis=1)
            for p in np.flatnonzero(~np.isfinite(data)):
                scores = self.forward(thetas[p], inputs_t[:-1].T)[0]
                data[p] = _softmax_per_example(scores, labels).mean()
        if component.kind in ("data", "example"):
            return data
        return data + np.array([self.regularizer.penalty(theta, self.reg_mask) for theta in thetas])

    def describe(self) -> dict:
        return {"model": "net", "hidden": self.hidden, "activation": self.activation, "slope": self.slope,
                "init": self.init, "loss": self.loss_name, "delta": self.delta,
                "regularizer": self.regularizer.kind, "lam": self.regularizer.lam, "beta": self.regularizer.beta,
                "regularize_bias": self.regularize_bias, "param_shape": list(self.param_shape),
                "blocks": {name: list(shape) for name, shape in self.shapes.items()},
                "n_train": self.n_train, "n_val": 0 if self.X_val is None else int(self.X_val.shape[0]),
                "data": self.train.provenance}
