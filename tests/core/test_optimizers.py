"""Update rules, schedules, searches, runs, races, projections and test functions."""
import math

import numpy as np
import pytest

from hillwalk.core.data.datasets import load_embedded
from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.gradcheck import numerical_gradient
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.models.objectives import LinearClassifier, prepare_splits
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer
from hillwalk.core.models.testfunctions import TEST_FUNCTION_NAMES, make_test_function
from hillwalk.core.optimization.optimizers import OptimizerSpec, Schedule
from hillwalk.core.optimization.trajectory import (
    BatchSampler,
    PlaneObjective,
    Race,
    Run,
    losses_on_plane,
    project_onto_plane,
)

X0 = np.array([1.0, -2.0])
G0 = np.array([0.5, -1.0])
G1 = np.array([0.2, 0.3])


def two_steps(spec):
    optimizer = spec.build()
    x1 = optimizer.update(X0, G0)
    x2 = optimizer.update(x1, G1)
    return x1, x2, optimizer


def test_sgd_by_hand():
    x1, x2, _ = two_steps(OptimizerSpec("sgd", lr=0.1))
    np.testing.assert_allclose(x1, X0 - 0.1 * G0)
    np.testing.assert_allclose(x2, X0 - 0.1 * G0 - 0.1 * G1)


def test_momentum_by_hand():
    x1, x2, optimizer = two_steps(OptimizerSpec("momentum", lr=0.1, momentum=0.9))
    np.testing.assert_allclose(x1, X0 - 0.1 * G0)
    np.testing.assert_allclose(x2, x1 - 0.1 * (0.9 * G0 + G1))
    np.testing.assert_allclose(optimizer.state["velocity"], 0.9 * G0 + G1)
    assert optimizer.t == 2
    # sgd with momentum is the same method, as in torch
    np.testing.assert_allclose(two_steps(OptimizerSpec("sgd", lr=0.1, momentum=0.9))[1], x2)


def test_nesterov_by_hand():
    x1, x2, _ = two_steps(OptimizerSpec("nesterov", lr=0.1, momentum=0.9))
    np.testing.assert_allclose(x1, X0 - 0.1 * (G0 + 0.9 * G0))
    v2 = 0.9 * G0 + G1
    np.testing.assert_allclose(x2, x1 - 0.1 * (G1 + 0.9 * v2))


def test_adagrad_by_hand():
    x1, x2, optimizer = two_steps(OptimizerSpec("adagrad", lr=0.1))
    assert optimizer.spec.effective_eps == 1e-10
    np.testing.assert_allclose(x1, X0 - 0.1 * G0 / (np.abs(G0) + 1e-10))
    np.testing.assert_allclose(x2, x1 - 0.1 * G1 / (np.sqrt(G0 ** 2 + G1 ** 2) + 1e-10))


def test_rmsprop_by_hand():
    x1, x2, _ = two_steps(OptimizerSpec("rmsprop", lr=0.1, alpha=0.9))
    e1 = 0.1 * G0 ** 2
    np.testing.assert_allclose(x1, X0 - 0.1 * G0 / (np.sqrt(e1) + 1e-8))
    e2 = 0.9 * e1 + 0.1 * G1 ** 2
    np.testing.assert_allclose(x2, x1 - 0.1 * G1 / (np.sqrt(e2) + 1e-8))


def test_adam_by_hand():
    x1, x2, _ = two_steps(OptimizerSpec("adam", lr=0.1, beta1=0.9, beta2=0.999))
    np.testing.assert_allclose(x1, X0 - 0.1 * G0 / (np.abs(G0) + 1e-8))  # first step: lr * sign(g)
    m = 0.9 * 0.1 * G0 + 0.1 * G1
    v = 0.999 * 0.001 * G0 ** 2 + 0.001 * G1 ** 2
    m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
    np.testing.assert_allclose(x2, x1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-12)


def test_adam_without_bias_correction_by_hand():
    """The notes' first form: m and v start at 0 and are used as they are, so the first
    steps are (1 - b1) / sqrt(1 - b2) times the corrected ones (3.16 with torch's betas)."""
    spec = OptimizerSpec("adam", lr=0.1, beta1=0.9, beta2=0.999, bias_correction=False)
    x1, x2, _ = two_steps(spec)
    m1, v1 = 0.1 * G0, 0.001 * G0 ** 2
    np.testing.assert_allclose(x1, X0 - 0.1 * m1 / (np.sqrt(v1) + 1e-8), rtol=1e-13)
    m2, v2 = 0.9 * m1 + 0.1 * G1, 0.999 * v1 + 0.001 * G1 ** 2
    np.testing.assert_allclose(x2, x1 - 0.1 * m2 / (np.sqrt(v2) + 1e-8), rtol=1e-13)
    corrected, _, _ = two_steps(spec.with_changes(bias_correction=True))
    np.testing.assert_allclose((x1 - X0) / (corrected - X0), 0.1 / math.sqrt(0.001), rtol=1e-6)
    assert spec.display_name == "Adam (no bias correction)"
    with pytest.raises(HillwalkError, match="bias_correction is true or false"):
        OptimizerSpec("adam", bias_correction="no")


def test_momentum_matches_the_notes_form_at_constant_lr():
    bowl = make_test_function("quadratic", condition=30, angle=20)
    torch_path = Run(bowl, OptimizerSpec("momentum", lr=0.02, momentum=0.9), bowl.default_start, 60).run_to_end()
    x, v = np.array(bowl.default_start), np.zeros(2)
    notes = [x.copy()]
    for _ in range(60):  # v = mu v - lr dx; x += v
        v = 0.9 * v - 0.02 * bowl.loss_and_grad(x)[1]
        x = x + v
        notes.append(x.copy())
    np.testing.assert_allclose(torch_path.thetas, np.array(notes), rtol=1e-12, atol=1e-14)


def test_nesterov_matches_the_notes_look_ahead_form():
    bowl = make_test_function("quadratic", condition=30, angle=20)
    torch_path = Run(bowl, OptimizerSpec("nesterov", lr=0.02, momentum=0.9), bowl.default_start, 60).run_to_end()
    x, v = np.array(bowl.default_start), np.zeros(2)
    look_ahead = [x.copy()]
    for _ in range(60):  # gradient at the look-ahead point x + mu v; torch's parameters are that point
        v = 0.9 * v - 0.02 * bowl.loss_and_grad(x + 0.9 * v)[1]
        x = x + v
        look_ahead.append(x + 0.9 * v)
    np.testing.assert_allclose(torch_path.thetas, np.array(look_ahead), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("schedule, expected", [
    (Schedule("constant"), [0.1, 0.1, 0.1, 0.1]),
    (Schedule("step", gamma=0.5, every=2), [0.1, 0.1, 0.05, 0.05]),
    (Schedule("exp", k=0.1), [0.1 * math.exp(-0.1 * t) for t in range(4)]),
    (Schedule("inv", k=0.5), [0.1 / (1 + 0.5 * t) for t in range(4)]),
])
def test_schedules_follow_their_formulas(schedule, expected):
    np.testing.assert_allclose([schedule.lr(0.1, t) for t in range(4)], expected, rtol=1e-15)
    bowl = make_test_function("quadratic")
    run = Run(bowl, OptimizerSpec("adam", lr=0.1, schedule=schedule), (1.0, 1.0), 3).run_to_end()
    np.testing.assert_allclose(run.lr, expected, rtol=1e-15)  # row t records the lr of update t


@pytest.mark.parametrize("method", ["random-search", "random-local-search"])
def test_derivative_free_methods_never_accept_a_worse_point(method):
    objective = ClassifierSpec(dataset="iris", regularizer="none").build()
    run = Run(objective, OptimizerSpec(method, lr=0.5), objective.initial_theta(1e-3, 0), 300, seed=1)
    trajectory = run.run_to_end()
    assert np.all(np.diff(trajectory.loss) <= 0)
    assert trajectory.loss[-1] < trajectory.loss[0]
    assert trajectory.loss_evaluations == 300
    assert run.optimizer.state["accepted"] < 300  # some candidates were rejected


def test_momentum_beats_gradient_descent_on_a_ravine():
    bowl = make_test_function("quadratic", condition=50, angle=30)

    def steps_to(spec, tolerance=1e-6):
        thetas = Run(bowl, spec, bowl.default_start, 3000).run_to_end().thetas
        reached = np.flatnonzero(np.linalg.norm(thetas, axis=1) < tolerance)
        return reached[0] if reached.size else math.inf

    plain, heavy = steps_to(OptimizerSpec("sgd", lr=0.02)), steps_to(OptimizerSpec("momentum", lr=0.02))
    assert heavy < plain / 2


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_momentum_methods_solve_rosenbrock(method):
    rosenbrock = make_test_function("rosenbrock")
    trajectory = Run(rosenbrock, OptimizerSpec(method, lr=1e-3, momentum=0.9), (-1.5, 2.0), 1000).run_to_end()
    assert trajectory.steps.size == 1001
    assert np.linalg.norm(trajectory.thetas[-1] - np.array([1.0, 1.0])) < 0.05


@pytest.mark.parametrize("objective_name", ["rosenbrock", "classifier"])
def test_divergence_is_a_result_without_nan(objective_name):
    if objective_name == "classifier":
        objective = ClassifierSpec(dataset="digits").build()
        start = objective.initial_theta(1e-3, 0)
    else:
        objective = make_test_function("rosenbrock")
        start = (-1.5, 2.0)
    race = Race(objective, [OptimizerSpec("sgd", lr=1e3), OptimizerSpec("adam", lr=1e-3)], start, 50)
    diverged, healthy = race.run_to_end()
    assert diverged.diverged_at is not None and diverged.steps.size == diverged.diverged_at
    for array in (diverged.thetas, diverged.loss, diverged.grad_norm, diverged.step_length):
        assert np.all(np.isfinite(array))
    assert healthy.diverged_at is None and healthy.steps.size == 51  # the other run goes on


def test_same_seed_same_race():
    objective = ClassifierSpec(dataset="digits").build()
    specs = [OptimizerSpec(m, lr=1e-2, batch_size=32) for m in ("sgd", "momentum", "rmsprop", "adam")]
    start = objective.initial_theta(1e-3, 0)
    first = Race(objective, specs, start, 40, seed=5).run_to_end()
    second = Race(objective, specs, start, 40, seed=5).run_to_end()
    other = Race(objective, specs, start, 40, seed=6).run_to_end()
    for a, b, c in zip(first, second, other):
        np.testing.assert_array_equal(a.thetas, b.thetas)
        np.testing.assert_array_equal(a.batch_loss, b.batch_loss)
        assert not np.array_equal(a.thetas, c.thetas)


def test_race_methods_see_the_same_minibatches():
    first = BatchSampler(100, 16, "epoch", seed=3)
    second = BatchSampler(100, 16, "epoch", seed=3)
    batches = [first.next() for _ in range(14)]
    for batch in batches:
        np.testing.assert_array_equal(batch, second.next())
    epoch = np.concatenate(batches[:7])  # 7 batches: 6 of 16 and one of 4
    assert sorted(epoch.tolist()) == list(range(100))
    assert BatchSampler(100, None).next() is None
    assert BatchSampler(100, 16, "replacement", seed=1).next().size == 16


def test_minibatch_rows_record_the_full_and_the_batch_loss():
    objective = ClassifierSpec(dataset="digits").build()
    trajectory = Run(objective, OptimizerSpec("sgd", lr=0.01, batch_size=8), objective.initial_theta(1e-3, 0),
                     20).run_to_end()
    np.testing.assert_allclose(trajectory.loss[5], objective.loss(trajectory.thetas[5]))
    assert not np.allclose(trajectory.loss, trajectory.batch_loss)
    assert np.all((trajectory.train_acc >= 0) & (trajectory.train_acc <= 1)) and np.all(np.isfinite(trajectory.val_acc))
    np.testing.assert_allclose(trajectory.step_length[1:], np.linalg.norm(np.diff(trajectory.thetas, axis=0),
                                                                          axis=(1, 2)))


def test_runs_pause_resume_and_copy():
    objective = make_test_function("beale")
    spec = OptimizerSpec("adam", lr=0.01)
    whole = Run(objective, spec, (1.0, 1.5), 60).run_to_end()
    paused = Run(objective, spec, (1.0, 1.5), 60)
    assert paused.advance(25) == 25
    twin = paused.copy()
    paused.advance(100)
    twin.run_to_end()
    np.testing.assert_array_equal(paused.trajectory().thetas, whole.thetas)
    np.testing.assert_array_equal(twin.trajectory().thetas, whole.thetas)
    np.testing.assert_allclose(paused.optimizer.state["m"], twin.optimizer.state["m"])


def test_record_every_keeps_fewer_parameters():
    objective = make_test_function("himmelblau")
    trajectory = Run(objective, OptimizerSpec("sgd", lr=1e-3), (0.0, 0.0), 100, record_every=10).run_to_end()
    assert trajectory.steps.tolist() == list(range(0, 101, 10))
    assert trajectory.thetas.shape == (11, 2)


def test_projection_recovers_planted_coordinates():
    objective = ClassifierSpec(dataset="iris").build()
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-2, 2, 30), rng.uniform(-2, 2, 30)
    points = np.stack([plane.point(ai, bi) for ai, bi in zip(a, b)])
    off = rng.standard_normal(points.shape) * 0.1
    projection = project_onto_plane(points, plane)
    np.testing.assert_allclose(projection.a, a, atol=1e-10)
    np.testing.assert_allclose(projection.b, b, atol=1e-10)
    assert projection.distance.max() < 1e-10
    moved = project_onto_plane(points + off, plane)
    assert moved.distance.min() > 0.01 and np.all(moved.relative_distance <= 1)


def test_in_plane_optimization_stays_on_the_plane():
    objective = ClassifierSpec(dataset="digits").build()
    plane = random_plane(objective, objective.initial_theta(1e-2, 0), "filter", seed=1)
    in_plane = PlaneObjective(objective, plane)
    trajectory = Run(in_plane, OptimizerSpec("adam", lr=0.05), (0.5, -0.5), 30).run_to_end()
    assert trajectory.loss[-1] < trajectory.loss[0]
    full = np.stack([in_plane.full_parameters(ab) for ab in trajectory.thetas])
    projection = project_onto_plane(full, plane)
    assert projection.distance.max() < 1e-9
    np.testing.assert_allclose(losses_on_plane(objective, plane, projection.a, projection.b), trajectory.loss,
                               rtol=1e-12)
    _, grad = in_plane.loss_and_grad(np.array([0.3, 0.1]))
    np.testing.assert_allclose(grad, numerical_gradient(in_plane.loss, np.array([0.3, 0.1])), rtol=1e-6)


@pytest.mark.parametrize("name", TEST_FUNCTION_NAMES)
def test_test_function_gradients_and_minima(name):
    function = make_test_function(name)
    rng = np.random.default_rng(1)
    for point in rng.uniform(-1.5, 1.5, (5, 2)):
        _, grad = function.loss_and_grad(point)
        np.testing.assert_allclose(grad, numerical_gradient(function.loss, point, h=1e-6), rtol=1e-6, atol=1e-6)
    for minimum in function.minima:
        _, grad = function.loss_and_grad(np.array(minimum))
        assert np.linalg.norm(grad) < 1e-4
        neighbours = [function.loss(np.array(minimum) + d) for d in ((1e-3, 0), (0, 1e-3), (-1e-3, 0), (0, -1e-3))]
        assert function.loss(np.array(minimum)) <= min(neighbours) + 1e-12
    grid = rng.uniform(-2, 2, (10, 2))
    np.testing.assert_allclose(function.evaluate_batch(grid), [function.loss(p) for p in grid], rtol=1e-13)


def test_bad_optimizer_settings():
    for kwargs, message in [(dict(method="sgdd"), "unknown optimizer 'sgdd'"), (dict(lr=0.0), "learning rate must be a number in"),
                            (dict(momentum=1.0), "momentum mu must be a number in"), (dict(beta2=1.5), "beta2 must be a number in"),
                            (dict(batch_size=0), "batch size"), (dict(eps=-1.0), "eps must be")]:
        with pytest.raises(HillwalkError, match=message):
            OptimizerSpec(**kwargs)
    with pytest.raises(HillwalkError, match="gamma"):
        Schedule("step", gamma=0.0)
    with pytest.raises(HillwalkError, match="unknown test function"):
        make_test_function("sphere")
    with pytest.raises(HillwalkError, match="the start has 3 values but the objective takes 2"):
        Run(make_test_function("beale"), OptimizerSpec(), (1.0, 2.0, 3.0), 5)


def test_linear_classifier_gradient_works_for_in_plane_minibatches():
    train, val = prepare_splits(load_embedded("iris"), "standardize", 0.2, 0)
    objective = LinearClassifier(train, val, "svm", regularizer=Regularizer("l2", 0.01))
    plane = random_plane(objective, objective.initial_theta(0.5, 0), "filter", seed=0)
    race = Race(PlaneObjective(objective, plane), [OptimizerSpec("sgd", lr=0.1, batch_size=16)], (0.0, 0.0), 25)
    trajectory = race.run_to_end()[0]
    assert trajectory.steps.size == 26 and np.all(np.isfinite(trajectory.loss))


def test_random_search_draws_a_fresh_w_each_try_independent_of_the_start():
    """The notes' random search: W = scale * randn at every try, whatever the start and
    the best so far (random local search, by contrast, perturbs the best)."""
    objective = ClassifierSpec(dataset="iris").build()
    spec = OptimizerSpec.for_method("random-search")
    assert spec.lr == 1e-4                                    # the notes' randn * 0.0001
    tries = []

    def record(candidate):
        tries[-1].append(np.array(candidate))
        return 0.0                                            # every try is accepted: each is seen

    class Recording:
        def loss(self, theta):
            return record(theta)

    for start in (np.zeros(objective.param_shape), np.full(objective.param_shape, 5.0)):
        tries.append([])
        optimizer = spec.build(seed=4)
        theta, loss = start, math.inf
        for _ in range(3):
            theta, loss = optimizer.search_step(Recording(), theta, math.inf, start)
    np.testing.assert_array_equal(np.stack(tries[0]), np.stack(tries[1]))   # the start plays no part
    expected = 1e-4 * np.random.default_rng(np.random.SeedSequence([4, 7])).standard_normal((3, *objective.param_shape))
    np.testing.assert_allclose(np.stack(tries[0]), expected, rtol=1e-15)


def test_the_random_search_preset_reports_the_notes_comparison():
    """random search < random local search < gradient descent at equal evaluations, as
    the preset's caption says (its numbers are these)."""
    import importlib.resources

    from hillwalk.core import experiment
    from hillwalk.core.io.session import Session

    presets = importlib.resources.files("hillwalk.resources").joinpath("presets")
    session = Session.load(str(presets.joinpath("09-random-search.hillwalk.json")))
    objective = experiment.build_objective(session.problem)
    plane = experiment.build_plane(objective, session.slice)
    accuracy = {}
    for setting in session.optimizers:
        run = experiment.start_run(objective, plane, session.race, setting.spec)
        accuracy[setting.spec.method] = run.run_to_end().val_acc[-1]
    assert accuracy["random-search"] < accuracy["random-local-search"] < accuracy["sgd"]
    for method, text in (("random-search", "random search 13.9%"), ("random-local-search", "local search 49.0%"),
                         ("sgd", "gradient descent 96.9%")):
        assert f"{100 * accuracy[method]:.1f}%" in text and text in session.caption


def test_the_notes_defaults_beside_torchs():
    from hillwalk.core.optimization.optimizers import NOTES_DEFAULTS

    adam = OptimizerSpec("adam", lr=0.01, batch_size=32)
    notes = adam.with_defaults("notes")
    assert (notes.effective_eps, notes.beta2, notes.lr, notes.batch_size) == (1e-7, 0.99, 0.01, 32)
    assert notes.with_defaults("torch") == adam
    rmsprop = OptimizerSpec("rmsprop").with_defaults("notes")
    assert rmsprop.effective_eps == NOTES_DEFAULTS["eps"] and rmsprop.beta2 == 0.999   # no beta2 in RMSProp
    sgd = OptimizerSpec("momentum", momentum=0.5)
    assert sgd.with_defaults("notes") == sgd and sgd.with_defaults("torch") == sgd   # momentum is the user's
    # the notes' eps changes the path where it matters: a tiny gradient
    x1, _, _ = two_steps(OptimizerSpec("adagrad", lr=0.1))
    y1, _, _ = two_steps(OptimizerSpec("adagrad", lr=0.1).with_defaults("notes"))
    assert not np.array_equal(x1, y1)
    with pytest.raises(HillwalkError, match="unknown defaults"):
        adam.with_defaults("keras")


def test_a_schedule_counted_in_epochs_changes_the_rate_once_per_pass_over_the_data():
    objective = ClassifierSpec(dataset="iris").build()           # 120 training examples
    schedule = Schedule("step", gamma=0.5, every=2, unit="epochs")
    spec = OptimizerSpec("sgd", lr=0.1, batch_size=32, schedule=schedule)
    run = Run(objective, spec, objective.initial_theta(1e-3, 0), 20).run_to_end()
    per_epoch = math.ceil(objective.n_train / 32)                # 4 updates an epoch
    expected = [0.1 * 0.5 ** ((t // per_epoch) // 2) for t in range(20)]
    np.testing.assert_allclose(run.lr[:20], expected, rtol=1e-15)
    # counted in steps, the same settings decay every 2 updates
    steps = Run(objective, spec.with_changes(schedule=Schedule("step", gamma=0.5, every=2)),
                objective.initial_theta(1e-3, 0), 4).run_to_end()
    np.testing.assert_allclose(steps.lr[:4], [0.1, 0.1, 0.05, 0.05], rtol=1e-15)
    # full batch: one update an epoch
    full = Run(objective, spec.with_changes(batch_size=None), objective.initial_theta(1e-3, 0), 5).run_to_end()
    np.testing.assert_allclose(full.lr[:5], [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-15)
    with pytest.raises(HillwalkError, match="unknown schedule unit"):
        Schedule("step", unit="weeks")


def test_random_search_on_a_two_d_function_draws_around_the_start():
    """A 2-D function has no W near 0 to draw: its tries are fresh draws around the start
    (each independent of the best so far), not all at (0, 0)."""
    rosenbrock = make_test_function("rosenbrock")
    start = np.array([-1.5, 2.0])
    run = Run(rosenbrock, OptimizerSpec("random-search", lr=0.3), start, 200, seed=1).run_to_end()
    assert run.loss[-1] < run.loss[0] and np.linalg.norm(run.thetas[-1] - start) < 2.0


@pytest.mark.parametrize("loss, reg, val", [("softmax", "l2", True), ("svm", "l1", True), ("softmax", "elastic", False),
                                            ("svm", "none", False)])
def test_an_in_plane_linear_run_records_the_direct_loss_and_accuracies(loss, reg, val):
    """The record of an in-plane run of a linear classifier comes from scores affine in
    (a, b) (two multiply-adds a score): the same loss as evaluating the full parameters
    directly, to rounding, and the same accuracies, at every step."""
    objective = ClassifierSpec(dataset="digits", loss=loss, regularizer=reg, lam=1e-2,
                               val_fraction=0.2 if val else 0.0).build()
    plane = random_plane(objective, objective.initial_theta(1e-2, 0), "filter", seed=1)
    in_plane = PlaneObjective(objective, plane)
    trajectory = Run(in_plane, OptimizerSpec("sgd", lr=0.5, batch_size=32), (1.5, -2.0), 40).run_to_end()
    direct = [objective.components(in_plane.full_parameters(ab))["total"] for ab in trajectory.thetas]
    np.testing.assert_allclose(trajectory.loss, direct, rtol=1e-12)
    for k, ab in enumerate(trajectory.thetas):
        theta = in_plane.full_parameters(ab)
        assert trajectory.train_acc[k] == objective.accuracy(theta, "train")
        val_accuracy = objective.accuracy(theta, "val")
        assert trajectory.val_acc[k] == val_accuracy or (math.isnan(val_accuracy) and math.isnan(trajectory.val_acc[k]))
    assert in_plane.quick_values(trajectory.thetas[-1]) is not None   # the quick way was taken


@pytest.mark.parametrize("loss, reg, val, bias", [("softmax", "l2", True, False), ("softmax", "l1", False, True),
                                                   ("softmax", "elastic", True, True), ("softmax", "none", False, False),
                                                   ("svm", "l2", False, False), ("svm", "l1", True, False),
                                                   ("svm", "elastic", False, True), ("svm", "none", True, True)])
def test_the_quick_step_is_the_direct_minibatch_loss_and_gradient(loss, reg, val, bias):
    """An in-plane step of a linear classifier takes the minibatch's loss and its (a, b)
    gradient from the same combined scores as the record: the same values as evaluating
    the full parameters directly and projecting the gradient, to rounding, for the full
    batch, a minibatch and one drawn with replacement (repeated rows), from near the plane's
    centre to a thousand times its scale."""
    objective = ClassifierSpec(dataset="digits", loss=loss, regularizer=reg, lam=1e-2, regularize_bias=bias,
                               val_fraction=0.2 if val else 0.0).build()
    plane = random_plane(objective, objective.initial_theta(1e-2, 0), "filter", seed=1)
    in_plane = PlaneObjective(objective, plane)
    rng = np.random.default_rng(2)
    for scale in (0.1, 1.0, 10.0, 1e3):
        ab = scale * rng.standard_normal(2)
        for batch in (None, rng.permutation(objective.n_train)[:64], rng.integers(0, objective.n_train, 9)):
            batch_loss, gradient, record = in_plane.quick_step(ab, batch)
            direct_loss, direct_gradient = in_plane.loss_and_grad(ab, batch=batch)
            assert batch_loss == pytest.approx(direct_loss, rel=1e-12)
            assert gradient.shape == (2,)
            np.testing.assert_allclose(gradient, direct_gradient, rtol=1e-10, atol=1e-12 * np.abs(direct_gradient).max())
            np.testing.assert_array_equal(record, in_plane.quick_values(ab))   # (NaN without a validation set)


def test_an_in_plane_run_with_the_quick_step_follows_the_direct_path():
    """A run's steps from the quick step and from direct evaluation agree to rounding: the
    same points over 200 steps of momentum on minibatches."""
    objective = ClassifierSpec(dataset="digits", loss="softmax", regularizer="l2", lam=1e-3).build()
    plane = random_plane(objective, objective.initial_theta(1e-2, 0), "filter", seed=3)
    in_plane = PlaneObjective(objective, plane)
    spec = OptimizerSpec("momentum", lr=0.05, momentum=0.9, batch_size=64)
    quick = Run(in_plane, spec, (0.5, -0.4), 200, seed=4)
    direct = Run(in_plane, spec, (0.5, -0.4), 200, seed=4)
    direct._quick_step = None   # every step evaluated at the full parameters
    assert in_plane.quick_step(np.array([0.5, -0.4]), np.arange(64)) is not None   # the quick way is open
    quick, direct = quick.run_to_end(), direct.run_to_end()
    np.testing.assert_allclose(quick.thetas, direct.thetas, rtol=1e-9, atol=1e-12)
    for name in ("loss", "batch_loss", "grad_norm"):
        np.testing.assert_allclose(getattr(quick, name), getattr(direct, name), rtol=1e-9)
    np.testing.assert_array_equal(quick.train_acc, direct.train_acc)


def test_the_quick_record_evaluates_directly_where_the_scores_cancel():
    """Where a score's three terms are far larger than the scores (here the plane passes
    through W = 0, so every score cancels to 0 at a = -1) the quick values are refused and
    the run records the direct evaluation."""
    from hillwalk.core.landscapes.directions import Plane

    objective = ClassifierSpec(dataset="digits").build()
    rng = np.random.default_rng(0)
    center = rng.standard_normal(objective.param_shape)
    plane = Plane(center, center.copy(), rng.standard_normal(objective.param_shape))
    in_plane = PlaneObjective(objective, plane)
    assert in_plane.quick_values(np.array([-1.0, 0.0])) is None
    assert in_plane.quick_step(np.array([-1.0, 0.0])) is None
    assert in_plane.quick_values(np.array([0.5, 0.0])) is not None
    trajectory = Run(in_plane, OptimizerSpec("sgd", lr=1e-9, batch_size=32), (-1.0, 0.0), 3).run_to_end()
    for ab, loss in zip(trajectory.thetas, trajectory.loss):
        assert in_plane.quick_values(ab) is None and loss == objective.loss(in_plane.full_parameters(ab))


@pytest.mark.parametrize("bias", [False, True])
def test_the_plane_penalty_is_the_direct_one_and_evaluated_directly_where_its_terms_cancel(bias):
    """An L2 penalty on the plane comes from the regularized entries' Gram matrix of C, D1,
    D2: the direct penalty and its gradient along D1 and D2, to rounding, from near the
    centre to a thousand times the plane's scale. Where the regularized entries pass
    near 0 (here at a = -1/3: D1's regularized entries are 3 C's) the quadratic form's
    terms cancel, and W is formed: the penalty and its gradient are then the direct ones,
    operation for operation."""
    from hillwalk.core.landscapes.directions import Plane

    objective = ClassifierSpec(dataset="digits", regularizer="l2", lam=1e-2, regularize_bias=bias).build()
    rng = np.random.default_rng(5)
    center = rng.standard_normal(objective.param_shape)
    dir1 = np.where(objective.reg_mask, 3.0 * center, rng.standard_normal(objective.param_shape))
    plane = Plane(center, dir1, rng.standard_normal(objective.param_shape))
    gram = objective._plane_parts(plane)[1]

    def direct(a, b):
        W = plane.point(a, b)
        gradient = objective.regularizer.gradient(W, objective.reg_mask)
        return objective.regularizer.penalty(W, objective.reg_mask), [np.vdot(plane.dir1, gradient),
                                                                      np.vdot(plane.dir2, gradient)]

    for a, b in [(0.0, 0.0), (0.3, -0.7), (-2.0, 1.5), (1e3, -2e3)]:
        penalty, gradient = objective._plane_penalty(plane, gram, a, b, True)
        expected_penalty, expected_gradient = direct(a, b)
        assert penalty == pytest.approx(expected_penalty, rel=1e-13)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-12)
    penalty, gradient = objective._plane_penalty(plane, gram, -1 / 3, 0.0, True)
    expected_penalty, expected_gradient = direct(-1 / 3, 0.0)
    assert expected_penalty < 1e-20   # the regularized entries are rounding errors there
    assert penalty == expected_penalty and np.array_equal(gradient, expected_gradient)


def test_runs_sharing_an_objective_on_two_planes_each_get_their_own_planes_values():
    """The plane's scores and Gram matrix come from one cache entry: two threads asking the
    same objective for the values on two planes, in turns as short as the interpreter
    allows, each get their own plane's (the penalty once took the other plane's Gram
    matrix when the cache changed between the two look-ups)."""
    import sys
    import threading

    from hillwalk.core.landscapes.directions import Plane

    objective = ClassifierSpec(dataset="digits", regularizer="l2", lam=1.0).build()
    rng = np.random.default_rng(0)
    planes = [Plane(*(rng.standard_normal(objective.param_shape) * scale for _ in range(3))) for scale in (0.1, 1.0)]
    expected = [objective.loss(plane.point(0.3, -0.2)) for plane in planes]
    wrong = []

    def work(plane, value):
        for _ in range(1500):
            record = objective.values_on_plane(plane, 0.3, -0.2)
            if record is not None and abs(record[0] - value) > 1e-9 * abs(value):
                wrong.append(record[0])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=pair) for pair in zip(planes, expected)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_accuracy_by_rows_is_argmax_accuracy_with_ties_and_nans():
    """The quick record's accuracy (scores laid out classes by examples) equals
    ``mean(argmax == labels)``, argmax taking the first of tied classes: on random scores,
    on small integers where ties at the top are common, and with NaN scores."""
    from hillwalk.core.models.objectives import accuracy_by_rows

    rng = np.random.default_rng(3)
    for scores in (rng.standard_normal((10, 500)), rng.integers(0, 3, (10, 500)).astype(float),
                   np.zeros((4, 50)), np.where(rng.random((5, 80)) < 0.05, np.nan, rng.standard_normal((5, 80)))):
        classes, n = scores.shape
        labels = rng.integers(0, classes, n)
        correct = labels * n + np.arange(n)
        assert accuracy_by_rows(scores, labels, correct) == float(np.mean(np.argmax(scores, axis=0) == labels))


def test_a_label_names_a_random_searchs_scale_not_a_learning_rate():
    """A random search's "lr" is the scale of its candidates: its label says scale."""
    assert OptimizerSpec.for_method("random-search").rate_text == "scale 0.0001"
    assert OptimizerSpec("random-local-search", lr=0.5).name_with_rate.endswith("(scale 0.5)")
    assert OptimizerSpec("sgd", lr=0.02).rate_text == "lr 0.02"
    assert OptimizerSpec("newton").rate_text == ""


def test_full_batch_gradient_methods_are_named_gd_not_sgd():
    from hillwalk.core.optimization.optimizers import OptimizerSpec

    assert OptimizerSpec("sgd", lr=0.1).name_on(minibatches=True) == "GD"
    assert OptimizerSpec("sgd", lr=0.1, momentum=0.9).name_on(minibatches=True) == "GD+momentum"
    assert OptimizerSpec("momentum", lr=0.1).display_name == "GD+momentum"
    on_batches = OptimizerSpec("momentum", lr=0.1, batch_size=64)
    assert on_batches.name_on(minibatches=True) == "SGD+momentum" == on_batches.display_name
    # a 2-D function has no examples to sample: its steps take the whole gradient
    assert on_batches.name_on(minibatches=False) == "GD+momentum"
    assert OptimizerSpec("sgd", lr=0.1, batch_size=64).name_on(minibatches=False) == "GD"
    # other methods keep their names; a label wins
    assert OptimizerSpec("adam", lr=0.1).name_on(minibatches=False) == "Adam"
    assert OptimizerSpec("sgd", lr=0.1, label="mine").name_on(minibatches=False) == "mine"


def test_the_ravine_preset_shows_what_its_title_says():
    """The preset "Momentum against gradient descent on a ravine": at its last step
    momentum's loss is far below gradient descent's, which zigzags across the valley (each
    step overshoots the steep direction: lr * lambda_max between 1 and 2). Before, at
    condition 50 and lr 0.038 (about GD's best rate there), GD ended lowest of the four."""
    from pathlib import Path

    from hillwalk.core import experiment
    from hillwalk.core.io.session import Session

    preset = Path(__file__).resolve().parents[2] / "resources" / "presets" / "05-ravine.hillwalk.json"
    session = Session.load(preset)
    objective = experiment.build_objective(session.problem)
    plane = experiment.build_plane(objective, session.slice)
    specs = [o.spec for o in session.optimizers if o.enabled]
    records = experiment.record_race(objective, plane, session.race, specs)
    final = {spec.method: record.loss[-1] for spec, record in zip(specs, records)}
    assert final["momentum"] < final["sgd"] / 10 and final["momentum"] == min(final.values())
    steep = session.problem.condition   # (the bowl's largest eigenvalue; the smallest is 1)
    gd = next(spec for spec in specs if spec.method == "sgd")
    assert 1 < gd.lr * steep < 2
    assert "Momentum against gradient descent" in session.title
