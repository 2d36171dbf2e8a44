"""Verdicts that never lie: the gradient check counts and names NaN or infinite
derivatives as a failure; the sanity checks blame a loss or a gradient only on evidence."""
import math
import warnings

import numpy as np
import pytest

from core.labs.gradcheck import METHOD_THRESHOLDS, gradient_check, h_sweep, relative_error
from core.models.problem import ClassifierSpec


@pytest.fixture(scope="module")
def iris():
    return ClassifierSpec(dataset="iris").build()


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    assert not caught, [str(w.message) for w in caught]


# --------------------------------------------------------------------------- gradient check

def test_relative_error_of_a_non_finite_derivative_is_nan_never_zero():
    errors = relative_error([np.nan, 1.0, np.inf, np.inf, 0.0, 2.0], [1.0, np.nan, 1.0, np.inf, 0.0, 2.0])
    assert np.isnan(errors[:4]).all()
    assert errors[4:].tolist() == [0.0, 0.0]


def test_h_far_too_large_fails_with_the_count_and_the_cause(iris, no_warnings):
    result = gradient_check(iris, iris.initial_theta(1e-3, 0), h=1e300)
    # the penalized weights overflow lam * W^2 at W +- h; the 3 unpenalized biases only
    # shift a softmax, whose loss stays finite (and whose difference is then just wrong)
    overflowed = int(result.nonfinite_numerical.sum())
    assert overflowed == iris.size - 3 and not result.nonfinite_analytic.any()
    assert result.max_rel_error_away_from_kinks == math.inf  # no threshold can pass it
    verdict = result.verdict()
    assert not verdict.passed
    assert verdict.reason == (f"{overflowed} parameter(s) have a non-finite numerical derivative (NaN or inf): "
                              "h = 1e+300 is too large: the loss overflows at W + h and W - h; use a small step such "
                              "as 1e-5")
    assert verdict.line().startswith(f"max relative error: inf (threshold 1e-06) -> FAIL: {overflowed} parameter(s)")
    assert result.band_counts()["non-finite"] == overflowed and sum(result.band_counts().values()) == iris.size


def test_weights_that_overflow_the_loss_fail_and_say_so(iris, no_warnings):
    # lam * sum W^2 of 1e200-sized weights is inf; the analytic gradient (2 lam W) is finite
    result = gradient_check(iris, iris.initial_theta(1e200, 0))
    assert not result.loss_finite and not result.nonfinite_analytic.any()
    verdict = result.verdict(threshold=1.0)  # even the loosest threshold
    assert not verdict.passed and "the loss itself is not finite at the checked weights" in verdict.reason


def test_a_nan_analytic_gradient_is_counted_and_named(iris, no_warnings):
    def gradient_with_nans(theta):
        grad = iris.loss_and_grad(theta)[1].copy()
        grad.flat[[0, 4, 7]] = [np.nan, np.inf, -np.inf]
        return grad

    result = gradient_check(iris, iris.initial_theta(1e-3, 0), gradient_fn=gradient_with_nans)
    verdict = result.verdict()
    assert not verdict.passed and result.nonfinite.sum() == 3
    assert verdict.reason.startswith("3 parameter(s) have a non-finite analytic derivative (NaN or inf): the gradient "
                                     "code overflows or divides by zero")


def test_a_correct_gradient_passes_and_a_wrong_one_fails_with_the_worst_parameter(iris):
    theta = iris.initial_theta(1e-3, 0)
    assert gradient_check(iris, theta).verdict().passed
    wrong = gradient_check(iris, theta, gradient_fn=lambda th: iris.loss_and_grad(th)[1] * 1.01)
    verdict = wrong.verdict()
    assert not verdict.passed and "disagrees with the finite differences" in verdict.reason
    assert verdict.threshold == METHOD_THRESHOLDS["centered"]


def test_a_zero_derivative_at_a_critical_point_is_unresolved_not_a_failure():
    # the monkey saddle x^3 - 3xy^2 at its centre: the gradient is exactly 0, the centered
    # difference gives h^2 (truncation), a relative error of 1 that says nothing
    monkey = ClassifierSpec(objective="monkey").build()
    result = gradient_check(monkey, np.zeros(2))
    assert result.rel_error[0] == pytest.approx(1.0) and result.unresolved[0]
    assert result.verdict().passed
    broken = gradient_check(monkey, np.zeros(2), gradient_fn=lambda th: np.array([1e-3, 0.0]))
    assert not broken.verdict().passed  # a gradient that is wrong there still fails


def test_the_h_sweep_leaves_out_an_h_whose_derivatives_are_not_finite(iris, no_warnings):
    hs, max_errors, median_errors = h_sweep(iris, iris.initial_theta(1e-3, 0), hs=[1e-6, 1e-5, 1e300], samples=5)
    assert np.isfinite(max_errors[:2]).all() and np.isfinite(median_errors[:2]).all()
    assert np.isnan(max_errors[2]) and np.isnan(median_errors[2])  # not drawn, and never drawn as 0
