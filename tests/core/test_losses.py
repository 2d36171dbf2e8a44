"""The score-level losses: reference numbers, stability, and gradient properties."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hillwalk.core.labs.gradcheck import numerical_gradient, relative_error
from hillwalk.core.models.losses import softmax_loss, svm_loss

# DOMAIN.md: rows are the images cat, car, frog; columns the class scores cat, car, frog.
REFERENCE_SCORES = np.array([[3.2, 5.1, -1.7],
                             [1.3, 4.9, 2.0],
                             [2.2, 2.5, -3.1]])
REFERENCE_LABELS = np.array([0, 1, 2])


def test_svm_reference_per_example_losses():
    per_example = [svm_loss(REFERENCE_SCORES[i:i + 1], REFERENCE_LABELS[i:i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], rtol=0, atol=1e-12)


def test_svm_reference_mean():
    loss, _ = svm_loss(REFERENCE_SCORES, REFERENCE_LABELS, delta=1.0)
    assert loss == pytest.approx(15.8 / 3, abs=1e-12)
    assert round(loss, 4) == 5.2667


def test_softmax_reference_probabilities_and_loss():
    loss, dscores = softmax_loss(REFERENCE_SCORES[:1], REFERENCE_LABELS[:1])
    probabilities = dscores[0] + np.array([1.0, 0.0, 0.0])  # dscores = p - onehot for N = 1
    np.testing.assert_allclose(probabilities, [0.12998254, 0.86904954, 0.00096793], atol=5e-9)
    assert loss == pytest.approx(-math.log(0.12998254), abs=1e-7)
    assert loss == pytest.approx(2.0403, abs=1e-4)  # DOMAIN.md quotes it to four places


def test_softmax_uses_natural_log_and_means_over_examples():
    loss, _ = softmax_loss(REFERENCE_SCORES, REFERENCE_LABELS)
    by_hand = np.mean([-math.log(math.exp(s[y]) / sum(math.exp(v) for v in s))
                       for s, y in zip(REFERENCE_SCORES, REFERENCE_LABELS)])
    assert loss == pytest.approx(by_hand, rel=1e-14)


def test_svm_gradient_matches_the_subgradient_rule():
    _, dscores = svm_loss(REFERENCE_SCORES, REFERENCE_LABELS)
    # cat image: margins car 2.9 > 0, frog -3.9 -> row cat gets -1, car +1 (divided by N = 3)
    np.testing.assert_allclose(dscores[0], np.array([-1.0, 1.0, 0.0]) / 3)
    np.testing.assert_allclose(dscores[1], np.zeros(3))
    np.testing.assert_allclose(dscores[2], np.array([1.0, 1.0, -2.0]) / 3)


@pytest.mark.parametrize("magnitude", [1e4, 1e8, 1e300])
def test_softmax_is_stable_for_huge_scores(magnitude):
    scores = np.array([[magnitude, 0.0, -magnitude], [0.0, magnitude, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp underflow to 0 is exact enough
        loss, dscores = softmax_loss(scores, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    assert loss == pytest.approx(magnitude / 2, rel=1e-12)  # first example ~0, second ~magnitude


def test_losses_at_zero_scores_are_the_sanity_values():
    scores = np.zeros((5, 10))
    y = np.arange(5)
    assert svm_loss(scores, y, delta=1.0)[0] == pytest.approx(9.0)
    assert svm_loss(scores, y, delta=2.5)[0] == pytest.approx(22.5)
    assert softmax_loss(scores, y)[0] == pytest.approx(math.log(10))


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss])
def test_bad_shapes_are_rejected_with_a_message(loss_fn):
    with pytest.raises(ValueError, match="must have shape"):
        loss_fn(np.zeros((3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="labels must lie in 0..3"):
        loss_fn(np.zeros((2, 4)), np.array([0, 4]))


score_matrices = st.integers(1, 6).flatmap(lambda n: st.integers(2, 6).flatmap(
    lambda c: st.tuples(arrays(np.float64, (n, c), elements=st.floats(-50, 50)),
                        arrays(np.int64, (n,), elements=st.integers(0, c - 1)))))


@settings(max_examples=60, deadline=None)
@given(score_matrices, st.floats(-1e3, 1e3))
def test_softmax_is_invariant_to_a_constant_added_to_an_example(data, constant):
    scores, y = data
    shifted = scores.copy()
    shifted[0] += constant
    loss_a, grad_a = softmax_loss(scores, y)
    loss_b, grad_b = softmax_loss(shifted, y)
    assert loss_b == pytest.approx(loss_a, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(grad_b, grad_a, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(score_matrices, st.floats(0.1, 5.0))
def test_svm_loss_is_zero_when_every_margin_is_met(data, delta):
    scores, y = data
    met = scores.copy()
    rows = np.arange(len(y))
    met[rows, y] = np.max(scores, axis=1) + delta + 1e-3  # beats every other class by more than delta
    loss, dscores = svm_loss(met, y, delta)
    assert loss == 0.0
    assert not dscores.any()


@settings(max_examples=40, deadline=None)
@given(score_matrices)
def test_softmax_dscores_match_numerical_differences(data):
    scores, y = data
    _, dscores = softmax_loss(scores, y)
    numerical = numerical_gradient(lambda s: softmax_loss(s, y)[0], scores, h=1e-6)
    np.testing.assert_allclose(dscores, numerical, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(score_matrices, st.floats(0.1, 3.0))
def test_svm_dscores_match_numerical_differences_away_from_kinks(data, delta):
    scores, y = data
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, None] + delta
    margins[rows, y] = 1.0
    h = 1e-6
    if np.any(np.abs(margins) < 10 * h):  # a difference would straddle a kink
        return
    _, dscores = svm_loss(scores, y, delta)
    numerical = numerical_gradient(lambda s: svm_loss(s, y, delta)[0], scores, h=h)
    np.testing.assert_allclose(dscores, numerical, atol=1e-7)
    assert np.all(relative_error(dscores, numerical) < 1e-6)


@settings(max_examples=40, deadline=None)
@given(score_matrices)
def test_losses_are_non_negative_and_gradient_rows_sum_to_zero(data):
    scores, y = data
    for loss, dscores in (svm_loss(scores, y), softmax_loss(scores, y)):
        assert loss >= 0
        np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_per_example_losses_by_rows_match_the_per_example_losses(loss):
    """The transposed layout (..., C, n) the fast paths use gives the plain per-example
    losses of each (n, C) slice."""
    from hillwalk.core.models.losses import _softmax_per_example, _svm_per_example, per_example_losses_by_rows

    rng = np.random.default_rng(3)
    P, C, n = 4, 5, 37
    scores = 30 * rng.standard_normal((P, n, C))   # large: the softmax's shift matters
    y = rng.integers(0, C, n)
    correct = y * n + np.arange(n)
    by_rows = per_example_losses_by_rows(np.ascontiguousarray(scores.transpose(0, 2, 1)), correct, loss, delta=1.5)
    plain = [_svm_per_example(s, y, 1.5) if loss == "svm" else _softmax_per_example(s, y) for s in scores]
    np.testing.assert_allclose(by_rows, plain, rtol=1e-13, atol=1e-12)
    one = per_example_losses_by_rows(np.ascontiguousarray(scores[0].T), correct, loss, delta=1.5)   # (C, n)
    np.testing.assert_allclose(one, plain[0], rtol=1e-13, atol=1e-12)


def test_softmax_sums_shifted_by_the_correct_score_match_and_signal_an_overflow():
    """The network fast slice's softmax (shifted by the correct class's score, no largest-score
    reduction) gives each point's sum of per-example losses, and an inf where an exponential
    overflows (its caller's signal to take the largest-score shift), never a wrong finite
    value; under the caller's ``errstate(over="ignore")`` no other error is raised."""
    from hillwalk.core.models.losses import _softmax_per_example, softmax_loss_sums_shifted_by_correct

    rng = np.random.default_rng(4)
    P, C, n = 4, 6, 41
    scores = 30 * rng.standard_normal((P, n, C))
    y = rng.integers(0, C, n)
    correct = y * n + np.arange(n)
    expected = [_softmax_per_example(s, y).sum() for s in scores]
    out = np.full(P, np.nan)
    sums = softmax_loss_sums_shifted_by_correct(np.ascontiguousarray(scores.transpose(0, 2, 1)), correct, out=out)
    assert sums is out
    np.testing.assert_allclose(sums, expected, rtol=1e-13)
    scores[1, 7, (y[7] + 1) % C] = scores[1, 7, y[7]] + 800.0   # exp(800) overflows
    # two terms each below the largest double whose sum is not
    scores[2, 9, y[9]] = 0.0
    scores[2, 9, [(y[9] + 1) % C, (y[9] + 2) % C]] = 709.5
    with np.errstate(all="raise", over="ignore"):
        sums = softmax_loss_sums_shifted_by_correct(np.ascontiguousarray(scores.transpose(0, 2, 1)), correct)
    assert np.isinf(sums[1]) and np.isinf(sums[2])
    np.testing.assert_allclose(sums[[0, 3]], np.array(expected)[[0, 3]], rtol=1e-13)
