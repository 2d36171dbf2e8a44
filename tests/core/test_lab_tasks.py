"""The labs' core tasks: values against the functions and definitions they wrap, where each
lab applies, progress reported, and cancellation honoured."""
import math
from dataclasses import replace

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs import tasks
from hillwalk.core.labs.gradcheck import gradient_check, h_sweep
from hillwalk.core.labs.lessons import INIT_LAB_SCHEMES, decision_regions, has_exploded, sanity_checks, step_size_sweep
from hillwalk.core.landscapes.directions import Plane
from hillwalk.core.landscapes.landscape import compute_slice, make_axis
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.network import activation_forward, init_weights
from hillwalk.core.models.problem import ClassifierSpec


def stop_at_once():
    return True


@pytest.fixture(scope="module")
def digits():
    """The app's default scene: softmax on digits, its objective and an untrained plane."""
    problem = ClassifierSpec()
    objective = problem.build()
    spec = SliceSpec(center="init", grid=11)
    return problem, objective, spec, spec.plane(objective)


@pytest.fixture(scope="module")
def blobs():
    problem = ClassifierSpec(dataset="blobs")
    objective = problem.build()
    spec = SliceSpec(center="init", grid=11, train_steps=50)
    return problem, objective, spec, spec.plane(objective)


def test_where_each_lab_applies(digits, blobs):
    _, linear, _, plane = digits
    assert [lab for lab in tasks.LAB_NAMES if tasks.unavailable_reason(lab, linear, plane)] == ["regions"]
    assert "2 features" in tasks.unavailable_reason("regions", linear)
    net = replace(digits[0], model="net", hidden=8).build()
    assert tasks.unavailable_reason("sanity", net) is None  # the checks hold for networks too
    assert "linear classifier" in tasks.unavailable_reason("hinge", net)
    assert tasks.unavailable_reason("compare", net) is None
    function = ClassifierSpec(objective="rosenbrock").build()
    for lab in ("sanity", "compare", "hinge", "regions", "models"):
        assert "test function" in tasks.unavailable_reason(lab, function)
    for lab in ("gradcheck", "stepsize", "init", "curvature"):
        assert tasks.unavailable_reason(lab, function) is None
    line = Plane(plane.center, plane.dir1, None, {})
    assert "2-D slice" in tasks.unavailable_reason("hinge", linear, line)
    assert tasks.unavailable_reason("regions", blobs[1]) is None
    with pytest.raises(HillwalkError, match="lab"):
        tasks.unavailable_reason("no such lab", linear)


def test_evaluation_point_choices(digits):
    _, objective, spec, plane = digits
    np.testing.assert_array_equal(tasks.evaluation_point(objective, plane, "initial", (0.5, 0.5), 1e-3, 0),
                                  objective.initial_theta(1e-3, 0))
    np.testing.assert_array_equal(tasks.evaluation_point(objective, plane, "start", (0.5, -0.2)),
                                  plane.point(0.5, -0.2))
    np.testing.assert_array_equal(tasks.evaluation_point(objective, plane, "center"), plane.center)


def test_gradient_check_task_matches_the_check_and_the_sweep(digits):
    _, objective, _, _ = digits
    theta = objective.initial_theta(1e-3, 0)
    fractions = []
    outcome = tasks.gradient_check_task(objective, theta, samples=40, report=lambda f, t: fractions.append(f))
    expected = gradient_check(objective, theta, samples=40)
    np.testing.assert_array_equal(outcome.check.rel_error, expected.rel_error)
    hs, max_errors, median_errors = h_sweep(objective, theta, samples=30)
    np.testing.assert_array_equal(outcome.hs, hs)
    np.testing.assert_array_equal(outcome.max_errors, max_errors)
    assert outcome.param_shape == (10, 65) and fractions == sorted(fractions) and fractions
    broken = tasks.gradient_check_task(objective, theta, samples=40, broken=True)
    assert broken.broken and broken.check.max_rel_error_away_from_kinks > 1e-3
    assert tasks.gradient_check_task(objective, theta, should_stop=stop_at_once) is None


def test_step_size_task_runs_past_the_explosion(digits):
    _, objective, _, _ = digits
    theta = objective.initial_theta(1e-3, 0)
    sweep = tasks.step_size_task(objective, theta)
    start, grad = objective.loss_and_grad(theta)
    for k, step in zip(sweep.exponents, sweep.step_sizes):
        assert step == 10.0 ** k
    np.testing.assert_allclose(sweep.losses, [objective.loss(theta - s * grad) for s in sweep.step_sizes], rtol=1e-12)
    assert list(sweep.exponents[:10]) == list(range(-10, 0))
    # on digits the best of the notes' range is its top, 1e-1; the sweep goes on until it explodes
    assert sweep.best_step == pytest.approx(0.1)
    assert sweep.exponents.size > 10 and sweep.exploded_index == sweep.exponents.size - 1
    assert sweep.losses[-1] > 10 * start and not any(has_exploded(v, start) for v in sweep.losses[:-1])
    # an explicit range is kept as given
    fixed = step_size_sweep(objective, theta, exponents=range(-10, 0))
    np.testing.assert_array_equal(fixed.losses, sweep.losses[:10])
    assert fixed.exploded_index is None
    assert tasks.step_size_task(objective, theta, should_stop=stop_at_once) is None


def test_sanity_task_matches_the_checks_for_linear_models_and_networks(digits):
    problem, objective, _, _ = digits
    report = tasks.sanity_task(objective)
    expected = sanity_checks(objective)
    assert report.initial.loss == expected.initial.loss and report.initial.at_zero == pytest.approx(math.log(10))
    np.testing.assert_array_equal(report.overfit.losses, expected.overfit.losses)
    net = tasks.sanity_task(replace(problem, model="net", hidden=8).build())
    assert net.initial.verdict == "expected" and net.overfit.fits
    with pytest.raises(HillwalkError, match="test function"):
        tasks.sanity_task(ClassifierSpec(objective="rosenbrock").build())
    assert tasks.sanity_task(objective, should_stop=stop_at_once) is None
    # a stop asked for during the overfitting run ends it too
    calls = []
    assert tasks.sanity_task(objective, should_stop=lambda: calls.append(1) or len(calls) > 1) is None


def test_loss_comparison_task_slices_the_same_plane_under_both_losses(digits):
    problem, objective, spec, plane = digits
    alphas = betas = make_axis(-1.0, 1.0, 9)
    comparison = tasks.loss_comparison_task(problem, objective, plane, alphas, betas, "total")
    svm = replace(problem, loss="svm").model_on(objective.train, objective.val)
    np.testing.assert_allclose(comparison.landscapes["svm"].values,
                               compute_slice(svm, plane, alphas, betas, "total").values, rtol=1e-12)
    np.testing.assert_allclose(comparison.landscapes["softmax"].values,
                               compute_slice(objective, plane, alphas, betas, "total").values, rtol=1e-12)
    assert tasks.loss_comparison_task(problem, objective, plane, alphas, betas, should_stop=stop_at_once) is None


def test_hinge_task_terms_sum_to_the_example_svm_loss(digits):
    _, objective, _, plane = digits
    example = 5
    anatomy = tasks.hinge_task(objective, plane.center, plane.dir1, (-1.0, 1.0), example)
    assert anatomy.terms.shape == (9, anatomy.alphas.size) and anatomy.label not in anatomy.classes
    assert anatomy.alphas[0] <= -1.0 and anatomy.alphas[-1] >= 1.0
    x, y = objective.X[example], int(objective.y[example])
    for k in (0, 100, anatomy.alphas.size - 1):
        scores = (plane.center + anatomy.alphas[k] * plane.dir1).reshape(objective.param_shape) @ x
        by_definition = sum(max(0.0, scores[j] - scores[y] + 1.0) for j in range(10) if j != y)
        assert anatomy.total[k] == pytest.approx(by_definition, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(sum(anatomy.toy_terms.values()), anatomy.toy_total, rtol=1e-12)
    with pytest.raises(HillwalkError, match="out of range"):
        tasks.hinge_task(objective, plane.center, plane.dir1, example=10 ** 6)
    assert tasks.hinge_task(objective, plane.center, plane.dir1, should_stop=stop_at_once) is None


def test_regions_task_matches_decision_regions(blobs, digits):
    _, objective, _, plane = blobs
    regions = tasks.regions_task(objective, plane.center, tag=("center", 0))
    xs, ys, classes = decision_regions(objective, plane.center, resolution=tasks.REGIONS_RESOLUTION)
    np.testing.assert_array_equal(regions.classes, classes)
    np.testing.assert_array_equal(regions.xs, xs)
    assert regions.accuracy == objective.accuracy(plane.center) and regions.tag == ("center", 0)
    with pytest.raises(HillwalkError, match="2 features"):
        tasks.regions_task(digits[1], digits[3].center)
    assert tasks.regions_task(objective, plane.center, should_stop=stop_at_once) is None


def test_initialization_task_reproduces_the_notes_deep_tanh_stack():
    fractions = []
    experiment = tasks.initialization_task(examples=100, report=lambda f, t: fractions.append(f))
    assert (experiment.depth, experiment.width, experiment.activation) == (10, 500, "tanh")
    assert [s.scheme for s in experiment] == list(INIT_LAB_SCHEMES) and fractions[-1] == 1.0
    # the per-layer spread, recomputed here from the definitions (the same seeded draws)
    X, _ = tasks.gaussian_inputs(100, 500, 10, 0)
    for scheme in ("small", "xavier"):
        draws = np.random.default_rng(0)
        h, stds = X, []
        for _ in range(10):
            h, _ = activation_forward(h @ init_weights(h.shape[1], 500, scheme, draws), "tanh")
            stds.append(h.std())
        np.testing.assert_allclose(experiment.by_scheme(scheme).activation_std, stds, rtol=1e-10)
    small, large, xavier = (experiment.by_scheme(s) for s in ("small", "large", "xavier"))
    assert small.activation_std[-1] < 1e-3 * small.activation_std[0]      # collapses towards 0
    assert large.saturated.min() > 0.85                                  # saturates at +-1
    assert xavier.activation_std[-1] > 0.1                               # keeps the spread
    for stats in experiment:
        np.testing.assert_allclose(stats.activation_share.sum(axis=1), 1.0)
        np.testing.assert_allclose(stats.gradient_share.sum(axis=1) + stats.gradient_zero + stats.gradient_nonfinite,
                                   1.0)
    assert tasks.initialization_task(examples=100, should_stop=stop_at_once) is None


def test_initialization_task_with_relu_keeps_the_too_large_gradients_in_view():
    experiment = tasks.initialization_task(activation="relu", examples=100)
    large, he = experiment.by_scheme("large"), experiment.by_scheme("he")
    assert large.activation_std[-1] > 1e6 * large.activation_std[0] > 0      # randn: activations explode
    assert 0.3 < he.activation_std[-1] / he.activation_std[0] < 3           # He keeps the spread
    # ReLU zeroes part of every gradient: those entries have no log10 and are counted apart,
    # the rest fill the histogram instead of falling outside fixed bins
    assert np.all(large.gradient_share.sum(axis=1) > 0.5)
    assert large.gradient_edges[0] < np.log10(large.gradient_norm.max()) < large.gradient_edges[-1] + 3


def test_initialization_task_on_the_data_needs_data():
    function = ClassifierSpec(objective="rosenbrock").build()
    with pytest.raises(HillwalkError, match="Gaussian"):
        tasks.initialization_task(function, inputs="data")


def test_gradient_check_task_names_the_block_where_a_gradient_is_wrong():
    """A network's check reports its largest error block by block: with the penalty's
    gradient dropped (the broken gradient), the penalized weights' blocks are far off and
    the unpenalized biases stay exact, which points at the bug. Parameters straddling a kink
    or unresolved by the difference are not counted in any block."""
    from hillwalk.core import experiment

    objective = experiment.build_objective(ClassifierSpec(dataset="iris", model="net", hidden=(6, 5), lam=0.1))
    theta = objective.initial_theta(seed=0)
    outcome = tasks.gradient_check_task(objective, theta, broken=True, sweep_samples=4)
    names = [name for name, _, _ in outcome.blocks]
    assert names == [block.name for block in objective.parameter_blocks()] and len(names) == 6
    assert [size for _, _, size in outcome.blocks] == [block.size for block in objective.parameter_blocks()]
    check = outcome.check
    compared = ~check.near_kink & ~check.unresolved
    worst = {name: (count, error) for name, count, error in check.worst_by_block(outcome.blocks)}
    for name, offset, size in outcome.blocks:
        inside = compared & (check.indices >= offset) & (check.indices < offset + size)
        if inside.any():
            assert worst[name] == (int(inside.sum()), float(check.rel_error[inside].max()))
        else:
            assert name not in worst
    weights = [name for name in worst if name.startswith("W")]
    biases = [name for name in worst if name.startswith("b")]
    assert weights and biases
    assert all(worst[name][1] > 1e-3 for name in weights)   # the dropped penalty: wrong by far
    assert all(worst[name][1] < 1e-6 for name in biases)    # not penalized: still exact
    # a 2-D function's (x, y) is one block
    beale = experiment.build_objective(ClassifierSpec(objective="beale"))
    point = tasks.gradient_check_task(beale, np.array([1.0, 0.5]), sweep_samples=2)
    assert point.blocks == (("(x, y)", 0, 2),) and point.check.worst_by_block(point.blocks)[0][:2] == ("(x, y)", 2)


def test_a_long_gradient_check_says_how_far_it_is(monkeypatch, digits):
    """Checking every parameter of a network takes minutes: the check reports the
    parameters differenced so far (it sat at 5% until the end), then the kinks."""
    from hillwalk.core.labs import gradcheck

    monkeypatch.setattr(gradcheck, "PROGRESS_INTERVAL_S", 0.0)   # (every parameter, to see them all)
    _, objective, _, _ = digits
    theta = objective.initial_theta(1e-3, 0)
    told = []
    outcome = tasks.gradient_check_task(objective, theta, samples=30, sweep_samples=2,
                                        report=lambda fraction, text: told.append((fraction, text)))
    assert outcome is not None
    fractions = [fraction for fraction, _ in told]
    assert fractions == sorted(fractions) and len(told) > 30
    differenced = [text for _, text in told if "differenced" in text]
    assert differenced[0] == "gradient check: 0 of 30 parameters differenced"
    assert differenced[-1] == "gradient check: 29 of 30 parameters differenced"
    assert "gradient check: kinks of 30 parameters" in [text for _, text in told]
    assert 0.05 <= min(f for f, t in told if "differenced" in t) and max(f for f, t in told if "kinks" in t) <= 0.6
    sweep = [text for _, text in told if text.startswith("h sweep: h = ")]
    assert len(sweep) == outcome.hs.size and sweep[-1].endswith(f"({outcome.hs.size} of {outcome.hs.size})")
    # a broken gradient: every parameter disagrees and is differenced a second time, at 2h
    # (15 s of a network's check went by without a word)
    told.clear()
    tasks.gradient_check_task(objective, theta, samples=30, broken=True, sweep_samples=2,
                              report=lambda fraction, text: told.append((fraction, text)))
    again = [text for _, text in told if "differenced again at 2h" in text]
    assert again and again[0].startswith("gradient check: 0 of ") and [f for f, _ in told] == sorted(f for f, _ in told)
