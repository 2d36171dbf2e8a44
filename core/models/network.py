"""Layered network classifiers with backpropagation written by hand: :class:`Network` (any
depth, batch normalization, dropout, maxout, residual blocks) and its special case
:class:`TwoLayerNet` (one hidden layer, the app's model).

Each hidden layer is ``affine -> [batchnorm] -> activation -> [dropout]``, optionally with a
skip connection ``h_out = h_in + f(h_in)``; an output affine layer gives the class scores,
followed by the SVM or softmax loss of the linear model and its weight penalty.

Every layer is a forward/backward pair from :mod:`core.models.layers`: ``*_forward``
returns its output and a cache, ``*_backward`` takes the upstream gradient and the cache and
returns the gradients of its inputs (as in the CS231n assignments). The network composes them.

Parameters live in one flat vector ``theta``, block after block in layer order: W1, b1,
[gamma1, beta1], W2, b2, ..., then the output layer's W and b. With one hidden layer of H
units and none of the extras that is W1 (D x H), b1 (H), W2 (H x C), b2 (C), the layout of
the two-layer network. The blocks are declared by :meth:`Network.parameter_blocks`, so
directions can be normalized per neuron (a column of a weight matrix: one unit's incoming
weights) or per layer.
"""
from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..data.datasets import Dataset, add_bias
from ..errors import HillwalkError, require_choice
from .blocks import Block
from .layers import (
    ACTIVATIONS,
    ALL_INIT_SCHEMES,
    BATCHNORM_MODES,
    BN_EPS,
    KINKED_ACTIVATIONS,
    _sigmoid,
    activation_backward,
    activation_forward,
    activation_in_place,
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    dropout_mask,
    init_weights,
    maxout_pieces,
)
from .losses import _softmax_per_example, _svm_margins, _svm_per_example
from .objectives import ClassifierObjective
from .regularizers import Regularizer

INIT_SCHEMES = ("small", "xavier", "he")  # the app's choices; layers.ALL_INIT_SCHEMES has every scheme
# The deep network's activations: the elementwise ones and maxout (k affine maps per unit).
NETWORK_ACTIVATIONS = ACTIVATIONS + ("maxout",)
# At most this many bytes of temporaries per chunk in :meth:`Network.evaluate_batch`.
DEFAULT_CHUNK_BYTES = 4 * 2 ** 20
MAX_WIDTH = 4096
MAX_DEPTH = 64
MAX_PIECES = 16
MAX_MEAN_MASKS = 100
# The network's dropout modes: "fresh" is for training runs (new masks at every step, see
# Network.at_step); slices choose among the deterministic ones (SliceSpec.dropout_mode).
DROPOUT_MODES = ("off", "fixed", "mean:K", "fresh")
# Running statistics before any are estimated or updated (PyTorch's choice: the identity
# normalization), used only by :meth:`Network.update_running_stats`.
INITIAL_RUNNING_MEAN, INITIAL_RUNNING_VAR = 0.0, 1.0


# --------------------------------------------------------------------------- settings

def check_network_settings(hidden, activation, slope, init):
    """Raise :class:`HillwalkError` naming the first bad setting of a two-layer network:
    hidden units (1 .. 4096), activation, leaky-ReLU slope (in [0, 1)) or initialization."""
    require_choice(activation, ACTIVATIONS, "activation")
    require_choice(init, INIT_SCHEMES, "initialization")
    if int(hidden) != hidden or not 1 <= hidden <= MAX_WIDTH:
        raise HillwalkError(f"the hidden size must be a whole number from 1 to 4096, got {hidden}")
    _check_slope(slope)


def _check_slope(slope):
    if not (math.isfinite(slope) and 0 <= slope < 1):
        raise HillwalkError(f"the leaky ReLU slope must be in [0, 1), got {slope}")


def parse_dropout_mode(mode):
    """``(kind, K)`` of a dropout mode: ("off", 0), ("fixed", 1), ("mean", K) for "mean:K", or
    ("fresh", 1): new masks at every training step, and outside a step the one fixed mask
    set of "fixed" (K counts the mask sets the network stores)."""
    text = str(mode).strip()
    if text in ("off", "fixed", "fresh"):
        return text, (0 if text == "off" else 1)
    if text.startswith("mean:"):
        try:
            count = int(text[5:])
        except ValueError:
            count = None
        if count is not None and 1 <= count <= MAX_MEAN_MASKS:
            return "mean", count
        raise HillwalkError(f"dropout mode {text!r}: give the number of masks as a whole number from 1 to "
                            f"{MAX_MEAN_MASKS}, e.g. mean:8")
    raise HillwalkError(f"unknown dropout mode {text!r}; choose off, fixed, mean:K (K masks, e.g. mean:8) or fresh "
                        f"(new masks at every training step)")


def check_deep_settings(hidden, activation, slope, init, pieces=2, keep_prob=1.0, bn_momentum=0.9,
                        bn_mode="train", dropout_mode="fixed", mask_seed=0):
    """Raise :class:`HillwalkError` naming the first bad setting of a :class:`Network`;
    return the hidden widths as a tuple of ints."""
    try:
        widths = tuple(hidden)
    except TypeError:
        widths = (hidden,)
    if not 1 <= len(widths) <= MAX_DEPTH:
        raise HillwalkError(f"a network needs from 1 to {MAX_DEPTH} hidden layers, got {len(widths)}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer, float)) or int(width) != width \
                or not 1 <= width <= MAX_WIDTH:
            raise HillwalkError(f"every hidden width must be a whole number from 1 to {MAX_WIDTH}, got {width!r}")
    require_choice(activation, NETWORK_ACTIVATIONS, "activation")
    require_choice(init, ALL_INIT_SCHEMES, "initialization")
    _check_slope(slope)
    if activation == "maxout" and (int(pieces) != pieces or not 2 <= pieces <= MAX_PIECES):
        raise HillwalkError(f"maxout needs from 2 to {MAX_PIECES} pieces per unit (one piece would be the affine "
                            f"layer itself), got {pieces}")
    if not (math.isfinite(keep_prob) and 0.0 < keep_prob <= 1.0):
        raise HillwalkError(f"the dropout keep probability must be in (0, 1], got {keep_prob}")
    if not (math.isfinite(bn_momentum) and 0.0 <= bn_momentum <= 1.0):
        raise HillwalkError(f"the batch-norm momentum must be in [0, 1], got {bn_momentum}")
    require_choice(bn_mode, BATCHNORM_MODES, "batch-norm mode")
    parse_dropout_mode(dropout_mode)
    if isinstance(mask_seed, bool) or int(mask_seed) != mask_seed or mask_seed < 0:
        raise HillwalkError(f"the dropout mask seed must be a whole number >= 0, got {mask_seed}")
    return tuple(int(width) for width in widths)


def estimate_pass_bytes(n, d, classes, hidden, pieces=1, batchnorm=False, dropout=False, residual=False,
                        mask_sets=0, need_grad=True):
    """Working memory of one forward (and backward, with ``need_grad``) pass of a network
    on n examples, in bytes: the per-layer arrays its caches keep, the stored dropout masks
    and the parameters and gradient. Refuse work over the budget with
    :func:`core.limits.check_memory` before building the network.

    Per example and hidden layer of width w with k pieces: the layer's input, k*w
    pre-activations, with batch norm k*w normalized values and k*w outputs, w activations,
    with dropout w dropped values, with a skip connection w sums; the backward pass holds
    about as much again in gradients. The output layer keeps about 3 C values per example.
    """
    widths = tuple(int(w) for w in (hidden if np.iterable(hidden) else (hidden,)))
    per_example = float(d)
    for width in widths:
        per_example += width * (pieces * (1 + 2 * bool(batchnorm)) + 1 + bool(dropout) + bool(residual))
    per_example += 3 * classes
    fan_ins = (d,) + widths[:-1]
    params = sum(pieces * (f + 1) * w + (2 * pieces * w if batchnorm else 0) for f, w in zip(fan_ins, widths))
    params += (widths[-1] + 1) * classes
    factor = 2 if need_grad else 1
    return int(8 * (factor * (n * per_example + params) + mask_sets * n * sum(widths)))


# --------------------------------------------------------------------------- layers

@dataclass(frozen=True)
class _Layer:
    """One hidden layer: its fan-in, width, pieces (1 unless maxout), whether it skips, and
    its parameter blocks (gamma/beta None without batch norm)."""

    index: int
    fan_in: int
    width: int
    pieces: int
    residual: bool
    W: Block
    b: Block
    gamma: Block | None
    beta: Block | None


def _max_forward(pieces):
    """Max over the first axis: pieces (k, n, M) -> out (n, M), cache (winner (n, M), k).
    A tie goes to the lowest piece index (``argmax``), as in ``layers.maxout_forward``."""
    winner = np.argmax(pieces, axis=0)
    return np.take_along_axis(pieces, winner[None], axis=0)[0], (winner, pieces.shape[0])


def _max_backward(dout, cache):
    """dout (n, M) -> dpieces (k, n, M): each output's gradient goes to its winning piece."""
    winner, k = cache
    dpieces = np.zeros((k,) + np.shape(dout))
    np.put_along_axis(dpieces, winner[None], np.asarray(dout)[None], axis=0)
    return dpieces


def _pieces_backward(dpieces, cache):
    """Gradients of ``maxout_pieces``: dpieces (k, n, M) -> dx (n, D), dW (k, D, M), db (k, M)."""
    x, W = cache
    dx = np.matmul(dpieces, W.transpose(0, 2, 1)).sum(axis=0)
    return dx, np.matmul(x.T, dpieces), dpieces.sum(axis=1)


def _as_features(z):
    """Pre-activations as batch-norm features: (n, M) as is, maxout's (k, n, M) as (n, k*M)
    with feature ``j*M + m`` = piece j of unit m (the order of gamma (k, M) raveled)."""
    if z.ndim == 2:
        return z
    k, n, m = z.shape
    return z.transpose(1, 0, 2).reshape(n, k * m)


def _from_features(f, like_shape):
    if len(like_shape) == 2:
        return f
    k, n, m = like_shape
    return f.reshape(n, k, m).transpose(1, 0, 2)


def _activation_and_derivatives(z, kind, slope):
    """An elementwise activation of z with its first and second derivatives, each of z's
    shape. ReLU and leaky ReLU are linear on each side of 0 (second derivative 0; at 0
    the first derivative is the left one, as in their backward pass)."""
    if kind == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(np.float64), np.zeros_like(z)
    if kind == "leaky_relu":
        return np.where(z > 0, z, slope * z), np.where(z > 0, 1.0, slope), np.zeros_like(z)
    if kind == "tanh":
        a = np.tanh(z)
        first = 1.0 - a * a
        return a, first, -2.0 * a * first
    if kind == "sigmoid":
        a = _sigmoid(z)
        first = a * (1.0 - a)
        return a, first, first * (1.0 - 2.0 * a)
    if kind == "elu":
        negative = np.expm1(np.minimum(z, 0.0))
        a = np.where(z > 0, z, negative)
        first = np.where(z > 0, 1.0, negative + 1.0)
        return a, first, np.where(z > 0, 0.0, negative + 1.0)
    raise HillwalkError(f"unknown activation {kind!r}")


def _share_points(count, workers, run):
    """Call ``run(part)`` on ``min(workers, count)`` contiguous slices of ``range(count)``,
    in that many threads (NumPy releases the GIL in its products), or in this thread for one."""
    splits = max(1, min(int(workers), count))
    bounds = [count * k // splits for k in range(splits + 1)]
    parts = [slice(low, high) for low, high in zip(bounds[:-1], bounds[1:])]
    if splits == 1:
        run(parts[0])
        return
    with ThreadPoolExecutor(splits, thread_name_prefix="hillwalk-batch") as pool:
        for done in [pool.submit(run, part) for part in parts]:
            done.result()


# --------------------------------------------------------------------------- the network

class Network(ClassifierObjective):
    """A layered network classifier behind the shared objective interface.

    Parameters
    ----------
    train : Dataset (N x D features) ; val : Dataset or None
    hidden : sequence of int
        Widths of the hidden layers (1 .. 4096 units each, 1 .. 64 layers), e.g. (100, 100).
    activation : one of NETWORK_ACTIVATIONS ; slope : float
        Negative-side slope of leaky_relu. "maxout" gives every unit ``pieces`` affine maps
        and keeps their maximum.
    init : one of layers.ALL_INIT_SCHEMES
        How :meth:`initial_theta` draws every weight matrix (biases and beta start at 0,
        gamma at 1).
    loss, delta, regularizer, regularize_bias
        As for :class:`~core.models.objectives.LinearClassifier`. The penalty applies to
        every weight block; biases, gamma and beta (the blocks marked ``is_bias``) join
        it only with ``regularize_bias``.
    pieces : int
        Maxout's k (2 .. 16); ignored by the other activations.
    batchnorm : bool
        Batch normalization between each hidden layer's affine map and its activation.
    keep_prob : float in (0, 1]
        Inverted dropout after each hidden activation; 1 means no dropout.
    residual : bool
        Skip connections ``h_out = h_in + f(h_in)`` (f the whole layer, dropout included)
        on every hidden layer whose input width equals its width. The first hidden layer,
        fed by the data, is never residual: its input is the data, not a representation.
    bn_momentum : float in [0, 1]
        Weight of the old running statistics in :meth:`update_running_stats`
        (CS231n's convention, see ``layers.batchnorm_forward``).
    bn_mode : "train" or "eval"
        Batch normalization of the loss and gradient: "train" normalizes with the
        statistics of the examples evaluated (the whole training set, or the minibatch);
        "eval" with :attr:`running_stats`, which must be set first
        (:meth:`estimate_running_stats`).
    dropout_mode : "off", "fixed", "mean:K" or "fresh"
        Dropout of the loss and gradient: "off" is evaluation (no mask, no scaling);
        "fixed" draws one mask per training example and layer once, from ``mask_seed``,
        so the loss is the same function at every call (what a gradient check or a slice
        needs) and a minibatch uses its own rows of the mask; "mean:K" averages the loss
        and gradient over K such mask sets, drawn with seeds ``mask_seed .. mask_seed+K-1``
        (so "mean:1" is "fixed"). "fresh" is training with new masks at every step: the
        network declares ``has_step_noise`` and a run takes update t's loss and gradient
        from :meth:`at_step` (masks drawn from ``default_rng([mask_seed, t])``) and records
        the loss of :meth:`for_evaluation` (dropout off); outside a step the network is the
        "fixed" function (same masks, same numbers), so a slice's trained centre, a
        gradient check and the labs see one deterministic function.
    mask_seed : int >= 0

    Notes
    -----
    Layout: blocks in layer order ``W1, b1, [gamma1, beta1], W2, b2, ..., W{L+1}, b{L+1}``
    (the last pair is the output layer). Weights are (fan_in, width); a maxout layer's are
    (k, fan_in, width) with biases (k, width), so a unit's k pieces share one filter
    (axis 2) and filter normalization scales all of one unit's incoming weights together,
    as for any other unit. Batch norm on a maxout layer normalizes each piece (gamma and
    beta are (k, width)). Gamma and beta are marked ``is_bias``: directions zero them or
    keep them together with the biases (``directions.normalize``'s ``biases``).

    Evaluation (:meth:`accuracy`, :meth:`predict`) runs with dropout off and batch norm in
    "eval" mode when running statistics exist, else in "train" mode on the evaluated set.

    Per-example losses (:meth:`per_example_losses`, :meth:`loss_terms`, the "example:K"
    slice component) are the terms of the full training loss: with batch norm in "train"
    mode each example is normalized with the whole training set's statistics.
    """

    has_batch_evaluation = True  # evaluate_batch and bytes_per_point below
    is_network = True
    has_step_noise = False       # set per instance: True in "fresh" mode with keep_prob < 1 (at_step)
    step = None                  # the update whose masks a copy from at_step uses (None: not a step)
    MODES = ("bn_mode", "dropout_mode", "mask_seed", "running_stats")

    def __init__(self, train: Dataset, val: Dataset | None = None, hidden=(64,), activation: str = "relu",
                 slope: float = 0.01, init: str = "he", loss: str = "softmax", delta: float = 1.0,
                 regularizer: Regularizer | None = None, regularize_bias: bool = False, pieces: int = 2,
                 batchnorm: bool = False, keep_prob: float = 1.0, residual: bool = False, bn_momentum: float = 0.9,
                 bn_mode: str = "train", dropout_mode: str = "fixed", mask_seed: int = 0):
        widths = check_deep_settings(hidden, activation, slope, init, pieces, keep_prob, bn_momentum, bn_mode,
                                     dropout_mode, mask_seed)
        self._set_head(train, val, loss, delta, regularizer, regularize_bias)
        self.widths = widths
        self.hidden = widths
        self.activation = activation
        self.slope = float(slope)
        self.init = init
        self.pieces = int(pieces) if activation == "maxout" else 1
        self.batchnorm = bool(batchnorm)
        self.keep_prob = float(keep_prob)
        self.residual = bool(residual)
        self.bn_momentum = float(bn_momentum)
        self.bn_mode = bn_mode
        self.dropout_mode = str(dropout_mode).strip()
        self.mask_seed = int(mask_seed)
        self.has_step_noise = self._fresh_training
        self.running_stats = None
        self.X = np.asarray(train.X, dtype=np.float64)      # (N, D)
        self.X_val = val.X if self.y_val is not None else None
        self._build_layout()
        # the plain two-layer case keeps its fast batched landscape path
        self._plain = len(widths) == 1 and self.pieces == 1 and not self.batchnorm and not self._dropout_active
        if self._plain:
            # [X^T; 1] (D+1, N): with b1 stored after W1, the first layer is one product.
            # The transpose of the bias-augmented X: a view when the split left room for the
            # bias column (a large set is then in memory once), else a copy.
            self._inputs_t = add_bias(self.X).T
        self._draw_masks()

    # ----------------------------------------------------------------- layout
    def _build_layout(self):
        D, C, k = self.X.shape[1], self.n_classes, self.pieces
        self.shapes, self.offsets, self.layers, blocks = {}, {}, [], []
        offset = 0

        def block(name, shape, filter_axis, is_bias):
            nonlocal offset
            made = Block(name, tuple(shape), offset, filter_axis=filter_axis, is_bias=is_bias)
            self.shapes[name], self.offsets[name] = made.shape, offset
            offset += made.size
            blocks.append(made)
            return made

        fan_in = D
        for index, width in enumerate(self.widths, start=1):
            if k > 1:
                W = block(f"W{index}", (k, fan_in, width), 2, False)
                b = block(f"b{index}", (k, width), 0, True)
            else:
                W = block(f"W{index}", (fan_in, width), 1, False)
                b = block(f"b{index}", (width,), 0, True)
            gamma = beta = None
            if self.batchnorm:
                gamma = block(f"gamma{index}", b.shape, 0, True)
                beta = block(f"beta{index}", b.shape, 0, True)
            residual = self.residual and index > 1 and fan_in == width
            self.layers.append(_Layer(index, fan_in, width, k, residual, W, b, gamma, beta))
            fan_in = width
        last = len(self.widths) + 1
        self.output = (block(f"W{last}", (fan_in, C), 1, False), block(f"b{last}", (C,), 0, True))
        self._blocks = blocks
        self.param_shape = (offset,)
        self.reg_mask = np.zeros(offset, dtype=bool)
        for made in blocks:
            if not made.is_bias or self.regularize_bias:
                self.reg_mask[made.offset:made.offset + made.size] = True

    @property
    def size(self) -> int:
        return self.param_shape[0]

    @property
    def depth(self) -> int:
        """Hidden layers."""
        return len(self.widths)

    @property
    def residual_blocks(self) -> int:
        """How many hidden layers skip (0 without ``residual`` or without equal widths)."""
        return sum(layer.residual for layer in self.layers)

    @property
    def block_names(self) -> tuple:
        return tuple(made.name for made in self._blocks)

    def _slice(self, name):
        start = self.offsets[name]
        return slice(start, start + int(np.prod(self.shapes[name])))

    def unpack(self, theta, as_dict=False):
        """Views of the blocks of a flat theta, in layout order (W1, b1, [gamma1, beta1],
        ..., output W, b), as a tuple, or as a dict by name with ``as_dict``."""
        flat = self._as_flat(theta)
        views = [made.view(flat) for made in self._blocks]
        return dict(zip(self.block_names, views)) if as_dict else tuple(views)

    def pack(self, *blocks):
        """The flat theta of the blocks in layout order (or of one dict by name)."""
        if len(blocks) == 1 and isinstance(blocks[0], dict):
            blocks = tuple(blocks[0][name] for name in self.block_names)
        if len(blocks) != len(self._blocks):
            raise HillwalkError(f"this network has {len(self._blocks)} parameter blocks "
                                f"({', '.join(self.block_names)}), got {len(blocks)}")
        return np.concatenate([np.ravel(b) for b in blocks]).astype(np.float64)

    def _as_flat(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.size != self.size:
            widths = self.widths[0] if len(self.widths) == 1 else list(self.widths)
            raise HillwalkError(f"parameters of size {theta.size} do not fit this network, which has {self.size} "
                                f"(D={self.X.shape[1]}, H={widths}, C={self.n_classes})")
        return theta.reshape(-1)

    def weight_index(self, row, col):
        """The flat index of ``W1[row, col]`` (of maxout's first piece, ``W1[0, row, col]``)."""
        D, H = self.X.shape[1], self.widths[0]
        if not (0 <= row < D and 0 <= col < H):
            raise HillwalkError(f"W1[{row}, {col}] is outside W1, which is {D} x {H}")
        return self.offsets["W1"] + row * H + col

    def parameter_blocks(self):
        """Every block in layout order: weights with their filters (units) along the last
        axis, biases, gamma and beta marked ``is_bias``."""
        return list(self._blocks)

    def initial_theta(self, scale=None, seed: int = 0):
        """Weights drawn by the network's initialization scheme with ``seed``, layer by
        layer (a maxout layer's pieces one after another), the output layer last; biases
        and beta 0, gamma 1.

        ``scale`` is accepted for interface compatibility and ignored: the scheme sets it.
        """
        rng = np.random.default_rng(seed)
        theta = np.zeros(self.size)
        for layer in self.layers:
            if layer.pieces > 1:
                W = np.stack([init_weights(layer.fan_in, layer.width, self.init, rng) for _ in range(layer.pieces)])
            else:
                W = init_weights(layer.fan_in, layer.width, self.init, rng)
            layer.W.view(theta)[...] = W
            if layer.gamma is not None:
                layer.gamma.view(theta)[...] = 1.0
        W_out = self.output[0]
        W_out.view(theta)[...] = init_weights(W_out.shape[0], W_out.shape[1], self.init, rng)
        return theta

    def _locate(self, flat_index):
        """(block name, index tuple inside the block) of a flat parameter index."""
        for made in reversed(self._blocks):
            if flat_index >= made.offset:
                if flat_index >= made.offset + made.size:
                    break
                return made.name, np.unravel_index(flat_index - made.offset, made.shape)
        raise HillwalkError(f"parameter index {flat_index} is out of range")

    # ----------------------------------------------------------------- modes
    @property
    def _dropout_active(self) -> bool:
        return self.keep_prob < 1.0 and parse_dropout_mode(self.dropout_mode)[0] != "off"

    @property
    def _fresh_training(self) -> bool:
        return self.keep_prob < 1.0 and self.dropout_mode == "fresh"

    def _draw_masks(self):
        """``self.masks``: None without active dropout, else K mask sets (K = 1 for
        "fixed" and "fresh"), set j drawn from ``default_rng(mask_seed + j)``, each a list of
        one (N, width) inverted-dropout mask per hidden layer."""
        if not self._dropout_active:
            self.masks = None
            return
        count = parse_dropout_mode(self.dropout_mode)[1]
        self.masks = []
        for j in range(count):
            rng = np.random.default_rng(self.mask_seed + j)
            self.masks.append([dropout_mask((self.n_train, w), self.keep_prob, rng) for w in self.widths])

    def with_modes(self, **changes):
        """A copy in other modes (``bn_mode``, ``dropout_mode``, ``mask_seed``,
        ``running_stats``) sharing the data and everything else."""
        unknown = sorted(set(changes) - set(self.MODES))
        if unknown:
            raise HillwalkError(f"{', '.join(unknown)} cannot be changed by with_modes; it changes "
                                f"{', '.join(self.MODES)}")
        settings = {name: changes.get(name, getattr(self, name)) for name in self.MODES}
        check_deep_settings(self.widths, self.activation, self.slope, self.init, max(self.pieces, 2), self.keep_prob,
                            self.bn_momentum, settings["bn_mode"], settings["dropout_mode"], settings["mask_seed"])
        twin = copy.copy(self)
        twin.bn_mode, twin.dropout_mode = settings["bn_mode"], str(settings["dropout_mode"]).strip()
        twin.mask_seed = int(settings["mask_seed"])
        twin.running_stats = self._checked_stats(settings["running_stats"])
        twin.step, twin.has_step_noise = None, twin._fresh_training
        # the fast two-layer path knows no masks: a copy whose dropout is on leaves it (the
        # reverse keeps the generic path, which is exact too)
        twin._plain = self._plain and not twin._dropout_active
        # "fresh" stores the mask set of "fixed": switching between the two redraws nothing
        stored = {"fresh": "fixed"}
        if self.step is not None or (stored.get(twin.dropout_mode, twin.dropout_mode), twin.mask_seed) != \
                (stored.get(self.dropout_mode, self.dropout_mode), self.mask_seed):
            twin._draw_masks()
        return twin

    def at_step(self, step: int):
        """The objective of training update ``step`` (0-based) in "fresh" mode: a copy that
        shares the data and parameters' layout, whose loss and gradient use dropout masks
        drawn from ``np.random.default_rng([mask_seed, step])``, one (n, width) mask per
        hidden layer for the n examples evaluated (the minibatch's, in its order; all N
        without a batch). The masks are drawn at each call from that seed alone, so the
        copy is one deterministic function, the same in any thread, and a run holds no
        generator state; every step has its own masks.

        Batch norm keeps the network's mode (training mode: each step's batch statistics).
        """
        if not self.has_step_noise:
            raise HillwalkError("only a network with dropout (p < 1) in 'fresh' mode draws new masks per step; "
                                f"this one has p = {self.keep_prob:g} and dropout mode {self.dropout_mode!r}")
        if isinstance(step, bool) or int(step) != step or step < 0:
            raise HillwalkError(f"the training step must be a whole number >= 0, got {step!r}")
        twin = copy.copy(self)
        twin.step, twin.masks, twin.has_step_noise = int(step), None, False
        return twin

    def for_evaluation(self):
        """The copy whose loss a run records while it trains with fresh masks: dropout off
        (evaluation: no mask, no scaling), batch norm in the network's own mode (in
        "train" mode the statistics of the whole training set). Accuracy is evaluated
        with dropout off already (:meth:`accuracy`)."""
        return self.with_modes(dropout_mode="off")

    def _checked_stats(self, stats):
        if stats is None:
            return None
        stats = [(np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64)) for mean, var in stats]
        expected = [(layer.pieces * layer.width,) for layer in self.layers] if self.batchnorm else []
        if [mean.shape for mean, _ in stats] != expected or [var.shape for _, var in stats] != expected:
            raise HillwalkError(f"running statistics for {len(stats)} layer(s) do not fit this network's batch-norm "
                                f"layers ({len(expected)})")
        return stats

    def _running_for(self, bn_mode):
        if not self.batchnorm or bn_mode == "train":
            return None
        if self.running_stats is None:
            raise HillwalkError("batch norm in evaluation mode needs running statistics, and this network has none "
                                "yet; estimate them first (estimate_running_stats at the centre) or use train mode")
        return self.running_stats

    def estimate_running_stats(self, theta):
        """Set :attr:`running_stats` to the population statistics at ``theta``: each batch-norm
        layer's mean and (biased) variance over the whole training set, with dropout off
        (what evaluation sees; a training mask changes later layers' inputs), deterministic.

        Returns
        -------
        list of (mean (k*width,), var (k*width,)), one per hidden layer ([] without batch norm)
        """
        flat = self._as_flat(theta)
        self.running_stats = self.forward(flat, self.X, None, "train")[1][2]
        return self.running_stats

    def update_running_stats(self, theta, batch=None):
        """One momentum update of :attr:`running_stats` from the batch statistics of the
        examples ``batch`` (all when None) at theta: ``new = m * old + (1 - m) * batch``
        with m = ``bn_momentum``, starting from mean 0 and variance 1. Dropout as in the
        loss (the first mask set's rows), since this is what a training step would see.

        Returns the new statistics (also stored)."""
        flat = self._as_flat(theta)
        rows = slice(None) if batch is None else batch
        masks = self._mask_sets(batch)[0]
        batch_stats = self.forward(flat, self.X[rows], masks, "train")[1][2]
        old = self.running_stats or [(np.full(mean.shape, INITIAL_RUNNING_MEAN), np.full(var.shape,
                                      INITIAL_RUNNING_VAR)) for mean, var in batch_stats]
        m = self.bn_momentum
        self.running_stats = [(m * om + (1.0 - m) * bm, m * ov + (1.0 - m) * bv)
                              for (om, ov), (bm, bv) in zip(old, batch_stats)]
        return self.running_stats

    def modes(self) -> dict:
        """The modes the loss and gradient run in, for every output to state."""
        if not self.batchnorm:
            bn = "none"
        else:
            bn = self.bn_mode + (" (running statistics set)" if self.running_stats is not None else "")
        dropout = "none" if self.keep_prob == 1.0 else self.dropout_mode
        if self.step is not None and self.keep_prob < 1.0:
            dropout = f"fresh (masks of step {self.step})"
        return {"batchnorm": bn, "dropout": dropout, "mask_seed": self.mask_seed if self._dropout_active else None}

    # ----------------------------------------------------------------- forward / backward
    def forward(self, theta, X, masks=None, bn_mode=None):
        """Scores of inputs X through the network.

        Parameters
        ----------
        theta : flat parameters ; X : (n, D)
        masks : list of (n, width) per hidden layer, or None (no dropout)
        bn_mode : "train", "eval" or None (the network's ``bn_mode``)

        Returns
        -------
        scores (n, C), caches (for :meth:`backward`; ``caches[2]`` is the list of each
        batch-norm layer's (mean, var) used: the batch's in train mode)
        """
        flat = self._as_flat(theta)
        bn_mode = self.bn_mode if bn_mode is None else bn_mode
        running = self._running_for(bn_mode)
        h = X
        caches, stats = [], []
        for i, layer in enumerate(self.layers):
            W, b = layer.W.view(flat), layer.b.view(flat)
            if layer.pieces > 1:
                z, affine_cache = maxout_pieces(h, W, b), (np.asarray(h, dtype=np.float64), W)   # (k, n, M)
            else:
                z, affine_cache = affine_forward(h, W, b)                                        # (n, M)
            bn_cache = None
            if layer.gamma is not None:
                if running is None:   # batch statistics: momentum 0 from zeros returns them exactly
                    zeros = np.zeros(layer.pieces * layer.width)
                    mean_var = (zeros, zeros)
                else:
                    mean_var = running[i]
                normalized, bn_cache, mean, var = batchnorm_forward(
                    _as_features(z), layer.gamma.view(flat).ravel(), layer.beta.view(flat).ravel(), bn_mode,
                    mean_var[0], mean_var[1], momentum=0.0)
                stats.append((mean, var))
                z = _from_features(normalized, z.shape)
            if layer.pieces > 1:
                a, act_cache = _max_forward(z)
            else:
                a, act_cache = activation_forward(z, self.activation, self.slope)
            a, drop_cache = dropout_forward(a, None if masks is None else masks[i])
            if layer.residual:
                a = h + a
            caches.append((layer, affine_cache, bn_cache, act_cache, drop_cache, z.shape))
            h = a
        W_out, b_out = self.output
        scores, out_cache = affine_forward(h, W_out.view(flat), b_out.view(flat))
        return scores, (caches, out_cache, stats)

    def backward(self, dscores, caches):
        """Flat gradient of the data loss from ``dscores`` (n, C) and the forward caches."""
        layer_caches, out_cache, _ = caches
        grad = np.empty(self.size)
        W_out, b_out = self.output
        dh, dW, db = affine_backward(dscores, out_cache)
        W_out.view(grad)[...], b_out.view(grad)[...] = dW, db
        for layer, affine_cache, bn_cache, act_cache, drop_cache, z_shape in reversed(layer_caches):
            da = dropout_backward(dh, drop_cache)
            dz = _max_backward(da, act_cache) if layer.pieces > 1 else activation_backward(da, act_cache)
            if bn_cache is not None:
                dfeatures, dgamma, dbeta = batchnorm_backward(_as_features(dz), bn_cache)
                dz = _from_features(dfeatures, z_shape)
                layer.gamma.view(grad)[...] = dgamma.reshape(layer.gamma.shape)
                layer.beta.view(grad)[...] = dbeta.reshape(layer.beta.shape)
            if layer.pieces > 1:
                dx, dW, db = _pieces_backward(dz, affine_cache)
            else:
                dx, dW, db = affine_backward(dz, affine_cache)
            layer.W.view(grad)[...], layer.b.view(grad)[...] = dW, db
            dh = dh + dx if layer.residual else dx
        return grad

    # ----------------------------------------------------------------- curvature
    def hvp(self, theta, v, batch=None):
        """The Hessian of :meth:`loss_and_grad`'s loss at ``theta`` times ``v``, exactly, in
        the network's modes (batch norm's, dropout's mask sets averaged like the loss).

        Pearlmutter's R-operator, written by hand per layer like the gradients: a forward
        pass carries each value's directional derivative along ``v`` (R{z} for every
        pre-activation, batch norm's R{mean}, R{var} in train mode, each activation's first
        derivative), then the backward pass is differentiated along ``v`` too: each
        gradient's R{.} comes from the same products with one factor replaced by its R{.},
        plus the activations' second derivatives. ReLU, leaky ReLU, maxout and the SVM are
        piecewise linear: their second derivatives are 0 wherever they are defined (away
        from the kinks), so only the products' cross terms remain there.

        Parameters
        ----------
        theta, v : flat parameters (size,) ; batch : example rows or None (all)

        Returns
        -------
        array shaped like ``v``
        """
        flat, direction = self._as_flat(theta), self._as_flat(v)
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        sets = self._mask_sets(batch)
        total = np.zeros(self.size)
        for masks in sets:
            total += self._hvp_one(flat, direction, X, y, masks)
        total /= len(sets)
        total += self.regularizer.hessian_vector(flat, direction, self.reg_mask)
        return total.reshape(np.shape(v))

    def _hvp_one(self, flat, direction, X, y, masks):
        """H v of the data loss for one mask set (None: no dropout); flat (size,)."""
        bn_mode = self.bn_mode
        running = self._running_for(bn_mode)
        n = X.shape[0]
        h, rh = X, np.zeros_like(X)
        records = []
        for i, layer in enumerate(self.layers):
            W, b = layer.W.view(flat), layer.b.view(flat)
            rW, rb = layer.W.view(direction), layer.b.view(direction)
            if layer.pieces > 1:
                z = np.matmul(h, W) + b[:, None, :]                                   # (k, n, M)
                rz = np.matmul(rh, W) + np.matmul(h, rW) + rb[:, None, :]
            else:
                z = h @ W + b                                                          # (n, M)
                rz = rh @ W + h @ rW + rb
            bn = None
            if layer.gamma is not None:
                f, rf = _as_features(z), _as_features(rz)
                gamma, beta = layer.gamma.view(flat).ravel(), layer.beta.view(flat).ravel()
                rgamma, rbeta = layer.gamma.view(direction).ravel(), layer.beta.view(direction).ravel()
                if running is None:   # batch statistics, which move with the weights
                    mean, var = f.mean(axis=0), f.var(axis=0)
                    centred = f - mean
                    r_mean = rf.mean(axis=0)
                    r_var = 2.0 * np.mean(centred * (rf - r_mean), axis=0)
                else:
                    mean, var = running[i]
                    centred, r_mean, r_var = f - mean, 0.0, 0.0
                inv_std = 1.0 / np.sqrt(var + BN_EPS)
                r_inv_std = -0.5 * inv_std ** 3 * r_var
                x_hat = centred * inv_std
                r_x_hat = (rf - r_mean) * inv_std + centred * r_inv_std
                out = gamma * x_hat + beta
                r_out = rgamma * x_hat + gamma * r_x_hat + rbeta
                bn = (x_hat, r_x_hat, gamma, rgamma, inv_std, r_inv_std, running is None, z.shape)
                z, rz = _from_features(out, z.shape), _from_features(r_out, z.shape)
            if layer.pieces > 1:
                winner = np.argmax(z, axis=0)
                a = np.take_along_axis(z, winner[None], axis=0)[0]
                ra = np.take_along_axis(rz, winner[None], axis=0)[0]
                first = second = None
            else:
                a, first, second = _activation_and_derivatives(z, self.activation, self.slope)
                ra = first * rz
                winner = None
            mask = None if masks is None else masks[i]
            if mask is not None:
                a, ra = a * mask, ra * mask
            if layer.residual:
                a, ra = h + a, rh + ra
            records.append((layer, h, rh, z, rz, bn, first, second, winner, mask))
            h, rh = a, ra
        W_out, b_out = self.output
        Wo, rWo = W_out.view(flat), W_out.view(direction)
        scores = h @ Wo + b_out.view(flat)
        r_scores = rh @ Wo + h @ rWo + b_out.view(direction)
        _, dscores = self.score_loss(scores, y)
        if self.loss_name == "softmax":
            p = dscores * n
            p[np.arange(n), y] += 1.0                                                  # the probabilities
            r_dscores = p * (r_scores - np.sum(p * r_scores, axis=1, keepdims=True)) / n
        else:   # the hinge's subgradient is piecewise constant in the scores
            r_dscores = np.zeros_like(dscores)
        out = np.empty(self.size)
        W_out.view(out)[...] = rh.T @ dscores + h.T @ r_dscores
        b_out.view(out)[...] = r_dscores.sum(axis=0)
        dh = dscores @ Wo.T
        r_dh = r_dscores @ Wo.T + dscores @ rWo.T
        for layer, h_in, rh_in, z, rz, bn, first, second, winner, mask in reversed(records):
            W, rW = layer.W.view(flat), layer.W.view(direction)
            da, r_da = (dh, r_dh) if mask is None else (dh * mask, r_dh * mask)
            if winner is not None:      # maxout: the gradient flows to each unit's winning piece
                dz = np.zeros(z.shape)
                r_dz = np.zeros(z.shape)
                np.put_along_axis(dz, winner[None], da[None], axis=0)
                np.put_along_axis(r_dz, winner[None], r_da[None], axis=0)
            else:
                dz = da * first
                r_dz = r_da * first + da * second * rz
            if bn is not None:
                x_hat, r_x_hat, gamma, rgamma, inv_std, r_inv_std, batch_stats, shape = bn
                g_out, r_g_out = _as_features(dz), _as_features(r_dz)
                layer.gamma.view(out)[...] = np.sum(r_g_out * x_hat + g_out * r_x_hat, axis=0).reshape(layer.gamma.shape)
                layer.beta.view(out)[...] = r_g_out.sum(axis=0).reshape(layer.beta.shape)
                g = gamma * g_out
                rg = rgamma * g_out + gamma * r_g_out
                if batch_stats:
                    m = g.shape[0]
                    s1, s2 = g.sum(axis=0), np.sum(g * x_hat, axis=0)
                    r_s1, r_s2 = rg.sum(axis=0), np.sum(rg * x_hat + g * r_x_hat, axis=0)
                    inner = m * g - s1 - x_hat * s2
                    r_inner = m * rg - r_s1 - r_x_hat * s2 - x_hat * r_s2
                    dz_in = inv_std / m * inner
                    r_dz_in = (r_inv_std * inner + inv_std * r_inner) / m
                else:
                    dz_in, r_dz_in = g * inv_std, rg * inv_std
                dz, r_dz = _from_features(dz_in, shape), _from_features(r_dz_in, shape)
            if layer.pieces > 1:
                layer.W.view(out)[...] = np.matmul(rh_in.T, dz) + np.matmul(h_in.T, r_dz)
                layer.b.view(out)[...] = r_dz.sum(axis=1)
                dx = np.matmul(dz, W.transpose(0, 2, 1)).sum(axis=0)
                r_dx = (np.matmul(r_dz, W.transpose(0, 2, 1)) + np.matmul(dz, rW.transpose(0, 2, 1))).sum(axis=0)
            else:
                layer.W.view(out)[...] = rh_in.T @ dz + h_in.T @ r_dz
                layer.b.view(out)[...] = r_dz.sum(axis=0)
                dx, r_dx = dz @ W.T, r_dz @ W.T + dz @ rW.T
            if layer.residual:
                dh, r_dh = dh + dx, r_dh + r_dx
            else:
                dh, r_dh = dx, r_dx
        return out

    def layer_values(self, theta, X=None):
        """Every hidden layer's values, for the labs: a list of dicts with "affine" (the
        affine map, (n, width) or maxout's (k, n, width)), "normalized" (after batch norm,
        or None), "activation" (n, width) and "output" (n, width, after dropout and the
        skip connection).

        On the training set (X None) in the loss's modes (the first dropout mask set); on
        other inputs X (n, D) in evaluation mode (see :meth:`accuracy`).
        """
        flat = self._as_flat(theta)
        if X is None:
            X, masks, bn_mode = self.X, self._mask_sets(None)[0], self.bn_mode
        else:
            X, masks, bn_mode = np.asarray(X, dtype=np.float64), None, self._eval_bn_mode()
        running = self._running_for(bn_mode)
        values, h = [], X
        for i, layer in enumerate(self.layers):
            W, b = layer.W.view(flat), layer.b.view(flat)
            z = maxout_pieces(h, W, b) if layer.pieces > 1 else h @ W + b
            entry = {"affine": z, "normalized": None}
            if layer.gamma is not None:
                if running is None:
                    zeros = np.zeros(layer.pieces * layer.width)
                    mean_var = (zeros, zeros)
                else:
                    mean_var = running[i]
                normalized = batchnorm_forward(_as_features(z), layer.gamma.view(flat).ravel(),
                                               layer.beta.view(flat).ravel(), bn_mode, *mean_var, momentum=0.0)[0]
                z = entry["normalized"] = _from_features(normalized, z.shape)
            a = _max_forward(z)[0] if layer.pieces > 1 else activation_forward(z, self.activation, self.slope)[0]
            entry["activation"] = a
            a = dropout_forward(a, None if masks is None else masks[i])[0]
            h = entry["output"] = h + a if layer.residual else a
            values.append(entry)
        return values

    # ----------------------------------------------------------------- the loss in its modes
    def _mask_sets(self, rows):
        """The dropout mask sets of the examples ``rows`` (None: all): [None] without dropout;
        for a copy from :meth:`at_step`, the one set of its step, drawn for those rows."""
        if self.step is not None:
            count = self.n_train if rows is None else np.arange(self.n_train)[rows].size
            rng = np.random.default_rng([self.mask_seed, self.step])
            return [[dropout_mask((count, width), self.keep_prob, rng) for width in self.widths]]
        if self.masks is None:
            return [None]
        if rows is None:
            return self.masks
        return [[mask[rows] for mask in masks] for masks in self.masks]

    def _data_loss(self, flat, batch=None, need_grad=True):
        """Mean data loss over ``batch`` in the loss's modes, averaged over the mask sets,
        and its flat gradient (None without ``need_grad``)."""
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        sets = self._mask_sets(batch)
        loss, grad = 0.0, None
        for masks in sets:
            scores, caches = self.forward(flat, X, masks)
            part, dscores = self.score_loss(scores, y)
            if len(sets) == 1:   # the plain case: no arithmetic beyond the one pass
                return part, (self.backward(dscores, caches) if need_grad else None)
            loss += part
            if need_grad:
                part_grad = self.backward(dscores, caches)
                grad = part_grad if grad is None else grad + part_grad
        return loss / len(sets), (grad / len(sets) if need_grad else None)

    def loss_and_grad(self, theta, batch=None, need_grad=True):
        """Mean data loss over ``batch`` (all training examples when None) plus the penalty,
        and its gradient shaped like ``theta`` (None when ``need_grad`` is false), in the
        network's batch-norm and dropout modes."""
        flat = self._as_flat(theta)
        data_loss, data_grad = self._data_loss(flat, batch, need_grad)
        loss = data_loss + self.regularizer.penalty(flat, self.reg_mask)
        if not need_grad:
            return loss, None
        grad = data_grad + self.regularizer.gradient(flat, self.reg_mask)
        return loss, grad.reshape(np.shape(theta))

    def _params(self, theta):
        return self._as_flat(theta)

    def _eval_bn_mode(self):
        return "eval" if self.batchnorm and self.running_stats is not None else "train"

    def _scores(self, theta, X):
        """Evaluation scores (n, C): dropout off, batch norm in "eval" mode with running
        statistics, else "train" mode on X."""
        return self.forward(theta, X, None, self._eval_bn_mode())[0]

    def predict(self, theta, X):
        """Predicted classes of inputs X (n, D) in evaluation mode, shape (n,)."""
        return np.argmax(self._scores(theta, X), axis=1)

    def _per_example(self, scores, y):
        if self.loss_name == "svm":
            return _svm_per_example(scores, y, self.delta)
        return _softmax_per_example(scores, y)

    def per_example_losses(self, theta, X=None, y=None):
        """``L_i`` for each example, shape (n,): on the training set (X None) the terms of
        the training loss, in its modes (averaged over the mask sets); on other inputs, in
        evaluation mode."""
        flat = self._as_flat(theta)
        if X is not None:
            return self._per_example(self._scores(flat, X), y)
        total = None
        for masks in self._mask_sets(None):
            losses = self._per_example(self.forward(flat, self.X, masks)[0], self.y)
            total = losses if total is None else total + losses
        return total if self.masks is None or len(self.masks) == 1 else total / len(self.masks)

    def components(self, theta) -> dict:
        """``{"data": mean data loss, "reg": lam * R, "total": sum}`` in the loss's modes."""
        flat = self._as_flat(theta)
        data_loss = self._data_loss(flat, None, need_grad=False)[0]
        reg = self.regularizer.penalty(flat, self.reg_mask)
        return {"data": data_loss, "reg": reg, "total": data_loss + reg}

    # ----------------------------------------------------------------- kinks
    def _kink_pattern(self, flat):
        """What must not change inside a difference interval, in the loss's modes on the
        training set: per mask set and hidden layer, the sign pattern of a ReLU/leaky-ReLU
        layer's inputs or a maxout layer's winners, and with the SVM loss the signs of
        the margins."""
        pattern = []
        for masks in self._mask_sets(None):
            scores, (caches, _, _) = self.forward(flat, self.X, masks)
            for layer, _, _, act_cache, _, _ in caches:
                if layer.pieces > 1:
                    pattern.append(act_cache[0])
                elif self.activation in KINKED_ACTIVATIONS:
                    pattern.append(act_cache[0] > 0)
            if self.loss_name == "svm":
                pattern.append(_svm_margins(scores, self.y, self.delta) > 0)
        return pattern

    def _near_l1_kink(self, flat, indices, h):
        """Penalized weights within ``h`` of 0 under an L1 (or elastic-net) penalty, whose
        subgradient jumps there: bool array like ``indices``."""
        near = np.zeros(indices.size, dtype=bool)
        if self.regularizer.active and self.regularizer.kind in ("l1", "elastic"):
            near |= (np.abs(flat[indices]) <= h) & self.reg_mask[indices]
        return near

    def kinks_near(self, theta, flat_indices, h: float):
        """Which parameters lie within ``h`` of a kink: moving the parameter by -h or +h
        changes a ReLU/leaky-ReLU sign pattern, a maxout winner or an SVM margin's sign
        anywhere in the network (compared with the pattern at theta: two extra forward
        passes per checked parameter), or it is a penalized weight within h of 0 under L1.

        Returns
        -------
        bool array, shape (len(flat_indices),)
        """
        flat = self._as_flat(theta)
        indices = np.asarray(flat_indices, dtype=np.int64)
        near = self._near_l1_kink(flat, indices, h)
        if not (self.pieces > 1 or self.activation in KINKED_ACTIVATIONS or self.loss_name == "svm"):
            return near
        base = self._kink_pattern(flat)
        moved = flat.copy()
        for k, index in enumerate(indices):
            if near[k]:
                continue
            original = moved[index]
            for step in (h, -h):
                moved[index] = original + step
                if any(not np.array_equal(a, b) for a, b in zip(self._kink_pattern(moved), base)):
                    near[k] = True
                    break
            moved[index] = original
        return near

    # ----------------------------------------------------------------- exact fast slices
    def fast_slice_refusal(self, component) -> str | None:
        """Why the exact fast slice path (:class:`core.landscapes.network_slice.FastNetwork`)
        cannot evaluate ``component`` of this network, or None when it can.

        The path rests on the first layer's pre-activations being affine in the plane's
        coordinates, per example. Batch norm in "train" mode normalizes every point with
        statistics of the whole set, a nonlinear function of all examples together, so it
        goes the generic way.
        """
        kind = getattr(component, "kind", str(component))
        if kind == "reg":
            return None   # the penalty needs no data and no modes
        if self.step is not None:
            return "a training step's copy draws its own dropout masks"
        bn_mode = self._eval_bn_mode() if kind == "accuracy" else self.bn_mode
        if self.batchnorm and bn_mode == "train":
            return ("batch norm in train mode normalizes each point with the statistics of all examples together; "
                    "the fast path needs eval mode (the slice's batch-norm mode 'eval')")
        return None

    def slice_modes(self, component):
        """The modes a component of a slice is evaluated in, as the point-by-point reference
        does: (mask sets, bn_mode), where mask sets is [None] or K lists of one (N, width)
        mask per hidden layer; accuracy is evaluation (no dropout, batch norm in "eval" mode
        when running statistics exist)."""
        kind = getattr(component, "kind", str(component))
        if kind == "accuracy":
            return [None], self._eval_bn_mode()
        return (self.masks if self.masks is not None else [None]), self.bn_mode

    def folds_output_biases(self) -> bool:
        """Whether the fast slice folds the output biases into the output product: the
        first layer is the last hidden layer (one piece, no batch norm), so the first
        layer's parts can carry a constant-1 unit, and ``[W_out; b_out]`` is contiguous in
        a parameter vector (b_out is stored right after W_out). See :class:`LaterLayers`."""
        first = self.layers[0]
        W_out, b_out = self.output
        return (len(self.layers) == 1 and first.pieces == 1 and first.gamma is None
                and b_out.offset == W_out.offset + W_out.size)

    def first_layer_preactivations(self, vectors, rows, ones_row=False):
        """The first layer's affine map of examples ``rows`` under each of V parameter
        vectors, examples on the last axis.

        Parameters
        ----------
        vectors : array (V, size) ; rows : slice of the training examples

        Returns
        -------
        array (V, M, n), or (V, k, M, n) for maxout: ``(X[rows] W1(v) + b1(v))^T`` (maxout's
        pieces ``(X[rows] W1(v)[j] + b1(v)[j])^T``). All V products are one pass over X.
        With ``ones_row`` (one piece only) (V, M + 1, n): row M is 1 under the first vector
        and 0 under the others, so that ``[1, a, b]`` combines it to 1 exactly, a constant
        unit for :class:`LaterLayers`' folded output biases.
        """
        layer = self.layers[0]
        vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, self.size)
        V, k, M, D = vectors.shape[0], layer.pieces, layer.width, layer.fan_in
        weights = []
        for v in vectors:
            W = layer.W.view(v)
            weights.append(W.transpose(1, 0, 2).reshape(D, k * M) if k > 1 else W)
        X = self.X[rows]
        product = np.concatenate(weights, axis=1).T @ X.T                      # (V k M, n)
        parts = product.reshape(V, k, M, X.shape[0])
        biases = np.stack([layer.b.view(v).reshape(k, M) for v in vectors])    # (V, k, M)
        parts += biases[:, :, :, None]
        if not ones_row:
            return parts if k > 1 else parts[:, 0]
        if k > 1:
            raise ValueError("a maxout layer has no constant-1 unit")
        extended = np.empty((V, M + 1, X.shape[0]))
        extended[:, :M] = parts[:, 0]
        extended[:, M] = 0.0
        extended[0, M] = 1.0
        return extended

    def later_layers(self, thetas, bn_mode=None, fold_output_biases=False) -> "LaterLayers":
        """The network after its first layer's affine map, at P parameter vectors, prepared
        once (each layer's stacked weights, transposed, and its batch-norm constants) for
        many blocks of examples: see :class:`LaterLayers`. ``thetas`` (P, size); ``bn_mode``
        "eval" or None (the network's); "train" is refused (see :meth:`fast_slice_refusal`);
        ``fold_output_biases`` (only where :meth:`folds_output_biases`): the first layer's
        pre-activations come with a constant-1 unit and the output biases are folded into
        the output product."""
        return self.later_layers_spec(bn_mode, fold_output_biases).at(thetas)

    def later_layers_spec(self, bn_mode=None, fold_output_biases=False, first_column=0) -> "LaterLayersSpec":
        """What :meth:`later_layers` needs of the network, without its data (a slice's worker
        process gets it): :class:`LaterLayersSpec`, whose ``at(thetas)`` gives the
        :class:`LaterLayers` at parameter vectors from entry ``first_column`` on."""
        bn_mode = self.bn_mode if bn_mode is None else bn_mode
        if self.batchnorm and bn_mode == "train":
            raise HillwalkError(self.fast_slice_refusal("data"))
        if fold_output_biases and not self.folds_output_biases():
            raise ValueError("this network cannot fold its output biases (see folds_output_biases)")
        if first_column > self.layers[0].b.offset + self.layers[0].b.size:
            raise ValueError("the later layers' parameters start after the first layer's weights and biases")
        return LaterLayersSpec(self.activation, self.slope, tuple(self.layers), tuple(self.output),
                               self._running_for(bn_mode), fold_output_biases, first_column)

    def fast_slice_work(self, n) -> int:
        """Multiply-adds of one point in the fast slice path for n examples: the first
        layer's combination, the later layers' products and the scores."""
        first = self.layers[0]
        work = 3 * first.pieces * first.width
        for layer in self.layers[1:]:
            work += layer.pieces * layer.fan_in * layer.width
        return int(n * (work + self.layers[-1].width * self.n_classes))

    # ----------------------------------------------------------------- batched evaluation
    def pass_bytes(self, n=None, need_grad=True) -> int:
        """Working memory of one pass on n examples (the training set by default), see
        :func:`estimate_pass_bytes`."""
        return estimate_pass_bytes(self.n_train if n is None else n, self.X.shape[1], self.n_classes, self.widths,
                                   self.pieces, self.batchnorm, self._dropout_active,
                                   self.residual_blocks > 0, 0 if self.masks is None else len(self.masks),
                                   need_grad)

    def bytes_per_point(self) -> int:
        """Working memory of one parameter vector in :meth:`evaluate_batch`: in the plain
        two-layer case its scores and per-example values (the hidden buffer is shared by
        the chunk), else one forward pass on the training set."""
        if self._plain:
            return 8 * self.n_train * (2 * self.n_classes + 2) + 8 * self.size
        return self.pass_bytes(need_grad=False) - 8 * (0 if self.masks is None else len(self.masks)) * \
            self.n_train * sum(self.widths)   # the masks are stored once, not per point

    def evaluate_batch(self, thetas, component="total", chunk_bytes=DEFAULT_CHUNK_BYTES, workers=1):
        """A landscape component at many parameter vectors, shape (P,) for thetas (P, size).

        The plain two-layer network runs the fast batched path (:meth:`_evaluate_plain`);
        any other network evaluates the points one by one with exactly the functions of
        the point-by-point reference (loss, components, accuracy, per-example losses), in
        its modes, shared among ``workers`` threads.
        """
        from .components import Component

        component = component if isinstance(component, Component) else Component.parse(component)
        if self._plain:
            return self._evaluate_plain(thetas, component, chunk_bytes, workers)
        thetas = np.asarray(thetas, dtype=np.float64).reshape(-1, self.size)
        values = np.empty(thetas.shape[0])

        def value(theta):
            if component.kind == "total":
                return self.loss_and_grad(theta, need_grad=False)[0]
            if component.kind == "accuracy":
                return self.accuracy(theta, "train")
            if component.kind == "example":
                return float(self.per_example_losses(theta)[component.index])
            return self.components(theta)[component.kind]

        def run(part):
            for p in range(part.start, part.stop):
                values[p] = value(thetas[p])

        _share_points(thetas.shape[0], workers, run)
        return values

    def _evaluate_plain(self, thetas, component, chunk_bytes, workers):
        """The plain two-layer network's landscape values, with no per-point allocation.

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
        component : Component
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

        def run(part):
            # Each worker has its own buffers; a point's operations do not depend on which
            # chunk or worker computes it. Slices, not index arrays: views, no copies.
            n = labels.size
            per_chunk = max(1, int(chunk_bytes // self.bytes_per_point()))
            hidden_t = np.ones((self.widths[0] + 1, n))                 # last row: the constant 1 for b2
            scores_t = np.empty((min(per_chunk, part.stop - part.start), self.n_classes, n))
            for start in range(part.start, part.stop, per_chunk):
                rows = slice(start, min(start + per_chunk, part.stop))
                size = rows.stop - rows.start
                values[rows] = self._evaluate_chunk(thetas[rows], component, inputs_t, labels, hidden_t,
                                                    scores_t[:size])

        _share_points(thetas.shape[0], workers, run)
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
        return {"model": "network", "hidden": list(self.widths), "depth": self.depth, "activation": self.activation,
                "slope": self.slope, "pieces": self.pieces, "init": self.init, "batchnorm": self.batchnorm,
                "keep_prob": self.keep_prob, "residual": self.residual, "residual_blocks": self.residual_blocks,
                "bn_momentum": self.bn_momentum, "bn_mode": self.bn_mode, "dropout_mode": self.dropout_mode,
                "mask_seed": self.mask_seed, "running_stats": "set" if self.running_stats is not None else "none",
                "modes": self.modes(), "loss": self.loss_name, "delta": self.delta,
                "regularizer": self.regularizer.kind, "lam": self.regularizer.lam, "beta": self.regularizer.beta,
                "regularize_bias": self.regularize_bias, "param_shape": list(self.param_shape),
                "blocks": {name: list(shape) for name, shape in self.shapes.items()},
                "n_train": self.n_train, "n_val": 0 if self.X_val is None else int(self.X_val.shape[0]),
                "data": self.train.provenance}


class TwoLayerNet(Network):
    """The two-layer network, the app's model: :class:`Network` with one hidden layer of
    ``hidden`` units (an int) and none of batch norm, dropout or maxout.

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
    ``param_shape == (D*H + H + H*C + C,)``: theta is flat; :meth:`unpack` gives the blocks
    ``(W1 (D,H), b1 (H,), W2 (H,C), b2 (C,))``. Its losses, gradients, initial draws and
    batched landscape values are those of the two-layer network before :class:`Network`
    generalized it, bit for bit (tests/core/test_deep_network.py holds the recorded values).
    """

    def __init__(self, train: Dataset, val: Dataset | None = None, hidden: int = 64, activation: str = "relu",
                 slope: float = 0.01, init: str = "he", loss: str = "softmax", delta: float = 1.0,
                 regularizer: Regularizer | None = None, regularize_bias: bool = False):
        check_network_settings(hidden, activation, slope, init)
        super().__init__(train, val, (int(hidden),), activation, slope, init, loss, delta, regularizer,
                         regularize_bias)
        self.hidden = int(hidden)

    def hidden_activations(self, theta, X=None):
        """Pre-activations and activations of the hidden layer, each (n, H)."""
        W1, b1, _, _ = self.unpack(theta)
        z = (self.X if X is None else X) @ W1 + b1
        return z, activation_forward(z, self.activation, self.slope)[0]

    def kinks_near(self, theta, flat_indices, h: float):
        """Which parameters lie within ``h`` of a kink: a ReLU/leaky-ReLU pre-activation
        crossing 0, an SVM margin crossing 0, or a weight at 0 under L1.

        Each test bounds how far the quantity can move when the parameter moves by h
        (first order, with the activation's largest slope), so it errs on the side of
        flagging. The two-layer network keeps this test, so that its gradient checks flag
        what they flagged before :class:`Network`; it flags at least what the exact
        :meth:`Network.kinks_near` flags (a test compares them).

        Returns
        -------
        bool array, shape (len(flat_indices),)
        """
        flat = self._as_flat(theta)
        indices = np.asarray(flat_indices, dtype=np.int64)
        near = self._near_l1_kink(flat, indices, h)
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

    def describe(self) -> dict:
        return {"model": "net", "hidden": self.hidden, "activation": self.activation, "slope": self.slope,
                "init": self.init, "loss": self.loss_name, "delta": self.delta,
                "regularizer": self.regularizer.kind, "lam": self.regularizer.lam, "beta": self.regularizer.beta,
                "regularize_bias": self.regularize_bias, "param_shape": list(self.param_shape),
                "blocks": {name: list(shape) for name, shape in self.shapes.items()},
                "n_train": self.n_train, "n_val": 0 if self.X_val is None else int(self.X_val.shape[0]),
                "data": self.train.provenance}


@dataclass(frozen=True, eq=False)
class LaterLayersSpec:
    """A network's layers after the first layer's affine map, as :class:`LaterLayers`
    needs them, without the network's data (see :meth:`Network.later_layers_spec`):
    ``running`` is batch norm's running statistics for the slice's mode (or None),
    ``first_column`` the parameter entry the vectors given to :meth:`at` start at."""

    activation: str
    slope: float
    layers: tuple
    output: tuple
    running: object
    fold_output_biases: bool
    first_column: int

    def at(self, thetas) -> "LaterLayers":
        """The layers at P parameter vectors ``thetas`` (P, size - first_column)."""
        return LaterLayers(self, thetas, self.running, self.fold_output_biases, self.first_column)


class LaterLayers:
    """A network's layers after the first layer's affine map, at P parameter vectors (from
    :meth:`Network.later_layers`); calling it on a block of examples' first-layer
    pre-activations gives their scores.

    The per-point views (each layer's weights stacked over the points and transposed, its
    biases, the batch-norm constants) are made once here: the fast slice calls it once per
    block of examples, and a pass of points goes through many blocks.

    With ``fold_output_biases`` (a network with one hidden layer, see
    :meth:`Network.folds_output_biases`) the first layer's pre-activations carry a last,
    constant-1 unit, and the output product takes ``[W_out; b_out]`` (a view of each
    parameter vector): the scores come out of one product with their biases, instead of a
    product and a broadcast addition over every score (7% of a digits point's time).
    """

    def __init__(self, net, thetas, running, fold_output_biases=False, first_column=0):
        """``net``: the network, or anything with its ``activation``, ``slope``, ``layers``
        and ``output`` (a slice's worker process gets those without the data); ``thetas``
        (P, size - first_column): the parameter vectors from entry ``first_column`` on (the
        first layer's weights, which the fast slice never reads, may be left out)."""
        P = thetas.shape[0]

        def stacked(block):
            start = block.offset - first_column
            return thetas[:, start:start + block.size].reshape((P,) + block.shape)

        def transposed(W):   # (P, [k,] fan_in, width) -> (P, [k,] width, fan_in)
            return np.swapaxes(W, -1, -2)

        self.activation, self.slope = net.activation, net.slope
        # per layer: (weights transposed or None for the first, biases or None, batch norm's
        # (mean, 1 / std, gamma, beta) or None, maxout, residual)
        self.layers = []
        for i, layer in enumerate(net.layers):
            maxout = layer.pieces > 1
            weights = biases = batchnorm = None
            if i > 0:
                weights = transposed(stacked(layer.W))
                biases = stacked(layer.b)[..., None]                  # (P, [k,] M, 1)
            if layer.gamma is not None:   # eval mode: a fixed affine map per feature
                mean, var = running[i]
                inv_std = 1.0 / np.sqrt(var + BN_EPS)
                shape = (P, layer.pieces, layer.width, 1) if maxout else (P, layer.width, 1)
                feature = shape[1:]
                batchnorm = (mean.reshape(feature), inv_std.reshape(feature),
                             stacked(layer.gamma).reshape(shape), stacked(layer.beta).reshape(shape))
            self.layers.append((weights, biases, batchnorm, maxout, layer.residual))
        W_out, b_out = net.output
        self.ones_row = fold_output_biases
        # the constant unit's combination is exactly 1, which the activations that are the
        # identity above 0 keep: no reset after them (a call per block of examples, and
        # interpreter time is what two slice workers wait for each other on)
        self.reset_ones_row = fold_output_biases and net.activation not in ("relu", "leaky_relu", "elu")
        if fold_output_biases:   # [W_out; b_out] (width + 1, C), contiguous in theta
            start = W_out.offset - first_column
            with_biases = thetas[:, start:start + W_out.size + b_out.size]
            self.output_weights = transposed(with_biases.reshape(P, W_out.shape[0] + 1, W_out.shape[1]))
            self.output_biases = None                              # (P, C, width + 1)
        else:
            self.output_weights = transposed(stacked(W_out))      # (P, C, width)
            self.output_biases = stacked(b_out)[:, :, None]       # (P, C, 1)

    def __call__(self, z, masks=None, out=None):
        """Scores of n examples from their first layer's pre-activations, examples on the
        last axis.

        Parameters
        ----------
        z : array (P, M, n), or (P, k, M, n) for maxout: the first layer's affine map of the
            n examples at each point, transposed (as from
            :meth:`Network.first_layer_preactivations`); (P, M + 1, n) with the constant-1
            unit last when the output biases are folded; may be overwritten (it is, by the
            activation, unless the first layer is maxout or batch-normalized)
        masks : None or one (width, n) dropout mask per hidden layer (those examples' rows,
            transposed)
        out : None or a contiguous array (P, C, n) to write the scores into

        Returns
        -------
        scores : array (P, C, n) (``out`` when given): the operations of
        :meth:`Network.forward` point by point, batched over the points (one stacked product
        per layer) and transposed, so that a loss's reductions over classes run along
        contiguous rows of examples.
        """
        h = None
        for i, (weights, biases, batchnorm, maxout, residual) in enumerate(self.layers):
            if weights is not None:
                z = np.matmul(weights, h[:, None] if maxout else h) + biases   # (P, [k,] M, n)
            if batchnorm is not None:
                mean, inv_std, gamma, beta = batchnorm
                z = gamma * ((z - mean) * inv_std) + beta
            a = z.max(axis=1) if maxout else activation_in_place(z, self.activation, self.slope)
            units = a
            if self.ones_row:   # the activation ran over the constant unit too (one pass, contiguous)
                if self.reset_ones_row:
                    a[:, -1] = 1.0
                units = a[:, :-1]
            if masks is not None:
                units *= masks[i]
            if residual:
                a += h
            h = a
        scores = np.matmul(self.output_weights, h, out=out)
        if self.output_biases is not None:
            scores += self.output_biases
        return scores
