"""The layer library: every backward against centered differences of its forward, the fast
forms against plain references, and each layer's defining property (batch norm's
statistics and modes, inverted dropout's scaling, maxout's kinks, the initializations)."""
import math

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.gradcheck import numerical_gradient, relative_error
from hillwalk.core.models import layers, network
from hillwalk.core.models.layers import (
    ACTIVATIONS,
    ALL_INIT_SCHEMES,
    activation_backward,
    activation_forward,
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    dropout_mask,
    init_weights,
    maxout_backward,
    maxout_forward,
    maxout_margin,
    maxout_pieces,
)

H = 1e-5  # the difference step
TOLERANCE = 1e-7  # the brief's bar for a correct gradient away from kinks


def max_relative_error(forward, inputs, name, dout, analytic):
    """Largest elementwise relative error between ``analytic`` and the centered difference
    of ``sum(forward(**inputs) * dout)`` with respect to ``inputs[name]``.

    The function handed to numerical_gradient returns the terms of the sum, so the
    differences are taken term by term (less round-off than differencing the total).
    """
    def terms(value):
        return (forward(**{**inputs, name: value}) * dout).ravel()

    numerical = numerical_gradient(terms, inputs[name], h=H)
    assert numerical.shape == np.shape(analytic)
    return float(relative_error(analytic, numerical).max())


# --------------------------------------------------------------------------- affine and activations

def test_affine_backward_matches_differences():
    rng = np.random.default_rng(0)
    inputs = dict(x=rng.standard_normal((6, 4)), W=rng.standard_normal((4, 3)), b=rng.standard_normal(3))
    dout = rng.standard_normal((6, 3))
    out, cache = affine_forward(**inputs)
    np.testing.assert_array_equal(out, inputs["x"] @ inputs["W"] + inputs["b"])
    for name, analytic in zip(("x", "W", "b"), affine_backward(dout, cache)):
        assert max_relative_error(lambda **a: affine_forward(**a)[0], inputs, name, dout, analytic) < TOLERANCE


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activation_backward_matches_differences(kind):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((7, 5))  # not deep in saturation, where round-off swamps a tiny slope
    z[np.abs(z) < 0.1] += 0.5  # away from the kink of relu and leaky_relu: |z| >> h
    assert np.abs(z).min() > 100 * H
    dout = rng.standard_normal(z.shape)
    _, cache = activation_forward(z, kind, 0.05)
    analytic = activation_backward(dout, cache)

    def forward(z):
        return activation_forward(z, kind, 0.05)[0]

    assert max_relative_error(forward, {"z": z}, "z", dout, analytic) < TOLERANCE


def test_the_network_uses_the_library_s_layers():
    # Moved, not copied: the two-layer network runs these very functions.
    for name in ("affine_forward", "affine_backward", "activation_forward", "activation_backward",
                 "activation_in_place", "init_weights", "ACTIVATIONS", "KINKED_ACTIVATIONS"):
        assert getattr(network, name) is getattr(layers, name), name
    # The app offers only the schemes the two-layer network can run yet.
    assert network.INIT_SCHEMES == ("small", "xavier", "he")
    assert set(network.INIT_SCHEMES) < set(ALL_INIT_SCHEMES)


# --------------------------------------------------------------------------- maxout

def maxout_inputs(k, seed=2, n=8, d=4, m=3):
    rng = np.random.default_rng(seed)
    inputs = dict(x=rng.standard_normal((n, d)), W=rng.standard_normal((k, d, m)), b=rng.standard_normal((k, m)))
    return inputs, rng.standard_normal((n, m))


def maxout_reference(x, W, b):
    """The definition, one output at a time: out[n, m] = max_j (x[n] . W[j][:, m] + b[j, m])."""
    k, _, M = W.shape
    out = np.empty((x.shape[0], M))
    for n in range(x.shape[0]):
        for m in range(M):
            out[n, m] = max(float(x[n] @ W[j][:, m] + b[j, m]) for j in range(k))
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_maxout_backward_matches_differences(k):
    inputs, dout = maxout_inputs(k)
    # Away from kinks: a step of h moves any piece by at most h * (|x| or |W| or 1) summed,
    # far below the smallest margin between the best and the second-best piece.
    reach = H * (1 + np.abs(inputs["x"]).sum(axis=1).max() + np.abs(inputs["W"]).sum(axis=1).max())
    assert maxout_margin(**inputs).min() > 100 * reach
    out, cache = maxout_forward(**inputs)
    np.testing.assert_allclose(out, maxout_reference(**inputs), rtol=1e-14, atol=1e-14)
    dx, dW, db = maxout_backward(dout, cache)
    assert dW.shape == inputs["W"].shape and db.shape == inputs["b"].shape and dx.shape == inputs["x"].shape
    for name, analytic in (("x", dx), ("W", dW), ("b", db)):
        assert max_relative_error(lambda **a: maxout_forward(**a)[0], inputs, name, dout, analytic) < TOLERANCE, name


def test_maxout_backward_routes_each_gradient_to_its_winning_piece_only():
    inputs, dout = maxout_inputs(3, seed=4)
    _, cache = maxout_forward(**inputs)
    dx, dW, db = maxout_backward(dout, cache)
    pieces = maxout_pieces(**inputs)
    winner = np.argmax(pieces, axis=0)
    for j in range(3):
        routed = np.where(winner == j, dout, 0.0)                  # what piece j receives
        ref_dx, ref_dW, ref_db = affine_backward(routed, (inputs["x"], inputs["W"][j]))
        np.testing.assert_allclose(dW[j], ref_dW, rtol=1e-13, atol=1e-14)
        np.testing.assert_array_equal(db[j], ref_db)
        assert np.any(winner == j)  # every piece wins somewhere, so each part of the check bites
    expected_dx = sum(affine_backward(np.where(winner == j, dout, 0.0), (inputs["x"], inputs["W"][j]))[0]
                      for j in range(3))
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-13, atol=1e-14)


def test_maxout_with_a_zero_second_piece_is_relu_exactly():
    inputs, dout = maxout_inputs(2, seed=5, n=30, m=6)
    inputs["W"][1] = 0.0
    inputs["b"][1] = 0.0
    x, W, b = inputs["x"], inputs["W"], inputs["b"]
    out, cache = maxout_forward(x, W, b)
    z, affine_cache = affine_forward(x, W[0], b[0])
    relu, relu_cache = activation_forward(z, "relu")
    assert (z < 0).any() and (z > 0).any()
    np.testing.assert_array_equal(out, relu)
    # and its gradient is ReLU's through the first piece; the zero piece gets the rest
    dx, dW, db = maxout_backward(dout, cache)
    ref_dx, ref_dW, ref_db = affine_backward(activation_backward(dout, relu_cache), affine_cache)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_array_equal(dW[0], ref_dW)
    np.testing.assert_array_equal(db[0], ref_db)
    np.testing.assert_array_equal(db[1], np.sum(dout * (z <= 0), axis=0))


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_maxout_margin_is_the_gap_between_the_two_best_pieces(k):
    inputs, _ = maxout_inputs(k, seed=6)
    margin = maxout_margin(**inputs)
    pieces = maxout_pieces(**inputs)
    assert margin.shape == pieces.shape[1:]
    for n in range(pieces.shape[1]):
        for m in range(pieces.shape[2]):
            ordered = sorted(pieces[:, n, m], reverse=True)
            expected = math.inf if k == 1 else ordered[0] - ordered[1]
            assert margin[n, m] == expected


def test_maxout_margin_is_zero_on_a_tie_and_flags_where_the_difference_misbehaves():
    # Put one output of one example exactly on the kink: pieces 0 and 1 equal there.
    inputs, dout = maxout_inputs(2, seed=7)
    x, W, b = inputs["x"], inputs["W"], inputs["b"]
    b[1, 0] = b[0, 0] + x[0] @ (W[0][:, 0] - W[1][:, 0])
    margin = maxout_margin(x, W, b)
    assert margin[0, 0] <= 1e-15 and np.delete(margin.ravel(), 0).min() > 1e-3
    # On the kink the centered difference averages the two pieces' slopes: it disagrees.
    _, cache = maxout_forward(x, W, b)
    _, _, db = maxout_backward(dout, cache)
    numerical = numerical_gradient(lambda v: (maxout_forward(x, W, v)[0] * dout).ravel(), b)
    errors = relative_error(db, numerical)
    assert errors[0, 0] > 1e-2 and errors[1, 0] > 1e-2


def test_maxout_rejects_shapes_that_do_not_fit():
    with pytest.raises(HillwalkError, match="maxout needs"):
        maxout_forward(np.ones((3, 4)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(HillwalkError, match="maxout needs"):
        maxout_forward(np.ones((3, 4)), np.ones((2, 4, 5)), np.ones((2, 4)))


# --------------------------------------------------------------------------- batch normalization

def batchnorm_inputs(seed=8, n=10, d=4):
    rng = np.random.default_rng(seed)
    x = 3.0 + 5.0 * rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)  # off-centre, uneven scales
    gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
    running_mean, running_var = rng.standard_normal(d), rng.uniform(0.5, 3.0, d)
    return dict(x=x, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var), \
        rng.standard_normal((n, d))


def batchnorm_staged_backward(dout, x, gamma, eps=1e-5):
    """Training-mode gradients by the plain computational graph, one node at a time
    (mean, centred x, variance, its inverse square root, x_hat, gamma/beta)."""
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    xc = x - mean
    var = (xc ** 2).sum(axis=0) / n
    std = np.sqrt(var + eps)
    inv = 1.0 / std
    x_hat = xc * inv
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dinv = (dx_hat * xc).sum(axis=0)
    dxc = dx_hat * inv
    dstd = -dinv / std ** 2
    dvar = dstd * 0.5 / std
    dxc += 2.0 * xc / n * dvar
    dmean = -dxc.sum(axis=0)
    return dxc + dmean / n, dgamma, dbeta


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_backward_matches_differences(mode):
    inputs, dout = batchnorm_inputs()
    inputs["mode"] = mode
    out, cache, _, _ = batchnorm_forward(**inputs)
    grads = batchnorm_backward(dout, cache)
    for name, analytic in zip(("x", "gamma", "beta"), grads):
        assert analytic.shape == inputs[name].shape
        error = max_relative_error(lambda **a: batchnorm_forward(**a)[0], inputs, name, dout, analytic)
        assert error < TOLERANCE, (mode, name, error)


def test_batchnorm_compact_backward_equals_the_staged_graph():
    inputs, dout = batchnorm_inputs(seed=9, n=25, d=6)
    _, cache, _, _ = batchnorm_forward(mode="train", **inputs)
    for fast, reference in zip(batchnorm_backward(dout, cache),
                               batchnorm_staged_backward(dout, inputs["x"], inputs["gamma"])):
        np.testing.assert_allclose(fast, reference, rtol=1e-10, atol=1e-12)


def test_batchnorm_train_normalizes_each_feature_over_the_batch():
    inputs, _ = batchnorm_inputs(seed=10, n=64, d=5)
    out, _, _, _ = batchnorm_forward(mode="train", eps=1e-5, **inputs)
    x_hat = (out - inputs["beta"]) / inputs["gamma"]                  # before gamma and beta
    np.testing.assert_allclose(x_hat.mean(axis=0), 0.0, atol=1e-12)
    var = inputs["x"].var(axis=0)
    np.testing.assert_allclose(x_hat.var(axis=0), var / (var + 1e-5), rtol=1e-12)  # 1 up to eps
    assert np.all(np.abs(x_hat.var(axis=0) - 1.0) < 1e-5 / var.min())
    # Each row depends on the whole batch in training mode: change one example, all outputs move.
    other = dict(inputs, x=inputs["x"].copy())
    other["x"][0] += 1.0
    moved = batchnorm_forward(mode="train", **other)[0]
    assert np.all(moved[1:] != out[1:])


def test_batchnorm_train_updates_the_running_statistics_by_the_momentum_rule():
    inputs, _ = batchnorm_inputs(seed=11)
    saved_mean, saved_var = inputs["running_mean"].copy(), inputs["running_var"].copy()
    _, _, new_mean, new_var = batchnorm_forward(mode="train", momentum=0.8, **inputs)
    x = inputs["x"]
    n = x.shape[0]
    batch_var = ((x - x.mean(axis=0)) ** 2).sum(axis=0) / n           # biased: divided by N
    np.testing.assert_allclose(new_mean, 0.8 * saved_mean + 0.2 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(new_var, 0.8 * saved_var + 0.2 * batch_var, rtol=1e-13)
    # functional: the caller's arrays are left as they were
    np.testing.assert_array_equal(inputs["running_mean"], saved_mean)
    np.testing.assert_array_equal(inputs["running_var"], saved_var)
    # the default momentum is 0.9
    _, _, default_mean, _ = batchnorm_forward(mode="train", **inputs)
    np.testing.assert_allclose(default_mean, 0.9 * saved_mean + 0.1 * x.mean(axis=0), rtol=1e-14)


def test_batchnorm_eval_is_the_affine_map_of_the_running_statistics():
    inputs, _ = batchnorm_inputs(seed=12)
    out, _, new_mean, new_var = batchnorm_forward(mode="eval", eps=1e-3, **inputs)
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    expected = gamma * (x - inputs["running_mean"]) / np.sqrt(inputs["running_var"] + 1e-3) + beta
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert new_mean is inputs["running_mean"] and new_var is inputs["running_var"]
    # one example at a time gives the same rows: no batch statistics are involved
    for n in range(x.shape[0]):
        alone = batchnorm_forward(mode="eval", eps=1e-3, **dict(inputs, x=x[n:n + 1]))[0]
        np.testing.assert_array_equal(alone[0], out[n])


def test_batchnorm_rejects_bad_settings():
    inputs, _ = batchnorm_inputs()
    with pytest.raises(HillwalkError, match="batch-norm mode"):
        batchnorm_forward(mode="test", **inputs)
    with pytest.raises(HillwalkError, match="momentum"):
        batchnorm_forward(mode="train", momentum=1.5, **inputs)
    with pytest.raises(HillwalkError, match="eps"):
        batchnorm_forward(mode="train", eps=0.0, **inputs)


# --------------------------------------------------------------------------- dropout

def test_dropout_backward_matches_differences_with_a_fixed_mask():
    rng = np.random.default_rng(13)
    x, dout = rng.standard_normal((9, 6)), rng.standard_normal((9, 6))
    mask = dropout_mask(x.shape, 0.5, np.random.default_rng(1))
    assert (mask == 0).any() and (mask == 2.0).any()
    out, cache = dropout_forward(x, mask)
    np.testing.assert_array_equal(out, x * mask)
    analytic = dropout_backward(dout, cache)
    assert max_relative_error(lambda x: dropout_forward(x, mask)[0], {"x": x}, "x", dout, analytic) < TOLERANCE


@pytest.mark.parametrize("p", [0.5, 0.8])
def test_dropout_outputs_average_to_the_input_over_many_masks(p):
    x = np.random.default_rng(14).standard_normal((4, 5))
    rng = np.random.default_rng(15)
    count = 20000
    total = np.zeros_like(x)
    kept = 0.0
    for _ in range(count):
        mask = dropout_mask(x.shape, p, rng)
        assert set(np.unique(mask)) <= {0.0, 1.0 / p}
        total += dropout_forward(x, mask)[0]
        kept += np.mean(mask > 0)
    # Each output's mean over masks has standard deviation |x| sqrt((1 - p) / (p count));
    # without the 1/p scaling it would sit at p x, many of these deviations away.
    spread = np.abs(x) * math.sqrt((1 - p) / (p * count))
    assert np.all(np.abs(total / count - x) < 5 * spread)
    assert abs(kept / count - p) < 0.01


def test_dropout_with_p_1_is_the_identity_and_evaluation_has_no_mask():
    x = np.random.default_rng(16).standard_normal((3, 7))
    rng = np.random.default_rng(0)
    mask = dropout_mask(x.shape, 1.0, rng)
    np.testing.assert_array_equal(dropout_forward(x, mask)[0], x)
    np.testing.assert_array_equal(dropout_backward(x, dropout_forward(x, mask)[1]), x)
    # it drew nothing: the generator continues as a fresh one with the same seed
    assert rng.random() == np.random.default_rng(0).random()
    out, cache = dropout_forward(x, None)
    assert out is x and dropout_backward(x, cache) is x


def test_dropout_masks_follow_the_seed():
    first = dropout_mask((20, 30), 0.5, np.random.default_rng(42))
    again = dropout_mask((20, 30), 0.5, np.random.default_rng(42))
    other = dropout_mask((20, 30), 0.5, np.random.default_rng(43))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # the notes' form: keep where rand < p, scaled by 1/p
    np.testing.assert_array_equal(first, (np.random.default_rng(42).random((20, 30)) < 0.5) / 0.5)


def test_dropout_rejects_bad_settings():
    rng = np.random.default_rng(0)
    for p in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(HillwalkError, match="keep probability"):
            dropout_mask((2, 2), p, rng)
    with pytest.raises(HillwalkError, match="does not fit"):
        dropout_forward(np.ones((2, 3)), np.ones((3, 2)))


# --------------------------------------------------------------------------- initialization

def test_zero_init_is_all_zeros():
    W = init_weights(7, 5, "zero", np.random.default_rng(0))
    assert W.shape == (7, 5) and W.dtype == np.float64 and not W.any()


def test_large_init_is_one_times_randn_with_the_seed():
    W = init_weights(30, 20, "large", np.random.default_rng(3))
    np.testing.assert_array_equal(W, np.random.default_rng(3).standard_normal((30, 20)))


@pytest.mark.parametrize("scheme", ["small", "xavier", "he"])
def test_the_existing_schemes_draw_as_before(scheme):
    # the draws as network.init_weights made them before the move
    draw = np.random.default_rng(9).standard_normal((40, 25))
    before = {"small": 0.01 * draw, "xavier": draw / math.sqrt(40), "he": draw * math.sqrt(2.0 / 40)}[scheme]
    np.testing.assert_array_equal(init_weights(40, 25, scheme, np.random.default_rng(9)), before)


def test_unknown_init_names_every_scheme():
    with pytest.raises(HillwalkError, match="zero, small, large, xavier, he"):
        init_weights(3, 3, "orthogonal", np.random.default_rng(0))
