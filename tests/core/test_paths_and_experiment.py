"""Streaming a run as increments (core.optimization.paths) and the experiment layer's tasks
(core.experiment) against the plain computations they replace."""
import numpy as np
import pytest

from hillwalk.core import experiment
from hillwalk.core.io.session import RaceSettings
from hillwalk.core.landscapes.landscape import compute_slice
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.optimization.optimizers import OptimizerSpec
from hillwalk.core.optimization.paths import PathRecord, iter_path, race_walker
from hillwalk.core.optimization.trajectory import PlaneObjective, Run, plane_coordinates


@pytest.fixture(scope="module")
def scene():
    problem = ClassifierSpec(dataset="iris", loss="softmax", regularizer="l2", lam=1e-3)
    objective = experiment.build_objective(problem)
    spec = SliceSpec(grid=21, train_steps=50)
    plane = experiment.build_plane(objective, spec)
    return objective, plane, spec


@pytest.mark.parametrize("in_plane", [False, True])
@pytest.mark.parametrize("record_every", [1, 7])
def test_streamed_increments_add_up_to_the_whole_trajectory(scene, in_plane, record_every):
    objective, plane, _ = scene
    spec = OptimizerSpec("momentum", lr=0.05, momentum=0.9, batch_size=16)
    reference = race_walker(objective, plane, (0.6, -0.4), spec, 300, 3, in_plane, record_every=record_every)
    whole = reference.run_to_end()
    a, b, off, thetas = plane_coordinates(whole, plane, in_plane)
    run = race_walker(objective, plane, (0.6, -0.4), spec, 300, 3, in_plane, record_every=record_every)
    record = PathRecord(plane, in_plane)
    ticks = iter([k * 0.03 for k in range(100000)])  # a clock 30 ms per reading: several increments
    increments = list(iter_path(run, plane, interval_s=0.05, clock=lambda: next(ticks)))
    for increment in increments:
        record.extend(increment)
    assert len(increments) > 3
    assert increments[-1].finished and not any(i.finished for i in increments[:-1])
    np.testing.assert_array_equal(record.steps, whole.steps)
    np.testing.assert_allclose(record.a, a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(record.b, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(record.off_plane, off, rtol=0, atol=1e-12)
    for name in ("loss", "batch_loss", "train_acc", "val_acc", "grad_norm", "step_length", "lr"):
        np.testing.assert_array_equal(getattr(record, name), getattr(whole, name))
    np.testing.assert_allclose(record.thetas, thetas, rtol=0, atol=1e-12)
    row = len(record) // 2
    np.testing.assert_allclose(record.theta_at(row), thetas[row], rtol=0, atol=1e-12)
    exported = record.trajectory()
    np.testing.assert_allclose(exported.thetas.reshape(whole.thetas.shape), whole.thetas, rtol=0, atol=1e-12)


def test_increments_carry_only_new_rows(scene):
    objective, plane, _ = scene
    run = race_walker(objective, plane, (0.5, 0.5), OptimizerSpec("sgd", lr=0.1), 500, 0)
    ticks = iter([k * 0.02 for k in range(100000)])
    sizes = [i.size for i in iter_path(run, plane, interval_s=0.05, clock=lambda: next(ticks))]
    assert sum(sizes) == 501  # rows 0..500, each posted once
    assert max(sizes) < 501


def test_a_stopped_stream_yields_nothing_more(scene):
    objective, plane, _ = scene
    run = race_walker(objective, plane, (0.5, 0.5), OptimizerSpec("sgd", lr=0.1), 100000, 0)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 3

    increments = list(iter_path(run, plane, should_stop, interval_s=0.0))
    assert len(increments) <= 3
    assert run.t < 100000


def test_the_scene_slice_equals_the_plain_slice(scene):
    objective, plane, spec = scene
    shown = experiment.compute_scene_slice(objective, plane, spec)
    plain = compute_slice(objective, plane, spec.alpha_axis(), spec.beta_axis(), "total")
    np.testing.assert_allclose(shown.landscape.values, plain.values, rtol=1e-12, atol=1e-12)
    assert shown.data_values is not None
    assert experiment.compute_landscape(objective, plane, spec).values.shape == (21, 21)


def test_a_new_regularization_reuses_the_data_grid(scene):
    objective, plane, spec = scene
    shown = experiment.compute_scene_slice(objective, plane, spec)
    stronger = experiment.rebuild_regularization(ClassifierSpec(dataset="iris", lam=0.1), objective)
    updated = experiment.recompute_regularization(stronger, plane, shown, "total", 2 ** 26)
    plain = compute_slice(stronger, plane, spec.alpha_axis(), spec.beta_axis(), "total")
    np.testing.assert_allclose(updated.landscape.values, plain.values, rtol=1e-12, atol=1e-12)
    assert experiment.recompute_regularization(stronger, plane, shown, "data", 2 ** 26) is shown


def test_cut_geometry_and_cut(scene):
    objective, plane, spec = scene
    geometry = experiment.cut_geometry(spec, "points", 0.0, ((-0.5, 0.0), (0.5, 0.0)))
    cut = experiment.compute_cut(objective, plane, spec, geometry)
    assert cut.values.shape == (experiment.CUT_POINTS,)
    # s = 0 is the first point, s = 1 the second
    s = cut.alphas
    k = int(np.argmin(np.abs(s - 0.0)))
    assert cut.values[k] == pytest.approx(objective.loss(plane.point(-0.5 + s[k], 0.0)), rel=1e-10)


def test_start_run_uses_the_plane_as_the_app_does(scene):
    objective, plane, _ = scene
    spec = OptimizerSpec("adam", lr=0.01)
    in_plane = experiment.start_run(objective, plane, RaceSettings(start=(0.3, 0.2), in_plane=True), spec)
    assert isinstance(in_plane.objective, PlaneObjective)
    np.testing.assert_array_equal(in_plane.origin, [0.3, 0.2])
    free = experiment.start_run(objective, plane, RaceSettings(start=(0.3, 0.2), in_plane=False), spec)
    assert isinstance(free, Run) and free.objective is objective
    np.testing.assert_allclose(free.origin, plane.point(0.3, 0.2))


def test_stream_run_posts_increments_and_returns_the_last(scene):
    objective, plane, _ = scene
    race = RaceSettings(start=(0.3, 0.2), steps=200, in_plane=False)
    posted = []
    last = experiment.stream_run(objective, plane, race, OptimizerSpec("sgd", lr=0.1), "sgd",
                                 report=lambda fraction, text, partial=None: posted.append(partial),
                                 interval_s=0.0)
    assert last.finished
    assert sum(p.size for p in posted) + last.size == 201
    records = experiment.record_race(objective, plane, race, [OptimizerSpec("sgd", lr=0.1)])
    np.testing.assert_array_equal(records[0].steps, np.arange(201))


def test_a_streamed_run_hands_its_parameters_over_instead_of_keeping_a_second_copy(scene):
    objective, plane, _ = scene
    run = race_walker(objective, plane, (0.5, 0.5), OptimizerSpec("sgd", lr=0.1), 300, 0)
    record = PathRecord(plane, False)
    for increment in iter_path(run, plane, interval_s=0.0):
        record.extend(increment)
    assert all(theta is None for theta in run._theta_rows)  # released as they were handed over
    assert record.thetas.shape == (301,) + objective.param_shape
    with pytest.raises(Exception, match="streamed"):
        run.trajectory()


def test_the_turn_gate_serves_threads_in_the_order_they_came():
    import threading

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.optimization.paths import TurnGate

    gate = TurnGate(1)
    order = []

    def three_turns(name):
        for _ in range(3):
            with gate:
                order.append(name)

    gate.__enter__()                      # held: the workers below queue in turn
    workers = []
    for name in "abc":
        worker = threading.Thread(target=three_turns, args=(name,))
        worker.start()
        workers.append(worker)
        while len(gate._waiting) < len(workers):   # each one waits before the next starts
            threading.Event().wait(0.001)
    gate.__exit__(None, None, None)
    for worker in workers:
        worker.join(timeout=10)
    assert not any(worker.is_alive() for worker in workers)
    # the first turns follow the queue; a thread that comes back queues behind the others
    assert order[:3] == ["a", "b", "c"] and sorted(order) == sorted("abc" * 3)
    with pytest.raises(HillwalkError, match="at least one"):
        TurnGate(0)


def test_holding_the_turn_gate_off_keeps_threads_out_until_released():
    import threading

    from hillwalk.core.optimization.paths import TurnGate

    gate = TurnGate(1)
    entered = threading.Event()
    release = gate.hold_off()
    second = gate.hold_off()              # holds nest

    def one_turn():
        with gate:
            entered.set()

    worker = threading.Thread(target=one_turn)
    worker.start()
    while not gate._waiting:              # it queues: the gate is free but held off
        threading.Event().wait(0.001)
    release()
    release()                             # a second call changes nothing
    assert not entered.is_set() and gate._waiting
    second()
    worker.join(timeout=10)
    assert entered.is_set() and not worker.is_alive()


def test_render_computes_no_preview_and_the_app_gets_one(monkeypatch):
    """``render`` (compute_landscape) has nobody to show a coarse preview to and computes
    none; the app's slice (a report to post it through) gets it first, as before."""
    import hillwalk.core.landscapes.landscape as landscape_module

    coarse = []
    build = landscape_module._FastLinear.__init__

    def counted(self, objective, plane, alphas, *rest, **keywords):
        coarse.append(alphas.size < 101)
        build(self, objective, plane, alphas, *rest, **keywords)

    monkeypatch.setattr(landscape_module._FastLinear, "__init__", counted)
    objective = ClassifierSpec(dataset="iris").build()
    spec = SliceSpec(grid=101, train_steps=0)
    plane = experiment.build_plane(objective, spec)
    quiet = experiment.compute_landscape(objective, plane, spec)
    assert coarse and not any(coarse)
    coarse.clear()
    posted = []
    shown = experiment.compute_scene_slice(objective, plane, spec, report=lambda f, t="", p=None: posted.append(p))
    assert sum(coarse) == 1 and any(p is not None and p[0] == "preview" for p in posted)
    np.testing.assert_array_equal(quiet.values, shown.landscape.values)


def test_a_post_the_last_increment_would_soon_follow_is_left_out(scene):
    """An intermediate increment the last would follow within the post interval, at the pace
    since the post before, is left out: it only made the consumer redraw once more (the
    rows come with the next, held back two intervals at most)."""
    objective, plane, _ = scene
    interval = 0.05
    for steps in (100, 300, 500):
        run = race_walker(objective, plane, (0.5, 0.5), OptimizerSpec("sgd", lr=0.1), steps, 0)
        now = [0.0]

        def clock(now=now):
            now[0] += 0.01   # every reading 10 ms on: a few steps per interval
            return now[0]

        began, posts, rows = clock(), [], 0
        for increment in iter_path(run, plane, interval_s=interval, clock=clock):
            rows += increment.size
            posts.append((now[0] - began, run.t, increment.finished))
        assert rows == steps + 1 and posts[-1][2] and not any(finished for *_, finished in posts[:-1])
        assert len(posts) > 10
        # the last intermediate post: the rest, at the pace since the post before, takes
        # at least the interval, or the post before is two intervals old (a post just
        # before the end is left out, rows are held back two intervals at most)
        (before, made_before, _), (at, made, _) = posts[-3], posts[-2]
        assert (steps - made) * (at - before) / (made - made_before) >= interval * 0.999 or at - before >= 2 * interval
        assert all(later[0] - earlier[0] <= 2 * interval + 0.05 for earlier, later in zip(posts, posts[1:]))


@pytest.mark.parametrize("angle, expected", [(0.0, (-2.0, 2.0)), (90.0, (-1.0, 3.0)), (180.0, (-2.0, 2.0)),
                                             (45.0, (-2 ** 0.5, 2 * 2 ** 0.5))])
def test_a_cut_through_the_centre_spans_the_slices_rectangle(angle, expected):
    """a in [-2, 2], b in [-1, 3] (the Newton preset's): the cut at 0 degrees runs over
    a's range, not over +-3 (the largest range end), past the heatmap's edges; at any angle
    it ends where the line leaves the rectangle."""
    spec = SliceSpec(grid=21, alpha_range=(-2.0, 2.0), beta_range=(-1.0, 3.0))
    geometry = experiment.cut_geometry(spec, "angle", angle, None)
    np.testing.assert_allclose(geometry.s_range, expected, atol=1e-12)
    for s in geometry.s_range:   # the ends on the rectangle's edge
        a, b = s * geometry.direction
        assert -2 - 1e-9 <= a <= 2 + 1e-9 and -1 - 1e-9 <= b <= 3 + 1e-9
        assert min(abs(a + 2), abs(a - 2), abs(b + 1), abs(b - 3)) < 1e-9
    # a centre outside the rectangle: the line misses it, and the cut keeps +- the largest end
    outside = SliceSpec(grid=21, alpha_range=(1.0, 2.0), beta_range=(1.0, 2.0))
    assert experiment.cut_geometry(outside, "angle", 0.0, None).s_range == (-2.0, 2.0)


@pytest.mark.parametrize("in_plane", [False, True])
def test_a_run_of_small_products_takes_its_steps_under_the_blas_limit(scene, in_plane, monkeypatch):
    """OpenBLAS's threads cost more than they save on a small model's products (a digits
    race recorded 12% slower on the default two threads than on one): where the process has
    a BLAS limit (the app's and the command line's parallelism), a run whose pass over the
    data is small takes every step under it (streamed as the app does, recorded as ``trace``
    does); a large one keeps the library's threads. The path is the same either way."""
    import contextlib

    from hillwalk.core.landscapes.landscape import Parallelism, set_parallelism
    from hillwalk.core.optimization import paths

    objective, plane, _ = scene
    held = []

    @contextlib.contextmanager
    def limit():
        held.append(True)
        try:
            yield
        finally:
            held.pop()

    steps_under_limit = []
    advance = Run.advance

    def recording_advance(run, n=1):
        steps_under_limit.append(bool(held))
        return advance(run, n)

    monkeypatch.setattr(Run, "advance", recording_advance)
    set_parallelism(Parallelism(2, limit))
    spec = OptimizerSpec("sgd", lr=0.05, batch_size=16)
    assert objective.n_train * objective.size < paths.SMALL_PASS_MULTIPLY_ADDS   # (iris: 120 x 15)
    race = RaceSettings(steps=40, seed=3, start=(0.6, -0.4), in_plane=in_plane)
    streamed = experiment.stream_run(objective, plane, race, spec, interval_s=0.0)
    assert streamed is not None and steps_under_limit and all(steps_under_limit) and not held
    steps_under_limit.clear()
    small = experiment.record_race(objective, plane, race, [spec])[0]
    assert steps_under_limit and all(steps_under_limit) and not held
    steps_under_limit.clear()
    monkeypatch.setattr(paths, "SMALL_PASS_MULTIPLY_ADDS", objective.n_train * objective.size)   # now "large"
    large = experiment.record_race(objective, plane, race, [spec])[0]
    assert steps_under_limit and not any(steps_under_limit)
    np.testing.assert_array_equal(small.a, large.a)
    np.testing.assert_array_equal(small.loss, large.loss)
