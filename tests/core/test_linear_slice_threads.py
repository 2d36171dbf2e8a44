"""The factorized softmax slice shared among threads: the same values bit for bit as one
thread, whichever thread computed which chunk; every chunk's product in order; no thread
left behind after a stop or an error; and the stacked products' arithmetic."""
import threading
import time

import numpy as np
import pytest

from hillwalk.core.landscapes import landscape
from hillwalk.core.landscapes.directions import random_plane
from hillwalk.core.landscapes.landscape import (
    Parallelism,
    compute_slice,
    in_order,
    iter_slice,
    make_axis,
    reference_slice,
    set_parallelism,
    stack_depth,
)
from tests.core.test_landscape import random_problem, relative_gap


@pytest.fixture
def workers():
    """Run the test's slices with the given number of workers (``workers(n)``), BLAS held
    to one thread meanwhile as in the app."""
    from hillwalk.main import SharedBlasLimit

    previous = landscape.get_parallelism()
    limit = SharedBlasLimit()
    yield lambda n: set_parallelism(Parallelism(n, limit if n > 1 else None))
    set_parallelism(previous)


def slice_threads():
    return [t for t in threading.enumerate() if t.name.startswith("hillwalk-slice")]


@pytest.mark.parametrize("component", ["data", "total"])
@pytest.mark.parametrize("grid, extent, budget", [(101, 1.0, None), (41, 40.0, None), (37, 3.0, 6000),
                                                  (21, 1.0, 400_000)])
def test_two_and_three_workers_give_one_workers_values_bit_for_bit(workers, component, grid, extent, budget):
    """Points recomputed directly (a wide range), a grid of a whole group stacked, chunks of
    one example (a tiny budget), and chunks that the budget holds to 96 examples: the
    chunks, and so the values, do not depend on the number of workers."""
    objective = random_problem("softmax", "l2", seed=3, n=300, d=6, classes=5)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-extent, extent, grid)
    kwargs = {} if budget is None else {"budget_bytes": budget}
    results = {}
    for count in (1, 2, 3):
        workers(count)
        results[count] = compute_slice(objective, plane, axis, axis, component, **kwargs)
    for count in (2, 3):
        np.testing.assert_array_equal(results[count].values, results[1].values)
        assert results[count].fallback_points == results[1].fallback_points
    points = np.arange(0, grid * grid, 53)
    reference = reference_slice(objective, plane, axis, axis, component, points=points)
    assert relative_gap(results[2].values.ravel()[points], reference.ravel()[points]) < 1e-12
    assert not slice_threads()


def test_points_whose_group_product_underflows_are_recomputed_the_same_with_threads(workers):
    objective = random_problem("softmax", "none", seed=5, n=200, d=4, classes=6, scale=30.0)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=2)
    axis = make_axis(-60.0, 60.0, 31)
    workers(1)
    serial = compute_slice(objective, plane, axis, axis, "data")
    workers(2)
    threaded = compute_slice(objective, plane, axis, axis, "data")
    assert serial.fallback_points > 0     # the case is the one it means to be
    np.testing.assert_array_equal(threaded.values, serial.values)
    points = np.flatnonzero(np.isfinite(serial.values.ravel()))[::7]
    reference = reference_slice(objective, plane, axis, axis, "data", points=points)
    assert relative_gap(threaded.values.ravel()[points], reference.ravel()[points]) < 1e-9


def engine_for(grid=3, n=40):
    objective = random_problem("softmax", "l2", seed=2, n=n, d=3, classes=3)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=3)
    axis = make_axis(-1.0, 1.0, grid)
    return landscape._FastLinear(objective, plane, axis, axis, landscape.Component.parse("data"), 2 ** 28)


def test_a_tiles_product_of_thousands_of_groups_is_renormalized_on_the_way():
    """1200 groups whose products are exactly 2^-16: their mantissas, 1/2 each, would
    underflow to 0 after about 1075 of them without renormalization."""
    engine = engine_for()
    n = 1200 * landscape.PRODUCT_GROUP
    rows_by_class = np.full((n, 1, 1), 0.5)       # T_i = 0.5 * 1 on a 1 x 1 tile
    col = np.ones((n, 1, 1))
    mantissa, exponent, lows = np.empty((1, 1)), np.empty((1, 1), dtype=np.intc), []
    engine._softmax_tile(rows_by_class, col, mantissa, exponent, slice(0, 1), lows)
    assert mantissa[0, 0] == 0.5 and exponent[0, 0] == -n + 1 and not lows   # 0.5 * 2^(1 - n) = 2^-n


def test_the_chunks_products_are_renormalized_on_the_way():
    """1200 chunks each of product 1/2: multiplied in without renormalization, their
    mantissas would underflow to 0 (log -inf) instead of summing to 1200 log(1/2)."""
    engine = engine_for(grid=3)
    shape = (3, 3)

    def parts(block_b):
        part = landscape._SoftmaxPart(shape)
        part.mantissa[:] = 0.5
        part.exponent[:] = 0
        part.shift_rows, part.shift_cols = np.zeros(3), np.zeros(3)
        for _ in range(1200):
            yield part

    engine._softmax_parts = parts
    *_, (_, values) = engine._data_block(engine.betas)
    np.testing.assert_allclose(values, 1200 * np.log(0.5) / engine.N, rtol=1e-12)


def test_stopping_a_threaded_slice_leaves_no_thread_behind(workers):
    objective = random_problem("softmax", "l2", seed=4, n=3000, d=8, classes=10)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1.0, 1.0, 121)
    workers(2)
    steps = iter_slice(objective, plane, axis, axis, "data")
    for _ in range(40):   # (past the coarse preview, whose few chunks take no threads)
        next(steps)
        if slice_threads():
            break
    assert slice_threads()               # the workers were running
    steps.close()
    assert not slice_threads()


def test_a_paused_threaded_slice_holds_no_blas_limit(workers):
    """The limit is held per chunk: once the threads have filled their items and wait, the
    BLAS library has its threads back, however long the slice stays paused."""
    from threadpoolctl import ThreadpoolController, threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    objective = random_problem("softmax", "l2", seed=4, n=3000, d=8, classes=10)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1.0, 1.0, 121)
    # two BLAS threads to begin with, whatever the process had (a limit to restore to)
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        before = blas_threads()
        workers(2)
        steps = iter_slice(objective, plane, axis, axis, "data")
        try:
            for _ in range(40):   # (past the coarse preview, whose few chunks take no threads)
                next(steps)
                if slice_threads():
                    break
            assert slice_threads()
            deadline = time.monotonic() + 120     # the threads finish the chunks they took
            while blas_threads() != before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert blas_threads() == before == [2] * len(before)
        finally:
            steps.close()


def test_in_order_hands_out_every_item_in_order_from_any_thread():
    finished_by = {}

    def compute(index, item):
        time.sleep(0.002 * (index % 3))   # later items finish first now and then
        item[0] = index
        finished_by[index] = threading.current_thread().name

    seen = [item[0] for item in in_order(40, compute, lambda: [None], 3)]
    assert seen == list(range(40))
    assert len(set(finished_by.values())) > 1
    assert not slice_threads()
    assert [item[0] for item in in_order(5, compute, lambda: [None], 1)] == list(range(5))
    assert list(in_order(0, compute, lambda: [None], 2)) == []


def test_in_order_raises_a_threads_error_and_stops_the_others():
    def compute(index, item):
        if index == 7:
            raise ValueError("chunk 7 failed")
        item[0] = index

    seen = []
    with pytest.raises(ValueError, match="chunk 7 failed"):
        for item in in_order(50, compute, lambda: [None], 2):
            seen.append(item[0])
    assert seen == list(range(len(seen))) and len(seen) <= 7   # in order, none after the failed one
    assert not slice_threads()


def test_in_order_computes_at_most_workers_plus_two_items_ahead_of_a_slow_consumer():
    started = []

    def compute(index, item):
        started.append(index)
        item[0] = index

    ahead = []
    for position, _ in enumerate(in_order(30, compute, lambda: [None], 2)):
        time.sleep(0.003)              # the threads could run far ahead of this consumer
        ahead.append(max(started) - position)
    assert max(ahead) <= 2 + 2 - 1      # the item in the consumer's hands is one of the four
    assert max(ahead) >= 1              # and they do compute ahead


def test_a_paused_threaded_slice_does_not_keep_the_interpreter_from_exiting():
    import subprocess
    import sys

    script = """
import numpy as np
from hillwalk.core.landscapes.landscape import in_order
paused = in_order(100, lambda k, item: item.__setitem__(0, k), lambda: [None], 2)
next(paused)          # the threads wait for items the consumer holds; the generator stays referenced
print("exiting")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "exiting" in result.stdout, result.stderr


@pytest.mark.parametrize("depth", [2, 3, 4, 5, 8, 16])
def test_the_product_of_a_stack(depth):
    stacked = np.random.default_rng(depth).uniform(0.5, 2.0, size=(depth, 7, 9))
    expected = np.prod(stacked, axis=0)
    out = np.empty((7, 9))
    landscape._product_of_stack(stacked.copy(), out)
    np.testing.assert_allclose(out, expected, rtol=depth * 1e-16)


def test_stack_depth_is_a_power_of_two_that_fits_or_one():
    tile = 82 * 1024
    assert stack_depth(tile) == 8                        # a 101 x 101 tile
    assert stack_depth(landscape.STACK_BYTES // 16) == 16
    assert stack_depth(landscape.STACK_BYTES // 5) == 4
    assert stack_depth(landscape.STACK_BYTES // 3) == 1   # no stacks of 2 or 3
