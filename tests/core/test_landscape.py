"""The landscape engine: fast paths against the textbook, fallbacks, chunking, progress,
cancellation and bad arguments."""
import itertools
import threading

import numpy as np
import pytest

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.centers import train_full_batch
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.landscape import (
    Component,
    compute_slice,
    iter_slice,
    make_axis,
    reference_slice,
    relu_sweep,
)
from hillwalk.core.models.objectives import LinearClassifier
from hillwalk.core.models.regularizers import Regularizer


def random_problem(loss, reg, seed, n=70, d=5, classes=4, scale=1.0):
    rng = np.random.default_rng(seed)
    data = Dataset(scale * rng.standard_normal((n, d)), np.arange(n) % classes,
                   tuple(f"c{k}" for k in range(classes)), tuple(f"x{k}" for k in range(d)), {"name": "random"})
    return LinearClassifier(data, loss=loss, delta=1.3, regularizer=Regularizer(reg, 0.05, beta=0.7),
                            regularize_bias=seed % 2 == 0)


def relative_gap(fast, reference):
    return float(np.max(np.abs(fast - reference) / np.maximum(np.abs(reference), 1e-300)))


CASES = list(itertools.product(("svm", "softmax"), ("none", "l2", "l1", "elastic"), (1.0, 50.0, 1e4)))


@pytest.mark.parametrize("loss, reg, extent", CASES)
def test_fast_path_matches_the_textbook(loss, reg, extent):
    objective = random_problem(loss, reg, seed=int(extent) % 7)
    center, _, _ = train_full_batch(objective, objective.initial_theta(0.1, 1), 40, record=False)
    plane = random_plane(objective, center, "filter", seed=2)
    alphas, betas = make_axis(-extent, extent, 23), make_axis(-extent / 2, extent, 19)
    for component in ("total", "data", "reg", "example:3"):
        fast = compute_slice(objective, plane, alphas, betas, component)
        reference = reference_slice(objective, plane, alphas, betas, component)
        assert fast.method == "fast"
        assert relative_gap(fast.values, reference) < 1e-9, component
    accuracy = compute_slice(objective, plane, alphas, betas, "accuracy")
    np.testing.assert_array_equal(accuracy.values, reference_slice(objective, plane, alphas, betas, "accuracy"))


def test_wide_ranges_trigger_the_fallback_and_stay_exact():
    objective = random_problem("softmax", "l2", seed=3, scale=4.0)
    center, _, _ = train_full_batch(objective, objective.initial_theta(0.1, 1), 60, record=False)
    plane = random_plane(objective, center, "filter", seed=0)
    axis = make_axis(-1e3, 1e3, 31)
    fast = compute_slice(objective, plane, axis, axis, "data")
    assert fast.fallback_points > 0
    assert relative_gap(fast.values, reference_slice(objective, plane, axis, axis, "data")) < 1e-9


def test_regularization_fallback_when_the_plane_passes_through_zero():
    objective = random_problem("svm", "l2", seed=1)
    center = objective.initial_theta(1.0, 0)
    plane = random_plane(objective, center, "none", seed=0)
    plane.dir1[:] = -center  # a = 1 reaches W = 0, where the quadratic cancels
    plane.info["norm1"] = float(np.linalg.norm(plane.dir1))
    axis = make_axis(0.0, 2.0, 21)
    fast = compute_slice(objective, plane, axis, make_axis(-1e-9, 1e-9, 3), "reg")
    reference = reference_slice(objective, plane, axis, make_axis(-1e-9, 1e-9, 3), "reg")
    assert fast.fallback_points > 0
    np.testing.assert_allclose(fast.values, reference, rtol=1e-9, atol=1e-30)


def test_cut_matches_the_textbook_and_has_one_dimension():
    objective = random_problem("svm", "elastic", seed=4)
    line = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1, line=True)
    axis = make_axis(-3, 3, 101)
    cut = compute_slice(objective, line, axis)
    assert cut.is_cut and cut.values.shape == (101,)
    assert relative_gap(cut.values, reference_slice(objective, line, axis)) < 1e-9


def test_generic_path_equals_the_fast_path():
    objective = random_problem("softmax", "l1", seed=5)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1, 1, 9)
    fast = compute_slice(objective, plane, axis, axis, "total")
    generic = compute_slice(objective, plane, axis, axis, "total", method="generic")
    assert generic.method == "generic"
    np.testing.assert_allclose(fast.values, generic.values, rtol=1e-12)


def test_a_tiny_memory_budget_chunks_without_changing_results():
    objective = random_problem("softmax", "l2", seed=6, n=200)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-2, 2, 41)
    roomy = list(iter_slice(objective, plane, axis, axis, "total"))
    tight = list(iter_slice(objective, plane, axis, axis, "total", budget_bytes=4096))
    assert len(tight) > 5 * len(roomy)  # many more, smaller steps
    np.testing.assert_allclose(tight[-1].result.values, roomy[-1].result.values, rtol=1e-12)
    svm = random_problem("svm", "l1", seed=6, n=200)
    np.testing.assert_allclose(compute_slice(svm, plane, axis, axis, budget_bytes=4096).values,
                               compute_slice(svm, plane, axis, axis).values, rtol=1e-12)


@pytest.mark.parametrize("tile_bytes, stack_bytes, depth", [(8 * 41 * 5, 8 * 41 * 5 * 4, 4), (8 * 41 * 7, 1, 1),
                                                            (8 * 41 * 41, 8 * 41 * 41 * 16, 16)])
def test_the_softmax_products_in_tiles_and_stacks_keep_every_value(monkeypatch, tile_bytes, stack_bytes, depth):
    """Tiles of 5 rows with stacks of 4 examples, tiles of 7 rows one example at a time, and
    the whole grid in one tile with whole groups stacked: the same values, and the
    textbook's."""
    from hillwalk.core.landscapes import landscape

    objective = random_problem("softmax", "l2", seed=7, n=150)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-3, 3, 41)
    default = compute_slice(objective, plane, axis, axis, "total").values
    monkeypatch.setattr(landscape, "TILE_BYTES", tile_bytes)
    monkeypatch.setattr(landscape, "STACK_BYTES", stack_bytes)
    engine = landscape._FastLinear(objective, plane, axis, axis, Component.parse("total"), 2 ** 28)
    expected_tile = tile_bytes // (8 * 41)
    assert engine._tile_rows == min(41, expected_tile)
    assert engine._stack_depth == depth
    tiled = compute_slice(objective, plane, axis, axis, "total").values
    np.testing.assert_allclose(tiled, default, rtol=1e-14)
    points = np.arange(0, 41 * 41, 37)
    reference = reference_slice(objective, plane, axis, axis, "total", points=points)
    assert relative_gap(tiled.ravel()[points], reference.ravel()[points]) < 1e-12


def test_progress_delivers_finished_rows_and_a_coarse_preview():
    objective = random_problem("softmax", "l2", seed=7, n=150)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1, 1, 101)
    steps = list(iter_slice(objective, plane, axis, axis, "total"))
    final = steps[-1].result.values
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    previews = [s.preview for s in steps if s.preview is not None]
    assert len(previews) == 1
    coarse_alphas, coarse_betas, coarse_values = previews[0]
    np.testing.assert_allclose(coarse_values, final[np.isin(axis, coarse_betas)][:, np.isin(axis, coarse_alphas)],
                               rtol=1e-12)
    svm = random_problem("svm", "l2", seed=7, n=150)
    rows_seen = set()
    for step in iter_slice(svm, plane, axis, axis, "total"):
        rows_seen.add(step.rows_done)
        if step.result is None and step.rows_done:
            assert np.all(np.isfinite(step.values[:step.rows_done]))
    assert len(rows_seen) >= 8  # rows arrive in several blocks


def test_a_caller_that_only_wants_the_result_gets_no_preview_computed(monkeypatch):
    """The coarse preview is work for a caller that shows it: ``compute_slice`` without a
    progress callback (the command line, a lab) computes none, and the result is the same,
    its count of points recomputed directly included (the preview's are not counted);
    with one, or through ``iter_slice``, the preview comes first as before. Both fast paths
    (linear: a second, coarse engine; a network: its coarse points) and a plain
    ``iter_slice(preview=False)``."""
    import hillwalk.core.landscapes.landscape as landscape_module

    objective = random_problem("softmax", "l2", seed=7, n=150)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1, 1, 101)
    engines = []
    build = landscape_module._FastLinear.__init__

    def counted(self, *arguments, **keywords):
        engines.append(arguments[2].size)   # the engine's alphas: the coarse one has fewer
        build(self, *arguments, **keywords)

    monkeypatch.setattr(landscape_module._FastLinear, "__init__", counted)
    quiet = compute_slice(objective, plane, axis, axis, "total")
    assert engines == [axis.size]
    seen = []
    shown = compute_slice(objective, plane, axis, axis, "total", progress=seen.append)
    assert len(engines) == 3 and engines[1] == axis.size and engines[2] < axis.size
    assert sum(step.preview is not None for step in seen) == 1
    np.testing.assert_array_equal(quiet.values, shown.values)
    assert not any(step.preview is not None for step in iter_slice(objective, plane, axis, axis, "total",
                                                                   preview=False))
    from hillwalk.core.landscapes.directions import Plane
    from hillwalk.core.models.problem import ClassifierSpec

    # the points recomputed directly are the landscape's own, preview or not (a plane through
    # W = 0, where every score cancels at a = -1: the preview has some of them too)
    center = np.random.default_rng(0).standard_normal(objective.param_shape)
    through_zero = Plane(center, center.copy(), np.random.default_rng(1).standard_normal(objective.param_shape))
    alone = compute_slice(objective, through_zero, axis, axis, "total")
    with_preview = compute_slice(objective, through_zero, axis, axis, "total", progress=lambda step: None)
    assert alone.fallback_points > 0 and with_preview.fallback_points == alone.fallback_points
    np.testing.assert_array_equal(alone.values, with_preview.values)
    net = ClassifierSpec(dataset="iris", model="net", hidden=(8,)).build()
    net_plane = random_plane(net, net.initial_theta(0.1, 0), "filter", seed=2)
    steps = list(iter_slice(net, net_plane, axis, axis, "total", preview=False))
    assert not any(step.preview is not None for step in steps) and steps[-1].result.method == "fast"
    assert sum(step.preview is not None for step in iter_slice(net, net_plane, axis, axis, "total")) == 1
    weights = net.initial_theta(0.5, 0)
    net_through_zero = Plane(weights, weights.copy(), np.random.default_rng(1).standard_normal(weights.shape))
    alone = compute_slice(net, net_through_zero, axis, axis, "total")
    with_preview = compute_slice(net, net_through_zero, axis, axis, "total", progress=lambda step: None)
    assert alone.method == "fast" and alone.fallback_points > 0
    assert with_preview.fallback_points == alone.fallback_points


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_cancelling_a_401_grid_stops_promptly(loss):
    """The evaluation stops at the first check after the request and does no more work;
    how long that takes (the step in progress) is measured by benchmarks/bench_cancel.py,
    not asserted here (a wall-clock bound fails on a busy machine)."""
    rng = np.random.default_rng(0)
    n, d = 3000, 3072  # CIFAR's feature count
    data = Dataset(rng.integers(0, 256, (n, d)).astype(float) - 128, rng.integers(0, 10, n),
                   tuple(str(k) for k in range(10)), tuple(f"x{k}" for k in range(d)), {"name": "cifar-like"})
    objective = LinearClassifier(data, loss=loss, regularizer=Regularizer("l2", 1e-3))
    plane = random_plane(objective, objective.initial_theta(1e-4, 0), "filter", seed=0)
    axis = make_axis(-1, 1, 401)
    cancel_requested = threading.Event()
    steps = 0

    def should_stop():
        nonlocal steps
        steps += 1
        if steps == 3 and not cancel_requested.is_set():
            cancel_requested.set()
        return cancel_requested.is_set()

    result = compute_slice(objective, plane, axis, axis, "total", should_stop=should_stop)
    assert result is None
    assert steps == 3  # stopped at the request: no step was evaluated after it


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_a_401_grid_asks_whether_to_stop_often(loss):
    """Promptness without a clock: the work between two checks is a small share of the slice
    (at most 1/16 of it on a 401 x 401 grid), so a cancel waits for one short step at most."""
    rng = np.random.default_rng(0)
    n, d = 300, 3072
    data = Dataset(rng.integers(0, 256, (n, d)).astype(float) - 128, rng.integers(0, 10, n),
                   tuple(str(k) for k in range(10)), tuple(f"x{k}" for k in range(d)), {"name": "cifar-like"})
    objective = LinearClassifier(data, loss=loss, regularizer=Regularizer("l2", 1e-3))
    plane = random_plane(objective, objective.initial_theta(1e-4, 0), "filter", seed=0)
    axis = make_axis(-1, 1, 401)
    checks = []
    result = compute_slice(objective, plane, axis, axis, "total", should_stop=lambda: checks.append(1) and False)
    assert result is not None and result.values.shape == (401, 401)
    assert len(checks) >= 16


def test_relu_sweep_matches_the_direct_sum_on_uniform_and_uneven_grids():
    rng = np.random.default_rng(0)
    offsets, slopes = rng.standard_normal(400) * 3, rng.standard_normal(400)
    slopes[:30] = 0.0
    for xs in (make_axis(-4, 4, 37), np.sort(rng.uniform(-4, 4, 29))):
        values, bound = relu_sweep(offsets, slopes, xs)
        direct = np.maximum(0, offsets[None] + xs[:, None] * slopes[None]).sum(axis=1)
        np.testing.assert_allclose(values, direct, rtol=1e-13)
        assert np.all(np.abs(values - direct) <= bound)


def test_axis_has_the_center_exactly_on_the_grid():
    axis = make_axis(-1, 1, 101)
    assert axis[50] == 0.0 and axis[0] == -1 and axis[-1] == 1 and axis.size == 101
    assert make_axis(-0.3, 0.3, 401)[200] == 0.0


@pytest.mark.parametrize("args, message", [((-1, 1, 0), "grid size must be a whole number from 2"),
                                           ((1, -1, 11), "must go from low to high"),
                                           ((0, float("inf"), 11), "must be finite"),
                                           ((-1, 1, 5000), "from 2 to 2001")])
def test_bad_axes(args, message):
    with pytest.raises(HillwalkError, match=message):
        make_axis(*args)


def test_bad_components():
    objective = random_problem("svm", "l2", seed=0)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1, 1, 5)
    with pytest.raises(HillwalkError, match="unknown component 'loss'"):
        compute_slice(objective, plane, axis, axis, "loss")
    with pytest.raises(HillwalkError, match="example index 70 is out of range: the training set has 70"):
        compute_slice(objective, plane, axis, axis, "example:70")
    with pytest.raises(HillwalkError, match="whole number"):
        Component.parse("example:x")
