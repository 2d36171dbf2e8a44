"""Loss landscapes: 1-D cuts ``L(c + a d1)`` and 2-D slices ``L(c + a d1 + b d2)``.

Two ways to evaluate:

* **fast** (linear classifiers): scores at ``W + a D1 + b D2`` are ``S0 + a S1 + b S2``,
  computed once (``O(N C D)``); after that a grid point costs ``O(N C)`` at most, and
  less with the tricks below. Every trick checks where it could lose accuracy and hands
  those grid points to a direct ``O(N C)`` evaluation from the same scores.
* **generic** (any objective): the objective is evaluated at every grid point.

Values come back as ``values[j, i] = L(a_i, b_j)``: rows follow b. Long evaluations are
generators (:func:`iter_slice`) that yield :class:`SliceProgress` often, so a consumer can
show progress and partial rows and stop promptly by no longer iterating.
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import os
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import HillwalkError
from ..models.components import Component
from ..models.losses import _softmax_per_example, _svm_per_example
from ..models.objectives import LinearClassifier

DEFAULT_BUDGET_BYTES = 256 * 2 ** 20
MAX_GRID = 2001
COMPONENTS = ("total", "data", "reg", "example", "accuracy")
EPS = np.finfo(np.float64).eps
# Grid points whose estimated rounding error exceeds this fraction of their value are
# recomputed directly (the fast path promises agreement to 1e-9 relative).
ACCURACY_GUARD = 1e-11
# Per-example exponential sums T_i (each <= C) are multiplied in groups of 16; a group
# product below this bound may hide an underflowed T_i, so its grid point is recomputed.
GROUP_PRODUCT_MIN = 2.0 ** -900
PRODUCT_GROUP = 16
# A product of mantissas (each >= 1/2: of group products, of chunks' products) is
# renormalized every so many factors, long before it could underflow (2^-256).
RENORMALIZE_EVERY = 256
# Bytes of a tile of the factorized softmax's accumulators, and at most of its stacked
# per-example products (see stack_depth): both meant to stay in a core's cache.
TILE_BYTES = 256 * 2 ** 10
STACK_BYTES = 704 * 2 ** 10
# Multiply-adds per progress step (an example chunk) of the fast path: a few milliseconds
# here, so cancelling stays prompt. At 4 M a digits 101 x 101 slice took 45 chunks whose
# hand-overs between the workers cost about a third of its 35 ms; at 16 M, 10 chunks and
# 26 ms (benchmarks/bench_linear_floor.py: 3.2 -> 2.3 x its floor, the CIFAR-sized 101 x 101
# 1.5 -> 1.2 x; at 401 x 401 a chunk is its 16-example minimum either way).
WORK_PER_STEP = 16_000_000


# --------------------------------------------------------------------------- parallelism

@dataclass(frozen=True)
class Parallelism:
    """How the slice paths may use threads.

    ``workers`` threads share each chunk of points of the generic batched path
    (``evaluate_batch(..., workers=)``) and of the network fast path, and the example
    chunks of the linear softmax fast path. ``blas_limit`` is a callable returning a
    context manager that limits the BLAS library to one thread while they run: without it,
    each worker's products would spread over every core too and the threads would fight.
    Holds may overlap and last across a paused slice (the app's slice, cut and contours
    run at once), so the limit must restore the threads only when the last hold ends, as
    ``main.SharedBlasLimit`` does (``threadpoolctl.threadpool_limits`` restores what it
    found, and two overlapping ones could leave BLAS on one thread for good).

    The split changes no value of the linear fast path (its chunks are combined in order)
    and no point's operations on the network paths; the only difference measured there is
    the BLAS library's own (one thread or several): at most 1 ulp on a few grid points.
    """

    workers: int = 1
    blas_limit: object = None

    def __post_init__(self):
        if int(self.workers) != self.workers or self.workers < 1:
            raise HillwalkError(f"the number of workers must be a whole number >= 1, got {self.workers}")

    @classmethod
    def all_cores(cls, blas_limit=None, most: int = 8) -> "Parallelism":
        """One worker per core (at most ``most``), with ``blas_limit`` when there are several."""
        workers = max(1, min(os.cpu_count() or 1, most))
        return cls(workers, blas_limit if workers > 1 else None)


_parallelism = Parallelism()


def set_parallelism(parallelism: Parallelism):
    """Set the default :class:`Parallelism` of every later evaluation (the app and the
    command line do this once at start); returns the previous one."""
    global _parallelism
    previous, _parallelism = _parallelism, parallelism
    return previous


def get_parallelism() -> Parallelism:
    return _parallelism


# --------------------------------------------------------------------------- grids, components

def make_axis(low, high, n):
    """``n`` evenly spaced values from ``low`` to ``high``; for a symmetric range and odd
    ``n`` the middle value is exactly 0 (the centre lies on the grid)."""
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= MAX_GRID):
        raise HillwalkError(f"the grid size must be a whole number from 2 to {MAX_GRID}, got {n}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise HillwalkError(f"the range must be finite numbers, got {low} .. {high}")
    if not low < high:
        raise HillwalkError(f"the range must go from low to high, got {low} .. {high}; swap the two values")
    axis = low + (high - low) * (np.arange(n) / (n - 1))
    axis[0], axis[-1] = low, high
    if n % 2 == 1 and low == -high:
        axis[n // 2] = 0.0
    return axis


# --------------------------------------------------------------------------- results

@dataclass
class Landscape:
    """A computed cut or slice.

    Attributes
    ----------
    values : array, shape (len(betas), len(alphas)), or (len(alphas),) for a cut
        ``values[j, i]`` is the component at ``center + alphas[i] dir1 + betas[j] dir2``.
    alphas : array (na,)
    betas : array (nb,) or None for a cut
    component : Component
    plane : Plane
    method : "fast" or "generic"
    fallback_points : int
        Grid points the fast path handed to direct evaluation.
    seconds : float
    """

    values: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray | None
    component: Component
    plane: object
    method: str
    fallback_points: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def is_cut(self) -> bool:
        return self.betas is None

    def meta(self) -> dict:
        return {"component": str(self.component), "method": self.method, "fallback_points": self.fallback_points,
                "seconds": self.seconds, "grid": [int(self.alphas.size), 0 if self.betas is None else int(self.betas.size)],
                "alpha_range": [float(self.alphas[0]), float(self.alphas[-1])],
                "beta_range": None if self.betas is None else [float(self.betas[0]), float(self.betas[-1])],
                "plane": {k: v for k, v in self.plane.info.items()}, **self.extra}


@dataclass
class SliceProgress:
    """One step of an evaluation: ``fraction`` done, ``rows_done`` complete rows of
    ``values`` (the rest NaN), ``preview`` (alphas, betas, values) of a coarse grid when
    one has just been computed, and ``result`` on the final step only."""

    fraction: float
    rows_done: int
    values: np.ndarray
    result: Landscape | None = None
    preview: tuple | None = None


# --------------------------------------------------------------------------- public entry points

def iter_slice(objective, plane, alphas, betas=None, component="total", budget_bytes=DEFAULT_BUDGET_BYTES,
               method="auto", preview=True):
    """Evaluate a cut (``betas`` None, or a plane without dir2) or a slice, step by step.

    Parameters
    ----------
    objective : objective (``LinearClassifier`` gets the fast path)
    plane : Plane
    alphas : array (na,) ; betas : array (nb,) or None
    component : str or Component
    budget_bytes : int
        Upper bound on working memory (scores, chunks, intermediate grids).
    method : "auto", "fast" or "generic"
    preview : bool
        Compute a coarse grid first where the fast paths can (a step's ``preview``), for a
        caller that shows it while the rest computes; a caller that only wants the result
        saves its work (a quarter of a 101 x 101 digits slice).

    Yields
    ------
    SliceProgress, the last one with ``result`` set.
    """
    component = component if isinstance(component, Component) else Component.parse(component)
    component.check(objective)
    alphas = np.asarray(alphas, dtype=np.float64)
    cut = betas is None or plane.is_line
    betas_eval = np.zeros(1) if cut else np.asarray(betas, dtype=np.float64)
    for name, axis in (("a", alphas), ("b", betas_eval)):
        if axis.ndim != 1 or axis.size < 1 or not np.all(np.isfinite(axis)) or np.any(np.diff(axis) <= 0):
            raise HillwalkError(f"the {name} axis must be finite, increasing values")
    if budget_bytes < 1:
        raise HillwalkError(f"the memory budget must be positive, got {budget_bytes}")
    if method not in ("auto", "fast", "generic"):
        raise HillwalkError(f"unknown evaluation method {method!r}")
    refusal = fast_path_refusal(objective, component)
    if method == "fast" and refusal is not None:
        raise HillwalkError(f"the fast path cannot evaluate this slice: {refusal}; use method 'generic'")
    use_fast = refusal is None and method != "generic"
    started = time.perf_counter()
    values = np.full((betas_eval.size, alphas.size), np.nan)
    if not use_fast:
        engine = _Generic(objective, plane, alphas, betas_eval, component, budget_bytes)
    elif isinstance(objective, LinearClassifier):
        engine = _FastLinear(objective, plane, alphas, betas_eval, component, budget_bytes)
    else:
        from .network_slice import FastNetwork  # imports this module's helpers
        engine = FastNetwork(objective, plane, alphas, betas_eval, component, budget_bytes)
    engine.preview = preview
    for fraction, rows_done, coarse in engine.run(values):
        yield SliceProgress(fraction, rows_done, values if not cut else values[0], preview=coarse)
    # why a network went the generic way, for the metadata (a user asked for it: none)
    extra = {"fast_path_refused": refusal} if refusal is not None and method == "auto" and \
        objective.is_network else {}
    result = Landscape(values[0].copy() if cut else values, alphas, None if cut else betas_eval, component, plane,
                       "fast" if use_fast else "generic", engine.fallback_points, time.perf_counter() - started,
                       extra)
    yield SliceProgress(1.0, betas_eval.size, result.values, result)


def fast_path_refusal(objective, component) -> str | None:
    """Why ``objective``'s slice of ``component`` cannot take an exact fast path (None when
    it can): linear classifiers always can; networks unless batch norm runs in train mode
    (:meth:`~core.models.network.Network.fast_slice_refusal`); other objectives have none."""
    if isinstance(objective, LinearClassifier):
        return None
    if objective.is_network:
        return objective.fast_slice_refusal(component)
    return "only linear classifiers and networks have one"


def compute_slice(objective, plane, alphas, betas=None, component="total", budget_bytes=DEFAULT_BUDGET_BYTES,
                  method="auto", progress=None, should_stop=None):
    """Run :func:`iter_slice` to the end and return the :class:`Landscape`.

    ``progress(SliceProgress)`` is called on every step (with a coarse preview first where
    the fast paths make one); when ``should_stop()`` returns true the evaluation stops and
    None is returned. Without ``progress`` no preview is computed: nothing would show it.
    """
    for step in iter_slice(objective, plane, alphas, betas, component, budget_bytes, method,
                           preview=progress is not None):
        if progress is not None:
            progress(step)
        if step.result is not None:
            return step.result
        if should_stop is not None and should_stop():
            return None
    return None  # pragma: no cover - iter_slice always ends with a result


def evaluate_point(objective, theta, component):
    """The textbook value of a component at one parameter vector: form ``theta`` and
    evaluate the objective from scratch (``O(N C D)`` for a linear classifier)."""
    component = component if isinstance(component, Component) else Component.parse(component)
    if component.kind == "total":
        return objective.loss(theta)
    if component.kind == "accuracy":
        return objective.accuracy(theta, "train")
    if component.kind == "example":
        return float(objective.per_example_losses(theta)[component.index])
    return objective.components(theta)[component.kind]


def reference_slice(objective, plane, alphas, betas=None, component="total", points=None):
    """The textbook evaluation, point by point (for tests and benchmarks).

    ``points`` (an int array of flat grid indices) restricts the work to a sample; the
    other entries are NaN.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    betas_eval = np.zeros(1) if betas is None or plane.is_line else np.asarray(betas, dtype=np.float64)
    values = np.full((betas_eval.size, alphas.size), np.nan)
    chosen = range(values.size) if points is None else points
    for flat in chosen:
        j, i = divmod(int(flat), alphas.size)
        values[j, i] = evaluate_point(objective, plane.point(alphas[i], betas_eval[j]), component)
    return values[0] if betas is None or plane.is_line else values


# --------------------------------------------------------------------------- generic path

class _Generic:
    """Any objective: evaluate the component at every grid point, a row at a time, in
    chunks of points when the objective has ``evaluate_batch(thetas, component)`` (and
    ``bytes_per_point()`` to size them under the budget), else point by point."""

    def __init__(self, objective, plane, alphas, betas, component, budget_bytes):
        self.objective, self.plane, self.alphas, self.betas = objective, plane, alphas, betas
        self.component = component
        self.fallback_points = 0
        self.batch = objective.evaluate_batch if objective.has_batch_evaluation else None
        # only objectives whose evaluate_batch takes ``workers`` share a chunk among threads
        self.threaded = self.batch is not None and "workers" in inspect.signature(self.batch).parameters
        self.budget_bytes = budget_bytes

    def _evaluate(self, thetas):
        parallel = get_parallelism()
        if parallel.workers == 1 or not self.threaded:
            return self.batch(thetas, self.component)
        with parallel.blas_limit() if parallel.blas_limit is not None else contextlib.nullcontext():
            return self.batch(thetas, self.component, workers=parallel.workers)

    def run(self, values):
        total = values.size
        row_points = self.alphas.size
        if self.batch is not None:
            yield from self._run_batched(values)
            return
        for j, b in enumerate(self.betas):
            for i, a in enumerate(self.alphas):
                values[j, i] = evaluate_point(self.objective, self.plane.point(a, b), self.component)
                if i % 16 == 15:
                    yield (j * row_points + i + 1) / total, j, None
            yield (j + 1) * row_points / total, j + 1, None

    def _run_batched(self, values):
        """Chunks of grid points in row-major order (a chunk may span rows), sized by the
        budget: the parameter vectors and what the objective needs per point."""
        total = values.size
        per_point = 2 * 8 * self.plane.center.size + self.objective.bytes_per_point()
        per_chunk = min(total, max(1, int(self.budget_bytes // per_point)))
        buffer = np.empty((per_chunk, self.plane.center.size))  # reused: fresh arrays cost page faults
        flat_values = values.reshape(-1)
        for start in range(0, total, per_chunk):
            stop = min(start + per_chunk, total)
            thetas = buffer[:stop - start]
            self._fill(thetas, start)
            flat_values[start:stop] = self._evaluate(thetas.reshape((stop - start,) + self.plane.center.shape))
            yield stop / total, stop // self.alphas.size, None

    def _fill(self, thetas, first):
        """thetas[k] = the parameters of flat grid point first + k, by the same operations,
        in the same order, as ``plane.point(a, b)``."""
        if thetas.shape[0] == 0:
            return
        rows, columns = np.divmod(np.arange(first, first + thetas.shape[0]), self.alphas.size)
        np.multiply(self.alphas[columns][:, None], self.plane.dir1.reshape(1, -1), out=thetas)
        thetas += self.plane.center.reshape(1, -1)
        if self.plane.dir2 is None:
            return
        dir2 = self.plane.dir2.reshape(-1)
        edges = [0, *(np.flatnonzero(np.diff(rows)) + 1), rows.size]
        for low, high in zip(edges[:-1], edges[1:]):  # row by row: b * dir2 is one vector
            b = self.betas[rows[low]]
            if b != 0:
                thetas[low:high] += b * dir2


# --------------------------------------------------------------------------- fast linear path

class ReluSweep:
    """``sum_k max(0, offsets[k] + x * slopes[k])`` for every x of an increasing grid,
    for fixed slopes and many offset vectors (one per grid row).

    Each term is zero on one side of its breakpoint ``-offset/slope`` and linear on the
    other, so binning the breakpoints on the grid and taking prefix sums of the active
    offsets and slopes gives all n grid values in ``O(K + n)`` instead of ``O(K n)``.
    On a uniform grid the bin of a breakpoint is arithmetic; otherwise a binary search.

    Parameters
    ----------
    slopes : array (K,)
    xs : increasing array (n,)
    """

    def __init__(self, slopes, xs):
        self.xs = xs
        n = self.n = xs.size
        slopes = np.asarray(slopes, dtype=np.float64).ravel()
        flat = slopes == 0
        self.flat_index = np.flatnonzero(flat)
        self.slopes = slopes
        self.terms = slopes.size
        rising = slopes > 0
        step = (xs[-1] - xs[0]) / (n - 1) if n > 1 else 1.0
        self.uniform = n > 1 and bool(np.allclose(np.diff(xs), step, rtol=1e-9, atol=0))
        inverse = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, slopes))
        # Bins 0..n hold rising terms by start index (active for x_k > break, k >= start),
        # bins n+1..2n+1 falling terms by stop index (active for x_k < break, k < stop).
        # On a uniform grid, with p = (break - x0) / step: start = floor(p) + 1 and
        # stop = ceil(p) = -floor(-p). With sign = +1 (rising) or -1 (falling),
        # q = floor(sign * p) = floor(offset * scale + shift) and bin = base + sign * q.
        sign = np.where(rising, 1.0, -1.0)
        self.scale = -sign * inverse / step
        self.shift = np.full(slopes.size, -xs[0] / step) * sign
        self.base = np.where(rising, 1.0, float(n + 1))
        self.sign = sign
        self.low = np.where(rising, 0.0, float(n + 1))
        self.high = np.where(rising, float(n), float(2 * n + 1))
        self.rising = rising
        self.inverse = inverse

    def _bins(self, offsets):
        n = self.n
        if self.uniform:
            q = offsets * self.scale
            q += self.shift
            np.floor(q, out=q)
            q *= self.sign
            q += self.base
            np.clip(q, self.low, self.high, out=q)
            bins = q.astype(np.int64)
        else:
            breaks = -offsets * self.inverse
            bins = np.where(self.rising, np.searchsorted(self.xs, breaks, side="right"),
                            np.searchsorted(self.xs, breaks, side="left") + (n + 1))
        if self.flat_index.size:  # constant terms: positive ones count everywhere (rising from bin 0)
            bins[self.flat_index] = np.where(offsets[self.flat_index] > 0, 0, n)
        return bins

    def __call__(self, offsets):
        """Values (n,) and an estimate of their rounding error (n,) for one offset vector."""
        n = self.n
        offsets = np.asarray(offsets, dtype=np.float64).ravel()
        with np.errstate(invalid="ignore", over="ignore"):
            bins = self._bins(offsets)
        offset_bins = np.bincount(bins, weights=offsets, minlength=2 * n + 2)
        slope_bins = np.bincount(bins, weights=self.slopes, minlength=2 * n + 2)
        rise_offsets = np.cumsum(offset_bins[:n])
        rise_slopes = np.cumsum(slope_bins[:n])
        # a falling term with stop index s (0..n) is active for k < s: sums over s > k
        fall = np.cumsum(offset_bins[n + 1:])
        fall_slope_cum = np.cumsum(slope_bins[n + 1:])
        fall_offsets = fall[-1] - fall[:n]
        fall_slope_sums = fall_slope_cum[-1] - fall_slope_cum[:n]
        total_slopes = rise_slopes + fall_slope_sums
        values = rise_offsets + fall_offsets + self.xs * total_slopes
        # For an active term |offset| <= term + |x| |slope|, so the rounding error of the
        # sums is bounded by a multiple of eps * (value + 2 |x| sum |active slopes|).
        active_abs_slopes = rise_slopes - fall_slope_sums
        bound = 8 * EPS * math.sqrt(self.terms + 1) * (np.abs(values) + 2 * np.abs(self.xs) * active_abs_slopes)
        return np.maximum(values, 0.0), bound


def relu_sweep(offsets, slopes, xs):
    """One-off :class:`ReluSweep`: (values (n,), error bound (n,))."""
    return ReluSweep(slopes, xs)(offsets)


def in_order(count, compute, make_item, workers):
    """Yield items 0 .. ``count`` - 1 in order, item k filled by ``compute(k, item)``; a
    generator.

    With ``workers`` > 1, that many threads ("hillwalk-slice-...") compute ahead (NumPy
    releases the GIL in its products and ufuncs), each into one of ``workers + 2`` items
    made by ``make_item()``: an item is reused once the consumer asks for the next one, so
    at most that many wait. The items come out in order, whichever thread filled them.
    Closing the generator stops the threads after their current item and joins them (see
    :func:`slice_threads`); an error in a thread is raised here."""
    if workers <= 1 or count <= 1:
        item = make_item() if count else None
        for k in range(count):
            compute(k, item)
            yield item
        return
    free = queue.SimpleQueue()
    for _ in range(workers + 2):
        free.put(make_item())
    ready, failure = {}, []
    arrived = threading.Condition()
    indices = itertools.count()       # next() on it is one step under the GIL: no lock
    stopping = threading.Event()

    def work():
        while True:
            item = free.get()
            if item is None or stopping.is_set():
                return
            # an index is taken only with an item in hand: the one the consumer waits for
            # is always being computed, so it arrives
            k = next(indices)
            if k >= count:
                return
            try:
                compute(k, item)
            except BaseException as error:   # raised by the consumer
                with arrived:
                    failure.append(error)
                    arrived.notify()
                return
            with arrived:
                ready[k] = item
                arrived.notify()

    with slice_threads(work, workers, free, stopping):
        for k in range(count):
            with arrived:
                while k not in ready and not failure:
                    arrived.wait()
                if failure:
                    raise failure[0]
                item = ready.pop(k)
            yield item
            free.put(item)


@contextlib.contextmanager
def slice_threads(work, count, tasks, stopping):
    """Run ``work`` in ``count`` threads ("hillwalk-slice-k") while the block runs; at its
    end set ``stopping``, put one None per thread on ``tasks`` (the queue they wait on) and
    join them. The threads are daemons: a slice paused inside the block and still
    referenced when the interpreter exits (from a stored traceback, say) must not keep it
    from exiting, as threads waiting on ``tasks`` would if they were not."""
    threads = [threading.Thread(target=work, name=f"hillwalk-slice-{k}", daemon=True) for k in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for _ in threads:
            tasks.put(None)
        for thread in threads:
            thread.join()


def stack_depth(tile_bytes):
    """Examples per stacked product of a tile of ``tile_bytes``: 16, 8 or 4 (a power of
    two, so that a group of PRODUCT_GROUP splits evenly) when that many tiles fit in
    STACK_BYTES, else 1. Measured with two workers (medians of 8 and 4 pairs): on a digits
    101 x 101 slice (one 82 KB tile) 8 took 0.76-0.83 of the time of 3 (one 256 KB
    stack); at 401 x 401 (260 KB tiles) stacks of 2 took 1.1-1.2 of the time of none:
    they push the working set out of the core's cache."""
    for depth in (16, 8, 4):
        if depth <= PRODUCT_GROUP and depth * tile_bytes <= STACK_BYTES:
            return depth
    return 1


def _product_of_stack(stacked, out):
    """``out`` (r, c) = the product of ``stacked`` (d, r, c), d >= 2, which it overwrites:
    halves multiplied together, log2(d) whole-array multiplies (``np.multiply.reduce``
    over the first axis took twice as long for d = 2)."""
    depth = stacked.shape[0]
    while depth > 2:
        half = depth // 2
        stacked[:half] *= stacked[depth - half:depth]   # (an odd one in the middle stays)
        depth -= half
    np.multiply(stacked[0], stacked[1], out=out)


class _SoftmaxPart:
    """One chunk of examples' share of a block (nbk rows x na columns) of the factorized
    softmax: the product of its ``T_i`` as ``mantissa`` (nbk, na) in [0.5, 1) times 2 to the
    ``exponent`` (nbk, na); ``lows``, (rows, mask) where a group product was too small (1
    there: those points are recomputed directly); ``shift_rows`` (nbk,) and ``shift_cols``
    (na,), the sums of the chunk's shifts n_i(b) and m_i(a)."""

    __slots__ = ("mantissa", "exponent", "lows", "shift_rows", "shift_cols")

    def __init__(self, shape):
        self.mantissa = np.empty(shape)
        self.exponent = np.empty(shape, dtype=np.intc)
        self.lows = []
        self.shift_rows = self.shift_cols = None


class _FastLinear:
    """Exact fast evaluation for :class:`~core.models.objectives.LinearClassifier`.

    Scores are taken relative to the correct class, ``S'_ic = S_ic - S_iy``, so that
    ``S'_iy = 0`` and every shift used below is >= 0:

    * softmax ``L_i = log sum_c exp(S'0 + a S'1 + b S'2)``. With
      ``n_i(b) = max_c (S'0 + b S'2)`` and ``m_i(a) = max_c a S'1`` (both >= 0),
      ``L_i = n_i(b) + m_i(a) + log T_i(a, b)`` where
      ``T_i = sum_c exp(S'0 + b S'2 - n_i(b)) * exp(a S'1 - m_i(a))``: for all grid points
      at once a batched matrix product, with exponentials per row and per column only.
      ``sum_i log T_i`` is the log of a product, accumulated with ``frexp`` so that only
      one logarithm per grid point is taken.
    * SVM: along a row (fixed b) each hinge term is ``max(0, M + a G)``: :func:`relu_sweep`.
    * accuracy: an example is right where all ``S'_ic < 0`` (c != y), an interval in a;
      counting intervals that contain each grid point is a prefix sum.
    * L2: a quadratic polynomial in (a, b); L1: a relu sweep over the parameters.

    Grid points where an exponential sum underflows or where cancellation could cost
    more than ``ACCURACY_GUARD`` of the value are recomputed directly from the scores.
    """

    def __init__(self, objective, plane, alphas, betas, component, budget_bytes):
        self.objective, self.plane, self.alphas, self.betas = objective, plane, alphas, betas
        self.component = component
        self.budget_bytes = budget_bytes
        self.fallback_points = 0
        self.preview = True   # a coarse grid first (iter_slice sets it)
        self.C = objective.param_shape[0]
        self.N = objective.n_train
        d2 = plane.dir2 if plane.dir2 is not None else np.zeros_like(plane.dir1)
        self.directions = np.stack([plane.center.reshape(self.objective.param_shape),
                                    plane.dir1.reshape(self.objective.param_shape),
                                    d2.reshape(self.objective.param_shape)])
        na, nb = alphas.size, betas.size
        # Memory plan. Relative scores (3 N C floats) are kept when they fit in a quarter of
        # the budget, else recomputed chunk by chunk from X. Rows come in blocks (about
        # eight per slice, so partial rows arrive as the work goes on) whose accumulators
        # fit in a quarter of the budget; examples come in chunks whose arrays fit in half
        # of it and whose work is small enough that a step takes tens of milliseconds,
        # which keeps cancellation prompt.
        score_bytes = 3 * self.N * self.C * 8
        self.cache_scores = score_bytes <= budget_bytes // 4
        block_bytes_per_row = 8 * na * (PRODUCT_GROUP + 6)
        self.factorized = component.kind in ("data", "total") and objective.loss_name == "softmax"
        # The factorized softmax computes its column exponentials once per block: one
        # block for the whole grid (after a coarse preview); the sweeps rebuild cheaply.
        wanted_rows = nb if self.factorized else max(1, -(-nb // 8))
        self.rows_per_block = int(max(1, min(wanted_rows, budget_bytes // 4 // block_bytes_per_row)))
        nbk = self.rows_per_block
        if self.factorized:
            per_example_bytes, per_example_work = 8 * self.C * (na + nbk + 4), nbk * na * self.C
        else:
            per_example_bytes, per_example_work = 8 * self.C * 16, nbk * self.C * 16
        fitting = budget_bytes // 2 // per_example_bytes
        chunk = min(fitting, WORK_PER_STEP // max(1, per_example_work))
        if self.factorized and fitting >= PRODUCT_GROUP:
            # the product of T_i is renormalized once per group: a chunk smaller than a group
            # would pay a frexp over the whole grid for every couple of examples
            chunk = max(chunk, PRODUCT_GROUP)
        self.chunk = int(max(1, min(self.N, chunk)))
        # rows per tile (TILE_BYTES of accumulators), and examples per stacked product
        self._tile_rows = int(max(1, min(nbk, TILE_BYTES // (8 * na))))
        self._stack_depth = stack_depth(8 * self._tile_rows * na)
        if self.chunk >= PRODUCT_GROUP:
            self.chunk -= self.chunk % PRODUCT_GROUP
        # The factorized softmax shares its chunks among as many workers as have a chunk's
        # arrays in half the budget. The chunks do not depend on the number of workers, so
        # neither do the values.
        self.parallelism = get_parallelism()
        self.workers = int(max(1, min(self.parallelism.workers, fitting // self.chunk))) if self.factorized else 1
        self._scores = None

    # ----------------------------------------------------------------- scores
    def _relative_scores(self, start, stop):
        """S'0, S'1, S'2 of examples start..stop (each (n, C)) and their labels."""
        if self.cache_scores:
            if self._scores is None:
                self._scores = self._compute_scores(0, self.N)
            s0, s1, s2 = (s[start:stop] for s in self._scores)
            return s0, s1, s2
        return self._compute_scores(start, stop)

    def _compute_scores(self, start, stop):
        X = self.objective.X[start:stop]
        y = self.objective.y[start:stop]
        stacked = X @ self.directions.reshape(3 * self.C, -1).T       # (n, 3C): one pass over X
        rows = np.arange(stop - start)
        out = []
        for k in range(3):
            S = stacked[:, k * self.C:(k + 1) * self.C]
            out.append(S - S[rows, y][:, None])
        return tuple(out)

    def _chunks(self):
        for start in range(0, self.N, self.chunk):
            yield start, min(self.N, start + self.chunk)

    # ----------------------------------------------------------------- driver
    def run(self, values):
        """Fill ``values`` (nb, na); yield (fraction, complete rows, preview or None)."""
        kind = self.component.kind
        nb = self.betas.size
        if kind == "example":
            values[:] = self._example_grid()
            yield 1.0, nb, None
            return
        stride = max(1, round(min(nb, self.alphas.size) / 25))
        preview_share = 0.0
        if self.preview and self.factorized and stride > 1 and self.rows_per_block == nb:
            coarse = _FastLinear(self.objective, self.plane, self.alphas[::stride], self.betas[::stride],
                                 self.component, self.budget_bytes)
            coarse._scores = self._scores = self._scores if self._scores is not None else (
                self._compute_scores(0, self.N) if self.cache_scores else None)
            coarse_values = np.full((coarse.betas.size, coarse.alphas.size), np.nan)
            preview_share = 1.0 / (stride * stride)
            for fraction, _, _ in coarse.run(coarse_values):
                yield preview_share * fraction * 0.999, 0, None
            # (the preview's points recomputed directly are not the landscape's: not counted)
            yield preview_share, 0, (coarse.alphas, coarse.betas, coarse_values)
        n_chunks = -(-self.N // self.chunk)
        steps = max(1, nb * (n_chunks if kind in ("data", "total", "accuracy") else 1))
        done = 0
        for row0 in range(0, nb, self.rows_per_block):
            rows = slice(row0, min(nb, row0 + self.rows_per_block))
            block_b = self.betas[rows]
            if kind == "reg":
                values[rows] = self._regularization(block_b)
                done += block_b.size
                yield preview_share + (1 - preview_share) * done / steps, rows.stop, None
                continue
            block = None
            for progress_rows, partial in self._data_block(block_b):
                done += progress_rows
                block = partial
                if partial is None:
                    yield preview_share + (1 - preview_share) * min(done / steps, 0.999), row0, None
            if kind == "total":
                block = block + self._regularization(block_b)
            values[rows] = block
            yield preview_share + (1 - preview_share) * min(done / steps, 1.0), rows.stop, None

    # ----------------------------------------------------------------- data loss and accuracy
    def _data_block(self, block_b):
        """Yield (progress units, None) per example chunk, then (0, block values)."""
        kind = self.component.kind
        loss = self.objective.loss_name
        nbk, na = block_b.size, self.alphas.size
        if kind == "accuracy":
            counts = np.zeros((nbk, na))
            for start, stop in self._chunks():
                s0, s1, s2 = self._relative_scores(start, stop)
                counts += self._accuracy_counts(s0, s1, s2, block_b, self.objective.y[start:stop])
                yield nbk, None
            yield 0, counts / self.N
            return
        if loss == "svm":
            sums = np.zeros((nbk, na))
            bounds = np.zeros((nbk, na))
            for start, stop in self._chunks():
                s0, s1, s2 = self._relative_scores(start, stop)
                part, bound = self._svm_rows(s0, s1, s2, block_b, self.objective.y[start:stop])
                sums += part
                bounds += bound
                yield nbk, None
            result = sums / self.N
            suspicious = bounds / self.N > ACCURACY_GUARD * np.abs(result)
        else:
            mantissa = np.ones((nbk, na))
            exponent = np.zeros((nbk, na), dtype=np.int64)
            carried = np.empty((nbk, na), dtype=np.intc)   # frexp's exponents
            shift_rows = np.zeros(nbk)        # sum_i n_i(b)
            shift_cols = np.zeros(na)         # sum_i m_i(a)
            underflow = np.zeros((nbk, na), dtype=bool)
            # The chunks' parts are multiplied in in order, whichever thread computed them:
            # the values do not depend on the number of threads. Each part's mantissa is at
            # least 1/2, so the product is renormalized only every RENORMALIZE_EVERY parts.
            for count, part in enumerate(self._softmax_parts(block_b), 1):
                mantissa *= part.mantissa
                exponent += part.exponent
                if count % RENORMALIZE_EVERY == 0:
                    np.frexp(mantissa, out=(mantissa, carried))
                    exponent += carried
                for rows, low in part.lows:
                    underflow[rows] |= low
                shift_rows += part.shift_rows
                shift_cols += part.shift_cols
                yield nbk, None
            log_sum = np.log(mantissa) + exponent * math.log(2.0)
            total = log_sum + shift_rows[:, None] + shift_cols[None, :]
            result = total / self.N
            # Rounding: each T_i carries ~(C + 2) eps relative error, the product N eps, and
            # the final sum eps times the size of its parts.
            bound = EPS * (self.N * (self.C + 4) + 4 * (np.abs(log_sum) + shift_rows[:, None]
                                                       + shift_cols[None, :])) / self.N
            suspicious = underflow | (bound > ACCURACY_GUARD * np.abs(result))
        if suspicious.any():
            result = self._direct_fix(result, suspicious, block_b)
        yield 0, result

    def _softmax_parts(self, block_b):
        """For each chunk of examples, in order, its :class:`_SoftmaxPart` on ``block_b``'s
        rows; a generator. A part is reused once the next one is asked for.

        The chunks are shared among the process's :class:`Parallelism` workers (NumPy
        releases the GIL in the products and ufuncs), with BLAS held to one thread: the
        products are (rows x C) (C x na), too small for BLAS's own threads. On the
        project's 2-core machine two workers took 0.76-0.89 of one worker's time on a
        digits 101 x 101 slice and 0.75-0.78 at 401 x 401 (medians of 4-12 alternating
        pairs, in several runs), once OpenBLAS's idle threads no longer busy-wait
        (``hillwalk.blas_setup``): while they did, they held the second core, and two
        workers took 1.1 of one's time."""
        if self.cache_scores:
            self._relative_scores(0, 0)   # the scores are computed once, before any thread reads them
        chunks = list(self._chunks())
        shape = (block_b.size, self.alphas.size)

        hold_blas = self.parallelism.blas_limit or contextlib.nullcontext

        def compute(index, part):
            # held per chunk, not across the generator's pauses: a slice paused, or dropped
            # and not yet collected, holds no limit
            with hold_blas():
                self._softmax_chunk(*chunks[index], block_b, part)

        yield from in_order(len(chunks), compute, lambda: _SoftmaxPart(shape), self.workers)

    def _softmax_chunk(self, start, stop, block_b, part):
        """Fill ``part`` with examples start..stop: the product of their ``T_i``, where a
        group product was too small, and their shifts."""
        s0, s1, s2 = self._relative_scores(start, stop)
        n = stop - start
        col = np.empty((n, self.C, self.alphas.size))         # exp(a S'1 - m(a))
        m = np.empty((n, self.alphas.size))                    # m(a) >= 0
        self._column_factors(s1, col, m)
        part.shift_cols = m.sum(axis=0)
        part.lows = []
        self._softmax_rows(s0, s2, col, block_b, part)

    def _column_factors(self, s1, col, m):
        """``col`` = exp(a S'1 - m(a)) (n, C, na) and ``m`` = max_c a S'1 (n, na)."""
        np.multiply(s1[:, :, None], self.alphas[None, None, :], out=col)
        np.max(col, axis=1, out=m)
        col -= m[:, None, :]
        np.exp(col, out=col)

    def _softmax_rows(self, s0, s2, col, block_b, part):
        """The row factors of ``block_b``'s rows, and the product of the ``T_i`` into
        ``part``."""
        # row factors exp(S'0 + b S'2 - n(b)), stored (n, C, rows): the largest over the
        # classes is then an elementwise maximum of C slices, not a reduction over a short
        # last axis (several times slower)
        row = s2[:, :, None] * block_b[None, None, :]
        row += s0[:, :, None]
        nshift = row.max(axis=1)                             # (n, rows) >= 0
        row -= nshift[:, None, :]
        np.exp(row, out=row)
        part.shift_rows = nshift.sum(axis=0)
        rows_by_class = row.transpose(0, 2, 1)               # (n, rows, C), a view BLAS reads as is
        # The products go a tile of rows at a time, so that a tile's products stay in the
        # core's cache while all the examples pass (a whole 401-point grid does not fit).
        tile = self._tile_rows
        for t0 in range(0, block_b.size, tile):
            rows = slice(t0, min(block_b.size, t0 + tile))
            self._softmax_tile(rows_by_class[:, rows], col, part.mantissa[rows], part.exponent[rows], rows,
                               part.lows)

    def _softmax_tile(self, rows_by_class, col, mantissa, exponent, rows, lows):
        """The product of ``T_i = row_i @ col_i`` ((rows, C) (C, na)) over every example, as
        ``mantissa`` (rows, na) in [0.5, 1) times 2 to the ``exponent``. Where a group
        product is too small it counts as 1, and (``rows``, where) is appended to ``lows``."""
        n = rows_by_class.shape[0]
        # T_i for several examples in one stacked product, multiplied together by halves:
        # a few calls per stack instead of two per example.
        depth = self._stack_depth
        stack = np.empty((depth,) + mantissa.shape) if depth > 1 else None
        product = np.empty_like(mantissa)
        factor = np.empty_like(mantissa)
        carried = np.empty_like(exponent)
        for g in range(0, n, PRODUCT_GROUP):
            end = min(n, g + PRODUCT_GROUP)
            for first in range(g, end, depth):
                last = min(end, first + depth)
                target = product if first == g else factor
                if last - first == 1:
                    np.matmul(rows_by_class[first], col[first], out=target)
                else:
                    stacked = stack[:last - first]
                    np.matmul(rows_by_class[first:last], col[first:last], out=stacked)
                    _product_of_stack(stacked, target)
                if first != g:
                    product *= factor
            # Every T_i <= C, so a group product below 2^-900 means some T_i was tiny enough
            # to threaten precision (or all were small): recompute those points directly.
            # (one pass to look; the points themselves only where there are some)
            if product.min() < GROUP_PRODUCT_MIN:
                low = product < GROUP_PRODUCT_MIN
                lows.append((rows, low))
                product[low] = 1.0
            # frexp is exact: the group's product is kept as mantissa times 2^exponent, and the
            # mantissas, each in [0.5, 1), are multiplied together
            if g == 0:
                np.frexp(product, out=(mantissa, exponent))
            else:
                np.frexp(product, out=(product, carried))
                mantissa *= product
                exponent += carried
                if (g // PRODUCT_GROUP) % RENORMALIZE_EVERY == 0:
                    np.frexp(mantissa, out=(mantissa, carried))
                    exponent += carried
        if n > PRODUCT_GROUP:
            np.frexp(mantissa, out=(mantissa, carried))
            exponent += carried

    def _svm_rows(self, s0, s1, s2, block_b, y):
        n = s0.shape[0]
        keep = np.ones((n, self.C), dtype=bool)
        keep[np.arange(n), y] = False                         # j != y_i
        sweep = ReluSweep(s1[keep], self.alphas)
        sums = np.empty((block_b.size, self.alphas.size))
        bounds = np.empty_like(sums)
        base0, base2 = s0[keep] + self.objective.delta, s2[keep]
        for r, b in enumerate(block_b):
            sums[r], bounds[r] = sweep(base0 + b * base2)
        return sums, bounds

    def _accuracy_counts(self, s0, s1, s2, block_b, y):
        """For each grid point, how many of these examples are classified correctly."""
        n = s0.shape[0]
        keep = np.ones((n, self.C), dtype=bool)
        keep[np.arange(n), y] = False
        slope = s1[keep].reshape(n, self.C - 1)
        counts = np.zeros((block_b.size, self.alphas.size))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for r, b in enumerate(block_b):
                offset = (s0 + b * s2)[keep].reshape(n, self.C - 1)   # right where offset + a slope < 0 for all
                edge = -offset / np.where(slope == 0, 1.0, slope)
                low = np.where(slope < 0, edge, -np.inf).max(axis=1)
                high = np.where(slope > 0, edge, np.inf).min(axis=1)
                never = np.any((slope == 0) & (offset >= 0), axis=1)
                first = np.searchsorted(self.alphas, low, side="right")
                last = np.searchsorted(self.alphas, high, side="left")
                ok = (~never) & (first < last)
                diff = np.bincount(first[ok], minlength=self.alphas.size + 1)[:self.alphas.size + 1] \
                    - np.bincount(last[ok], minlength=self.alphas.size + 1)[:self.alphas.size + 1]
                counts[r] = np.cumsum(diff)[:self.alphas.size]
        return counts

    def _direct_fix(self, result, suspicious, block_b):
        """Recompute flagged grid points from the scores, example chunk by chunk."""
        rows, cols = np.nonzero(suspicious)
        self.fallback_points += rows.size
        sums = np.zeros(rows.size)
        a = self.alphas[cols]
        b = block_b[rows]
        for start, stop in self._chunks():
            s0, s1, s2 = self._relative_scores(start, stop)
            n = stop - start
            y = self.objective.y[start:stop]
            # as many points at once as a quarter of the budget allows
            per_batch = max(1, int(self.budget_bytes // 4 // (8 * n * self.C * 3)))
            for k0 in range(0, rows.size, per_batch):
                ak, bk = a[k0:k0 + per_batch], b[k0:k0 + per_batch]
                scores = (s0[None] + ak[:, None, None] * s1[None] + bk[:, None, None] * s2[None])  # (k, n, C)
                flat = scores.reshape(-1, self.C)
                labels = np.tile(y, ak.size)
                if self.objective.loss_name == "svm":
                    per_example = _svm_per_example(flat, labels, self.objective.delta)
                else:
                    per_example = _softmax_per_example(flat, labels)
                sums[k0:k0 + ak.size] += per_example.reshape(ak.size, n).sum(axis=1)
        result = result.copy()
        result[rows, cols] = sums / self.N
        return result

    # ----------------------------------------------------------------- one example
    def _example_grid(self):
        index = self.component.index
        s0, s1, s2 = (s[0] for s in self._compute_scores(index, index + 1))
        y = self.objective.y[index:index + 1]
        out = np.empty((self.betas.size, self.alphas.size))
        for j, b in enumerate(self.betas):
            scores = s0[None, :] + self.alphas[:, None] * s1[None, :] + b * s2[None, :]   # (na, C)
            labels = np.repeat(y, self.alphas.size)
            if self.objective.loss_name == "svm":
                out[j] = _svm_per_example(scores, labels, self.objective.delta)
            else:
                out[j] = _softmax_per_example(scores, labels)
        return out

    # ----------------------------------------------------------------- regularization
    def _regularization(self, block_b):
        """lam * R(W + a D1 + b D2) for the block's rows, shape (nbk, na)."""
        mask = self.objective.reg_mask
        out, fallback = penalty_grid(self.objective.regularizer, *(d[mask] for d in self.directions), self.alphas,
                                     block_b)
        self.fallback_points += fallback
        return out


def penalty_grid(regularizer, W, D1, D2, alphas, betas):
    """``lam * R(W + a D1 + b D2)`` on a grid, exact to the accuracy guard.

    Parameters
    ----------
    regularizer : Regularizer ; W, D1, D2 : arrays (m,), the penalized entries of the
        centre and the two directions ; alphas (na,), betas (nb,)

    Returns
    -------
    values (nb, na), and how many grid points were summed directly (where the plane
    passes so close to W = 0 that the expanded square, or the L1 sweep, could lose digits)
    """
    reg = regularizer
    out = np.zeros((betas.size, alphas.size))
    fallback = 0
    if not reg.active:
        return out, fallback
    A, B = np.meshgrid(alphas, betas)                    # (nb, na)
    if reg.kind in ("l2", "elastic"):
        weight = 1.0 if reg.kind == "l2" else reg.beta
        terms = np.stack([np.full(A.shape, W @ W), 2 * (W @ D1) * A, 2 * (W @ D2) * B, (D1 @ D1) * A * A,
                          2 * (D1 @ D2) * A * B, (D2 @ D2) * B * B])
        square = terms.sum(axis=0)
        bad = EPS * 16 * np.abs(terms).sum(axis=0) > ACCURACY_GUARD * np.abs(square)
        for j, i in zip(*np.nonzero(bad)):  # the plane passes close to W = 0: sum squares directly
            point = W + A[j, i] * D1 + B[j, i] * D2
            square[j, i] = point @ point
        fallback += int(bad.sum())
        out += reg.lam * weight * np.maximum(square, 0.0)
    if reg.kind in ("l1", "elastic"):
        rising, falling = ReluSweep(D1, alphas), ReluSweep(-D1, alphas)
        for r, bv in enumerate(betas):
            offset = W + bv * D2
            up, bound_up = rising(offset)
            down, bound_down = falling(-offset)
            absolute = up + down
            for i in np.flatnonzero(bound_up + bound_down > ACCURACY_GUARD * absolute):
                absolute[i] = np.abs(offset + alphas[i] * D1).sum()
                fallback += 1
            out[r] += reg.lam * absolute
    return out, fallback
