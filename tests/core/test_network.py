"""The two-layer network: layers, backpropagation, initialization, kinks, batched
landscapes and network-aware directions."""
import numpy as np
import pytest

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.gradcheck import gradient_check, numerical_gradient
from hillwalk.core.landscapes.centers import train_full_batch
from hillwalk.core.landscapes.directions import layout_of, normalize, random_plane
from hillwalk.core.landscapes.landscape import compute_slice, make_axis, reference_slice
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.network import (
    ACTIVATIONS,
    TwoLayerNet,
    activation_backward,
    activation_forward,
    activation_in_place,
    affine_backward,
    affine_forward,
    init_weights,
)
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import REGULARIZER_KINDS
from hillwalk.core.optimization.optimizers import OptimizerSpec
from hillwalk.core.optimization.trajectory import Race


def spiral_net(**options):
    settings = dict(dataset="spiral", preprocessing="standardize", model="net", hidden=10, lam=1e-2)
    settings.update(options)
    return ClassifierSpec(**settings).build()


def away_from_init(net, seed=2, scale=0.1):
    return net.initial_theta(seed=1) + scale * np.random.default_rng(seed).standard_normal(net.size)


# --------------------------------------------------------------------------- layers

def test_affine_backward_matches_differences():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    upstream = rng.standard_normal((5, 3))
    out, cache = affine_forward(x, W, b)
    dx, dW, db = affine_backward(upstream, cache)
    assert np.allclose(out, x @ W + b)
    for array, analytic in ((x, dx), (W, dW), (b, db)):
        def f(value, array=array):
            saved = array.copy()
            array[...] = value
            result = np.sum(affine_forward(x, W, b)[0] * upstream)
            array[...] = saved
            return result
        assert np.allclose(numerical_gradient(f, array.copy()), analytic, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activation_backward_matches_differences(kind):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 5))
    z[np.abs(z) < 1e-3] = 0.5  # keep the kinked ones away from 0
    upstream = rng.standard_normal(z.shape)
    _, cache = activation_forward(z, kind, 0.05)
    analytic = activation_backward(upstream, cache)
    numerical = numerical_gradient(lambda v: np.sum(activation_forward(v, kind, 0.05)[0] * upstream), z)
    assert np.allclose(analytic, numerical, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_in_place_activation_equals_the_layer(kind):
    z = np.linspace(-40, 40, 801).reshape(3, 267)
    assert np.array_equal(activation_in_place(z.copy(), kind, 0.05), activation_forward(z, kind, 0.05)[0])


def test_sigmoid_does_not_overflow():
    out, _ = activation_forward(np.array([-1000.0, 0.0, 1000.0]), "sigmoid")
    assert np.array_equal(out, [0.0, 0.5, 1.0])


# --------------------------------------------------------------------------- backpropagation

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("regularizer", REGULARIZER_KINDS)
def test_every_combination_passes_the_gradient_check(activation, loss, regularizer):
    net = spiral_net(activation=activation, loss=loss, regularizer=regularizer)
    result = gradient_check(net, away_from_init(net))
    assert result.indices.size == net.size
    assert result.max_rel_error_away_from_kinks < 1e-7
    assert (~result.near_kink & ~result.unresolved).sum() > 0.9 * net.size  # the verdict covers most parameters


def test_biases_are_regularized_only_when_asked():
    net = spiral_net(regularize_bias=False)
    with_bias = spiral_net(regularize_bias=True)
    theta = away_from_init(net)
    W1, b1, W2, b2 = net.unpack(theta)
    expected = 1e-2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    assert np.isclose(net.components(theta)["reg"], expected)
    assert np.isclose(with_bias.components(theta)["reg"], expected + 1e-2 * (np.sum(b1 ** 2) + np.sum(b2 ** 2)))
    assert gradient_check(with_bias, theta).max_rel_error_away_from_kinks < 1e-7


def test_relu_kinks_are_flagged():
    # One example sits exactly on unit 0's kink: z = x W1[:, 0] + b1[0] = 0.
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7], [2.0, 1.0]])
    data = Dataset(X, np.array([0, 1, 2, 0]), ("a", "b", "c"), ("x1", "x2"), {"name": "toy", "source": "test"})
    net = TwoLayerNet(data, hidden=3, activation="relu", loss="softmax")
    theta = net.initial_theta(seed=3)
    W1, b1, W2, b2 = net.unpack(theta)
    b1[0] = -(X[0] @ W1[:, 0])
    result = gradient_check(net, theta)
    flagged = {net._locate(int(i)) for i in result.indices[result.near_kink]}
    assert ("b1", (0,)) in {(name, tuple(int(v) for v in where)) for name, where in flagged}
    assert ("W1", (0, 0)) in {(name, tuple(int(v) for v in where)) for name, where in flagged}
    # Straddling the kink, the centered difference averages the two slopes: it disagrees.
    kink_errors = result.rel_error[result.near_kink]
    assert kink_errors.max() > 1e-4
    assert result.max_rel_error_away_from_kinks < 1e-7


def test_smooth_activations_flag_no_relu_kinks():
    net = spiral_net(activation="tanh", loss="softmax", regularizer="l2")
    assert not gradient_check(net, away_from_init(net)).near_kink.any()


# --------------------------------------------------------------------------- initialization

@pytest.mark.parametrize("scheme, std", [("small", lambda n: 0.01), ("xavier", lambda n: 1 / np.sqrt(n)),
                                         ("he", lambda n: np.sqrt(2 / n))])
def test_init_schemes_have_the_notes_scales(scheme, std):
    W = init_weights(400, 300, scheme, np.random.default_rng(0))
    assert W.shape == (400, 300)
    assert abs(W.std() / std(400) - 1) < 0.01
    assert abs(W.mean()) < 0.01 * std(400)


def test_initial_theta_is_seeded_and_biases_start_at_zero():
    net = spiral_net(init="xavier")
    a, b = net.initial_theta(seed=5), net.initial_theta(seed=5)
    assert np.array_equal(a, b) and not np.array_equal(a, net.initial_theta(seed=6))
    _, b1, _, b2 = net.unpack(a)
    assert not b1.any() and not b2.any()


def test_bad_network_settings_are_clear_errors():
    with pytest.raises(HillwalkError, match="activation"):
        ClassifierSpec(model="net", activation="swish")
    with pytest.raises(HillwalkError, match="hidden size"):
        ClassifierSpec(model="net", hidden=0)
    with pytest.raises(HillwalkError, match="initialization"):
        ClassifierSpec(model="net", init="orthogonal")
    with pytest.raises(HillwalkError, match="slope"):
        ClassifierSpec(model="net", slope=2.0)
    with pytest.raises(HillwalkError, match="do not fit this network"):
        spiral_net().loss(np.zeros(7))


# --------------------------------------------------------------------------- the showcase

def test_a_net_separates_the_spiral_where_a_linear_model_cannot():
    linear = ClassifierSpec(dataset="spiral", preprocessing="standardize").build()
    net = ClassifierSpec(dataset="spiral", preprocessing="standardize", model="net", hidden=64).build()
    theta_linear = train_full_batch(linear, linear.initial_theta(1e-3, 0), 500, record=False)[0]
    theta_net = train_full_batch(net, net.initial_theta(seed=0), 500, record=False)[0]
    assert linear.accuracy(theta_linear) < 0.60
    assert net.accuracy(theta_net) >= 0.95


def test_optimizers_race_on_a_network_unchanged():
    net = spiral_net(hidden=32)
    specs = [OptimizerSpec("sgd", lr=0.5), OptimizerSpec("adam", lr=0.01, batch_size=64)]
    start = net.initial_theta(seed=0)
    runs = Race(net, specs, start, 60, seed=0).run_to_end()
    for run in runs:
        assert run.diverged_at is None
        assert run.loss[-1] < 0.8 * run.loss[0]
        assert run.thetas.shape[1:] == net.param_shape


# --------------------------------------------------------------------------- landscapes

@pytest.mark.parametrize("component", ["total", "data", "reg", "accuracy", "example:7"])
@pytest.mark.parametrize("activation, loss", [("relu", "softmax"), ("tanh", "svm"), ("elu", "softmax")])
def test_batched_landscape_matches_point_by_point(component, activation, loss):
    net = spiral_net(activation=activation, loss=loss, hidden=16)
    plane = random_plane(net, away_from_init(net), "filter", seed=3)
    alphas, betas = make_axis(-1, 1, 9), make_axis(-0.5, 0.5, 7)
    reference = reference_slice(net, plane, alphas, betas, component)
    scale = np.maximum(np.abs(reference), 1e-300)
    # A small budget forces several chunks per row and chunks that end mid-row (generic);
    # the fast path takes the network by default
    for method, expected in (("generic", "generic"), ("auto", "fast")):
        landscape = compute_slice(net, plane, alphas, betas, component, budget_bytes=40 * net.bytes_per_point(),
                                  method=method)
        assert landscape.method == expected
        assert np.max(np.abs(landscape.values - reference) / scale) < 1e-9


def test_digits_net_landscape_matches_on_a_sample():
    net = ClassifierSpec(dataset="digits", model="net", hidden=64).build()
    spec = SliceSpec(center="init", grid=21)
    plane = spec.plane(net)
    landscape = spec.compute(net, plane)
    points = np.random.default_rng(0).choice(21 * 21, 25, replace=False)
    reference = reference_slice(net, plane, spec.alpha_axis(), spec.beta_axis(), "total", points=points)
    chosen = np.unravel_index(points, (21, 21))
    assert np.allclose(landscape.values[chosen], reference[chosen], rtol=1e-9, atol=0)


def test_evaluate_batch_chunks_agree():
    net = spiral_net()
    thetas = np.stack([away_from_init(net, seed=s) for s in range(5)])
    whole = net.evaluate_batch(thetas)
    pieces = net.evaluate_batch(thetas, chunk_bytes=1)  # one point per chunk
    assert np.array_equal(whole, pieces)
    assert np.allclose(whole, [net.loss(t) for t in thetas], rtol=1e-12)


# --------------------------------------------------------------------------- directions

def test_filter_normalization_is_per_neuron():
    net = spiral_net(hidden=12)
    center = away_from_init(net)
    direction = normalize(np.random.default_rng(0).standard_normal(net.size), center, layout_of(net), "filter")
    W1c, b1c, W2c, b2c = net.unpack(center)
    W1d, b1d, W2d, b2d = net.unpack(direction)
    # a column of W1: one hidden unit's incoming weights; a column of W2: one class's weights
    assert np.allclose(np.linalg.norm(W1d, axis=0), np.linalg.norm(W1c, axis=0), rtol=1e-12)
    assert np.allclose(np.linalg.norm(W2d, axis=0), np.linalg.norm(W2c, axis=0), rtol=1e-12)
    assert not b1d.any() and not b2d.any()  # biases zeroed by default


def test_biases_kept_follow_li_et_al():
    net = spiral_net()
    center = away_from_init(net)
    plane = random_plane(net, center, "filter", seed=0, biases="keep")
    _, b1c, _, b2c = net.unpack(center)
    _, b1d, _, b2d = net.unpack(plane.dir1)
    assert np.array_equal(b1d, b1c) and np.array_equal(b2d, b2c)
    assert plane.info["biases"] == "kept"
    assert random_plane(net, center, "filter", seed=0).info["biases"] == "zeroed"


def test_layer_normalization_is_per_block():
    net = spiral_net()
    center = away_from_init(net)
    direction = normalize(np.random.default_rng(0).standard_normal(net.size), center, layout_of(net), "layer")
    for c, d in zip(net.unpack(center)[::2], net.unpack(direction)[::2]):
        assert np.isclose(np.linalg.norm(d), np.linalg.norm(c), rtol=1e-12)


def test_slice_spec_records_the_bias_choice_and_indexes_w1_for_coords():
    net = spiral_net()
    assert SliceSpec(center="init", biases="keep").plane(net).info["biases"] == "kept"
    plane = SliceSpec(center="init", directions="coords", coords=(1, 2, 0, 3)).plane(net)
    W1 = net.unpack(plane.dir1)[0]
    assert W1[1, 2] == 1 and plane.dir1.sum() == 1
    with pytest.raises(HillwalkError, match="outside W1"):
        SliceSpec(center="init", directions="coords", coords=(5, 0, 0, 1)).plane(net)
    with pytest.raises(HillwalkError, match="bias handling"):
        SliceSpec(biases="sometimes")


def test_threads_share_a_landscape_without_changing_it():
    from hillwalk.core.landscapes.landscape import Parallelism, set_parallelism

    net = spiral_net(hidden=16)
    plane = random_plane(net, away_from_init(net), "filter", seed=4)
    alphas, betas = make_axis(-1, 1, 11), make_axis(-1, 1, 9)
    reference = reference_slice(net, plane, alphas, betas)
    for method in ("generic", "fast"):
        serial = compute_slice(net, plane, alphas, betas, budget_bytes=23 * net.bytes_per_point(), method=method)
        previous = set_parallelism(Parallelism(3))
        try:
            # generic: 23-point chunks span rows; three workers split each chunk
            threaded = compute_slice(net, plane, alphas, betas, budget_bytes=23 * net.bytes_per_point(),
                                     method=method)
        finally:
            set_parallelism(previous)
        if method == "generic":
            np.testing.assert_array_equal(threaded.values, serial.values)
        else:   # blocks of examples may differ in size with the number of workers
            np.testing.assert_allclose(threaded.values, serial.values, rtol=1e-13)
        assert np.max(np.abs(threaded.values - reference) / np.abs(reference)) < 1e-9
    thetas = np.stack([away_from_init(net, seed=s) for s in range(7)])
    np.testing.assert_array_equal(net.evaluate_batch(thetas, workers=3), net.evaluate_batch(thetas))
    with pytest.raises(HillwalkError, match="workers"):
        Parallelism(0)


def test_objectives_without_threaded_batches_still_work_with_threads_on():
    from hillwalk.core.landscapes.directions import coordinate_plane
    from hillwalk.core.landscapes.landscape import Parallelism, set_parallelism
    from hillwalk.core.models.testfunctions import make_test_function

    bowl = make_test_function("quadratic", condition=10.0, angle=20.0)
    plane = coordinate_plane(np.zeros(2), 0, 1)
    axis = make_axis(-1, 1, 21)
    previous = set_parallelism(Parallelism(2))
    try:
        landscape = compute_slice(bowl, plane, axis, axis)
    finally:
        set_parallelism(previous)
    np.testing.assert_allclose(landscape.values, reference_slice(bowl, plane, axis, axis), rtol=1e-12)
