"""Layers of a network as forward/backward pairs, written by hand (CS231n ``layers.py`` style).

Every ``*_forward`` returns ``(out, cache)`` (batch normalization also returns its new running
statistics: it keeps no hidden state); every ``*_backward(dout, cache)`` takes the upstream
gradient, shaped like ``out``, and returns the gradients of the layer's inputs and
parameters, each shaped like the array it differentiates. Inputs hold one example per row:
x is (N, D) for N examples of D features.

The layers: affine; the elementwise activations (relu, leaky_relu, tanh, sigmoid, elu);
maxout with k pieces; batch normalization (training and evaluation modes); inverted
dropout. :func:`init_weights` draws a weight matrix by one of the notes' schemes.

NumPy only: the network objectives compose these, and the labs use them directly.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import HillwalkError, require_choice

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "elu")
# Activations with a kink at 0: a difference interval that crosses it is flagged.
KINKED_ACTIVATIONS = ("relu", "leaky_relu")
# Every scheme init_weights can draw. The app offers network.INIT_SCHEMES until the deep
# network can run the others (zero init only makes sense with a model that shows its symmetry).
ALL_INIT_SCHEMES = ("zero", "small", "large", "xavier", "he")
SMALL_INIT_SCALE = 0.01  # the notes' "small random numbers": 0.01 * randn
LARGE_INIT_SCALE = 1.0   # the notes' "too large" initialization: 1.0 * randn
BATCHNORM_MODES = ("train", "eval")


# --------------------------------------------------------------------------- affine

def affine_forward(x, W, b):
    """``x W + b``. x: (N, D), W: (D, M), b: (M,) -> out (N, M), cache."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """Gradients of :func:`affine_forward`. dout: (N, M) -> dx (N, D), dW (D, M), db (M,)."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# --------------------------------------------------------------------------- activations

def activation_forward(z, kind, slope=0.01):
    """Elementwise activation of pre-activations z (any shape) -> (out, cache).

    relu ``max(0, z)``; leaky_relu ``z`` if z > 0 else ``slope * z``; tanh; sigmoid
    ``1 / (1 + exp(-z))``; elu ``z`` if z > 0 else ``exp(z) - 1`` (alpha = 1).
    """
    if kind == "relu":
        out = np.maximum(z, 0.0)
    elif kind == "leaky_relu":
        out = np.where(z > 0, z, slope * z)
    elif kind == "tanh":
        out = np.tanh(z)
    elif kind == "sigmoid":
        out = _sigmoid(z)
    elif kind == "elu":
        out = np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    else:
        raise HillwalkError(f"unknown activation {kind!r}; choose one of {', '.join(ACTIVATIONS)}")
    return out, (z, out, kind, slope)


def activation_backward(dout, cache):
    """Gradient of :func:`activation_forward` with respect to its input (same shape)."""
    z, out, kind, slope = cache
    if kind == "relu":
        return dout * (z > 0)
    if kind == "leaky_relu":
        return dout * np.where(z > 0, 1.0, slope)
    if kind == "tanh":
        return dout * (1.0 - out * out)
    if kind == "sigmoid":
        return dout * out * (1.0 - out)
    return dout * np.where(z > 0, 1.0, out + 1.0)  # elu: d/dz (exp(z) - 1) = exp(z) = out + 1


_ZEROS = np.zeros(0)


def zeros_like_read_only(z):
    """A read-only array of zeros shaped like ``z``, a view of one cached buffer.

    ``np.maximum(z, 0.0)`` takes a scalar path that runs at half the speed of
    ``np.maximum(z, zeros)`` with an array of zeros; the buffer's pages were never written,
    so reading them touches the kernel's one shared page of zeros (no memory traffic)."""
    global _ZEROS
    zeros = _ZEROS
    if zeros.size < z.size:
        zeros = np.zeros(max(z.size, 2 * zeros.size))
        zeros.flags.writeable = False
        _ZEROS = zeros   # two threads may both grow it: each keeps a valid buffer
    return zeros[:z.size].reshape(z.shape)


def activation_in_place(z, kind, slope=0.01):
    """The activation applied to z in place (no cache; for fast batched evaluation)."""
    if kind == "relu":
        np.maximum(z, zeros_like_read_only(z), out=z)
    elif kind == "leaky_relu":
        np.maximum(z, slope * z, out=z)  # equal to the definition for 0 <= slope < 1
    elif kind == "tanh":
        np.tanh(z, out=z)
    elif kind == "sigmoid":
        np.copyto(z, _sigmoid(z))
    else:
        negative = z < 0
        z[negative] = np.expm1(z[negative])
    return z


def _sigmoid(z):
    # Two branches so that exp never overflows: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) below.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# --------------------------------------------------------------------------- maxout

def maxout_pieces(x, W, b):
    """The k affine maps of a maxout layer, before the max.

    x: (N, D), W: (k, D, M), b: (k, M) -> pieces (k, N, M), ``pieces[j] = x W[j] + b[j]``.
    """
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    if W.ndim != 3 or b.shape != (W.shape[0], W.shape[2]) or x.shape[-1] != W.shape[1]:
        raise HillwalkError(f"maxout needs x (N, D), W (k, D, M) and b (k, M); got x {x.shape}, W {W.shape}, "
                            f"b {b.shape}")
    return np.matmul(x, W) + b[:, None, :]


def maxout_forward(x, W, b):
    """Maxout with k pieces: ``out = max_j (x W[j] + b[j])``.

    x: (N, D), W: (k, D, M), b: (k, M) -> out (N, M), cache. k = 1 is the affine layer.
    A tie goes to the piece with the lowest index (as ``argmax``), which then takes the
    whole gradient in :func:`maxout_backward`.
    """
    x, W = np.asarray(x, dtype=np.float64), np.asarray(W, dtype=np.float64)  # the cache's x.T, W.transpose
    pieces = maxout_pieces(x, W, b)
    winner = np.argmax(pieces, axis=0)                                      # (N, M)
    out = np.take_along_axis(pieces, winner[None], axis=0)[0]
    return out, (x, W, winner)


def maxout_backward(dout, cache):
    """Gradients of :func:`maxout_forward`: each output's upstream gradient goes to its
    winning piece only (the max is locally that piece).

    dout: (N, M) -> dx (N, D), dW (k, D, M), db (k, M).
    """
    x, W, winner = cache
    dpieces = np.zeros((W.shape[0],) + np.shape(dout))                     # (k, N, M)
    np.put_along_axis(dpieces, winner[None], np.asarray(dout)[None], axis=0)
    dx = np.matmul(dpieces, W.transpose(0, 2, 1)).sum(axis=0)              # sum_j dpieces[j] W[j]^T
    dW = np.matmul(x.T, dpieces)                                            # (k, D, M): x^T dpieces[j]
    return dx, dW, dpieces.sum(axis=1)


def maxout_margin(x, W, b):
    """Per output, how far the best piece is above the second best: the distance to the
    kink where the winner changes (0 on a tie).

    A parameter move that changes the pieces by less than the margin keeps the layer
    linear, so the gradient check flags an output whose margin is within reach of its step.

    x: (N, D), W: (k, D, M), b: (k, M) -> margin (N, M), >= 0; ``inf`` when k = 1 (no kink).
    """
    pieces = maxout_pieces(x, W, b)
    if pieces.shape[0] == 1:
        return np.full(pieces.shape[1:], np.inf)
    # The two largest pieces, without sorting all k.
    top = -np.partition(-pieces, 1, axis=0)[:2]
    return top[0] - top[1]


# --------------------------------------------------------------------------- batch normalization

# Batch norm's eps, added to the variance before the square root (CS231n's and torch's).
BN_EPS = 1e-5


def batchnorm_forward(x, gamma, beta, mode, running_mean, running_var, momentum=0.9, eps=BN_EPS):
    """Batch normalization of each feature over the batch, then a learnable affine map.

    ``x_hat = (x - mu) / sqrt(var + eps)``, ``out = gamma * x_hat + beta``, per feature (column).

    The convention is CS231n's:

    - "train": ``mu`` and ``var`` are the batch's mean and *biased* variance (divided by N,
      as ``x.var(axis=0)``), and the running statistics are updated as
      ``new = momentum * running + (1 - momentum) * batch`` (the same biased variance).
      Note that PyTorch's ``momentum`` is the weight of the batch (1 - ours) and its running
      variance is the unbiased one.
    - "eval": ``mu`` and ``var`` are the running statistics, which are returned unchanged
      (the same arrays): the layer is then a fixed affine map of x.

    The function keeps no state: the caller stores the new running statistics.

    Parameters
    ----------
    x : (N, D) ; gamma, beta : (D,) ; mode : "train" or "eval"
    running_mean, running_var : (D,)
    momentum : float in [0, 1] ; eps : float > 0

    Returns
    -------
    out (N, D), cache, new_running_mean (D,), new_running_var (D,)
    """
    require_choice(mode, BATCHNORM_MODES, "batch-norm mode")
    if not 0.0 <= momentum <= 1.0:
        raise HillwalkError(f"the batch-norm momentum must be in [0, 1], got {momentum}")
    if not eps > 0:
        raise HillwalkError(f"the batch-norm eps must be positive, got {eps}")
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        new_mean = momentum * running_mean + (1.0 - momentum) * mean
        new_var = momentum * running_var + (1.0 - momentum) * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)                                      # (D,)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, mode), new_mean, new_var


def batchnorm_backward(dout, cache):
    """Gradients of :func:`batchnorm_forward` in the mode it ran in.

    "train": through the batch statistics too (mean and variance depend on every row), in
    the compact form ``dx = inv_std / N * (N g - sum(g) - x_hat * sum(g * x_hat))`` with
    ``g = gamma * dout`` and sums over the batch. "eval": the statistics are constants, so
    ``dx = gamma * inv_std * dout``.

    dout: (N, D) -> dx (N, D), dgamma (D,), dbeta (D,).
    """
    x_hat, gamma, inv_std, mode = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    g = dout * gamma                                                        # d loss / d x_hat
    if mode == "eval":
        return g * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = (inv_std / n) * (n * g - g.sum(axis=0) - x_hat * np.sum(g * x_hat, axis=0))
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- dropout

def dropout_mask(shape, p, rng):
    """An inverted-dropout mask: each unit kept with probability p, kept units scaled by 1/p.

    ``(rng.random(shape) < p) / p``, so that the expected output equals the input and
    evaluation needs no scaling (evaluation mode passes ``mask=None``). p = 1 gives all ones
    and draws nothing from rng.

    Parameters
    ----------
    shape : tuple, e.g. (N, H) ; p : keep probability in (0, 1]
    rng : numpy.random.Generator, seeded by the caller (the same seed, the same mask)

    Returns
    -------
    float64 array of ``shape`` with values 0 and 1/p.
    """
    if not (math.isfinite(p) and 0.0 < p <= 1.0):
        raise HillwalkError(f"the dropout keep probability must be in (0, 1], got {p}")
    if p == 1.0:
        return np.ones(shape)
    return (rng.random(shape) < p) / p


def dropout_forward(x, mask):
    """Inverted dropout with a mask from :func:`dropout_mask`: ``out = x * mask``.

    x: any shape; mask: the same shape, or None for evaluation mode (out is x itself).
    Returns out (shape of x), cache.
    """
    if mask is None:
        return x, None
    if np.shape(mask) != np.shape(x):
        raise HillwalkError(f"a dropout mask of shape {np.shape(mask)} does not fit activations of shape "
                            f"{np.shape(x)}")
    return x * mask, mask


def dropout_backward(dout, cache):
    """Gradient of :func:`dropout_forward`: ``dout * mask`` (dout itself in evaluation mode)."""
    return dout if cache is None else dout * cache


# --------------------------------------------------------------------------- initialization

def init_weights(fan_in, fan_out, scheme, rng):
    """A (fan_in, fan_out) weight matrix by one of ALL_INIT_SCHEMES (the notes' forms):
    zero (all 0, draws nothing), small ``0.01 randn``, large ``1.0 randn``, Xavier
    ``randn / sqrt(fan_in)`` or He ``randn * sqrt(2 / fan_in)``."""
    if scheme == "zero":
        return np.zeros((fan_in, fan_out))
    if scheme not in ALL_INIT_SCHEMES:
        raise HillwalkError(f"unknown initialization {scheme!r}; choose one of {', '.join(ALL_INIT_SCHEMES)}")
    draw = rng.standard_normal((fan_in, fan_out))
    if scheme == "small":
        return SMALL_INIT_SCALE * draw
    if scheme == "large":
        return LARGE_INIT_SCALE * draw
    if scheme == "xavier":
        return draw / math.sqrt(fan_in)
    return draw * math.sqrt(2.0 / fan_in)  # he
