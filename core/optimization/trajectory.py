"""Running optimizers and recording their paths; races; projecting paths onto planes.

A :class:`Run` walks one optimizer on one objective from one start, a few steps at a time
(so a GUI can animate it live and stop it). Row ``t`` of its record describes the state
after ``t`` updates: the parameters, the full-data loss, the minibatch loss and gradient
norm of the evaluation made there, accuracies and the length of the step that led there.
Row 0 is the start; a run of ``steps`` updates has ``steps + 1`` rows.

Divergence is a result: a non-finite value, or a loss whose magnitude exceeds
``divergence_factor * max(|L_0|, 1)``, stops that run and marks it diverged at step t; rows
up to t - 1 remain, with no NaN or infinity among them. On an objective that is not bounded
below (a saddle), a loss falling to -inf or below ``UNBOUNDED_LOSS_FLOOR`` is no failure of
the method: the run stops there too but is marked ``escaped_at`` t (unbounded below).

Objectives whose training draws new noise at every step (capability ``has_step_noise``: a
network with dropout in "fresh" mode) are asked for update t's objective,
``objective.at_step(t)``, before each evaluation: the gradient, the minibatch loss and a
search's comparison all use step t's masks (drawn from the objective's seed and t alone, so
a run is reproducible and runs in parallel threads share no generator). The recorded
full-data ``loss`` is then that of ``objective.for_evaluation()``, the noise-free loss
(dropout off), the same function as the accuracies; ``batch_loss`` is the loss the method
saw at that step, masks included. Any other objective is evaluated as it is.
"""
from __future__ import annotations

import copy
import math
from array import array
from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError
from .optimizers import OptimizerSpec

DEFAULT_DIVERGENCE_FACTOR = 1e6
# On an objective unbounded below, a loss under this floor means the run escaped to -inf;
# plots of such losses clip here. -1e3 is reached by the saddle x^2 - y^2 at |y| ~ 32 and by
# the monkey saddle at x ~ -10, far outside their views (+-4), yet close enough that a curve
# clipped there still shows the descent before the escape.
UNBOUNDED_LOSS_FLOOR = -1e3
DEFAULT_THETA_BUDGET_BYTES = 64 * 2 ** 20


class BatchSampler:
    """Minibatch indices from shuffled epochs (or with replacement), seeded.

    Two samplers with the same ``n``, batch size, mode and seed give the same sequence:
    that is what makes a race fair.
    """

    def __init__(self, n: int, batch_size: int | None, mode: str = "epoch", seed: int = 0):
        self.n, self.batch_size, self.mode = n, batch_size, mode
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
        self.order = np.empty(0, dtype=np.int64)
        self.position = 0

    @property
    def steps_per_epoch(self) -> int:
        """Updates per pass over the data: ceil(n / batch size), 1 for the full batch."""
        if self.batch_size is None or self.batch_size >= self.n:
            return 1
        return math.ceil(self.n / self.batch_size)

    def next(self):
        """Indices of the next minibatch, or None for the full batch."""
        if self.batch_size is None or self.batch_size >= self.n:
            return None
        if self.mode == "replacement":
            return self.rng.integers(0, self.n, self.batch_size)
        if self.position >= self.order.size:
            self.order = self.rng.permutation(self.n)
            self.position = 0
        batch = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return batch


@dataclass
class Trajectory:
    """What a run recorded (arrays share their first axis, the recorded rows).

    Attributes
    ----------
    steps : int array (R,)
    thetas : array (R, *param_shape)
    loss, batch_loss, train_acc, val_acc, grad_norm, step_length, lr : float arrays (R,)
    diverged_at : int or None
        The step whose loss was non-finite or blew up (rows stop at the step before).
    label, method : str
    escaped_at : int or None
        On an objective unbounded below: the step whose loss fell below
        ``UNBOUNDED_LOSS_FLOOR`` (rows stop at the step before); never set with diverged_at.
    """

    steps: np.ndarray
    thetas: np.ndarray
    loss: np.ndarray
    batch_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    grad_norm: np.ndarray
    step_length: np.ndarray
    lr: np.ndarray
    diverged_at: int | None
    label: str
    method: str
    loss_evaluations: int = 0
    escaped_at: int | None = None
    # cumulative gradient evaluations and Hessian-vector products at each recorded row
    gradient_evaluations: np.ndarray | None = None
    hvps: np.ndarray | None = None


class Run:
    """One optimizer on one objective from one start.

    Parameters
    ----------
    objective : objective
    spec : OptimizerSpec
    start : array of the parameter shape
    steps : int
        Updates to make in total.
    seed : int
        Seed of the minibatch sequence and of the searches' candidates.
    record_every : int or None
        Keep the parameters every k-th step (scalars are kept every step); None chooses
        the smallest k for which the parameters fit in ``theta_budget_bytes``.
    """

    def __init__(self, objective, spec: OptimizerSpec, start, steps: int, seed: int = 0, record_every=None,
                 theta_budget_bytes=DEFAULT_THETA_BUDGET_BYTES, divergence_factor=DEFAULT_DIVERGENCE_FACTOR):
        if int(steps) != steps or steps < 0:
            raise HillwalkError(f"the number of steps must be a whole number >= 0, got {steps}")
        start = np.array(start, dtype=np.float64)
        if start.size != int(np.prod(objective.param_shape)):
            raise HillwalkError(f"the start has {start.size} values but the objective takes "
                                f"{int(np.prod(objective.param_shape))}")
        start = start.reshape(objective.param_shape)
        if not np.all(np.isfinite(start)):
            raise HillwalkError("the start point holds NaN or infinite values")
        self.objective, self.spec, self.steps, self.seed = objective, spec, int(steps), seed
        # the noise-free objective whose full-data loss the record shows (see the module doc)
        self._evaluation = objective.for_evaluation() if objective.has_step_noise else objective
        # (batch loss, gradient, (loss, train accuracy, val accuracy)) at theta, or None: see
        # PlaneObjective.quick_step
        self._quick_step = None if objective.has_step_noise else getattr(objective, "quick_step", None)
        self.optimizer = spec.build(seed)
        self.sampler = BatchSampler(objective.n_train or 1, spec.batch_size, spec.sampling, seed)
        self.optimizer.steps_per_epoch = self.sampler.steps_per_epoch
        if record_every is None:
            rows = self.steps + 1
            record_every = max(1, math.ceil(rows * start.nbytes / max(1, theta_budget_bytes)))
        if int(record_every) != record_every or record_every < 1:
            raise HillwalkError(f"record_every must be a whole number >= 1, got {record_every}")
        self.record_every = int(record_every)
        self.divergence_factor = float(divergence_factor)
        self.theta = start
        self.origin = start.copy()
        self.t = 0
        self.diverged_at = None
        self.escaped_at = None
        # Compact growable columns (8 bytes a value, not a Python float object each).
        self._rows = {name: array("d") for name in ("loss", "batch_loss", "train_acc", "val_acc", "grad_norm",
                                                    "step_length", "lr", "gradient_evaluations", "hvps")}
        # the work done so far: gradients evaluated (the recorded ones and a second-order
        # step's line search) and Hessian-vector products, for comparisons per unit of work
        self._gradients, self._hvps = 0, 0
        self._rows["steps"] = array("q")
        self._theta_rows = []
        self._theta_steps = array("q")
        self._released = 0  # theta rows before this index were handed over (release_recorded)
        self._last_step_length = 0.0
        self._start_scale = None
        self._search_loss = None
        self._finished_recording = False

    # ----------------------------------------------------------------- state
    @property
    def finished(self) -> bool:
        return self.diverged_at is not None or self.escaped_at is not None or self._finished_recording

    @property
    def label(self) -> str:
        """The method's name (GD where its steps take the whole gradient: a full batch, or an
        objective with no examples to sample)."""
        return self.spec.name_on(self.objective.supports_minibatches)

    def copy(self) -> "Run":
        """An independent copy (same state, same random streams)."""
        return copy.deepcopy(self)

    # ----------------------------------------------------------------- stepping
    def advance(self, n: int = 1) -> int:
        """Make up to ``n`` more updates (fewer at the end or on divergence). Returns how
        many were made."""
        made = 0
        with np.errstate(all="ignore"):  # overflow is detected below, not warned about
            while made < n and not self.finished:
                if not self._record_and_step():
                    break
                made += 1
        return made

    def run_to_end(self) -> "Trajectory":
        while not self.finished:
            self.advance(1000)
        return self.trajectory()

    def _diverged(self, loss, *arrays) -> bool:
        if not math.isfinite(loss) or any(not np.all(np.isfinite(a)) for a in arrays):
            return True
        return abs(loss) > self.divergence_factor * self._start_scale

    def _escaped(self, loss) -> bool:
        """Whether the loss ran off below the floor of an objective unbounded below."""
        return not self.objective.bounded_below and (loss == -math.inf or loss < UNBOUNDED_LOSS_FLOOR)

    def _record_and_step(self) -> bool:
        """Evaluate at theta_t, record row t, and update to theta_{t+1} unless t is the
        last step. Returns True when an update was made."""
        objective, spec = self.objective, self.spec
        batch = self.sampler.next() if spec.uses_gradient else None
        noisy = objective.has_step_noise
        stepped = objective.at_step(self.t) if noisy else objective   # update t's masks
        # the step's minibatch loss and gradient and the record's full-data loss and
        # accuracies in one go where the objective has a quick way (an in-plane run of a
        # linear classifier: scores affine in (a, b)); else evaluated directly
        quick = None if self._quick_step is None else self._quick_step(self.theta, batch)
        if quick is not None:
            batch_loss, grad, evaluated = quick
        else:
            batch_loss, grad = stepped.loss_and_grad(self.theta, batch=batch)
            evaluated = None
        if noisy:
            full_loss = self._evaluation.loss(self.theta)
        elif batch is None:
            full_loss = batch_loss
        elif evaluated is not None:
            full_loss = evaluated[0]
        else:
            full_loss = objective.loss(self.theta)
        if self._start_scale is None:
            if not math.isfinite(full_loss):
                raise HillwalkError("the loss is not finite at the start point; choose another start")
            self._start_scale = max(abs(full_loss), 1.0)
        if self._escaped(full_loss):
            self.escaped_at = self.t
            return False
        if self._diverged(full_loss, self.theta, grad) or not math.isfinite(batch_loss):
            self.diverged_at = self.t
            return False
        self._record(full_loss, batch_loss, grad, None if evaluated is None else evaluated[1:])
        if self.t >= self.steps:
            self._finished_recording = True
            return False
        previous = self.theta
        if spec.info.second_order:
            # the step's own function: the minibatch's (with its masks), as the gradient's
            view = stepped if batch is None else BatchView(stepped, batch)
            result = self.optimizer.second_order_step(view, self.theta, batch_loss, grad)
            self.theta = result.theta.reshape(np.shape(self.theta))
            self._gradients += result.gradient_evaluations
            self._hvps += result.hvps
        elif spec.uses_gradient:
            self.theta = self.optimizer.update(self.theta, grad)
        else:
            if noisy:
                # candidate and current point compared on the same function: step t's masks
                self._search_loss = batch_loss
            elif self._search_loss is None:
                self._search_loss = full_loss
            self.theta, self._search_loss = self.optimizer.search_step(stepped, self.theta, self._search_loss,
                                                                        self.origin)
        self._last_step_length = float(np.linalg.norm(self.theta - previous))
        self.t += 1
        return True

    def _record(self, full_loss, batch_loss, grad, accuracies=None):
        rows = self._rows
        rows["steps"].append(self.t)
        rows["loss"].append(float(full_loss))
        rows["batch_loss"].append(float(batch_loss))
        if accuracies is None:
            accuracy = self.objective.accuracy  # NaN where there is nothing to classify
            accuracies = ((accuracy(self.theta, "train"), accuracy(self.theta, "val")) if accuracy
                          else (float("nan"), float("nan")))
        rows["train_acc"].append(accuracies[0])
        rows["val_acc"].append(accuracies[1])
        rows["grad_norm"].append(float(np.linalg.norm(grad)))
        if self.spec.uses_gradient:
            self._gradients += 1   # this row's gradient
        rows["gradient_evaluations"].append(self._gradients)
        rows["hvps"].append(self._hvps)
        rows["step_length"].append(self._last_step_length)
        rows["lr"].append(self.optimizer.current_lr())
        if self.t % self.record_every == 0 or self.t == self.steps:
            self._theta_rows.append(self.theta.copy())
            self._theta_steps.append(self.t)

    # ----------------------------------------------------------------- results
    def recorded_rows(self, first: int = 0) -> dict:
        """The rows whose parameters were kept, from the ``first``-th such row on.

        Returns a dict of arrays sharing their first axis (k): ``steps`` (int), the scalar
        columns (float) and ``thetas`` (k, *param_shape). Costs O(k): an app asking for what
        is new since its last look pays only for the new rows.
        """
        theta_steps = np.frombuffer(self._theta_steps, dtype=np.int64)[first:].copy() \
            if len(self._theta_steps) else np.zeros(0, dtype=np.int64)
        # Row t of the scalar columns is step t (one row per step, from 0).
        rows = {name: np.frombuffer(column, dtype=np.float64)[theta_steps].copy() if len(column) else np.zeros(0)
                for name, column in self._rows.items() if name != "steps"}
        rows["steps"] = theta_steps
        new_thetas = self._theta_rows[first:]
        if any(theta is None for theta in new_thetas):
            raise HillwalkError("those parameter rows were already handed over and released")
        rows["thetas"] = np.stack(new_thetas) if new_thetas else np.zeros((0,) + self.theta.shape)
        return rows

    def release_recorded(self, upto: int):
        """Forget the parameters of recorded rows before ``upto`` (a streaming consumer has
        taken them): a long run then holds only what was not yet handed over. The scalar
        rows are kept; :meth:`trajectory` is no longer available afterwards."""
        for k in range(self._released, min(upto, len(self._theta_rows))):
            self._theta_rows[k] = None
        self._released = max(self._released, upto)

    def trajectory(self, recorded_only=True) -> Trajectory:
        """The record so far. With ``recorded_only``, scalar rows are restricted to the
        steps whose parameters were kept (so every array has the same length)."""
        rows = {k: np.asarray(v, dtype=np.float64) for k, v in self._rows.items()}
        steps = np.asarray(self._rows["steps"], dtype=np.int64)
        theta_steps = np.asarray(self._theta_steps, dtype=np.int64)
        if self._released:
            raise HillwalkError("this run streamed its rows (release_recorded); take them from its increments")
        # the last row may be recorded without its theta when the run diverged later
        thetas = np.stack(self._theta_rows) if self._theta_rows else np.zeros((0,) + self.theta.shape)
        if recorded_only:
            keep = np.isin(steps, theta_steps)
            rows = {k: v[keep] for k, v in rows.items()}
            steps = steps[keep]
        return Trajectory(steps=steps, thetas=thetas, loss=rows["loss"], batch_loss=rows["batch_loss"],
                          train_acc=rows["train_acc"], val_acc=rows["val_acc"], grad_norm=rows["grad_norm"],
                          step_length=rows["step_length"], lr=rows["lr"], diverged_at=self.diverged_at,
                          label=self.label, method=self.spec.method,
                          loss_evaluations=self.optimizer.loss_evaluations, escaped_at=self.escaped_at,
                          gradient_evaluations=rows["gradient_evaluations"], hvps=rows["hvps"])


class BatchView:
    """An objective restricted to one minibatch: what a second-order step sees when the run
    draws minibatches (its line search and Hessian-vector products on the same examples)."""

    def __init__(self, objective, batch):
        self.objective, self.batch = objective, batch

    def loss(self, theta) -> float:
        return self.objective.loss_and_grad(theta, batch=self.batch, need_grad=False)[0]

    def loss_and_grad(self, theta, batch=None, need_grad=True):
        return self.objective.loss_and_grad(theta, batch=self.batch, need_grad=need_grad)

    def hvp(self, theta, v, batch=None):
        return self.objective.hvp(theta, v, batch=self.batch)

    def describe(self) -> dict:
        return self.objective.describe()


class Race:
    """Several optimizers from the same start with the same minibatch sequence (seed)."""

    def __init__(self, objective, specs, start, steps: int, seed: int = 0, **run_options):
        if not specs:
            raise HillwalkError("a race needs at least one optimizer")
        self.runs = [Run(objective, spec, start, steps, seed, **run_options) for spec in specs]

    @property
    def finished(self) -> bool:
        return all(run.finished for run in self.runs)

    def advance(self, n: int = 1) -> int:
        return max(run.advance(n) for run in self.runs)

    def run_to_end(self):
        while not self.finished:
            self.advance(1000)
        return [run.trajectory() for run in self.runs]


# --------------------------------------------------------------------------- planes

@dataclass
class Projection:
    """Where recorded points lie relative to a plane.

    Attributes
    ----------
    a, b : arrays (T,)
        Least-squares coordinates of each point (b is zeros for a line).
    distance : array (T,)
        Distance of each point from the plane (the least-squares residual).
    relative_distance : array (T,)
        ``distance / |theta - center|`` (0 at the centre): 0 means in the plane, 1
        means orthogonal to it.
    """

    a: np.ndarray
    b: np.ndarray
    distance: np.ndarray
    relative_distance: np.ndarray


def project_onto_plane(thetas, plane) -> Projection:
    """Least-squares coordinates of parameter vectors on ``plane``.

    Parameters
    ----------
    thetas : array (T, *param_shape)
    plane : Plane
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    offsets = thetas.reshape(thetas.shape[0], -1) - plane.center.reshape(1, -1)
    basis = plane.dir1.reshape(-1, 1) if plane.dir2 is None else np.c_[plane.dir1.ravel(), plane.dir2.ravel()]
    coefficients, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
    residual = offsets - (basis @ coefficients).T
    distance = np.linalg.norm(residual, axis=1)
    size = np.linalg.norm(offsets, axis=1)
    relative = np.divide(distance, size, out=np.zeros_like(distance), where=size > 0)
    b = coefficients[1] if plane.dir2 is not None else np.zeros(thetas.shape[0])
    return Projection(coefficients[0], b, distance, relative)


def plane_coordinates(trajectory, plane, in_plane=False):
    """A recorded path in the plane's (a, b) coordinates.

    Returns
    -------
    a, b, off_plane : arrays (R,)
        For an in-plane run the parameters are (a, b) themselves and off_plane is 0;
        otherwise least-squares coordinates and the relative distance from the plane.
    thetas : array (R, *param_shape)
        The full parameters of every row.
    """
    if in_plane:
        ab = trajectory.thetas.reshape(-1, 2)
        thetas = np.stack([plane.point(a, b) for a, b in ab]) if ab.size else np.zeros((0,) + plane.center.shape)
        return ab[:, 0], ab[:, 1], np.zeros(ab.shape[0]), thetas
    projection = project_onto_plane(trajectory.thetas, plane)
    return projection.a, projection.b, projection.relative_distance, trajectory.thetas


def losses_on_plane(objective, plane, a, b):
    """The loss at ``center + a d1 + b d2`` for each pair: what a slice shows there."""
    return np.array([objective.loss(plane.point(ai, bi)) for ai, bi in zip(a, b)])


class PlaneObjective:
    """The objective restricted to a plane: ``theta = (a, b)`` stands for
    ``center + a d1 + b d2``; the gradient is ``(d1 . g, d2 . g)``. Optimizing it keeps the
    path exactly on the slice.

    Its capabilities (core.models.interface) are those of the (a, b) problem: no data of
    its own (accuracy is the wrapped objective's), no regularizer or layers to expose;
    minibatches, boundedness and step noise (``at_step``, ``for_evaluation``: the wrapped
    objective's, restricted to the same plane) are the wrapped objective's."""

    param_shape = (2,)
    size = 2
    has_data = False
    has_regularizer = False
    has_components = False
    has_random_init = False
    has_own_plane = False
    has_layers = False
    has_batch_evaluation = False
    is_network = False

    def __init__(self, objective, plane):
        if plane.dir2 is None:
            raise HillwalkError("in-plane optimization needs a plane (two directions), not a cut")
        self.objective, self.plane = objective, plane
        self.n_train = objective.n_train
        self.bounded_below, self.supports_minibatches = objective.bounded_below, objective.supports_minibatches
        self.has_step_noise = objective.has_step_noise

    def at_step(self, step: int) -> "PlaneObjective":
        """Update ``step``'s objective on the same plane (see the wrapped ``at_step``)."""
        return PlaneObjective(self.objective.at_step(step), self.plane)

    def for_evaluation(self) -> "PlaneObjective":
        return PlaneObjective(self.objective.for_evaluation(), self.plane)

    def full_parameters(self, ab):
        ab = np.asarray(ab, dtype=np.float64).reshape(2)
        return self.plane.point(ab[0], ab[1])

    def loss(self, ab) -> float:
        return self.objective.loss(self.full_parameters(ab))

    def loss_and_grad(self, ab, batch=None, need_grad=True):
        theta = self.full_parameters(ab)
        loss, grad = self.objective.loss_and_grad(theta, batch=batch)
        reduced = np.array([np.vdot(self.plane.dir1, grad), np.vdot(self.plane.dir2, grad)])
        return loss, reduced.reshape(np.shape(ab))

    def hvp(self, ab, v, batch=None):
        """The plane's 2 x 2 Hessian times v: ``P^T H P v`` with ``P = [d1 d2]``, from the
        wrapped objective's exact Hessian-vector product."""
        theta = self.full_parameters(ab)
        v = np.asarray(v, dtype=np.float64).reshape(2)
        along = v[0] * self.plane.dir1 + v[1] * self.plane.dir2
        product = self.objective.hvp(theta, along, batch=batch)
        return np.array([np.vdot(self.plane.dir1, product), np.vdot(self.plane.dir2, product)]).reshape(np.shape(ab))

    def describe(self) -> dict:
        inner = self.objective.describe()
        return {"model": "in-plane", "plane": dict(self.plane.info), "objective": inner}

    def accuracy(self, ab, split="train"):
        return self.objective.accuracy(self.full_parameters(ab), split)

    def quick_values(self, ab):
        """(loss, train accuracy, val accuracy) at (a, b) from scores affine in (a, b), where
        the wrapped objective has them (a linear classifier: ``values_on_plane``), for a
        run's record; None otherwise, or where the combination could lose digits."""
        values_on_plane = getattr(self.objective, "values_on_plane", None)
        if values_on_plane is None:
            return None
        ab = np.asarray(ab, dtype=np.float64).reshape(2)
        return values_on_plane(self.plane, float(ab[0]), float(ab[1]))

    def quick_step(self, ab, batch=None):
        """What a run's step at (a, b) needs, from scores affine in (a, b), where the
        wrapped objective has them (a linear classifier: ``step_on_plane``): ``(batch loss,
        gradient (2,), (loss, train accuracy, val accuracy))``, the same values as
        :meth:`loss_and_grad` and :meth:`quick_values` up to rounding; None otherwise, or
        where the combination could lose digits."""
        step_on_plane = getattr(self.objective, "step_on_plane", None)
        if step_on_plane is None:
            return None
        ab = np.asarray(ab, dtype=np.float64).reshape(2)
        found = step_on_plane(self.plane, float(ab[0]), float(ab[1]), batch)
        if found is None:
            return None
        record, batch_loss, gradient = found
        return batch_loss, gradient, record
