"""A run's path streamed as increments, and the record that grows from them.

The app shows a run while it is computed. Posting the whole trajectory so far every few
steps costs time quadratic in the steps (each post copies and projects every row again) and
floods the window with redraws; instead :func:`iter_path` yields :class:`PathIncrement`s,
the rows recorded since the previous one, already in the plane's coordinates, at most every
``interval_s`` seconds (by time, not by step count), and :class:`PathRecord` appends them in
amortized constant time per row. The command line runs the same generator to the end, so the
app and ``main.py trace`` cannot drift.

The plane is used through ``center``, ``dir1``, ``dir2`` and ``point(a, b)`` only (any
:class:`core.landscapes.directions.Plane`).
"""
from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import HillwalkError
from .trajectory import PlaneObjective, Run, Trajectory, project_onto_plane

DEFAULT_POST_INTERVAL_S = 0.05   # a partial result at most every 50 ms: the display's pace
CHUNK_TARGET_S = 0.005           # work between two checks of should_stop and of the clock
# A run whose pass over the training data is below this many multiply-adds (examples x
# parameters) takes its steps with the BLAS library held to one thread, where its caller
# gives a limit (core.experiment gives the parallelism's ``blas_limit``: the app's and the
# command line's): the library's threads cost more than they save on such products.
# Measured, 100-300 full-space SGD steps on digits, the default two threads against one: a
# linear model (0.9 M) 222 against 203 ms, a 64-unit net (6.9 M) 200 against 193 ms; but a
# 256-unit net (27.6 M) 537 against 581 ms, and a 512-512 net (433 M) 3477 against 5144 ms.
SMALL_PASS_MULTIPLY_ADDS = 16_000_000
SCALAR_FIELDS = ("loss", "batch_loss", "train_acc", "val_acc", "grad_norm", "step_length", "lr", "gradient_evaluations",
                 "hvps")


def race_walker(objective, plane, start_ab, spec, steps, seed, in_plane=False, **run_options) -> Run:
    """The :class:`Run` of one method of a race from ``center + a d1 + b d2``.

    With ``in_plane`` (and a plane, not a cut) the run optimizes the objective restricted to
    the plane (its parameters are (a, b), so its path lies exactly on the slice); otherwise it
    walks the full parameters from the plane's point (a, b).
    """
    a, b = (float(v) for v in start_ab)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise HillwalkError("the start point must be finite")
    if in_plane and plane.dir2 is not None:
        return Run(PlaneObjective(objective, plane), spec, np.array([a, b]), steps, seed, **run_options)
    return Run(objective, spec, plane.point(a, b), steps, seed, **run_options)


def walks_in_plane(run: Run) -> bool:
    return isinstance(run.objective, PlaneObjective)


@dataclass
class PathIncrement:
    """The rows a run recorded since the previous increment (arrays share their length k).

    Attributes
    ----------
    steps : int array (k,)
    a, b, off_plane : arrays (k,)
        Plane coordinates and relative distance from the plane (0 for in-plane runs).
    loss, batch_loss, train_acc, val_acc, grad_norm, step_length, lr : arrays (k,)
    gradient_evaluations, hvps : arrays (k,), cumulative
    thetas : array (k, *param_shape) or None
        Full parameters of the rows (None for an in-plane run: ``plane.point(a, b)``).
    steps_made : int
        Updates made so far (for progress).
    diverged_at, escaped_at : int or None
    finished : bool
        True on the run's last increment.
    """

    steps: np.ndarray
    a: np.ndarray
    b: np.ndarray
    off_plane: np.ndarray
    loss: np.ndarray
    batch_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    grad_norm: np.ndarray
    step_length: np.ndarray
    lr: np.ndarray
    thetas: np.ndarray | None
    steps_made: int
    diverged_at: int | None
    escaped_at: int | None
    finished: bool
    loss_evaluations: int = 0
    # cumulative gradient evaluations and Hessian-vector products at each row (the work
    # behind the steps: a second-order step's line search and products count too)
    gradient_evaluations: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hvps: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def size(self) -> int:
        return int(self.steps.size)


def take_increment(run: Run, plane, cursor: int) -> tuple[PathIncrement, int]:
    """The rows of ``run`` from recorded row ``cursor`` on, and the next cursor.

    Only rows whose parameters were kept are included (see ``Run.record_every``), so every
    row has a position on the plane.
    """
    rows = run.recorded_rows(cursor)
    thetas = rows.pop("thetas")
    if walks_in_plane(run):
        ab = thetas.reshape(-1, 2)
        a, b, off, full = ab[:, 0].copy(), ab[:, 1].copy(), np.zeros(ab.shape[0]), None
    elif thetas.shape[0]:
        projection = project_onto_plane(thetas, plane)
        a, b, off, full = projection.a, projection.b, projection.relative_distance, thetas
    else:
        a = b = off = np.zeros(0)
        full = thetas
    increment = PathIncrement(steps=rows["steps"], a=a, b=b, off_plane=off,
                              **{name: rows[name] for name in SCALAR_FIELDS}, thetas=full,
                              steps_made=run.t, diverged_at=run.diverged_at,
                              escaped_at=getattr(run, "escaped_at", None), finished=run.finished,
                              loss_evaluations=run.optimizer.loss_evaluations)
    return increment, cursor + increment.size


class TurnGate:
    """A gate that at most ``size`` threads hold at once, served in the order they came.

    A plain semaphore lets the thread that releases it take it straight back (the others
    are still waking up): with runs that share one, the first run held it for 200 ms while
    the others' first segments waited. Here a release hands the place to the longest
    waiting thread, and a thread that comes back queues behind it, so runs that share the
    gate advance chunk by chunk in turn.
    """

    def __init__(self, size: int = 1):
        if int(size) != size or size < 1:
            raise HillwalkError(f"a gate needs room for at least one thread, got {size}")
        self._lock = threading.Lock()
        self._free = int(size)
        self._waiting = collections.deque()
        self._held_off = 0

    def __enter__(self):
        with self._lock:
            if self._free > 0 and not self._waiting and not self._held_off:
                self._free -= 1
                return self
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()   # set by the release that hands this thread the place
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._free += 1
            self._hand_over()
        return False

    def _hand_over(self):
        while self._free > 0 and self._waiting and not self._held_off:
            self._free -= 1
            self._waiting.popleft().set()

    def hold_off(self):
        """Let no thread in until the returned ``release()`` is called (holds nest; a
        thread inside finishes its turn). For work that must go first: the app's slice,
        cut and contours hold the race's runs off until they have something to show.
        ``release`` may be called more than once."""
        with self._lock:
            self._held_off += 1
        released = []

        def release():
            with self._lock:
                if released:
                    return
                released.append(True)
                self._held_off -= 1
                self._hand_over()

        return release


def ends_within(run: Run, steps_made: int, seconds: float, interval_s: float) -> bool:
    """Whether ``run``, which made its last ``steps_made`` steps in ``seconds`` (waits
    included), will have made its remaining steps within ``interval_s`` at that pace."""
    if steps_made <= 0 or seconds <= 0:
        return False
    return (run.steps - run.t) * seconds / steps_made < interval_s


def blas_hold(run: Run, blas_limit=None):
    """What a run's steps are taken in: a callable returning a context manager,
    ``blas_limit`` (a callable returning one that holds the BLAS library to one thread, or
    None) for a run of small products (see SMALL_PASS_MULTIPLY_ADDS), else one that holds
    nothing."""
    model = run.objective.objective if isinstance(run.objective, PlaneObjective) else run.objective
    if blas_limit is None or model.n_train * model.size >= SMALL_PASS_MULTIPLY_ADDS:
        return contextlib.nullcontext
    return blas_limit


def iter_path(run: Run, plane, should_stop=None, interval_s: float = DEFAULT_POST_INTERVAL_S, clock=time.monotonic,
              release: bool = True, gate=None, blas_limit=None):
    """Advance ``run`` to its end, yielding :class:`PathIncrement`s.

    The first increment comes after the first few steps (the first visible piece at once),
    then at most one every ``interval_s`` seconds, and a last one (``finished`` true) at the
    end; a post that the last would follow within ``interval_s``, at the pace since the
    post before, is left out (its rows come with the next, at most two intervals after
    the post before). Work is done in chunks of about ``CHUNK_TARGET_S`` seconds, between which
    ``should_stop()`` is checked: a cancelled run stops within a few milliseconds and yields
    nothing more. With ``release`` the run forgets the parameters it has handed over, so a
    long run's parameters are held once (in the consumer's record), not twice.

    ``gate`` (a context manager, e.g. a semaphore shared by the runs of a race) is held
    around each chunk of work: runs that share it take turns, chunk by chunk, so they advance
    side by side while fewer of them compete at once for the interpreter. ``blas_limit``
    (see :func:`blas_hold`) is held around each chunk of a run of small products.
    """
    gate = gate if gate is not None else contextlib.nullcontext()
    hold_blas = blas_hold(run, blas_limit)
    # two steps first: the first post needs two rows (see below), and waiting for a second
    # turn at the gate delayed the first piece of the last of four runs by a round of turns
    cursor, chunk, last_post = 0, 2, -math.inf
    posted_at_step = run.t
    while not run.finished:
        if should_stop is not None and should_stop():
            return
        with gate:
            if should_stop is not None and should_stop():   # stopped while it waited its turn
                return
            started = clock()
            with hold_blas():
                run.advance(chunk)
            spent = clock() - started
        # Grow or shrink the chunk towards CHUNK_TARGET_S of work, by at most a factor 2.
        if spent < CHUNK_TARGET_S / 2:
            chunk *= 2
        elif spent > CHUNK_TARGET_S * 2 and chunk > 1:
            chunk //= 2
        if run.finished:
            break
        # the first post waits for two steps: a step's row is recorded with the next one,
        # and a first piece of one row (the start) would show no segment at all
        now = clock()
        if now - last_post >= interval_s and (last_post > -math.inf or run.t >= 2):
            if (last_post > -math.inf and now - last_post < 2 * interval_s
                    and ends_within(run, run.t - posted_at_step, now - last_post, interval_s)):
                # the last increment follows within the interval at the pace since the last
                # post: a post now would only make the consumer redraw once more meanwhile
                # (each redraw held the interpreter the run needs; measured: the whole path
                # of a 300-step run came 20 ms later after a post 17 ms before its end).
                # Rows are held back two intervals at most, should the steps then slow down.
                continue
            increment, cursor = take_increment(run, plane, cursor)
            if release:
                run.release_recorded(cursor)
            last_post, posted_at_step = clock(), run.t
            yield increment
    increment, cursor = take_increment(run, plane, cursor)
    if release:
        run.release_recorded(cursor)
    yield increment


class PathRecord:
    """A run's rows in plane coordinates, grown by :class:`PathIncrement`s.

    Storage doubles when full, so appending is amortized O(rows added); the attributes
    below are views of the rows so far (no copy).

    Attributes
    ----------
    steps : int array (R,)
    a, b, off_plane, loss, batch_loss, train_acc, val_acc, grad_norm, step_length, lr : arrays (R,)
    diverged_at, escaped_at : int or None
    finished : bool
    """

    def __init__(self, plane, in_plane: bool, label: str = "", method: str = ""):
        self.plane, self.in_plane, self.label, self.method = plane, bool(in_plane), label, method
        self._size = 0
        self._columns = {"steps": np.zeros(0, dtype=np.int64)}
        for name in ("a", "b", "off_plane", *SCALAR_FIELDS):
            self._columns[name] = np.zeros(0)
        self._thetas = None
        self.diverged_at = None
        self.escaped_at = None
        self.finished = False
        self.steps_made = 0
        self.loss_evaluations = 0

    def __len__(self):
        return self._size

    def extend(self, increment: PathIncrement):
        """Append the increment's rows and take its status."""
        k, n = increment.size, self._size
        if n + k > self._columns["steps"].size:
            capacity = max(64, 2 * (n + k))
            for name, column in self._columns.items():
                grown = np.empty(capacity, dtype=column.dtype)
                grown[:n] = column[:n]
                self._columns[name] = grown
            if increment.thetas is not None:
                grown = np.empty((capacity,) + increment.thetas.shape[1:])
                if self._thetas is not None:
                    grown[:n] = self._thetas[:n]
                self._thetas = grown
        for name, column in self._columns.items():
            column[n:n + k] = getattr(increment, name)
        if increment.thetas is not None and k:
            self._thetas[n:n + k] = increment.thetas
        self._size = n + k
        self.diverged_at, self.escaped_at = increment.diverged_at, increment.escaped_at
        self.finished = increment.finished
        self.steps_made = increment.steps_made
        self.loss_evaluations = increment.loss_evaluations

    def __getattr__(self, name):
        columns = self.__dict__.get("_columns")
        if columns is not None and name in columns:
            return columns[name][:self._size]
        raise AttributeError(name)

    @property
    def ended(self) -> bool:
        """Finished, diverged or escaped: no more rows will come."""
        return self.finished or self.diverged_at is not None or self.escaped_at is not None

    def theta_at(self, row: int) -> np.ndarray:
        """The full parameters of recorded row ``row`` (a copy)."""
        if not 0 <= row < self._size:
            raise HillwalkError(f"row {row} is outside the {self._size} recorded rows")
        if self.in_plane:
            return self.plane.point(float(self.a[row]), float(self.b[row]))
        return self._thetas[row].copy()

    @property
    def thetas(self) -> np.ndarray:
        """Full parameters of every row, shape (R, *param_shape). For an in-plane run they
        are formed from (a, b) on each call: use :meth:`theta_at` for one row."""
        if self.in_plane:
            if not self._size:
                return np.zeros((0,) + self.plane.center.shape)
            return np.stack([self.plane.point(a, b) for a, b in zip(self.a, self.b)])
        if self._thetas is None:
            return np.zeros((0,) + self.plane.center.shape)
        return self._thetas[:self._size]

    def trajectory(self) -> Trajectory:
        """The rows as a :class:`Trajectory` (what ``trace`` writes); an in-plane run's
        parameters are its (a, b) coordinates, as ``trace --session`` records them."""
        thetas = np.c_[self.a, self.b] if self.in_plane else self.thetas.copy()
        return Trajectory(steps=self.steps.copy(), thetas=thetas, loss=self.loss.copy(),
                          batch_loss=self.batch_loss.copy(), train_acc=self.train_acc.copy(),
                          val_acc=self.val_acc.copy(), grad_norm=self.grad_norm.copy(),
                          step_length=self.step_length.copy(), lr=self.lr.copy(),
                          diverged_at=self.diverged_at, label=self.label, method=self.method,
                          loss_evaluations=self.loss_evaluations, escaped_at=self.escaped_at)
