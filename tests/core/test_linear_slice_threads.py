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
    """Run the test's slices with the given number of workers (``workers(n)``)."""
    previous = landscape.get_parallelism()
    yield lambda n: set_parallelism(Parallelism(n))
    set_parallelism(previous)


def slice_threads():
    return [t for t in threading.enumerate() if t.name.startswith("hillwalk-slice")]


@pytest.mark.parametrize("component", ["data", "total"])
@pytest.mark.parametrize("grid, extent, budget", [(101, 1.0, None), (41, 40.0, None), (37, 3.0, 6000)])
def test_two_and_three_workers_give_one_workers_values_bit_for_bit(workers, component, grid, extent, budget):
    """Small chunks (a tight budget), points recomputed directly (a wide range), and a
    grid of a whole group stacked."""
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


def test_a_chunk_of_hundreds_of_groups_is_renormalized_on_the_way(workers):
    """A 3 x 3 grid takes every example in one chunk: 5000 examples are 313 groups, more
    than RENORMALIZE_EVERY mantissas, whose product would otherwise underflow."""
    objective = random_problem("softmax", "l2", seed=2, n=5000, d=4, classes=3, scale=3.0)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=3)
    axis = make_axis(-2.0, 2.0, 3)
    for count in (1, 2):
        workers(count)
        values = compute_slice(objective, plane, axis, axis, "data").values
        reference = reference_slice(objective, plane, axis, axis, "data")
        assert relative_gap(values, reference) < 1e-12


def test_stopping_a_threaded_slice_leaves_no_thread_behind(workers):
    objective = random_problem("softmax", "l2", seed=4, n=3000, d=8, classes=10)
    plane = random_plane(objective, objective.initial_theta(1.0, 0), "filter", seed=1)
    axis = make_axis(-1.0, 1.0, 121)
    workers(2)
    steps = iter_slice(objective, plane, axis, axis, "data")
    for _ in range(3):
        next(steps)
    assert slice_threads()               # the workers were running
    steps.close()
    assert not slice_threads()


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


def test_in_order_keeps_at_most_workers_plus_two_items():
    made = []

    def make():
        made.append([None])
        return made[-1]

    for _ in in_order(30, lambda index, item: item.__setitem__(0, index), make, 2):
        pass
    assert len(made) == 4


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
