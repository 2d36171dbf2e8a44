"""The exact fast slice path of networks (core/landscapes/network_slice.py) against the
point-by-point evaluation: every grid point formed as ``c + a d1 + b d2`` and evaluated
from scratch."""
import threading

import numpy as np
import pytest

import hillwalk.core.landscapes.network_slice as network_slice
from hillwalk.core.data.datasets import Dataset
from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.directions import Plane
from hillwalk.core.landscapes.landscape import (
    Parallelism,
    compute_slice,
    iter_slice,
    make_axis,
    reference_slice,
    set_parallelism,
)
from hillwalk.core.models.components import Component
from hillwalk.core.models.network import Network
from hillwalk.core.models.regularizers import Regularizer

COMPONENTS = ("total", "data", "reg", "accuracy", "example:3")


def small_data(n=40, d=6, classes=3, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((n, d))
    y = rng.integers(0, classes, n)
    return Dataset(X, y, tuple(f"c{k}" for k in range(classes)), tuple(f"f{k}" for k in range(d)))


def make_net(activation="relu", loss="softmax", reg="l2", hidden=(5,), data=None, **settings):
    regularizer = Regularizer(reg, 0.1) if reg != "none" else Regularizer()
    return Network(data or small_data(), None, hidden=hidden, activation=activation, loss=loss,
                   regularizer=regularizer, **settings)


def plane_of(net, seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    center = net.initial_theta(seed=seed)
    d1, d2 = scale * rng.standard_normal((2, net.size))
    return Plane(center, d1, d2)


def relative_error(values, reference):
    return np.max(np.abs(values - reference) / np.maximum(np.abs(reference), 1e-300))


CASES = {
    "relu-softmax-l2": dict(activation="relu", loss="softmax", reg="l2", hidden=(5,)),
    "leaky-svm-l1-deep": dict(activation="leaky_relu", loss="svm", reg="l1", hidden=(5, 4, 3), slope=0.1),
    "tanh-softmax-elastic-2": dict(activation="tanh", loss="softmax", reg="elastic", hidden=(4, 4)),
    "sigmoid-svm-none": dict(activation="sigmoid", loss="svm", reg="none", hidden=(6,)),
    "elu-softmax-l2-residual": dict(activation="elu", loss="softmax", reg="l2", hidden=(5, 5, 5), residual=True),
    "maxout-svm-elastic": dict(activation="maxout", loss="svm", reg="elastic", hidden=(4, 4), pieces=3,
                               residual=True),
    "relu-softmax-dropout-mean2": dict(activation="relu", loss="softmax", reg="l2", hidden=(6, 6), keep_prob=0.7,
                                       dropout_mode="mean:2"),
    "tanh-svm-dropout-fixed": dict(activation="tanh", loss="svm", reg="l1", hidden=(6,), keep_prob=0.5),
    # one hidden layer folds the output biases into a constant unit: an activation with
    # f(1) != 1 and dropout masks must leave that unit at 1
    "sigmoid-softmax-dropout-mean2": dict(activation="sigmoid", loss="softmax", reg="l2", hidden=(6,),
                                          keep_prob=0.6, dropout_mode="mean:2"),
    # ... which relu, leaky ReLU and ELU keep without a reset (1 is above their kink)
    "leaky-softmax-one-layer-dropout": dict(activation="leaky_relu", loss="softmax", reg="l2", hidden=(6,),
                                            slope=0.5, keep_prob=0.7, dropout_mode="mean:2"),
    "elu-svm-one-layer": dict(activation="elu", loss="svm", reg="l1", hidden=(5,)),
}


@pytest.mark.parametrize("extent", [1.0, 1e3])
@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_network_slice_matches_point_by_point(case, component, extent):
    net = make_net(**CASES[case])
    plane = plane_of(net)
    alphas, betas = make_axis(-extent, extent, 7), make_axis(-extent, extent / 2, 5)
    landscape = compute_slice(net, plane, alphas, betas, component)
    reference = reference_slice(net, plane, alphas, betas, component)
    assert landscape.method == "fast"
    assert relative_error(landscape.values, reference) < 1e-9


@pytest.mark.parametrize("component", ["total", "accuracy", "example:5"])
def test_batch_norm_in_eval_mode_takes_the_fast_path(component):
    net = make_net(activation="relu", hidden=(5, 4), batchnorm=True).with_modes(bn_mode="eval")
    plane = plane_of(net, seed=2)
    net.estimate_running_stats(plane.center)
    maxout = make_net(activation="maxout", hidden=(4,), pieces=2, batchnorm=True).with_modes(bn_mode="eval")
    maxout_plane = plane_of(maxout, seed=2)
    maxout.estimate_running_stats(maxout_plane.center)
    alphas, betas = make_axis(-2, 2, 6), make_axis(-1, 1, 5)
    for objective, at in ((net, plane), (maxout, maxout_plane)):
        landscape = compute_slice(objective, at, alphas, betas, component)
        assert landscape.method == "fast"
        assert relative_error(landscape.values, reference_slice(objective, at, alphas, betas, component)) < 1e-9


def test_batch_norm_in_train_mode_goes_the_generic_way_and_says_why():
    net = make_net(hidden=(5,), batchnorm=True)          # train mode: statistics of all examples
    plane = plane_of(net)
    alphas, betas = make_axis(-1, 1, 5), make_axis(-1, 1, 3)
    landscape = compute_slice(net, plane, alphas, betas, "data")
    assert landscape.method == "generic" and "train mode" in landscape.meta()["fast_path_refused"]
    assert relative_error(landscape.values, reference_slice(net, plane, alphas, betas, "data")) < 1e-12
    with pytest.raises(HillwalkError, match="eval"):
        compute_slice(net, plane, alphas, betas, "data", method="fast")
    # the penalty needs no data: it is fast whatever the modes
    assert compute_slice(net, plane, alphas, betas, "reg").method == "fast"
    # the app draws the total as data + regularization: the reason stays in its metadata
    from hillwalk.core import experiment
    from hillwalk.core.landscapes.slices import SliceSpec

    spec = SliceSpec(grid=5, bn_mode="train")
    drawn = experiment.compute_landscape(net, plane, spec)
    assert drawn.method == "generic" and "train mode" in drawn.meta()["fast_path_refused"]
    # accuracy is evaluated with running statistics when there are some: then it is fast
    net.estimate_running_stats(plane.center)
    accuracy = compute_slice(net, plane, alphas, betas, "accuracy")
    assert accuracy.method == "fast"
    np.testing.assert_array_equal(accuracy.values, reference_slice(net, plane, alphas, betas, "accuracy"))
    assert "fast_path_refused" not in compute_slice(make_net(), plane_of(make_net()), alphas, betas).meta()


def test_a_cut_takes_the_fast_path():
    net = make_net(activation="tanh", hidden=(5, 3))
    plane = plane_of(net)
    line = Plane(plane.center, plane.dir1)
    alphas = make_axis(-3, 3, 31)
    cut = compute_slice(net, line, alphas)
    assert cut.method == "fast" and cut.values.shape == (31,)
    assert relative_error(cut.values, reference_slice(net, line, alphas)) < 1e-9


def cancelling_plane(net, seed=3):
    """A plane whose a = 1 passes within 1e-10 of W1 = 0, b1 = 0, while the later layers
    are large: there the first layer's combination Z0 + a Za loses digits that the output
    layer magnifies (the direct product of X with the tiny W1 does not)."""
    rng = np.random.default_rng(seed)
    center = net.initial_theta(seed=seed)
    layer = net.layers[0]
    low, high = layer.W.offset, layer.b.offset + layer.b.size
    center[high:] *= 1e9
    dir1 = np.zeros(net.size)
    dir1[low:high] = -center[low:high] + 1e-10 * rng.standard_normal(high - low)
    return Plane(center, dir1, 1e-9 * rng.standard_normal(net.size))


def test_the_guard_evaluates_cancelling_points_directly(monkeypatch):
    net = make_net(activation="tanh", loss="svm", hidden=(5,), data=small_data(scale=100.0))
    plane = cancelling_plane(net)
    alphas, betas = make_axis(0, 2, 21), make_axis(-1, 1, 5)
    reference = reference_slice(net, plane, alphas, betas, "data")
    guarded = compute_slice(net, plane, alphas, betas, "data")
    assert guarded.fallback_points > 0 and guarded.meta()["fallback_points"] == guarded.fallback_points
    assert relative_error(guarded.values, reference) < 1e-12
    # without the guard those points lose digits: the test above can fail
    monkeypatch.setattr(network_slice.FastNetwork, "_needs_direct", lambda self, a, b: np.zeros(a.size, bool))
    unguarded = compute_slice(net, plane, alphas, betas, "data")
    assert unguarded.fallback_points == 0 and relative_error(unguarded.values, reference) > 1e-9


def test_the_guard_catches_a_single_unit_passing_near_zero(monkeypatch):
    """Only unit 1's column of [W1; b1] cancels at a = 1 (the rest of the layer stays large,
    so the layer as a whole does not), and its outgoing weights are large."""
    net = make_net(activation="tanh", loss="svm", hidden=(5,), data=small_data(scale=100.0))
    rng = np.random.default_rng(3)
    center = net.initial_theta(seed=3)
    layer = net.layers[0]
    W, bias = layer.W.view(center), layer.b.view(center)
    net.output[0].view(center)[1, :] *= 1e9
    dir1 = np.zeros(net.size)
    layer.W.view(dir1)[:, 1] = -W[:, 1] + 1e-10 * rng.standard_normal(W.shape[0])
    layer.b.view(dir1)[1] = -bias[1]
    plane = Plane(center, dir1, 1e-9 * rng.standard_normal(net.size))
    alphas, betas = make_axis(0, 2, 21), make_axis(-1, 1, 5)
    reference = reference_slice(net, plane, alphas, betas, "data")
    guarded = compute_slice(net, plane, alphas, betas, "data")
    assert guarded.fallback_points > 0 and relative_error(guarded.values, reference) < 1e-12
    # examples in chunks of 10 (the flagged points are then evaluated after the last chunk)
    chunked = compute_slice(net, plane, alphas, betas, "data", budget_bytes=2 * 3 * 8 * 5 * 10)
    assert chunked.fallback_points == guarded.fallback_points
    assert relative_error(chunked.values, reference) < 1e-12
    monkeypatch.setattr(network_slice.FastNetwork, "_needs_direct", lambda self, a, b: np.zeros(a.size, bool))
    assert relative_error(compute_slice(net, plane, alphas, betas, "data").values, reference) > 1e-9


def test_examples_in_chunks_give_the_same_slice_and_progress():
    net = make_net(activation="elu", hidden=(6, 6), keep_prob=0.8, data=small_data(n=300))
    plane = plane_of(net)
    alphas, betas = make_axis(-1, 1, 9), make_axis(-1, 1, 6)
    roomy = compute_slice(net, plane, alphas, betas, "total")
    # 3 vectors x 6 units x 8 bytes x 60 examples: the parts of 60 examples fit half of it
    steps = list(iter_slice(net, plane, alphas, betas, "total", budget_bytes=2 * 3 * 6 * 8 * 60))
    tight = steps[-1].result
    np.testing.assert_allclose(tight.values, roomy.values, rtol=1e-13)
    assert relative_error(tight.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9
    fractions = [step.fraction for step in steps]
    assert len(steps) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0
    # rows are only complete when every chunk of examples is in
    assert all(step.rows_done == 0 for step in steps[:-2])


@pytest.mark.parametrize("points, block", [(1, 300), (3, 300), (1, 50), (2, 70)])
def test_points_and_examples_in_cache_sized_passes_give_the_same_slice(monkeypatch, points, block):
    """A pass's pre-activations and scores (points x a block of examples) take about the
    cache budget: all 300 examples in one block for one point or for three points a pass,
    or blocks of 50 examples for one point, or of 70 for two (the last block shorter)."""
    net = make_net(activation="relu", hidden=(6, 4), data=small_data(n=300))
    plane = plane_of(net)
    alphas, betas = make_axis(-2, 2, 11), make_axis(-1, 1, 5)
    default = compute_slice(net, plane, alphas, betas, "total")
    unit_bytes = network_slice.FastNetwork(net, plane, alphas, betas, default.component, 2 ** 28).unit_bytes
    assert unit_bytes == 8 * (6 + 4 + net.n_classes)   # every layer's units and the classes
    monkeypatch.setattr(network_slice, "BLOCK_CACHE_BYTES", unit_bytes * points * block)
    monkeypatch.setattr(network_slice, "MIN_BLOCK", block)
    engine = network_slice.FastNetwork(net, plane, alphas, betas, default.component, 2 ** 28)
    assert (engine.points_per_pass, engine.block) == (points, block)
    passes = compute_slice(net, plane, alphas, betas, "total")
    np.testing.assert_allclose(passes.values, default.values, rtol=1e-13)
    assert relative_error(passes.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9
    accuracy = compute_slice(net, plane, alphas, betas, "accuracy")
    np.testing.assert_array_equal(accuracy.values, reference_slice(net, plane, alphas, betas, "accuracy"))


def test_a_pass_of_a_very_wide_net_stays_within_the_memory_budget():
    """MIN_BLOCK examples of a very wide layer would take more than the budget allows: the
    block is then smaller, every worker's pass within a quarter of the budget."""
    net = make_net(activation="relu", hidden=(4, 2048), data=small_data(n=400))
    plane = plane_of(net)
    alphas = make_axis(-1, 1, 3)
    budget = 2 ** 22
    default = compute_slice(net, plane, alphas, alphas, "total")
    engine = network_slice.FastNetwork(net, plane, alphas, alphas, default.component, budget)
    assert engine.block < network_slice.MIN_BLOCK
    assert engine.workers * engine.points_per_pass * engine.block * engine.unit_bytes <= budget // 4
    small = list(iter_slice(net, plane, alphas, alphas, "total", budget_bytes=budget))[-1].result
    np.testing.assert_allclose(small.values, default.values, rtol=1e-13)


def test_a_large_grid_shows_a_preview_first_and_rows_as_they_finish():
    net = make_net(hidden=(4,), data=small_data(n=30))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 51)
    steps = list(iter_slice(net, plane, axis, axis, "total"))
    previews = [step.preview for step in steps if step.preview is not None]
    assert len(previews) == 1
    coarse_alphas, coarse_betas, coarse = previews[0]
    assert coarse.shape == (coarse_betas.size, coarse_alphas.size) and np.all(np.isfinite(coarse))
    final = steps[-1].result.values
    np.testing.assert_allclose(coarse, final[::2, ::2], rtol=1e-13)
    rows = [step.rows_done for step in steps]
    assert rows == sorted(rows) and len(set(rows)) > 10


def test_stopping_early_leaves_no_thread_behind():
    net = make_net(hidden=(8,), data=small_data(n=200))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 41)
    previous = set_parallelism(Parallelism(2))
    try:
        checks = []
        result = compute_slice(net, plane, axis, axis, "total", should_stop=lambda: len(checks) > 2 or
                               checks.append(1))
        threaded = compute_slice(net, plane, axis, axis, "total")
    finally:
        set_parallelism(previous)
    assert result is None
    assert not [t for t in threading.enumerate() if t.name.startswith("hillwalk-slice")]
    serial = compute_slice(net, plane, axis, axis, "total")
    np.testing.assert_allclose(threaded.values, serial.values, rtol=1e-13)


@pytest.mark.parametrize("case", ["relu-softmax-l2", "leaky-svm-l1-deep", "maxout-svm-elastic",
                                  "relu-softmax-dropout-mean2"])
def test_two_workers_sharing_passes_across_rows_give_the_one_thread_slice(monkeypatch, case):
    """The workers take passes of a few points off one queue across rows and chunks; the
    slice is the one-thread slice, whatever order the passes finish in, with guarded
    points and examples in chunks too."""
    net = make_net(data=small_data(n=120), **CASES[case])
    plane = plane_of(net)
    alphas, betas = make_axis(-1.5, 1.5, 13), make_axis(-1, 1, 7)
    # 16 / (first-layer units) points a pass, 1 to 3 (a row is 5 to 13 passes), and the 120
    # examples in blocks of 42 to 53
    monkeypatch.setattr(network_slice, "BLOCK_CACHE_BYTES", 8 * 8 * 40 * 2)
    monkeypatch.setattr(network_slice, "MIN_BLOCK", 40)
    one = compute_slice(net, plane, alphas, betas, "total")
    previous = set_parallelism(Parallelism(2))
    try:
        two = compute_slice(net, plane, alphas, betas, "total")
        chunked = list(iter_slice(net, plane, alphas, betas, "total", budget_bytes=2 * 3 * 8 * 8 * 30))[-1].result
        monkeypatch.setattr(network_slice, "CANCELLATION_GUARD", 1.5)       # many points evaluated directly
        guarded = compute_slice(net, plane, alphas, betas, "total")
    finally:
        set_parallelism(previous)
    np.testing.assert_allclose(two.values, one.values, rtol=1e-13)
    np.testing.assert_allclose(chunked.values, one.values, rtol=1e-13)
    assert 0 < guarded.fallback_points < alphas.size * betas.size
    np.testing.assert_allclose(guarded.values, one.values, rtol=1e-12)
    assert relative_error(two.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9


def test_a_failing_pass_reaches_the_caller_and_leaves_no_thread_behind(monkeypatch):
    net = make_net(hidden=(8,), data=small_data(n=100))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 21)
    monkeypatch.setattr(network_slice, "STEP_WORK", 1)
    calls = []
    original = network_slice.FastNetwork._chunk_sums

    def failing(self, *arguments):
        calls.append(1)
        if len(calls) == 7:
            raise FloatingPointError("pass 7 failed")
        return original(self, *arguments)

    monkeypatch.setattr(network_slice.FastNetwork, "_chunk_sums", failing)
    raised = []

    def compute():   # in a thread of its own, so that a hang fails the test instead of the run
        try:
            compute_slice(net, plane, axis, axis, "total")
        except FloatingPointError as error:
            raised.append(error)

    previous = set_parallelism(Parallelism(2))
    try:
        caller = threading.Thread(target=compute)
        caller.start()
        caller.join(60)
    finally:
        set_parallelism(previous)
    assert not caller.is_alive(), "the failure never reached the caller"
    assert [str(error) for error in raised] == ["pass 7 failed"]
    assert not [t for t in threading.enumerate() if t.name.startswith("hillwalk-slice")]


@pytest.mark.parametrize("workers", ["threads", "processes"])
def test_a_paused_network_slice_does_not_keep_the_interpreter_from_exiting(workers):
    """Its worker threads, or the worker processes with pieces in flight (see
    core.landscapes.slice_processes: their pools are closed at exit before the paused
    slice is finalised)."""
    import os
    import subprocess
    import sys

    script = """
from hillwalk.core import experiment
from hillwalk.core.landscapes import network_slice
from hillwalk.core.landscapes.landscape import Parallelism, iter_slice, make_axis, set_parallelism
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
network_slice.PROCESS_MIN_WORK = 0
set_parallelism(Parallelism(2))
net = experiment.build_objective(ClassifierSpec(dataset="digits", model="net", hidden=(16,)))
plane = experiment.build_plane(net, SliceSpec(center="init"))
axis = make_axis(-1, 1, 61)
paused = iter_slice(net, plane, axis, axis, "total")
for _ in range(3):
    next(paused)      # passes queued or in flight; the generator stays referenced
print("exiting")
"""
    environment = {**os.environ, "HILLWALK_SLICE_PROCESSES": "1" if workers == "processes" else "0"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env=environment)
    assert result.returncode == 0 and "exiting" in result.stdout, result.stderr


def test_a_paused_threaded_network_slice_holds_no_blas_limit():
    """As the linear path: the limit is held per pass, so once the workers wait for passes
    the BLAS library has its threads back, however long the slice stays paused."""
    import time

    from threadpoolctl import ThreadpoolController, threadpool_info

    from hillwalk.main import SharedBlasLimit

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    net = make_net(hidden=(16,), data=small_data(n=400))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 61)
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        before = blas_threads()
        previous = set_parallelism(Parallelism(2, SharedBlasLimit()))
        try:
            steps = iter_slice(net, plane, axis, axis, "total")
            try:
                for _ in range(3):
                    next(steps)
                deadline = time.monotonic() + 120     # the workers finish the passes queued
                while blas_threads() != before and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert blas_threads() == before == [2] * len(before)
            finally:
                steps.close()
        finally:
            set_parallelism(previous)


def test_one_hidden_layer_folds_its_output_biases_and_deeper_nets_do_not():
    assert make_net(hidden=(5,)).folds_output_biases()
    assert make_net(activation="sigmoid", hidden=(6,), keep_prob=0.5).folds_output_biases()
    assert not make_net(hidden=(5, 4)).folds_output_biases()
    assert not make_net(activation="maxout", hidden=(4,), pieces=3).folds_output_biases()
    assert not make_net(hidden=(5,), batchnorm=True).folds_output_biases()
    net = make_net(hidden=(5,))
    parts = net.first_layer_preactivations(plane_of(net).center[None].repeat(3, axis=0), slice(0, 7), ones_row=True)
    assert parts.shape == (3, 6, 7)
    np.testing.assert_array_equal(parts[:, 5], [[1.0] * 7, [0.0] * 7, [0.0] * 7])


@pytest.mark.parametrize("hidden, block", [((5,), None), ((5, 4), None), ((5,), 16), ((5, 4), 16)])
def test_softmax_overflow_takes_the_largest_score_shift(monkeypatch, hidden, block):
    """Far out on the plane some s_j - s_y exceeds 709: the shifted softmax overflows and
    those blocks are evaluated again with the largest-score shift (counted here); near the
    centre nothing overflows and the shortcut is taken throughout; likewise with the examples
    in blocks of 16 (the last one 12)."""
    net = make_net(hidden=hidden, data=small_data(n=60))
    plane = plane_of(net, scale=3.0)
    if block is not None:
        unit_bytes = 8 * (sum(hidden) + (len(hidden) == 1) + net.n_classes)
        monkeypatch.setattr(network_slice, "BLOCK_CACHE_BYTES", unit_bytes * 2 * block)
        monkeypatch.setattr(network_slice, "MIN_BLOCK", block)
        engine = network_slice.FastNetwork(net, plane, make_axis(-1, 1, 3), make_axis(-1, 1, 3),
                                           Component.parse("total"), 2 ** 28)
        assert (engine.points_per_pass, engine.block) == (2, block)
    calls = []
    original = network_slice.per_example_losses_by_rows

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(network_slice, "per_example_losses_by_rows", counted)
    alphas, betas = make_axis(-1e-3, 1e-3, 5), make_axis(-1e-3, 1e-3, 4)
    near = compute_slice(net, plane, alphas, betas, "total")
    assert near.method == "fast" and not calls
    assert relative_error(near.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9
    alphas, betas = make_axis(-1e3, 1e3, 5), make_axis(-1e3, 1e3, 4)
    far = compute_slice(net, plane, alphas, betas, "total")
    assert calls and np.isfinite(far.values).all()
    assert relative_error(far.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9


def test_only_the_blocks_with_an_overflow_are_evaluated_again(monkeypatch):
    """Where only the last block's examples (12 of 60, their features 300 times larger)
    overflow, only that block is evaluated again with the largest-score shift, in every
    pass, and the slice is still exact."""
    base = small_data(n=60)
    X = base.X.copy()
    X[48:] *= 300.0
    net = make_net(hidden=(5,), data=Dataset(X, base.y, base.class_names, base.feature_names))
    plane = plane_of(net, scale=3.0)
    monkeypatch.setattr(network_slice, "BLOCK_CACHE_BYTES", 8 * (5 + 1 + net.n_classes) * 2 * 16)
    monkeypatch.setattr(network_slice, "MIN_BLOCK", 16)
    again = []
    original = network_slice.per_example_losses_by_rows

    def counted(scores, *args, **kwargs):
        again.append(scores.shape[-1])   # the block's examples
        return original(scores, *args, **kwargs)

    monkeypatch.setattr(network_slice, "per_example_losses_by_rows", counted)
    alphas, betas = make_axis(-1, 1, 5), make_axis(-1, 1, 4)
    result = compute_slice(net, plane, alphas, betas, "total")
    assert result.method == "fast"
    assert again and set(again) == {12}   # the last block (48..59) only
    assert relative_error(result.values, reference_slice(net, plane, alphas, betas, "total")) < 1e-9
