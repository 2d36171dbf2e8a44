"""The linear classifier objective and the gradient check machinery."""
import itertools
import math

import numpy as np
import pytest

from hillwalk.core.data.datasets import load_embedded, make_blobs
from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.gradcheck import choose_indices, gradient_check, h_sweep, numerical_gradient, relative_error
from hillwalk.core.models.objectives import LinearClassifier, prepare_splits
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer

LOSSES = ("svm", "softmax")
REGULARIZERS = ("none", "l2", "l1", "elastic")


@pytest.fixture(scope="module")
def digits_standardized():
    return prepare_splits(load_embedded("digits"), "standardize", 0.2, seed=0)


@pytest.fixture(scope="module")
def digits_minmax():
    return prepare_splits(load_embedded("digits"), "minmax", 0.2, seed=0)


@pytest.mark.parametrize("loss, reg", list(itertools.product(LOSSES, REGULARIZERS)))
def test_every_loss_and_regularizer_passes_a_centered_gradient_check(digits_minmax, loss, reg):
    # Features in [0, 1] and W of scale 0.1 keep every gradient entry well above the
    # round-off floor of the difference, so what is measured is the gradient's correctness.
    train, val = digits_minmax
    objective = LinearClassifier(train, val, loss, 1.0, Regularizer(reg, 1e-2, beta=0.5), regularize_bias=True)
    theta = objective.initial_theta(0.1, seed=3)
    result = gradient_check(objective, theta, samples=None, h=1e-5)  # all 650 parameters
    assert result.indices.size == 650
    assert result.max_rel_error_away_from_kinks < 1e-7
    assert result.near_kink.sum() < 20  # a handful at most: this point is away from kinks


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_check_on_small_wine_problem_with_delta(loss):
    train, val = prepare_splits(load_embedded("wine"), "standardize", 0.2, seed=1)
    objective = LinearClassifier(train, val, loss, delta=2.5, regularizer=Regularizer("l2", 0.1))
    result = gradient_check(objective, objective.initial_theta(0.1, seed=1), h=1e-5)
    assert result.max_rel_error_away_from_kinks < 1e-7


def test_a_broken_gradient_fails_the_check(digits_standardized):
    train, val = digits_standardized
    objective = LinearClassifier(train, val, "softmax", regularizer=Regularizer("l2", 1e-2))
    theta = objective.initial_theta(0.01, seed=0)

    def dropped_regularization_factor(th):  # a classic bug: the gradient of lam*W^2 taken as lam*W
        return objective.loss_and_grad(th)[1] - objective.regularizer.gradient(th, objective.reg_mask) / 2

    result = gradient_check(objective, theta, gradient_fn=dropped_regularization_factor)
    assert result.max_rel_error_away_from_kinks > 1e-3


def test_gradients_of_regularization_and_bias_mask(digits_standardized):
    train, _ = digits_standardized
    W = np.random.default_rng(0).standard_normal((10, 65))
    without_bias = LinearClassifier(train, loss="softmax", regularizer=Regularizer("l2", 0.5))
    with_bias = LinearClassifier(train, loss="softmax", regularizer=Regularizer("l2", 0.5), regularize_bias=True)
    assert without_bias.components(W)["reg"] == pytest.approx(0.5 * np.sum(W[:, :-1] ** 2))
    assert with_bias.components(W)["reg"] == pytest.approx(0.5 * np.sum(W ** 2))
    l1 = LinearClassifier(train, regularizer=Regularizer("l1", 0.1), regularize_bias=True)
    assert l1.components(W)["reg"] == pytest.approx(0.1 * np.abs(W).sum())
    elastic = LinearClassifier(train, regularizer=Regularizer("elastic", 0.1, beta=2.0), regularize_bias=True)
    assert elastic.components(W)["reg"] == pytest.approx(0.1 * (2.0 * np.sum(W ** 2) + np.abs(W).sum()))


@pytest.mark.parametrize("loss, expected", [("svm", 9.0), ("softmax", math.log(10))])
def test_sanity_loss_at_tiny_random_weights_on_digits(loss, expected):
    objective = ClassifierSpec(dataset="digits", loss=loss, regularizer="none").build()
    value = objective.loss(objective.initial_theta(1e-4, seed=0))
    assert abs(value - expected) / expected < 0.01


def test_minibatch_loss_and_grad_uses_only_the_batch(digits_standardized):
    train, _ = digits_standardized
    objective = LinearClassifier(train, loss="svm")
    theta = objective.initial_theta(0.1, seed=0)
    batch = np.array([3, 10, 200])
    sub = LinearClassifier(train.with_step(train.X[batch], train.y[batch], "subset"), loss="svm")
    loss_a, grad_a = objective.loss_and_grad(theta, batch=batch)
    loss_b, grad_b = sub.loss_and_grad(theta)
    assert loss_a == pytest.approx(loss_b, rel=1e-14)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-13)


def test_flat_parameters_give_a_flat_gradient(digits_standardized):
    objective = LinearClassifier(digits_standardized[0])
    theta = objective.initial_theta(0.01).ravel()
    loss, grad = objective.loss_and_grad(theta)
    assert grad.shape == (650,) and loss == pytest.approx(objective.loss(theta.reshape(10, 65)))
    with pytest.raises(HillwalkError, match="do not fit a 10 x 65 classifier"):
        objective.loss(np.zeros(12))


def test_loss_terms_sum_to_the_loss(digits_standardized):
    objective = LinearClassifier(digits_standardized[0], loss="svm", regularizer=Regularizer("elastic", 0.3))
    theta = objective.initial_theta(0.2, seed=5)
    assert objective.loss_terms(theta).sum() == pytest.approx(objective.loss(theta), rel=1e-13)


def test_accuracy_on_separable_blobs():
    train, val = prepare_splits(make_blobs(spread=0.1, seed=0), "none", 0.2, seed=0)
    objective = LinearClassifier(train, val, "softmax")
    centers = 2.0 * np.c_[np.cos(2 * np.pi * np.arange(3) / 3), np.sin(2 * np.pi * np.arange(3) / 3)]
    W = np.c_[centers, np.zeros(3)]  # score = <x, centre>: the nearest centre wins
    assert objective.accuracy(W, "train") == 1.0 and objective.accuracy(W, "val") == 1.0
    assert math.isnan(LinearClassifier(train).accuracy(W, "val"))


def test_kinks_are_detected_where_a_margin_sits_within_h():
    train, _ = prepare_splits(make_blobs(seed=0), "none", 0.0, seed=0)
    objective = LinearClassifier(train, loss="svm", delta=1.0)
    W = np.zeros((3, 3))  # every margin is exactly delta = 1 > 0 ...
    assert not objective.kinks_near(W, np.arange(9), h=1e-5).any()
    W[:, 2] = [0.0, 1.0, 0.0]  # ... now class 1's bias makes margins of examples of class 0 exactly 0 for j = 1
    near = objective.kinks_near(W, np.arange(9), h=1e-5)
    assert near.reshape(3, 3)[1].any() and near.reshape(3, 3)[0].any()


def test_relative_error_conventions():
    np.testing.assert_array_equal(relative_error([0.0, 1.0, -1.0], [0.0, 1.0, 1.0]), [0.0, 0.0, 2.0])
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)


def test_numerical_gradient_of_a_known_function():
    f = lambda x: float(np.sum(x ** 3))  # noqa: E731
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(f, x, 1e-5, "centered"), 3 * x ** 2, rtol=1e-9)
    np.testing.assert_allclose(numerical_gradient(f, x, 1e-6, "forward"), 3 * x ** 2, rtol=1e-4)
    assert numerical_gradient(f, x, 1e-5, indices=[3]).tolist() == pytest.approx([27.0])
    with pytest.raises(HillwalkError, match="positive number"):
        numerical_gradient(f, x, h=0.0)


def test_h_sweep_shows_round_off_left_and_truncation_right(digits_standardized):
    objective = LinearClassifier(digits_standardized[0], loss="softmax")
    hs, max_errors, median_errors = h_sweep(objective, objective.initial_theta(0.01), samples=10)
    best = np.argmin(median_errors)
    assert 0 < best < hs.size - 1  # a minimum inside the sweep
    assert median_errors[0] > 100 * median_errors[best] and median_errors[-1] > 100 * median_errors[best]
    assert np.all(max_errors >= median_errors)


def test_choose_indices_is_seeded_and_validated():
    np.testing.assert_array_equal(choose_indices(100, 10, seed=1), choose_indices(100, 10, seed=1))
    assert choose_indices(5, 50).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(HillwalkError):
        choose_indices(5, 0)


@pytest.mark.parametrize("kwargs, message", [(dict(loss="hinge"), "unknown loss 'hinge'"),
                                             (dict(delta=0.0), "delta must be a positive number"),
                                             (dict(delta=float("nan")), "delta must be a positive number")])
def test_bad_model_settings(digits_standardized, kwargs, message):
    with pytest.raises(HillwalkError, match=message):
        LinearClassifier(digits_standardized[0], **kwargs)


@pytest.mark.parametrize("kwargs, message", [(dict(kind="l3"), "unknown regularizer 'l3'"),
                                             (dict(kind="l2", lam=-1.0), "lam must be a finite number >= 0"),
                                             (dict(kind="l2", lam=float("inf")), "lam must be a finite")])
def test_bad_regularizer_settings(kwargs, message):
    with pytest.raises(HillwalkError, match=message):
        Regularizer(**kwargs)
