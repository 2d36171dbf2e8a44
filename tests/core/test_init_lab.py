"""The initialization lab's numbers: the notes' results asserted on the lab's own default
(10 hidden layers of 500 units on 256 unit-Gaussian examples, the lab's default
``examples``), with and without batch norm, and zero init's symmetry; the batch-norm stack
and its gradients against plain reimplementations."""
import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs import tasks
from hillwalk.core.labs.lessons import (
    INIT_LAB_SCHEMES,
    SATURATION_LEVEL,
    SYMMETRY_TOLERANCE,
    _stack_pass,
    gaussian_inputs,
    zero_init_symmetry,
)
from hillwalk.core.models.layers import init_weights
from hillwalk.core.models.losses import softmax_loss

LAB_EXAMPLES = 256  # gui/lab_state.py's default for the lab


def ratio(stats):
    """Last hidden layer's activation std over the first's."""
    return stats.activation_std[-1] / stats.activation_std[0]


@pytest.fixture(scope="module")
def tanh_lab():
    return tasks.initialization_task(activation="tanh", examples=LAB_EXAMPLES)


@pytest.fixture(scope="module")
def tanh_lab_bn():
    return tasks.initialization_task(activation="tanh", examples=LAB_EXAMPLES, batchnorm=True)


def test_the_default_tanh_stack_reproduces_the_notes(tanh_lab):
    assert (tanh_lab.depth, tanh_lab.width, tanh_lab.examples, tanh_lab.batchnorm) == (10, 500, 256, False)
    assert [s.scheme for s in tanh_lab] == list(INIT_LAB_SCHEMES) and "zero" in INIT_LAB_SCHEMES
    small, large, xavier = (tanh_lab.by_scheme(s) for s in ("small", "large", "xavier"))
    assert ratio(small) < 1e-3                       # 0.01 randn collapses towards 0
    # randn * 1 saturates: in every layer more than 90% of the units have |tanh| > 0.99
    assert SATURATION_LEVEL == 0.99 and large.saturated.min() > 0.9
    assert 1 / 3 < ratio(xavier) < 3                 # Xavier keeps the spread for tanh
    zero = tanh_lab.by_scheme("zero")
    assert np.all(zero.activation_std == 0) and np.all(zero.gradient_zero == 1)


def test_with_batch_norm_even_small_weights_keep_the_spread(tanh_lab, tanh_lab_bn):
    assert tanh_lab_bn.batchnorm
    for scheme in ("small", "large", "xavier", "he"):
        assert 1 / 3 < ratio(tanh_lab_bn.by_scheme(scheme)) < 3, scheme
    # the table's number the GUI test watches: 0.01's last layer, from ~1e-7 to ~0.6
    assert tanh_lab_bn.by_scheme("small").activation_std[-1] > 1e4 * tanh_lab.by_scheme("small").activation_std[-1]
    assert tanh_lab_bn.by_scheme("large").saturated.max() < 0.1  # normalized: no more saturation


def test_batch_norm_stack_matches_a_plain_reimplementation(tanh_lab_bn):
    X, _ = gaussian_inputs(LAB_EXAMPLES, 500, 10, 0)
    for scheme in ("small", "he"):
        draws = np.random.default_rng(0)
        h, stds = X, []
        for _ in range(10):
            z = h @ init_weights(h.shape[1], 500, scheme, draws)
            h = np.tanh((z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-5))
            stds.append(h.std())
        np.testing.assert_allclose(tanh_lab_bn.by_scheme(scheme).activation_std, stds, rtol=1e-10)


@pytest.mark.parametrize("activation", ["relu"])
def test_the_default_relu_stack_reproduces_the_notes(activation):
    plain = tasks.initialization_task(activation=activation, examples=LAB_EXAMPLES)
    normalized = tasks.initialization_task(activation=activation, examples=LAB_EXAMPLES, batchnorm=True)
    assert ratio(plain.by_scheme("small")) < 1e-3
    assert 1 / 3 < ratio(plain.by_scheme("he")) < 3                 # He holds the variance
    assert ratio(plain.by_scheme("xavier")) < 0.1                   # Xavier halves it each layer
    assert 1 / 3 < ratio(normalized.by_scheme("small")) < 3
    assert normalized.symmetry.identical


def test_zero_init_units_stay_identical_on_the_default(tanh_lab, tanh_lab_bn):
    for experiment in (tanh_lab, tanh_lab_bn):
        check = experiment.symmetry
        assert check.steps >= 1 and check.identical
        # tanh(0) = 0 passes nothing forward: the hidden layers are exactly equal, never moved
        assert np.all(check.unit_difference == 0) and np.all(check.column_difference == 0)
        assert not check.hidden_moved and check.moved[-1] > 0     # only the output layer (its biases) learned
        assert check.contrast_unit_difference.min() > 0.1         # from Xavier the units differ


def test_zero_init_units_move_in_lockstep_under_sigmoid():
    # sigmoid(0) = 0.5 feeds the layers above, so zero-initialized weights do move: together
    X, y = gaussian_inputs(64, 50, 10, 3)
    check = zero_init_symmetry(X, y, 10, hidden=50, activation="sigmoid", depth=4, steps=20, learning_rate=1.0)
    assert check.hidden_moved and check.moved[-2] > 1e-3
    assert check.identical and check.unit_difference.max() <= SYMMETRY_TOLERANCE
    assert check.contrast_unit_difference.min() > 1e-2


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_stack_gradients_agree_with_centered_differences(batchnorm, activation):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((12, 4)), rng.integers(0, 3, 12)
    weights = [rng.standard_normal((4, 5)), rng.standard_normal((5, 5)), rng.standard_normal((5, 3))]
    biases = [rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(3)]

    def loss():
        h = X
        for W, b in zip(weights[:-1], biases[:-1]):
            z = h @ W + b
            if batchnorm:
                z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-5)
            h = np.tanh(z) if activation == "tanh" else 1 / (1 + np.exp(-z))
        return softmax_loss(h @ weights[-1] + biases[-1], y)[0]

    _, weight_gradients, bias_gradients = _stack_pass(X, y, weights, biases, activation, 0.01, batchnorm)
    step = 1e-5
    for arrays, gradients in ((weights, weight_gradients), (biases, bias_gradients)):
        for array, gradient in zip(arrays, gradients):
            numeric = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                kept = array[index]
                array[index] = kept + step
                up = loss()
                array[index] = kept - step
                down = loss()
                array[index] = kept
                numeric[index] = (up - down) / (2 * step)
            np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


def test_the_symmetry_check_refuses_no_steps():
    X, y = gaussian_inputs(8, 5, 3, 0)
    with pytest.raises(HillwalkError, match="at least one step"):
        zero_init_symmetry(X, y, 3, hidden=5, depth=2, steps=0)
