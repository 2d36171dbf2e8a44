"""Training with fresh dropout masks at every step (issue 14): a network with dropout in
"fresh" mode declares ``has_step_noise``; a Run takes update t's loss and gradient from
``at_step(t)`` (masks from ``default_rng([mask_seed, t])``) and records the loss with
dropout off. Every other objective runs exactly as before."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.directions import Plane
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.interface import CAPABILITIES, conforms
from hillwalk.core.models.layers import dropout_mask
from hillwalk.core.models.network import Network, TwoLayerNet
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.testfunctions import make_test_function
from hillwalk.core.optimization.optimizers import OptimizerSpec
from hillwalk.core.optimization.paths import race_walker
from hillwalk.core.optimization.trajectory import PlaneObjective, Run

DROPOUT = dict(dataset="xor", model="net", hidden=(6, 6), keep_prob=0.7, seed=3)


def dropout_net(**changes):
    return ClassifierSpec(**{**DROPOUT, **changes}).build()


def step_reference(net, theta, step, batch=None):
    """Update ``step``'s loss and gradient written out: masks drawn here from
    ``default_rng([mask_seed, step])`` for the batch's rows, on a "fixed"-mode twin's
    forward and backward passes (which take masks as arguments)."""
    rows = np.arange(net.n_train) if batch is None else np.asarray(batch)
    rng = np.random.default_rng([net.mask_seed, step])
    masks = [dropout_mask((rows.size, width), net.keep_prob, rng) for width in net.widths]
    flat = np.asarray(theta, dtype=np.float64)
    scores, caches = net.forward(flat, net.X[rows], masks)
    data_loss, dscores = net.score_loss(scores, net.y[rows])
    loss = data_loss + net.regularizer.penalty(flat, net.reg_mask)
    return loss, net.backward(dscores, caches) + net.regularizer.gradient(flat, net.reg_mask)


def run_rows(objective, spec, start, steps=20, seed=2):
    trajectory = Run(objective, spec, start, steps, seed).run_to_end()
    return trajectory.thetas, trajectory.loss, trajectory.batch_loss


# --------------------------------------------------------------------------- the mode

def test_model_on_trains_dropout_networks_with_fresh_masks_and_nothing_else():
    net = dropout_net()
    assert (net.dropout_mode, net.mask_seed, net.has_step_noise) == ("fresh", 3, True)
    assert conforms(net) == [] and "has_step_noise" in CAPABILITIES
    assert dropout_net(keep_prob=1.0).has_step_noise is False
    assert ClassifierSpec(dataset="xor", model="net", hidden=8).build().has_step_noise is False
    assert ClassifierSpec(dataset="xor").build().has_step_noise is False
    assert make_test_function("rosenbrock").has_step_noise is False
    # a step's copy and the evaluation copy are deterministic functions, not noisy ones
    assert net.at_step(4).has_step_noise is False and net.for_evaluation().has_step_noise is False
    assert net.at_step(4).modes()["dropout"] == "fresh (masks of step 4)"
    assert net.for_evaluation().modes()["dropout"] == "off"
    with pytest.raises(HillwalkError, match="fresh"):
        net.with_modes(dropout_mode="fixed").at_step(0)
    with pytest.raises(HillwalkError, match="whole number"):
        net.at_step(-1)


def test_two_steps_on_the_same_full_batch_use_different_masks():
    net = dropout_net()
    theta = net.initial_theta(seed=1)
    loss0, grad0 = net.at_step(0).loss_and_grad(theta)
    loss1, grad1 = net.at_step(1).loss_and_grad(theta)
    assert not np.allclose(grad0, grad1) and loss0 != loss1
    # one step's copy is one function: the same masks at every call
    again = net.at_step(0).loss_and_grad(theta)
    assert again[0] == loss0 and np.array_equal(again[1], grad0)


def test_a_step_draws_its_masks_from_the_seed_and_the_step_for_the_batch_rows_only():
    net = dropout_net()
    theta = net.initial_theta(seed=1)
    batch = np.array([5, 0, 17, 3, 99, 42])
    for step, rows in ((0, None), (7, None), (7, batch)):
        loss, grad = net.at_step(step).loss_and_grad(theta, batch=rows)
        ref_loss, ref_grad = step_reference(net, theta, step, rows)
        assert loss == pytest.approx(ref_loss, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-13)


def test_outside_a_step_the_network_is_the_fixed_mask_function_so_slices_and_centres_are_unchanged():
    net = dropout_net()
    fixed = Network(net.train, net.val, net.widths, keep_prob=net.keep_prob, mask_seed=net.mask_seed,
                    regularizer=net.regularizer, init=net.init)
    theta = net.initial_theta(seed=1)
    loss, grad = net.loss_and_grad(theta)
    fixed_loss, fixed_grad = fixed.loss_and_grad(theta)
    assert loss == fixed_loss and np.array_equal(grad, fixed_grad)
    # slices keep their own modes (off / fixed / mean:K), whatever the run's mode
    for mode in ("off", "fixed", "mean:3"):
        sliced = SliceSpec(dropout_mode=mode).objective_in_modes(net, theta)
        reference = fixed.with_modes(dropout_mode=mode)
        assert sliced.dropout_mode == mode and sliced.has_step_noise is False
        assert sliced.loss(theta) == reference.loss(theta)


# --------------------------------------------------------------------------- runs

def test_a_run_steps_on_update_t_masks_and_records_the_loss_with_dropout_off():
    net = dropout_net()
    start = net.initial_theta(seed=1)
    lr, steps = 0.2, 6
    trajectory = Run(net, OptimizerSpec("sgd", lr=lr), start, steps, seed=0).run_to_end()
    evaluation = net.with_modes(dropout_mode="off")
    theta = start.copy()
    for t in range(steps + 1):
        batch_loss, grad = step_reference(net, theta, t)
        np.testing.assert_allclose(trajectory.thetas[t], theta, rtol=1e-11, atol=1e-12)
        assert trajectory.batch_loss[t] == pytest.approx(batch_loss, rel=1e-12)
        assert trajectory.loss[t] == pytest.approx(evaluation.loss(theta), rel=1e-12)
        assert trajectory.train_acc[t] == evaluation.accuracy(theta, "train")
        theta = theta - lr * grad
    # the full batch: what the masks saw is not the evaluated loss
    assert not np.allclose(trajectory.loss, trajectory.batch_loss)


@pytest.mark.parametrize("spec", [OptimizerSpec("adam", lr=1e-2, batch_size=16),
                                  OptimizerSpec("momentum", lr=0.05),
                                  OptimizerSpec("random-local-search", lr=0.05)], ids=lambda s: s.method)
def test_the_same_seed_reproduces_a_whole_run_bit_for_bit(spec):
    start = dropout_net().initial_theta(seed=1)
    first = run_rows(dropout_net(), spec, start)
    second = run_rows(dropout_net(), spec, start)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    # and another mask seed walks another path (the masks matter)
    other = run_rows(dropout_net(seed=4), spec, start)
    assert not np.array_equal(first[0], other[0])


def test_runs_in_parallel_threads_give_the_paths_of_one_after_the_other():
    net = dropout_net()
    start = net.initial_theta(seed=1)
    specs = [OptimizerSpec("adam", lr=1e-2, batch_size=16), OptimizerSpec("sgd", lr=0.1),
             OptimizerSpec("rmsprop", lr=1e-2, batch_size=32), OptimizerSpec("random-search", lr=0.05)]
    sequential = [run_rows(net, spec, start, steps=30) for spec in specs]
    runs = [Run(net, spec, start, 30, 2) for spec in specs]   # one shared network object
    barrier = threading.Barrier(len(runs))

    def walk(run):
        barrier.wait()
        while not run.finished:
            run.advance(1)   # one step at a time: the threads interleave step by step

    threads = [threading.Thread(target=walk, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    for run, expected in zip(runs, sequential):
        trajectory = run.trajectory()
        for a, b in zip((trajectory.thetas, trajectory.loss, trajectory.batch_loss), expected):
            assert np.array_equal(a, b)


def test_an_in_plane_run_uses_the_step_masks_too():
    net = dropout_net()
    center = net.initial_theta(seed=1)
    rng = np.random.default_rng(0)
    plane = Plane(center, rng.standard_normal(center.shape), rng.standard_normal(center.shape), {})
    walker = race_walker(net, plane, (0.1, -0.2), OptimizerSpec("sgd", lr=0.01), 3, 0, in_plane=True)
    assert isinstance(walker.objective, PlaneObjective) and walker.objective.has_step_noise
    trajectory = walker.run_to_end()
    ab = np.array([0.1, -0.2])
    for t in range(4):
        np.testing.assert_allclose(trajectory.thetas[t], ab, rtol=1e-12, atol=1e-14)
        _, grad = step_reference(net, plane.point(*ab), t)
        assert trajectory.loss[t] == pytest.approx(net.for_evaluation().loss(plane.point(*ab)), rel=1e-12)
        ab = ab - 0.01 * np.array([np.vdot(plane.dir1, grad), np.vdot(plane.dir2, grad)])


# --------------------------------------------------------------------------- unchanged elsewhere

# Recorded before fresh masks existed (hfresh branch point 0ccedd2): the final loss and
# minibatch loss of 25 steps on xor (seed 3) from initial_theta(seed=1), run seed 2.
RECORDED_KEEP_ONE = {
    ((8,), False, False): {"adam": ("0x1.4d3f7e0f25e7ap-1", "0x1.5894f87cd3cd5p-1"),
                           "sgd": ("0x1.577d19c97f81ap-1", "0x1.577d19c97f81ap-1")},
    ((6, 6), True, True): {"adam": ("0x1.13b8341fbef11p-1", "0x1.ca82087af99c7p-2"),
                           "sgd": ("0x1.f8f911021ccbdp-2", "0x1.f8f911021ccbdp-2")},
}


@pytest.mark.parametrize("hidden, batchnorm, residual", list(RECORDED_KEEP_ONE))
def test_keep_prob_one_runs_are_bit_for_bit_unchanged(hidden, batchnorm, residual):
    objective = ClassifierSpec(dataset="xor", model="net", seed=3, hidden=hidden, batchnorm=batchnorm,
                               residual=residual).build()
    assert objective.has_step_noise is False
    assert isinstance(objective, TwoLayerNet) == (hidden == (8,))
    for spec in (OptimizerSpec("adam", lr=1e-2, batch_size=16), OptimizerSpec("sgd", lr=0.1)):
        trajectory = Run(objective, spec, objective.initial_theta(seed=1), 25, seed=2).run_to_end()
        assert (trajectory.loss[-1].hex(), trajectory.batch_loss[-1].hex()) == \
            RECORDED_KEEP_ONE[(hidden, batchnorm, residual)][spec.method]


class _NoSteps:
    """Wraps an objective and fails the test if a run asks it for a step's copy."""

    def __init__(self, objective):
        self._objective = objective

    def __getattr__(self, name):
        if name in ("at_step", "for_evaluation"):
            raise AssertionError(f"a run asked an objective without step noise for {name}")
        return getattr(self._objective, name)


@pytest.mark.parametrize("make", [
    lambda: ClassifierSpec(dataset="xor", seed=3).build(),
    lambda: make_test_function("rosenbrock"),
    lambda: dropout_net().with_modes(dropout_mode="fixed"),
], ids=["linear", "rosenbrock", "fixed-mask network"])
def test_objectives_without_the_capability_run_as_before(make):
    objective = make()
    assert objective.has_step_noise is False
    start = objective.initial_theta(seed=1) if objective.has_random_init else np.array([-1.0, 1.5])
    spec = OptimizerSpec("sgd", lr=1e-3 if not objective.has_data else 0.1)
    wrapped = Run(_NoSteps(objective), spec, start, 8, seed=0).run_to_end()
    theta = np.array(start, dtype=np.float64)
    for t in range(9):   # the plain loop: the objective's own loss_and_grad at every step
        loss, grad = objective.loss_and_grad(theta)
        assert np.array_equal(wrapped.thetas[t], theta) and wrapped.loss[t] == loss
        theta = theta - spec.lr * grad
    if isinstance(objective, LinearClassifier):
        assert objective.loss(start) == wrapped.loss[0]


def test_the_mean_training_gradient_over_many_steps_approaches_the_mean_over_k_masks():
    net = dropout_net()
    theta = net.initial_theta(seed=1)
    steps = 400
    grads = np.stack([net.at_step(t).loss_and_grad(theta)[1] for t in range(steps)])
    fresh_mean = grads.mean(axis=0)
    mean_k = net.with_modes(dropout_mode="mean:100").loss_and_grad(theta)[1]
    off = net.with_modes(dropout_mode="off").loss_and_grad(theta)[1]
    spread = np.sqrt(np.mean(np.sum((grads - fresh_mean) ** 2, axis=1)))   # one step's typical deviation
    # both estimate E_mask[gradient]: their gap is about spread * sqrt(1/400 + 1/100) ~ 0.11 spread
    assert np.linalg.norm(fresh_mean - mean_k) < 0.3 * spread
    # while one step's gradient is a whole spread away, and dropout off is not that mean
    assert np.linalg.norm(grads[0] - mean_k) > 0.5 * spread
    assert np.linalg.norm(off - mean_k) > np.linalg.norm(fresh_mean - mean_k)


def test_a_copy_with_dropout_switched_on_leaves_the_fast_two_layer_path():
    """Built with dropout off, a one-layer network takes the fast batched path; switched to a
    fixed mask by with_modes, its batched values must follow the mask like its loss does."""
    from hillwalk.core.data.datasets import load_dataset
    from hillwalk.core.models.network import Network
    from hillwalk.core.models.objectives import prepare_splits

    train, val = prepare_splits(load_dataset("iris"), "center", 0.2, 0)
    plain = Network(train, val, hidden=(8,), keep_prob=0.5, dropout_mode="off")
    masked = plain.with_modes(dropout_mode="fixed")
    thetas = np.stack([plain.initial_theta(seed=s) for s in range(3)])
    batched = masked.evaluate_batch(thetas, "total")
    one_by_one = np.array([masked.loss(theta) for theta in thetas])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-12)
    assert not np.allclose(batched, plain.evaluate_batch(thetas, "total"))
