"""Exact Hessian-vector products and what is built on them (issue 15, core part): each
product against finite differences of the analytic gradient (every objective and layer
type), the full Hessian against the softmax's closed form, Lanczos against
numpy.linalg.eigvalsh, Hutchinson and the density against the trace."""
import itertools

import numpy as np
import pytest

from hillwalk.core.curvature import (
    full_hessian,
    hessian_vector,
    hutchinson_trace,
    lanczos,
    spectral_density,
)
from hillwalk.core.errors import HillwalkError
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.core.models.testfunctions import TEST_FUNCTION_NAMES, make_test_function

H_STEP = 1e-5   # the gradient check's default step, relative to the point's scale


def finite_difference_hvp(objective, theta, v):
    """Centred difference of the analytic gradient along v: (g(theta + h v) - g(theta - h v)) / 2h."""
    theta = np.asarray(theta, dtype=np.float64)
    h = H_STEP * max(1.0, float(np.linalg.norm(theta))) / max(float(np.linalg.norm(v)), 1e-300)
    plus = objective.loss_and_grad(theta + h * v)[1]
    minus = objective.loss_and_grad(theta - h * v)[1]
    return ((plus - minus) / (2 * h)).reshape(-1)


def relative_error(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


@pytest.mark.parametrize("name", TEST_FUNCTION_NAMES)
def test_test_functions_hvp_matches_differences_of_the_gradient(name):
    function = make_test_function(name)
    rng = np.random.default_rng(3)
    for _ in range(10):
        point, v = rng.uniform(-2, 2, 2), rng.standard_normal(2)
        assert relative_error(hessian_vector(function, point, v), finite_difference_hvp(function, point, v)) < 1e-6
    # symmetric, and the quadratic's is its matrix
    hessian = function.hessian(rng.uniform(-2, 2, 2))
    assert hessian[0, 1] == hessian[1, 0]
    quadratic = make_test_function("quadratic", condition=50.0, angle=30.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(quadratic.hessian((0.3, -0.2))), [1.0, 50.0])


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("regularizer", ["none", "l2", "l1", "elastic"])
@pytest.mark.parametrize("regularize_bias", [False, True])
def test_linear_classifier_hvp_matches_differences_of_the_gradient(loss, regularizer, regularize_bias):
    problem = ClassifierSpec(dataset="iris", loss=loss, regularizer=regularizer, lam=0.05, beta=0.7,
                             regularize_bias=regularize_bias)
    objective = problem.build()
    rng = np.random.default_rng(4)
    theta = objective.initial_theta(0.5, 1)
    for _ in range(5):
        v = rng.standard_normal(theta.shape)
        exact = hessian_vector(objective, theta, v)
        # the SVM's and L1's kinks are measure-zero: none lies within h of this random point
        assert relative_error(exact, finite_difference_hvp(objective, theta, v)) < 1e-6
    if loss == "svm":
        # piecewise linear data loss: only the penalty's curvature (2 lam (beta) on the masked entries)
        factor = {"none": 0.0, "l1": 0.0, "l2": 2 * 0.05, "elastic": 2 * 0.05 * 0.7}[regularizer]
        mask = objective.reg_mask.reshape(-1)
        np.testing.assert_allclose(exact, factor * np.where(mask, v.reshape(-1), 0.0), rtol=1e-12, atol=1e-15)


def test_hvp_of_a_minibatch_averages_over_its_rows():
    objective = ClassifierSpec(dataset="iris").build()
    theta = objective.initial_theta(0.5, 2)
    v = np.random.default_rng(5).standard_normal(theta.shape)
    rows = np.arange(0, objective.n_train, 3)
    h = 1e-5
    plus = objective.loss_and_grad(theta + h * v, batch=rows)[1]
    minus = objective.loss_and_grad(theta - h * v, batch=rows)[1]
    assert relative_error(objective.hvp(theta, v, batch=rows).reshape(-1), ((plus - minus) / (2 * h)).reshape(-1)) \
        < 1e-6


def softmax_hessian_closed_form(objective, theta):
    """(1/N) sum_i kron(diag(p_i) - p_i p_i^T, x_i x_i^T) + 2 lam diag(mask), for the
    parameters flattened row by row (W is C x (D+1))."""
    W = theta.reshape(objective.param_shape)
    X = objective.X
    scores = X @ W.T
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    size = W.size
    hessian = np.zeros((size, size))
    for x, q in zip(X, p):
        hessian += np.kron(np.diag(q) - np.outer(q, q), np.outer(x, x))
    hessian /= X.shape[0]
    hessian += np.diag(2 * objective.regularizer.lam * objective.reg_mask.reshape(-1).astype(float))
    return hessian


def test_the_full_hessian_of_the_linear_softmax_is_its_closed_form():
    objective = ClassifierSpec(dataset="iris", lam=0.01).build()
    theta = objective.initial_theta(0.5, 1)
    hessian = full_hessian(objective, theta)
    reference = softmax_hessian_closed_form(objective, theta)
    assert np.max(np.abs(hessian - reference)) <= 1e-10 * np.max(np.abs(reference))
    assert np.array_equal(hessian, hessian.T)
    with pytest.raises(HillwalkError, match="at most 10 parameters"):
        full_hessian(objective, theta, max_size=10)


@pytest.mark.parametrize("dataset, which", [("iris", "top"), ("wine", "top"), ("wine", "bottom"), ("digits", "both")])
def test_lanczos_finds_the_extreme_eigenvalues_of_the_explicit_hessian(dataset, which):
    objective = ClassifierSpec(dataset=dataset, lam=0.01).build()
    theta = objective.initial_theta(0.1, 2)
    exact = np.linalg.eigvalsh(full_hessian(objective, theta))
    spectrum = lanczos(objective, theta, k=2, which=which, seed=7)
    top, bottom = exact[::-1][:2], exact[:2]
    if which in ("top", "both"):
        np.testing.assert_allclose(spectrum.eigenvalues[:2], top, rtol=1e-8)
        assert np.all(spectrum.residuals[:2] < 1e-6 * exact[-1])
    if which == "bottom":   # wine: 42 parameters, Lanczos runs to the whole space
        np.testing.assert_allclose(spectrum.eigenvalues, bottom, rtol=1e-8, atol=1e-8 * exact[-1])
    # whatever converged or not, each pair's residual bounds its distance to a true
    # eigenvalue (a symmetric matrix's theorem): the reported accuracy is honest. On digits
    # (650 parameters, 60 steps) the bottom of a clustered spectrum has not converged, and
    # its residuals say so.
    for value, residual in zip(spectrum.eigenvalues, spectrum.residuals):
        assert np.min(np.abs(exact - value)) <= residual + 1e-9 * exact[-1]
    np.testing.assert_allclose(np.linalg.norm(spectrum.eigenvectors, axis=1), 1.0)
    # the same seed gives the same pairs
    again = lanczos(objective, theta, k=2, which=which, seed=7)
    np.testing.assert_array_equal(again.eigenvalues, spectrum.eigenvalues)


def test_lanczos_on_a_saddle_finds_the_negative_curvature():
    saddle = make_test_function("saddle")
    spectrum = lanczos(saddle, (0.3, 0.1), k=1, which="both")
    np.testing.assert_allclose(spectrum.eigenvalues, [2.0, -2.0])
    np.testing.assert_allclose(np.abs(spectrum.eigenvectors), [[1.0, 0.0], [0.0, 1.0]], atol=1e-12)


def test_hutchinson_and_the_density_agree_with_the_trace():
    objective = ClassifierSpec(dataset="wine", lam=0.01).build()
    theta = objective.initial_theta(0.1, 2)
    hessian = full_hessian(objective, theta)
    trace = float(np.trace(hessian))
    estimate, error = hutchinson_trace(objective, theta, samples=200, seed=1)
    assert abs(estimate - trace) < 4 * error and error < 0.2 * abs(trace)
    assert hutchinson_trace(objective, theta, samples=200, seed=1) == (estimate, error)
    density = spectral_density(objective, theta, probes=16, iterations=objective.size, seed=2)
    # a full Lanczos run per probe z puts its nodes on the eigenvalues with weights
    # (z . eigenvector)^2 / n: the density's mean is the probes' mean of z^T H z / n, an
    # unbiased estimate of the mean eigenvalue trace / n
    rng = np.random.default_rng(2)
    probes = [rng.choice((-1.0, 1.0), size=objective.size) for _ in range(16)]
    expected = np.mean([z @ hessian @ z for z in probes]) / objective.size
    mean = float(np.sum(density.grid * density.density) * (density.grid[1] - density.grid[0]))
    assert mean == pytest.approx(expected, rel=1e-3)
    area = float(np.sum(density.density) * (density.grid[1] - density.grid[0]))
    assert area == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(np.nansum(density.weights, axis=1), 1.0)


def test_what_curvature_refuses_and_that_it_stops_when_asked():
    class NoCurvature:
        def describe(self):
            return {"model": "mystery"}

    with pytest.raises(HillwalkError, match="mystery model has none"):
        lanczos(NoCurvature(), np.zeros(3))
    objective = ClassifierSpec(dataset="iris").build()
    theta = objective.initial_theta(0.1, 0)
    with pytest.raises(HillwalkError, match="1 to 15"):
        lanczos(objective, theta, k=20)
    with pytest.raises(HillwalkError, match="does not fit"):
        hessian_vector(objective, theta, np.ones(3))
    with pytest.raises(HillwalkError, match="at least 2 samples"):
        hutchinson_trace(objective, theta, samples=1)
    assert lanczos(objective, theta, should_stop=lambda: True) is None
    assert full_hessian(objective, theta, should_stop=lambda: True) is None
    assert hutchinson_trace(objective, theta, should_stop=lambda: True) is None
    assert spectral_density(objective, theta, should_stop=lambda: True) is None


def test_the_penalties_hessian():
    W = np.array([[1.0, -2.0], [0.0, 3.0]])
    V = np.array([[0.5, 1.0], [2.0, -1.0]])
    mask = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(Regularizer("l2", 0.1).hessian_vector(W, V, mask), 0.2 * np.where(mask, V, 0))
    np.testing.assert_array_equal(Regularizer("elastic", 0.1, 0.5).hessian_vector(W, V), 0.1 * V)
    np.testing.assert_array_equal(Regularizer("l1", 0.1).hessian_vector(W, V), np.zeros_like(V))
    np.testing.assert_array_equal(Regularizer("none", 0.1).hessian_vector(W, V), np.zeros_like(V))


# --------------------------------------------------------------------------- networks

NETWORK_CASES = [case for case in itertools.product(
    ["relu", "leaky_relu", "tanh", "sigmoid", "elu", "maxout"], [False, True], [1.0, 0.7], [False, True],
    ["softmax", "svm"], [1, 3]) if not (case[3] and case[5] < 2)]


def unit_direction(size, seed):
    v = np.random.default_rng(seed).standard_normal(size)
    return v / np.linalg.norm(v)   # a short step h v crosses no ReLU or hinge kink here


@pytest.mark.parametrize("activation, batchnorm, keep_prob, residual, loss, depth", NETWORK_CASES)
def test_network_hvp_matches_differences_of_the_gradient(activation, batchnorm, keep_prob, residual, loss, depth):
    """Every layer type and combination: depth 1 and 3, each activation (maxout with 3
    pieces), batch norm in training mode, dropout under a fixed mask, skips on and off,
    both losses, L2 on the weights."""
    problem = ClassifierSpec(dataset="iris", model="net", hidden=(5,) * depth, activation=activation,
                             batchnorm=batchnorm, keep_prob=keep_prob, residual=residual, loss=loss, init="xavier",
                             pieces=3, lam=0.01)
    network = problem.build()
    if keep_prob < 1.0:
        network = network.with_modes(dropout_mode="fixed")
    theta = network.initial_theta(seed=1) + 0.1 * np.random.default_rng(0).standard_normal(network.size)
    v = unit_direction(network.size, 1)
    assert relative_error(hessian_vector(network, theta, v), finite_difference_hvp(network, theta, v)) < 1e-6


@pytest.mark.parametrize("modes", [dict(bn_mode="eval"), dict(dropout_mode="mean:3"), dict(step=4)])
def test_network_hvp_in_every_mode(modes):
    problem = ClassifierSpec(dataset="iris", model="net", hidden=(6, 6), batchnorm=True, keep_prob=0.6,
                             regularizer="elastic", regularize_bias=True, lam=0.01)
    network = problem.build()
    # off every L1 kink: the biases start at exactly 0, where |b| has no second derivative
    theta = network.initial_theta(seed=1) + 0.1 * np.random.default_rng(0).standard_normal(network.size)
    if "step" in modes:
        network = network.at_step(modes["step"])      # a run's step: its fresh masks
    else:
        network = network.with_modes(**modes)
        if network.bn_mode == "eval":
            network.estimate_running_stats(theta)
    v = unit_direction(network.size, 2)
    assert relative_error(hessian_vector(network, theta, v), finite_difference_hvp(network, theta, v)) < 1e-6
    rows = np.arange(0, network.n_train, 2)
    h = 1e-5
    difference = (network.loss_and_grad(theta + h * v, batch=rows)[1]
                  - network.loss_and_grad(theta - h * v, batch=rows)[1]) / (2 * h)
    assert relative_error(network.hvp(theta, v, batch=rows), difference) < 1e-6


def test_lanczos_on_a_network_matches_its_explicit_hessian():
    network = ClassifierSpec(dataset="iris", model="net", hidden=(6, 6), activation="tanh", lam=0.01).build()
    theta = network.initial_theta(seed=3)
    hessian = full_hessian(network, theta)
    exact = np.linalg.eigvalsh(hessian)
    spectrum = lanczos(network, theta, k=1, which="both", iterations=network.size, seed=1)
    np.testing.assert_allclose(spectrum.eigenvalues, [exact[-1], exact[0]], rtol=1e-8, atol=1e-8 * abs(exact[-1]))
    assert exact[0] < 0   # a network's Hessian is indefinite away from a minimum


def test_lanczos_refuses_a_basis_over_the_memory_budget():
    class Huge:
        def hvp(self, theta, v, batch=None):
            raise AssertionError("refused before any product")

        def describe(self):
            return {"model": "huge"}

    with pytest.raises(HillwalkError, match="Lanczos' basis of 60 vectors of 30000000 parameters"):
        lanczos(Huge(), np.broadcast_to(0.0, (30_000_000,)), k=1)   # a view: no 240 MB for the test
    with pytest.raises(HillwalkError, match="Lanczos' basis of 40 vectors"):
        spectral_density(Huge(), np.broadcast_to(0.0, (30_000_000,)))


def test_the_plane_hessian_is_the_full_hessian_projected():
    from hillwalk.core.curvature import plane_hessian

    network = ClassifierSpec(dataset="iris", model="net", hidden=(5,), activation="tanh").build()
    theta = network.initial_theta(seed=2)
    rng = np.random.default_rng(3)
    d1, d2 = rng.standard_normal(network.size), rng.standard_normal(network.size)
    P = np.stack([d1, d2], axis=1)
    expected = P.T @ full_hessian(network, theta) @ P
    np.testing.assert_allclose(plane_hessian(network, theta, d1, d2), expected, rtol=1e-9, atol=1e-12)
    saddle = make_test_function("saddle")
    np.testing.assert_array_equal(plane_hessian(saddle, (0.1, 0.2), (1.0, 0.0), (0.0, 1.0)), [[2, 0], [0, -2]])
