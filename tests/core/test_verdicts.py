"""Verdicts that never lie: the gradient check counts and names NaN or infinite
derivatives as a failure; the sanity checks blame a loss or a gradient only on evidence."""
import math
import warnings

import numpy as np
import pytest

from hillwalk.core.labs.gradcheck import METHOD_THRESHOLDS, gradient_check, h_sweep, relative_error
from hillwalk.core.labs.lessons import initial_loss_check, overfit_check, sanity_checks
from hillwalk.core.labs.separability import linear_separation
from hillwalk.core.models.network import TwoLayerNet
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer


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
    _, max_errors, median_errors = h_sweep(iris, iris.initial_theta(1e-3, 0), hs=[1e-6, 1e-5, 1e300], samples=5)
    assert np.isfinite(max_errors[:2]).all() and np.isfinite(median_errors[:2]).all()
    assert np.isnan(max_errors[2]) and np.isnan(median_errors[2])  # not drawn, and never drawn as 0


# --------------------------------------------------------------------------- sanity checks

SHIPPED = ("digits", "iris", "wine", "spiral", "blobs", "xor", "circles")
NOT_LINEARLY_SEPARABLE = ("spiral", "xor", "circles")  # their 20-example subsets (seed 0), certified


@pytest.mark.parametrize("model", ["linear", "net"])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("dataset", SHIPPED)
def test_no_false_bug_warning_on_any_shipped_data_set(dataset, loss, model, no_warnings):
    report = sanity_checks(ClassifierSpec(dataset=dataset, loss=loss, model=model).build())
    assert not report.suspects_bug, (report.initial.reason, report.overfit.reason)
    assert report.initial.verdict in ("expected", "consistent")
    rounding = 1e-12 * report.initial.high
    assert report.initial.low - rounding <= report.initial.loss <= report.initial.high + rounding
    if model == "linear" and dataset in NOT_LINEARLY_SEPARABLE:
        assert report.overfit.verdict == "not separable" and "bug" not in report.overfit.reason.replace(
            "nothing points to a bug", "")
    else:
        assert report.overfit.verdict == "fits" and report.overfit.accuracy == 1.0


def test_wine_is_consistent_and_fitted_where_the_notes_value_is_off(no_warnings):
    # the case: wine with the default preprocessing (centred, not scaled) is 1.7%
    # (softmax) and 2.7% (SVM) off ln C / (C - 1) delta, because proline reaches ~900
    for loss, gap in (("softmax", 0.0168), ("svm", 0.0273)):
        report = sanity_checks(ClassifierSpec(dataset="wine", loss=loss).build())
        assert report.initial.relative_gap == pytest.approx(gap, abs=5e-4)
        assert report.initial.verdict == "consistent"
        assert "features reach 934 in size" in report.initial.reason
        assert report.initial.reason.startswith("consistent with a correct loss: the notes' value assumes every "
                                                "score is about 0, which does not hold")
        assert report.overfit.verdict == "fits"


@pytest.mark.parametrize("scale", [1e-4, 1e-2, 1.0, 30.0])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_a_correct_loss_lies_in_the_interval_at_any_scale(loss, scale):
    objective = ClassifierSpec(dataset="wine", loss=loss, preprocessing="none").build()
    check = initial_loss_check(objective, scale=scale)
    assert check.verdict != "bug" and check.low <= check.loss <= check.high + 1e-9 * check.high
    assert check.verdict == "consistent"  # raw wine (proline ~ 1000): the scores are never near 0


# A classic slip each: the checks must still flag it.

class SoftmaxForgetsTheOne(LinearClassifier):
    """dscores = p instead of p - onehot(y): the gradient of a different function."""

    def score_loss(self, scores, y):
        loss, dscores = super().score_loss(scores, y)
        if self.loss_name == "softmax":
            dscores = dscores.copy()
            dscores[np.arange(y.size), y] += 1.0 / y.size
        return loss, dscores


class SvmCountsTheCorrectClass(LinearClassifier):
    """The sum over j includes j = y_i: every example's loss is delta too high."""

    def score_loss(self, scores, y):
        loss, dscores = super().score_loss(scores, y)
        return loss + self.delta, dscores

    def per_example_losses(self, theta, X=None, y=None):
        return super().per_example_losses(theta, X, y) + self.delta


class SoftmaxForgetsTheCorrectScore(LinearClassifier):
    """L_i = log sum_j exp(s_j), with its own (consistent) gradient: a wrong loss that a
    gradient check passes."""

    def score_loss(self, scores, y):
        top = scores.max(axis=1, keepdims=True)
        exp = np.exp(scores - top)
        total = exp.sum(axis=1, keepdims=True)
        return float(np.mean(np.log(total) + top)), exp / total / y.size

    def per_example_losses(self, theta, X=None, y=None):
        X = self.X if X is None else X
        scores = self._scores(self._params(theta), X)
        top = scores.max(axis=1)
        return np.log(np.exp(scores - top[:, None]).sum(axis=1)) + top


class SoftmaxInBaseTen(LinearClassifier):
    """log10 instead of ln, loss and gradient alike."""

    def score_loss(self, scores, y):
        loss, dscores = super().score_loss(scores, y)
        return loss / math.log(10), dscores / math.log(10)

    def per_example_losses(self, theta, X=None, y=None):
        return super().per_example_losses(theta, X, y) / math.log(10)


class NetAscendsOnW2(TwoLayerNet):
    """The output layer's gradient with the wrong sign."""

    def backward(self, dscores, caches):
        grad = super().backward(dscores, caches)
        grad[self._slice("W2")] *= -1
        return grad


def _broken(cls, dataset="blobs", loss="softmax"):
    train = ClassifierSpec(dataset=dataset).build().train
    if issubclass(cls, TwoLayerNet):
        return cls(train, None, 16, "relu", 0.01, "he", loss, 1.0, Regularizer("none"))
    return cls(train, None, loss, 1.0, Regularizer("none"))


def test_a_broken_softmax_gradient_is_flagged():
    report = sanity_checks(_broken(SoftmaxForgetsTheOne))
    assert report.initial.verdict == "expected"  # the loss itself is right
    assert report.overfit.verdict == "gradient bug" and report.suspects_bug
    assert report.overfit.reason.startswith("suspect a bug in the gradient: at the run's start the analytic gradient "
                                            "disagrees with the finite differences")


def test_a_network_gradient_with_a_wrong_sign_is_flagged():
    report = sanity_checks(_broken(NetAscendsOnW2))
    assert report.overfit.verdict == "gradient bug" and not report.overfit.fits


def test_an_svm_loss_that_counts_the_correct_class_is_flagged_twice():
    report = sanity_checks(_broken(SvmCountsTheCorrectClass, loss="svm"))
    assert report.initial.verdict == "bug"
    assert report.initial.reason.startswith("suspect a bug in the loss: 3.0004 is outside [2.0004, 2.0004],")
    assert report.overfit.verdict == "loss bug"
    assert "a W classifies every one with a score margin of 2, where a correct svm loss is at most 0" in \
        report.overfit.reason


def test_a_softmax_in_the_wrong_base_is_flagged_at_initialization():
    report = sanity_checks(_broken(SoftmaxInBaseTen))
    assert report.initial.verdict == "bug" and "suspect a bug in the loss" in report.initial.reason


def test_a_wrong_loss_whose_gradient_matches_it_is_flagged_by_the_separating_weights():
    report = sanity_checks(_broken(SoftmaxForgetsTheCorrectScore))
    assert report.overfit.verdict == "loss bug" and report.suspects_bug


def test_duplicate_points_with_different_labels_are_named_not_blamed():
    train = ClassifierSpec(dataset="blobs").build().train
    chosen = np.concatenate([np.flatnonzero(train.y == 0)[:10], np.flatnonzero(train.y == 1)[:10]])
    X, y = train.X[chosen], train.y[chosen]
    other = 10
    X[other] = X[0]  # example 10 (class 1) is example 0 (class 0) again
    tiny = train.with_step(X, y, "20 examples, one duplicated with another label")
    for model in (LinearClassifier(tiny, None, "softmax", 1.0, Regularizer("none")),
                  TwoLayerNet(tiny, None, 32, "relu", 0.01, "he", "softmax", 1.0, Regularizer("none"))):
        report = overfit_check(model)
        assert report.verdict == "duplicates" and not report.suspects_bug
        assert (f"training examples 0 and {other} are the same point with different labels ({y[0]} and {y[other]})"
                in report.reason)


def test_linear_separation_certifies_either_way():
    xor = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])  # with the bias column
    labels = np.array([0, 0, 1, 1])
    apart = linear_separation(xor, labels, 2)
    assert apart.separable is False and apart.conflict.tolist() == [0, 1, 2, 3]
    split = linear_separation(xor, np.array([0, 1, 1, 1]), 2)  # OR: separable
    assert split.separable and split.margin > 0
    scores = xor @ split.W.T
    assert (np.argmax(scores, axis=1) == [0, 1, 1, 1]).all()
    twice = linear_separation(np.vstack([xor, xor[:1]]), np.array([0, 1, 1, 1, 1]), 2)
    assert twice.separable is False and twice.duplicates == [(0, 4)]
    # the answer does not depend on the features' units (nor does W's classification)
    for scale in (1e-6, 1e6, 1e200):
        far = xor * np.array([scale, scale, 1.0])
        assert linear_separation(far, labels, 2).separable is False
        split = linear_separation(far + np.array([3 * scale, 0.0, 0.0]), np.array([0, 1, 1, 1]), 2)
        assert split.separable
        assert (np.argmax((far + np.array([3 * scale, 0.0, 0.0])) @ split.W.T, axis=1) == [0, 1, 1, 1]).all()


def test_features_near_the_float_limit_make_the_checks_undetermined_not_a_bug(no_warnings):
    # scores of 1e196 at W = 1e-4 randn: span^2 overflows, so no bound can judge the loss
    train = ClassifierSpec(dataset="blobs").build().train
    huge = train.with_step(train.X * 1e200, train.y, "times 1e200")
    report = sanity_checks(LinearClassifier(huge, None, "softmax"))
    assert report.initial.verdict == "undetermined" and not report.suspects_bug
    assert report.initial.reason.startswith("cannot tell: at this scale the scores reach")
    assert report.overfit.verdict == "fits"  # the run works on the standardized examples


@pytest.mark.parametrize("dataset", ["digits", "iris", "wine"])
def test_the_interval_a_correct_loss_lies_in_is_printed_with_distinct_ends(dataset):
    """At a tiny initial scale the interval is narrow: "[2.3022, 2.3022]" said nothing; it
    is printed with as many digits as tell its ends apart."""
    import re

    check = initial_loss_check(ClassifierSpec(dataset=dataset).build())
    assert check.verdict in ("expected", "consistent")
    interval = re.search(r"lies in \[([^,]+), ([^\]]+)\]", check.reason)
    if interval is not None:
        low, high = interval.groups()
        assert low != high and float(low) <= check.loss <= float(high)
    else:   # narrower than 1e-7 of its size: one value
        assert check.high - check.low <= 1e-7 * check.low and f"a correct loss is {check.low:.6g}" in check.reason
    # the SVM's is one value where no example's scores span delta: said as one value, not
    # as "[8.996096201152449, 8.996096201152449]"
    svm = initial_loss_check(ClassifierSpec(dataset=dataset, loss="svm").build())
    assert svm.low == svm.high and f"a correct loss is {svm.low:.6g}" in svm.reason
