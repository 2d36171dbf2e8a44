"""The network fast slice's passes on worker processes (core.landscapes.slice_processes):
the same values as on threads, bit for bit; a worker's error reaches the caller; a worker
lost mid-slice leaves the slice to threads; a slice stopped early leaves the pool to the
next; one slice at a time has the pool."""
import os
import signal
import time

import numpy as np
import pytest

from hillwalk.core.landscapes import network_slice, slice_processes
from hillwalk.core.landscapes.landscape import Parallelism, compute_slice, iter_slice, make_axis, set_parallelism
from hillwalk.core.models.components import Component
from tests.core.test_network_slice import CASES, make_net, plane_of, small_data


@pytest.fixture
def two_workers(monkeypatch):
    """Two workers, and every slice long enough for the processes."""
    monkeypatch.setattr(network_slice, "PROCESS_MIN_WORK", 0)
    monkeypatch.setattr(network_slice, "PROCESSES_ALLOWED", True)
    previous = set_parallelism(Parallelism(2))
    yield
    set_parallelism(previous)


def on_threads(net, plane, alphas, betas, component, monkeypatch, **settings):
    with monkeypatch.context() as patch:
        patch.setattr(network_slice, "PROCESSES_ALLOWED", False)
        return compute_slice(net, plane, alphas, betas, component, **settings)


def processes_only(monkeypatch):
    """Fail a slice that falls back to threads (the processes must do the passes)."""
    def refused(*_arguments):
        raise AssertionError("the passes went to threads")
        yield   # a generator, as the method

    monkeypatch.setattr(network_slice.FastNetwork, "_thread_results", refused)


@pytest.mark.parametrize("case, component", [("relu-softmax-l2", "total"), ("leaky-svm-l1-deep", "data"),
                                             ("maxout-svm-elastic", "total"), ("relu-softmax-dropout-mean2", "total"),
                                             ("sigmoid-softmax-dropout-mean2", "accuracy"),
                                             ("elu-softmax-l2-residual", "example:3")])
def test_the_processes_give_the_thread_slice_bit_for_bit(two_workers, monkeypatch, case, component):
    net = make_net(data=small_data(n=90), **CASES[case])
    plane = plane_of(net)
    alphas, betas = make_axis(-2, 2, 17), make_axis(-1, 1, 9)
    threads = on_threads(net, plane, alphas, betas, component, monkeypatch)
    processes_only(monkeypatch)
    processes = compute_slice(net, plane, alphas, betas, component)
    np.testing.assert_array_equal(processes.values, threads.values)
    assert processes.fallback_points == threads.fallback_points


def test_examples_in_chunks_keep_to_threads_within_the_budget(two_workers, monkeypatch):
    """A budget that takes the examples in chunks has no room for the workers' copies of
    a chunk's parts: the slice keeps to threads (and gives their values)."""
    net = make_net(hidden=(6,), data=small_data(n=200))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 11)
    budget = 2 * 3 * 8 * 7 * 60   # about 60 examples a chunk
    engine = network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), budget)
    assert engine.example_chunk < net.n_train and not engine.use_processes
    roomy = network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), 2 ** 26)
    assert roomy.example_chunk == net.n_train and roomy.use_processes
    threads = on_threads(net, plane, axis, axis, "total", monkeypatch, budget_bytes=budget)
    steps = list(iter_slice(net, plane, axis, axis, "total", budget_bytes=budget))
    np.testing.assert_array_equal(steps[-1].result.values, threads.values)


def test_a_workers_error_reaches_the_caller_and_the_worker_answers_on(two_workers):
    net = make_net(hidden=(5,))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 3)
    engine = network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), 2 ** 26)
    for _ in engine._load_parts(0, net.n_train):
        pass
    passes = engine._block_passes(engine._blocks)
    pool = slice_processes.shared_pool(2)
    with pool.lease() as workers:
        worker = workers[0]
        worker.hold(passes.key, passes)
        worker.submit(slice_processes.next_tag(), np.zeros(3), np.zeros(2))   # a and b of two lengths
        _tag, error, sums = worker.receive()
        assert isinstance(error, ValueError) and sums is None
        a, b = np.array([0.5, -0.25]), np.array([0.0, 1.0])
        worker.submit(slice_processes.next_tag(), a, b)
        _tag, error, sums = worker.receive()
    assert error is None
    np.testing.assert_array_equal(sums, passes.sums_at(a, b))
    assert not pool.broken


class NeedsTwo(Exception):
    """An exception that pickles but does not unpickle (its arguments are not its args)."""

    def __init__(self, first, second):
        super().__init__(f"{first} and {second}")


class FailingPasses(network_slice.BlockPasses):
    def sums_at(self, a, b):
        raise NeedsTwo("one", "two")


def test_an_error_that_does_not_unpickle_reaches_the_caller_as_text(two_workers, monkeypatch):
    net = make_net(hidden=(5,), data=small_data(n=60))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 9)

    original = network_slice.FastNetwork._block_passes

    def failing_passes(self, blocks):
        passes = original(self, blocks)
        passes.__class__ = FailingPasses
        return passes

    monkeypatch.setattr(network_slice.FastNetwork, "_block_passes", failing_passes)
    processes_only(monkeypatch)
    with pytest.raises(slice_processes.WorkerError, match="NeedsTwo: one and two|could not be read"):
        compute_slice(net, plane, axis, axis, "total")
    pool = slice_processes.shared_pool(2)
    assert not pool.broken and not any(worker.in_flight or worker.key for worker in pool.workers)


def test_an_interrupt_in_the_middle_of_a_frame_breaks_the_pool_up(two_workers, monkeypatch):
    """A KeyboardInterrupt between a frame's parts leaves the worker's input out of step:
    the pool is not used again, and the next slice starts a new one at once."""
    net = make_net(hidden=(6,), data=small_data(n=80))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 15)
    threads = on_threads(net, plane, axis, axis, "total", monkeypatch)
    write = slice_processes._write_by
    sent = []

    def interrupted(fd, parts, deadline):
        sent.append(1)
        if len(sent) == 4:   # a pass, after the two workers' passes and a first pass
            write(fd, parts[:1], deadline)
            raise KeyboardInterrupt
        return write(fd, parts, deadline)

    monkeypatch.setattr(slice_processes, "_write_by", interrupted)
    pool = slice_processes.shared_pool(2)
    with pytest.raises(KeyboardInterrupt):
        compute_slice(net, plane, axis, axis, "total")
    assert pool.broken and all(worker.process.poll() is not None for worker in pool.workers)
    monkeypatch.setattr(slice_processes, "_write_by", write)
    processes_only(monkeypatch)
    started = time.monotonic()
    np.testing.assert_array_equal(compute_slice(net, plane, axis, axis, "total").values, threads.values)
    assert time.monotonic() - started < slice_processes.REPLY_TIMEOUT_S / 4   # no wait for a lost answer


def test_pieces_of_several_passes_give_the_thread_slice(two_workers, monkeypatch):
    net = make_net(hidden=(6,), data=small_data(n=120))
    plane = plane_of(net)
    alphas, betas = make_axis(-1, 1, 41), make_axis(-1, 1, 5)
    monkeypatch.setattr(network_slice, "BLOCK_CACHE_BYTES", 8 * (6 + 1 + 3) * 2 * 30)
    monkeypatch.setattr(network_slice, "MIN_BLOCK", 30)
    engine = network_slice.FastNetwork(net, plane, alphas, betas, Component.parse("total"), 2 ** 26)
    assert engine.points_per_pass == 2 and engine._piece_slices(41, 4)[0] == slice(0, 10)
    threads = on_threads(net, plane, alphas, betas, "total", monkeypatch)
    processes_only(monkeypatch)
    np.testing.assert_array_equal(compute_slice(net, plane, alphas, betas, "total").values, threads.values)


def test_a_workers_warnings_are_raised_in_the_caller_as_on_threads(two_workers, monkeypatch):
    import warnings

    net = make_net(activation="relu", loss="svm", reg="none", hidden=(5,), data=small_data(n=40, scale=1e150))
    plane = plane_of(net, scale=1e150)
    axis = make_axis(-1e10, 1e10, 5)

    def warned(compute):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compute()
        return {(w.category, str(w.message)) for w in caught}

    on_threads_warned = warned(lambda: on_threads(net, plane, axis, axis, "data", monkeypatch))
    processes_only(monkeypatch)
    on_processes_warned = warned(lambda: compute_slice(net, plane, axis, axis, "data"))
    assert any(category is RuntimeWarning for category, _text in on_threads_warned)
    assert on_processes_warned == on_threads_warned


def test_a_worker_lost_mid_slice_leaves_the_rest_to_threads(two_workers, monkeypatch):
    net = make_net(hidden=(8,), data=small_data(n=150))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 31)
    threads = on_threads(net, plane, axis, axis, "total", monkeypatch)
    pool = slice_processes.shared_pool(2)
    steps = iter_slice(net, plane, axis, axis, "total")
    for _ in range(3):
        next(steps)
    os.kill(pool.workers[1].process.pid, signal.SIGKILL)
    result = list(steps)[-1].result
    np.testing.assert_array_equal(result.values, threads.values)
    assert pool.broken and all(worker.process.poll() is not None for worker in pool.workers)
    fresh = slice_processes.shared_pool(2)   # the next slice starts a new pool
    assert fresh is not pool
    processes_only(monkeypatch)
    np.testing.assert_array_equal(compute_slice(net, plane, axis, axis, "total").values, threads.values)


def test_a_slice_stopped_early_leaves_the_pool_to_the_next(two_workers, monkeypatch):
    net = make_net(hidden=(8,), data=small_data(n=150))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 41)
    threads = on_threads(net, plane, axis, axis, "total", monkeypatch)
    processes_only(monkeypatch)
    steps = iter_slice(net, plane, axis, axis, "total")
    for _ in range(4):
        next(steps)
    started = time.monotonic()
    steps.close()
    closed_in = time.monotonic() - started
    pool = slice_processes.shared_pool(2)
    assert not pool.broken and not any(worker.in_flight for worker in pool.workers)
    with pool.lease() as workers:
        assert workers is not None   # nobody holds it
    np.testing.assert_array_equal(compute_slice(net, plane, axis, axis, "total").values, threads.values)
    assert closed_in < 30   # the passes in flight, not the slice (a generous bound for a slow machine)


def test_a_second_slice_meanwhile_takes_threads(two_workers, monkeypatch):
    net = make_net(hidden=(6,), data=small_data(n=80))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 9)
    threads = on_threads(net, plane, axis, axis, "total", monkeypatch)
    used = []
    monkeypatch.setattr(network_slice.FastNetwork, "_process_results",
                        lambda *arguments: used.append(1) or iter(()))
    with slice_processes.shared_pool(2).lease() as workers:
        assert workers is not None
        meanwhile = compute_slice(net, plane, axis, axis, "total")
    assert not used
    np.testing.assert_array_equal(meanwhile.values, threads.values)


def test_closing_a_pool_ends_its_workers():
    pool = slice_processes.SlicePool(2)
    processes = [worker.process for worker in pool.workers]
    assert all(process.poll() is None for process in processes)
    pool.close()
    assert all(process.poll() is not None for process in processes)


def test_short_slices_and_one_worker_keep_to_threads(monkeypatch):
    net = make_net(hidden=(5,))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 5)
    previous = set_parallelism(Parallelism(2))
    try:
        engine = network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), 2 ** 26)
        assert not engine.use_processes   # far below PROCESS_MIN_WORK
        monkeypatch.setattr(network_slice, "PROCESS_MIN_WORK", 0)
        assert network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), 2 ** 26).use_processes
        set_parallelism(Parallelism(1))
        assert not network_slice.FastNetwork(net, plane, axis, axis, Component.parse("total"), 2 ** 26).use_processes
    finally:
        set_parallelism(previous)


def test_a_slice_that_worked_clears_the_breakages_and_a_broken_pool_counts_once(two_workers, monkeypatch):
    net = make_net(hidden=(6,), data=small_data(n=60))
    plane = plane_of(net)
    axis = make_axis(-1, 1, 9)
    monkeypatch.setattr(slice_processes, "_broken_pools", slice_processes.MAX_BROKEN_POOLS - 1)
    processes_only(monkeypatch)
    compute_slice(net, plane, axis, axis, "total")
    assert slice_processes._broken_pools == 0
    slice_processes.shared_pool(2).break_up()
    with monkeypatch.context() as patch:
        patch.setattr(slice_processes, "SlicePool", lambda count: (_ for _ in ()).throw(OSError("no processes")))
        assert slice_processes.shared_pool(2) is None and slice_processes._broken_pools == 2   # the pool, the start
    assert slice_processes.shared_pool(2) is not None and slice_processes._broken_pools == 2   # not the pool again
