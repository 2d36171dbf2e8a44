"""The declared objective interface, its capabilities, the refusal of settings that do
not apply, escapes to minus infinity, and the optimizers' metadata."""
import numpy as np
import pytest

from hillwalk.core.data.datasets import load_embedded
from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.interface import CAPABILITIES, SPEC_SETTINGS, Objective, check_settings, conforms
from hillwalk.core.models.network import TwoLayerNet
from hillwalk.core.models.objectives import LinearClassifier, prepare_splits
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.core.models.testfunctions import TEST_FUNCTION_NAMES, make_test_function
from hillwalk.core.optimization.optimizers import METHOD_INFO, METHODS, SETTINGS, OptimizerSpec, Schedule, methods_using
from hillwalk.core.optimization.trajectory import UNBOUNDED_LOSS_FLOOR, PlaneObjective, Run


@pytest.fixture(scope="module")
def iris():
    return prepare_splits(load_embedded("iris"), "standardize", 0.2, 0)


@pytest.fixture(scope="module")
def objectives(iris):
    """One of every kind of objective the app builds."""
    train, val = iris
    linear = LinearClassifier(train, val, "svm", 1.0, Regularizer("l2", 1e-2))
    network = TwoLayerNet(train, val, hidden=5, activation="tanh", regularizer=Regularizer("l1", 1e-3))
    plane = random_plane(linear, linear.initial_theta(0.1, 0), "filter", seed=1)
    kinds = {"linear": linear, "network": network, "in-plane": PlaneObjective(linear, plane)}
    kinds.update({name: make_test_function(name) for name in TEST_FUNCTION_NAMES})
    return kinds


def test_every_objective_satisfies_the_interface(objectives):
    for name, objective in objectives.items():
        assert conforms(objective) == [], name
        assert isinstance(objective, Objective), name


def test_conforms_names_what_is_missing():
    class Partial:
        param_shape, size, n_train = (2,), 2, 0
        has_data = "yes"

        def loss(self, theta):
            return 0.0

    problems = conforms(Partial())
    assert "loss_and_grad" in problems and "bounded_below" in problems and "has_data is not a bool" in problems
    assert "loss" not in problems and not isinstance(Partial(), Objective)


def test_capabilities_say_what_each_objective_is(objectives):
    flags = {name: {c: getattr(o, c) for c in CAPABILITIES} for name, o in objectives.items()}
    assert flags["linear"]["has_data"] and flags["linear"]["has_regularizer"] and not flags["linear"]["is_network"]
    assert flags["network"]["is_network"] and flags["network"]["has_batch_evaluation"]
    assert not flags["linear"]["has_batch_evaluation"]
    for name in TEST_FUNCTION_NAMES:
        assert flags[name]["has_own_plane"] and not flags[name]["has_data"] and not flags[name]["has_regularizer"]
        assert not flags[name]["supports_minibatches"] and not flags[name]["has_random_init"]
        assert flags[name]["bounded_below"] == (name not in ("saddle", "monkey")), name
    assert not flags["in-plane"]["has_own_plane"] and flags["in-plane"]["supports_minibatches"]


def test_capabilities_match_behaviour(objectives):
    """What a flag promises, the objective does."""
    rng = np.random.default_rng(0)
    for name, objective in objectives.items():
        theta = 0.3 * rng.standard_normal(objective.param_shape)
        full = objective.loss_and_grad(theta)[0]
        assert np.isclose(full, objective.loss(theta)), name
        if objective.supports_minibatches:
            assert not np.isclose(objective.loss_and_grad(theta, batch=np.arange(5))[0], full), name
        if objective.has_batch_evaluation:
            thetas = np.stack([theta, 2 * theta])
            assert np.allclose(objective.evaluate_batch(thetas), [full, objective.loss(2 * theta)]), name
            assert objective.bytes_per_point() > 0
        if objective.has_layers:
            assert sum(block.size for block in objective.parameter_blocks()) == objective.size, name
        if objective.has_random_init:
            assert objective.initial_theta(1e-3, 0).shape == tuple(objective.param_shape), name
        if objective.has_components:
            parts = objective.components(theta)
            assert np.isclose(parts["total"], full) and np.isclose(parts["data"] + parts["reg"], full), name
        if objective.has_data:
            assert 0 <= objective.accuracy(theta) <= 1, name
        elif name in TEST_FUNCTION_NAMES:
            assert np.isnan(objective.accuracy(theta)), name
        if not objective.bounded_below:
            # far enough along the falling direction the loss passes any floor
            assert min(objective.loss(np.array(p)) for p in ((0.0, 1e4), (-1e4, 0.0))) < UNBOUNDED_LOSS_FLOOR


# --------------------------------------------------------------------------- check_settings

def test_a_function_refuses_regularization_data_and_model_changes(objectives):
    beale = make_test_function("beale")
    problem = ClassifierSpec(objective="beale")
    for field, value in (("lam", 0.1), ("regularizer", "l1"), ("beta", 2.0), ("regularize_bias", True)):
        with pytest.raises(HillwalkError, match="no effect on the beale function: it has no weights to regularize"):
            check_settings(beale, problem.__class__(**{**problem.to_dict(), field: value}), changed=[field])
    for field, value in (("dataset", "wine"), ("loss", "svm"), ("hidden", 8), ("seed", 3)):
        with pytest.raises(HillwalkError, match="choose 'a classifier on data' under Minimise first"):
            check_settings(beale, problem.__class__(**{**problem.to_dict(), field: value}), changed=[field])


def test_a_function_shows_only_the_total_and_keeps_its_own_plane(objectives):
    saddle = objectives["saddle"]
    check_settings(saddle, slice_spec=SliceSpec(component="total", alpha_range=(-3, 3)), changed=["alpha_range"])
    for component in ("data", "accuracy", "example:0"):
        with pytest.raises(HillwalkError, match="no data set, only a total loss"):
            check_settings(saddle, slice_spec=SliceSpec(component=component), changed=["component"])
    with pytest.raises(HillwalkError, match="has no regularizer"):
        check_settings(saddle, slice_spec=SliceSpec(component="reg"), changed=["component"])
    with pytest.raises(HillwalkError, match="The directions have no effect|The directions has no effect"):
        check_settings(saddle, slice_spec=SliceSpec(directions="gaussian"), changed=["directions"])
    with pytest.raises(HillwalkError, match="The centre and the plane seed have no effect on the saddle function"):
        check_settings(saddle, slice_spec=SliceSpec(center="init", seed=4), changed=["center", "seed"])


def test_a_classifier_refuses_only_what_its_settings_do_not_use(objectives):
    linear = objectives["linear"]
    l2 = ClassifierSpec(dataset="iris", regularizer="l2")
    check_settings(linear, ClassifierSpec(dataset="iris", lam=0.5), changed=["lam"])
    check_settings(linear, ClassifierSpec(dataset="iris", regularizer="elastic", beta=2.0), changed=["beta"])
    with pytest.raises(HillwalkError, match="Beta only applies to the elastic net"):
        check_settings(linear, ClassifierSpec(dataset="iris", regularizer="l2", beta=2.0), changed=["beta"])
    with pytest.raises(HillwalkError, match="The margin delta only applies to the SVM loss"):
        check_settings(linear, ClassifierSpec(dataset="iris", loss="softmax", delta=2.0), changed=["delta"])
    with pytest.raises(HillwalkError, match="The hidden units has no effect on a linear classifier"):
        check_settings(linear, ClassifierSpec(dataset="iris", hidden=8), changed=["hidden"])
    with pytest.raises(HillwalkError, match="Lambda has no effect without a regularizer"):
        check_settings(linear, ClassifierSpec(dataset="iris", regularizer="none", lam=0.5), changed=["lam"])
    with pytest.raises(HillwalkError, match="example index 500 is out of range"):
        check_settings(linear, l2, SliceSpec(component="example:500"), changed=["component"])
    for component in ("data", "reg", "accuracy", "example:3"):
        check_settings(linear, l2, SliceSpec(component=component), changed=["component"])


def test_nothing_is_refused_while_loading_or_when_the_kind_of_objective_changes(objectives):
    check_settings(None, ClassifierSpec(objective="beale", lam=3.0), SliceSpec(component="data"), changed=["lam"])
    # from a classifier to a function: the new objective is not built yet, so nothing to hold it to
    check_settings(objectives["linear"], ClassifierSpec(objective="beale", lam=3.0), changed=["objective", "lam"])


def test_an_optimizer_setting_is_refused_where_its_method_or_the_objective_does_not_use_it(objectives):
    assert SPEC_SETTINGS == SETTINGS  # the interface's copy of the optimizers' list (models may not import it)
    linear, beale = objectives["linear"], make_test_function("beale")
    adam = OptimizerSpec("adam", momentum=0.5)
    with pytest.raises(HillwalkError, match="Momentum has no effect on Adam; it uses the learning rate, beta1"):
        check_settings(linear, optimizer=adam, changed=["momentum"])
    check_settings(linear, optimizer=adam, changed=["lr"])  # a spec carries every field; only changes count
    check_settings(linear, optimizer=OptimizerSpec("sgd", batch_size=8), changed=["batch_size"])
    with pytest.raises(HillwalkError, match="The batch size has no effect on the beale function"):
        check_settings(beale, optimizer=OptimizerSpec("sgd", batch_size=8), changed=["batch_size"])
    check_settings(beale, optimizer=OptimizerSpec("sgd", batch_size=None), changed=["batch_size"])


# --------------------------------------------------------------------------- escapes

def test_a_saddle_escape_is_recorded_as_escaped_not_diverged():
    saddle = make_test_function("saddle")
    trajectory = Run(saddle, OptimizerSpec("sgd", lr=0.1), saddle.default_start, 500).run_to_end()
    assert trajectory.diverged_at is None and trajectory.escaped_at is not None
    assert trajectory.steps[-1] == trajectory.escaped_at - 1
    assert np.all(trajectory.loss >= UNBOUNDED_LOSS_FLOOR) and trajectory.escaped_at < 500


def test_a_bounded_objective_still_diverges():
    rosenbrock = make_test_function("rosenbrock")
    trajectory = Run(rosenbrock, OptimizerSpec("sgd", lr=0.1), rosenbrock.default_start, 100).run_to_end()
    assert trajectory.diverged_at is not None and trajectory.escaped_at is None


# --------------------------------------------------------------------------- optimizer metadata

def test_every_method_is_described(objectives):
    assert set(METHODS) == set(METHOD_INFO)
    for method, info in METHOD_INFO.items():
        assert info.method == method and info.label and info.short_name
        assert set(info.settings) <= set(SETTINGS) and set(info.defaults) == set(info.settings)
        # second-order methods have no learning rate: Newton's step is -H^-1 g, the
        # quasi-Newton methods' comes from a line search
        assert ("lr" in info.settings and "schedule" in info.settings) != info.second_order
        assert info.applies("batch_size") == info.uses_gradient == (info.rule is not None or info.second_order)
        spec = OptimizerSpec.for_method(method)
        assert spec.display_name in (info.short_name, "GD", "GD+momentum")   # (full batch: not stochastic)
        for setting, default in info.defaults.items():
            value = {"momentum": spec.effective_momentum, "eps": spec.effective_eps,
                     "schedule": spec.schedule.kind}.get(setting, getattr(spec, setting))
            assert value == default, (method, setting)
    assert methods_using("momentum") == ("SGD", "SGD + momentum", "Nesterov momentum")
    assert methods_using("beta1") == ("Adam",)
    with pytest.raises(HillwalkError, match="unknown optimizer setting"):
        methods_using("gamma")


CHANGED = {"lr": 0.1, "momentum": 0.5, "alpha": 0.5, "beta1": 0.5, "beta2": 0.5, "eps": 1e-2,
           "schedule": Schedule("inv", k=0.5), "batch_size": 16, "damping": 1.0, "history": 2,
           "bias_correction": False, "saddle_free": True}


@pytest.mark.parametrize("method", METHODS)
def test_exactly_the_settings_that_apply_change_the_path(objectives, method):
    """The table is the truth: a setting it lists moves the path, any other does not."""
    linear = objectives["linear"]
    base = OptimizerSpec(method, lr=0.05)
    # |H| = H where H is positive definite (the linear softmax): saddle-free Newton differs
    # only where curvature is negative, so it is tried near Himmelblau's local maximum
    cases = {"saddle_free": (make_test_function("himmelblau"), np.array([-0.2, -0.8]))}

    def path(spec, setting):
        objective, start = cases.get(setting, (linear, linear.initial_theta(0.1, 3)))
        return Run(objective, spec, start, 8, seed=2).run_to_end().thetas

    for setting in SETTINGS:
        moved = not np.array_equal(path(base.with_changes(**{setting: CHANGED[setting]}), setting),
                                   path(base, setting))
        assert moved == METHOD_INFO[method].applies(setting), (method, setting)
