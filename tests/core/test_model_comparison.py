"""Compare two models: the sides, the roughness figures, the task, the sessions that keep
them, and the deep-network presets' lessons checked on their own numbers."""
import importlib.resources
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.session import Session
from hillwalk.core.labs import tasks
from hillwalk.core.labs.comparison import (
    DEFAULT_VARIANTS,
    ModelVariant,
    distinct_units,
    nonconvex_share,
    slice_roughness,
)
from hillwalk.core.landscapes.centers import train_full_batch
from hillwalk.core.landscapes.landscape import make_axis
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec, editable_widths, parse_widths

# the shipped presets, found through the package as the app finds them
PRESETS_DIR = Path(str(importlib.resources.files("hillwalk.resources").joinpath("presets")))


def grid_of(function, count=31, low=-1.0, high=1.0):
    axis = make_axis(low, high, count)
    a, b = np.meshgrid(axis, axis)
    return function(a, b), axis, axis


def stop_at_once():
    return True


# --------------------------------------------------------------------------- the figures

@pytest.mark.parametrize("count", [5, 31, 101])
def test_roughness_is_the_laplacian_of_a_quadratic_on_any_grid(count):
    # L = 2 a^2 + 3 b^2 + a b: Laplacian 4 + 6 = 10 everywhere, whatever the grid
    values, alphas, betas = grid_of(lambda a, b: 2 * a ** 2 + 3 * b ** 2 + a * b + 5, count)
    assert slice_roughness(values, alphas, betas) == pytest.approx(10.0, rel=1e-9)
    # a plane has none, and a rougher surface more
    flat, _, _ = grid_of(lambda a, b: 1 + 0.3 * a - 0.2 * b, count)
    assert slice_roughness(flat, alphas, betas) == pytest.approx(0.0, abs=1e-9)
    wavy, _, _ = grid_of(lambda a, b: 2 * a ** 2 + 3 * b ** 2 + 5 + 0.05 * np.sin(20 * a), count)
    if count > 5:
        assert slice_roughness(wavy, alphas, betas) > 10.5


def test_roughness_uses_each_axis_step():
    alphas, betas = make_axis(-2.0, 2.0, 21), make_axis(-0.5, 0.5, 11)
    a, b = np.meshgrid(alphas, betas)
    assert slice_roughness(a ** 2 + b ** 2, alphas, betas) == pytest.approx(4.0, rel=1e-9)


def test_nonconvex_share_tells_a_bowl_from_a_saddle():
    bowl, alphas, betas = grid_of(lambda a, b: a ** 2 + b ** 2)
    saddle, _, _ = grid_of(lambda a, b: a ** 2 - b ** 2)
    dome, _, _ = grid_of(lambda a, b: -(a ** 2) - 2 * b ** 2)
    assert nonconvex_share(bowl, alphas, betas) == 0.0
    assert nonconvex_share(saddle, alphas, betas) == 1.0 and nonconvex_share(dome, alphas, betas) == 1.0
    # half a bowl, half a dome (split along b): half the points curve downwards
    half, _, _ = grid_of(lambda a, b: np.where(b < 0, a ** 2 + b ** 2, -(a ** 2) - b ** 2), 30)
    assert 0.4 < nonconvex_share(half, make_axis(-1, 1, 30), make_axis(-1, 1, 30)) < 0.6


def test_the_figures_skip_points_that_are_not_finite_and_refuse_what_is_not_a_slice():
    values, alphas, betas = grid_of(lambda a, b: a ** 2 + b ** 2, 11)
    values[5, 5] = np.nan
    assert slice_roughness(values, alphas, betas) == pytest.approx(4.0)
    saddle, _, _ = grid_of(lambda a, b: a ** 2 - b ** 2, 11)
    saddle[5, 5] = np.inf
    saddle[2, 7] = np.nan
    # the points whose neighbourhood is not finite are left out, not counted either way
    assert nonconvex_share(saddle, alphas, betas) == 1.0
    assert np.isnan(slice_roughness(np.full((4, 4), np.nan), make_axis(0, 1, 4), make_axis(0, 1, 4)))
    with pytest.raises(HillwalkError, match="3 x 3"):
        slice_roughness(np.ones((2, 5)), make_axis(0, 1, 5), make_axis(0, 1, 2))
    with pytest.raises(HillwalkError, match="do not fit"):
        slice_roughness(np.ones((5, 5)), make_axis(0, 1, 4), make_axis(0, 1, 5))


def test_distinct_units_sees_zero_inits_symmetry():
    spec = ClassifierSpec(dataset="spiral", preprocessing="standardize", model="net", hidden=(8, 6),
                          activation="tanh", init="zero")
    net = spec.build()
    theta, _, _ = train_full_batch(net, net.initial_theta(seed=0), 30, record=False)
    assert distinct_units(net, theta) == ((1, 8), (1, 6))
    other = replace(spec, init="small", batchnorm=True).build()
    theta = other.initial_theta(seed=0)
    assert distinct_units(other, theta) == ((8, 8), (6, 6))
    # two units made equal count once
    layer = other.layers[0]
    W = layer.W.view(theta)
    W[:, 1] = W[:, 0]
    assert distinct_units(other, theta)[0] == (7, 8)
    assert distinct_units(ClassifierSpec(dataset="spiral").build(), np.zeros(9)) == ()


# --------------------------------------------------------------------------- the sides

def test_a_side_is_checked_like_the_problem_and_describes_itself():
    side = ModelVariant(hidden=[32, 32], residual=True, batchnorm=True, keep_prob=0.5, dropout_mode="mean:04")
    assert side.hidden == (32, 32) and side.dropout_mode == "mean:4"
    assert side.describe() == "32-32 ReLU network, batch norm, dropout p = 0.5 (mean:4), skip connections"
    assert ModelVariant(model="linear").describe() == "linear classifier"
    assert ModelVariant("mine").describe() == "mine"
    for bad, message in ((dict(hidden=(32, 16), residual=True), "skip connections"),
                         (dict(hidden=()), "hidden layers"), (dict(activation="swish"), "activation"),
                         (dict(keep_prob=0.0), "keep"), (dict(dropout_mode="mean:1"), "2"),
                         (dict(bn_mode="test"), "batch-norm mode"), (dict(label="x" * 61), "at most 60")):
        with pytest.raises(HillwalkError, match=message):
            ModelVariant(**bad)
    problem = ClassifierSpec(dataset="spiral", model="net", hidden=(8, 8), residual=True)
    assert ModelVariant.of(problem).problem(ClassifierSpec(dataset="spiral")) == problem


def test_sessions_keep_both_sides_and_a_caption(tmp_path):
    sides = (ModelVariant("A", hidden=(8,) * 3, batchnorm=True, bn_mode="train"),
             ModelVariant("B", hidden=(8,) * 3, keep_prob=0.5, dropout_mode="mean:8"))
    session = Session(title="t", caption="what to look at", comparison=sides)
    path = session.save(tmp_path / "two.hillwalk.json")
    again = Session.load(path)
    assert again.comparison == sides and again.caption == "what to look at"
    data = json.loads(path.read_text())
    data["comparison"]["b"]["residual"] = True
    data["comparison"]["b"]["hidden"] = [8, 4]
    with pytest.raises(HillwalkError, match=r"comparison\.b.*skip connections"):
        Session.from_dict(data)
    data = json.loads(path.read_text())
    del data["comparison"]["a"]
    assert Session.from_dict(data).comparison == (DEFAULT_VARIANTS[0], sides[1])
    for bad, message in (({"c": {}}, "unknown field"), ([], "object"), ({"a": {"depth": 3}}, "unknown field")):
        data["comparison"] = bad
        with pytest.raises(HillwalkError, match=message):
            Session.from_dict(data)
    data = json.loads(path.read_text())
    data["caption"] = "x" * 2001
    with pytest.raises(HillwalkError, match="caption"):
        Session.from_dict(data)


def test_a_session_of_an_earlier_version_compares_the_linear_model_with_its_own_network():
    data = json.loads((PRESETS_DIR / "10-spiral-network.hillwalk.json").read_text())
    assert data["version"] == 1 and "comparison" not in data
    data["problem"]["hidden"], data["problem"]["activation"] = 32, "tanh"
    session = Session.from_dict(data)
    linear, network = session.comparison
    assert linear.model == "linear"
    assert (network.model, network.hidden, network.activation) == ("net", (32,), "tanh")
    # a linear session's lab compared with a network of its settings, as it does now
    data["problem"]["model"] = "linear"
    linear, network = Session.from_dict(data).comparison
    assert (network.model, network.hidden, network.activation) == ("net", (32,), "tanh")
    data["problem"] = {"objective": "rosenbrock"}
    assert Session.from_dict(data).comparison == DEFAULT_VARIANTS


# --------------------------------------------------------------------------- the task

@pytest.fixture(scope="module")
def blobs():
    problem = ClassifierSpec(dataset="blobs")
    return problem, problem.build(), SliceSpec(center="init", grid=11, train_steps=50)


def test_the_task_trains_and_slices_both_sides_alike(blobs):
    problem, objective, spec = blobs
    fractions = []
    sides = (ModelVariant(model="linear"), ModelVariant(hidden=(8, 8), batchnorm=True, keep_prob=0.8,
                                                        dropout_mode="fixed"))
    result = tasks.compare_models_task(problem, spec, objective, sides, report=lambda f, t: fractions.append(f))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert result.grid == tasks.MODELS_GRID and result.train_steps == tasks.MODELS_MIN_STEPS
    for side, variant in zip("ab", sides):
        trained = result[side]
        assert trained.variant == variant
        assert trained.landscape.values.shape == (tasks.MODELS_GRID, tasks.MODELS_GRID)
        assert np.all(np.isfinite(trained.landscape.values))
        assert trained.regions is not None and trained.regions.classes.shape == (tasks.REGIONS_RESOLUTION,) * 2
        assert trained.roughness == slice_roughness(trained.landscape)
        assert trained.nonconvex == nonconvex_share(trained.landscape)
        # the same trained weights give the accuracies: dropout off, batch norm with the
        # training set's statistics at theta (validation examples normalized by them)
        evaluation = trained.model.for_evaluation() if hasattr(trained.model, "for_evaluation") else trained.model
        if getattr(evaluation, "batchnorm", False):
            assert evaluation.running_stats is None
            evaluation.estimate_running_stats(trained.theta)
        assert trained.train_accuracy == evaluation.accuracy(trained.theta)
        assert trained.val_accuracy == evaluation.accuracy(trained.theta, "val")
    net = result["b"]
    assert net.model.widths == (8, 8) and net.model.batchnorm and net.units == ((8, 8), (8, 8))
    assert "dropout: one fixed mask" in net.landscape.plane.info["modes"]
    assert result["a"].units == () and "modes" not in result["a"].landscape.plane.info
    assert (result.directions, result.directions_changed) == ("filter", "")
    # directions of one model's parameters cannot apply to two: filter-normalized, and said
    coords = tasks.compare_models_task(problem, replace(spec, directions="coords"), objective,
                                       (ModelVariant(model="linear"), ModelVariant(hidden=(4,))))
    assert coords.directions == "filter" and "coords directions" in coords.directions_changed
    # both sides see the same data and the same kind of directions
    assert result["a"].model.train is objective.train and net.model.train is objective.train
    assert result["a"].landscape.plane.info["normalization"] == net.landscape.plane.info["normalization"]
    assert tasks.compare_models_task(problem, spec, objective, sides, should_stop=stop_at_once) is None


def test_the_task_on_data_of_many_features_has_no_regions_and_refuses_a_function():
    problem = ClassifierSpec(dataset="iris")
    objective = problem.build()
    result = tasks.compare_models_task(problem, SliceSpec(grid=11, train_steps=20), objective,
                                       (ModelVariant(model="linear"), ModelVariant(hidden=(4,))))
    assert result["a"].regions is None and result["b"].regions is None
    function = ClassifierSpec(objective="rosenbrock").build()
    with pytest.raises(HillwalkError, match="test function"):
        tasks.compare_models_task(ClassifierSpec(objective="rosenbrock"), SliceSpec(), function)
    with pytest.raises(HillwalkError, match="two sides"):
        tasks.compare_models_task(problem, SliceSpec(), objective, (ModelVariant(),))


# --------------------------------------------------------------------------- the presets' lessons

def preset_comparison(name):
    session = Session.load(PRESETS_DIR / f"{name}.hillwalk.json")
    objective = session.problem.build()
    return session, tasks.compare_models_task(session.problem, session.slice, objective, session.comparison)


@pytest.mark.parametrize("name", ["11-batch-norm", "12-skip-connections"])
def test_batch_norm_and_skip_connections_give_a_smoother_landscape(name):
    session, result = preset_comparison(name)
    assert session.view["lab"] == "Compare two models" and session.caption
    a, b = result["a"], result["b"]
    # the same network but for the one switch
    assert a.variant.hidden == b.variant.hidden and len(a.variant.hidden) >= 8
    switch = "batchnorm" if name == "11-batch-norm" else "residual"
    assert not getattr(a.variant, switch) and getattr(b.variant, switch)
    # the lesson, as a number: at least 5 times smoother (57x and 27x when this was written)
    assert b.roughness < a.roughness / 5
    if name == "11-batch-norm":
        # the caption's last claim: in eval mode (statistics frozen at the centre) the effect is gone
        frozen = tasks.compare_models_task(session.problem, session.slice, session.problem.build(),
                                           (a.variant, replace(b.variant, bn_mode="eval")))
        assert frozen["b"].roughness > a.roughness
    if name == "12-skip-connections":
        assert b.nonconvex < a.nonconvex and b.loss < a.loss   # a convex-looking basin, and it trains


def test_the_dropout_preset_shows_a_fixed_mask_rougher_than_evaluation():
    _, result = preset_comparison("13-dropout")
    a, b = result["a"], result["b"]
    assert (a.variant.dropout_mode, b.variant.dropout_mode) == ("off", "fixed")
    # the same network, trained alike: the same weights, sliced in two modes
    np.testing.assert_array_equal(a.theta, b.theta)
    assert b.roughness > 1.5 * a.roughness


def test_the_zero_init_preset_shows_the_symmetry_that_never_breaks():
    _, result = preset_comparison("14-zero-init")
    a, b = result["a"], result["b"]
    assert a.units == ((1, 32),) and b.units == ((32, 32),)
    assert a.train_accuracy < 0.4 < 0.9 < b.train_accuracy


def test_training_reports_progress_and_stops_when_asked(blobs):
    problem, objective, spec = blobs
    fractions = []
    train_full_batch(objective, objective.initial_theta(1e-3, 0), 20, record=False, progress=fractions.append)
    assert fractions == [(k + 1) / 20 for k in range(20)]
    asked = []

    def stop_after_a_few():
        asked.append(True)
        return len(asked) > 5

    theta, _, losses = train_full_batch(objective, objective.initial_theta(1e-3, 0), 500, record=False,
                                        should_stop=stop_after_a_few)
    assert len(losses) <= 6 and len(asked) <= 7
    # a comparison asked to stop during its first side's training stops there
    asked.clear()
    sides = (ModelVariant(hidden=(8, 8)), ModelVariant(model="linear"))
    assert tasks.compare_models_task(problem, spec, objective, sides, should_stop=stop_after_a_few) is None
    assert len(asked) <= 7


def test_a_slices_centre_stops_training_when_asked(blobs):
    _, objective, _ = blobs
    asked, fractions = [], []

    def stop_after_a_few():
        asked.append(True)
        return len(asked) > 5

    plane = SliceSpec(center="trained", train_steps=5000).plane(objective, progress=fractions.append,
                                                                should_stop=stop_after_a_few)
    assert plane is None and len(asked) <= 8 and len(fractions) <= 5


def test_decision_regions_of_a_batch_norm_network_classify_each_point_on_its_own():
    from hillwalk.core.labs.lessons import decision_regions

    net = ClassifierSpec(dataset="spiral", preprocessing="standardize", model="net", hidden=(8, 8),
                         batchnorm=True).build()
    theta, _, _ = train_full_batch(net, net.initial_theta(seed=0), 50, record=False)
    xs, ys, classes = decision_regions(net, theta, resolution=24)
    assert net.running_stats is None   # the network itself is left as it was
    # each point alone, normalized with the training set's statistics, gets its region's class
    twin = net.with_modes()
    twin.estimate_running_stats(theta)
    for i, j in ((3, 5), (20, 2), (12, 12)):
        assert twin.predict(theta, np.array([[xs[i], ys[j]]]))[0] == classes[j, i]


# --------------------------------------------------------------------------- widths as text

@pytest.mark.parametrize("text, widths", [("64", (64,)), ("100, 100", (100, 100)), ("12 x 16", (16,) * 12),
                                          ("2x100,10", (100, 100, 10)), ("100, 3 x 50", (100, 50, 50, 50)),
                                          (" 8 * 32 ", (32,) * 8), ("4 × 8", (8,) * 4)])
def test_widths_are_read_as_lists_or_layers_times_units(text, widths):
    assert parse_widths(text) == widths
    assert parse_widths(editable_widths(widths)) == widths   # what the boxes show reads back


def test_editable_widths_shorten_runs_of_three_or_more():
    assert editable_widths((16,) * 12) == "12 x 16"
    assert editable_widths((100, 50, 50, 50, 10, 10)) == "100, 3 x 50, 10, 10"
    assert editable_widths((64,)) == "64"


@pytest.mark.parametrize("text, message", [("1_0", "whole number, got '1_0'"), ("a x 3", "number of layers"),
                                           ("3 x b", "hidden size"), ("-4", "whole number, got '-4'"),
                                           ("16,,16", "separated by commas"),
                                           ("1000000000 x 16", "number of hidden layers must be")])
def test_bad_widths_say_what_is_wrong(text, message):
    with pytest.raises(HillwalkError, match=message):
        parse_widths(text)


def test_the_roughness_leaves_out_overflowed_points_without_a_warning():
    values, alphas, betas = grid_of(lambda a, b: a ** 2 + b ** 2, 11)
    values[0, :] = np.inf
    assert slice_roughness(values, alphas, betas) == pytest.approx(4.0)


def test_a_side_whose_loss_overflows_is_named_and_training_stops_at_once():
    problem = ClassifierSpec(dataset="iris")
    objective = problem.build()
    exploding = ModelVariant(hidden=(64,) * 64, activation="maxout", pieces=8)
    with np.errstate(all="ignore"), pytest.raises(HillwalkError, match="model B .* its loss overflowed"):
        tasks.compare_models_task(problem, SliceSpec(grid=11), objective, (ModelVariant(model="linear"), exploding))
    network = exploding.problem(problem).build()
    with np.errstate(all="ignore"), pytest.raises(HillwalkError, match="training the centre diverged"):
        SliceSpec(grid=11).plane(network)
    # an overflowed loss ends full-batch training at once instead of halving steps to nothing
    with np.errstate(all="ignore"):
        _, _, losses = train_full_batch(network, network.initial_theta(seed=0), 500, record=False)
    assert losses.size <= 2 and not np.isfinite(losses[-1])   # stopped at the first overflow, not after 500
